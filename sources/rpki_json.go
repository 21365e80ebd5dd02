package sources

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// jsonReader is a small streaming JSON reader for the VRP exports: it walks
// objects and arrays with callbacks and keeps the line number, so that a
// 600,000-ROA file is read without holding its document or its tokens in
// memory, and errors name the line. encoding/json's Decoder would allocate
// per token and knows only byte offsets.
type jsonReader struct {
	br     *bufio.Reader
	line   int
	maxTok int
	buf    []byte
}

// maxJSONDepth bounds the nesting of skipped values.
const maxJSONDepth = 64

var errJSONEOF = lineErrorf(ErrSyntax, "unexpected end of JSON input")

// next returns the next byte that is not white space.
func (j *jsonReader) next() (byte, error) {
	for {
		// Skip the white space already buffered in one go.
		if buf, _ := j.br.Peek(j.br.Buffered()); len(buf) > 0 {
			k := 0
			for k < len(buf) && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r' || buf[k] == '\n') {
				if buf[k] == '\n' {
					j.line++
				}
				k++
			}
			if _, err := j.br.Discard(k); err != nil {
				return 0, err
			}
		}
		c, err := j.br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, errJSONEOF
			}
			return 0, err
		}
		switch c {
		case '\n':
			j.line++
		case ' ', '\t', '\r':
		default:
			return c, nil
		}
	}
}

func (j *jsonReader) expect(want byte) error {
	c, err := j.next()
	if err != nil {
		return err
	}
	if c != want {
		return lineErrorf(ErrSyntax, "JSON: want %q, found %q", want, c)
	}
	return nil
}

// object reads an object whose '{' has been consumed, calling fn for each
// key (aliasing a scratch buffer); fn must consume the value.
func (j *jsonReader) object(fn func(key []byte) error) error {
	c, err := j.next()
	if err != nil {
		return err
	}
	if c == '}' {
		return nil
	}
	for {
		if c != '"' {
			return lineErrorf(ErrSyntax, "JSON: want a key, found %q", c)
		}
		key, err := j.str()
		if err != nil {
			return err
		}
		if err := j.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		var done bool
		if c, done, err = j.more('}'); done || err != nil {
			return err
		}
	}
}

// array reads an array of objects: fn is called after each element's '{'.
func (j *jsonReader) array(fn func() error) error {
	if err := j.expect('['); err != nil {
		return err
	}
	c, err := j.next()
	if err != nil {
		return err
	}
	if c == ']' {
		return nil
	}
	for {
		if c != '{' {
			return lineErrorf(ErrSyntax, "JSON: want an object, found %q", c)
		}
		if err := fn(); err != nil {
			return err
		}
		var done bool
		if c, done, err = j.more(']'); done || err != nil {
			return err
		}
	}
}

// more reads what follows an element of an object or array that end
// closes: done when it is end, else the byte after the comma.
func (j *jsonReader) more(end byte) (c byte, done bool, err error) {
	if c, err = j.next(); err != nil {
		return 0, false, err
	}
	switch c {
	case end:
		return c, true, nil
	case ',':
		c, err = j.next()
		return c, false, err
	}
	return 0, false, lineErrorf(ErrSyntax, "JSON: want ',' or '%c', found %q", end, c)
}

// scalar reads a string or number value and returns its text (aliasing a
// scratch buffer, valid until the next read); str reports a string. Other
// values are an error.
func (j *jsonReader) scalar() (tok []byte, str bool, err error) {
	c, err := j.next()
	if err != nil {
		return nil, false, err
	}
	switch {
	case c == '"':
		s, err := j.str()
		return s, true, err
	case c == '-' || c >= '0' && c <= '9':
		s, err := j.number(c)
		return s, false, err
	}
	return nil, false, lineErrorf(ErrSyntax, "JSON: want a string or number, found %q", c)
}

// str reads a string whose opening quote has been consumed. The result
// aliases a scratch buffer: valid until the next read.
func (j *jsonReader) str() ([]byte, error) {
	j.buf = j.buf[:0]
	escaped := false
	for {
		chunk, err := j.br.ReadSlice('"')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				return nil, errJSONEOF
			}
			return nil, err
		}
		for _, c := range chunk {
			if c < 0x20 {
				return nil, lineErrorf(ErrSyntax, "JSON: control character in string")
			}
		}
		j.buf = append(j.buf, chunk...)
		if len(j.buf) > j.maxTok+1 {
			return nil, lineErrorf(ErrLineTooLong, "JSON string longer than %d bytes", j.maxTok)
		}
		if err != nil { // buffer full, no quote yet
			continue
		}
		// The quote ends the string unless an odd run of backslashes
		// escapes it.
		n := 0
		for k := len(j.buf) - 2; k >= 0 && j.buf[k] == '\\'; k-- {
			n++
		}
		if bytes.IndexByte(chunk, '\\') >= 0 {
			escaped = true
		}
		if n%2 == 1 {
			continue
		}
		body := j.buf[:len(j.buf)-1]
		if !escaped {
			return body, nil
		}
		var s string
		q := append(append([]byte{'"'}, body...), '"')
		if err := json.Unmarshal(q, &s); err != nil {
			return nil, lineErrorf(ErrSyntax, "JSON: bad string: %v", err)
		}
		j.buf = append(j.buf[:0], s...)
		return j.buf, nil
	}
}

// number reads a number whose first byte is c.
func (j *jsonReader) number(c byte) ([]byte, error) {
	j.buf = append(j.buf[:0], c)
	for {
		buf, _ := j.br.Peek(j.br.Buffered())
		k := 0
		for k < len(buf) && (buf[k] == '-' || buf[k] == '+' || buf[k] == '.' || buf[k] == 'e' || buf[k] == 'E' || buf[k] >= '0' && buf[k] <= '9') {
			k++
		}
		j.buf = append(j.buf, buf[:k]...)
		if _, err := j.br.Discard(k); err != nil {
			return nil, err
		}
		if len(j.buf) > j.maxTok {
			return nil, lineErrorf(ErrLineTooLong, "JSON number longer than %d bytes", j.maxTok)
		}
		if k < len(buf) {
			break
		}
		if _, err := j.br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
	}
	if !isDigits(string(j.buf)) && !json.Valid(j.buf) {
		return nil, lineErrorf(ErrSyntax, "JSON: bad number %q", j.buf)
	}
	return j.buf, nil
}

// skip reads and discards one value of any kind.
func (j *jsonReader) skip(depth int) error {
	if depth > maxJSONDepth {
		return lineErrorf(ErrSyntax, "JSON nested deeper than %d", maxJSONDepth)
	}
	c, err := j.next()
	if err != nil {
		return err
	}
	switch {
	case c == '"':
		_, err := j.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		_, err := j.number(c)
		return err
	case c == '{':
		return j.object(func([]byte) error { return j.skip(depth + 1) })
	case c == '[':
		c, err := j.next()
		if err != nil {
			return err
		}
		if c == ']' {
			return nil
		}
		if err := j.br.UnreadByte(); err != nil {
			return err
		}
		for {
			if err := j.skip(depth + 1); err != nil {
				return err
			}
			c, err := j.next()
			if err != nil {
				return err
			}
			if c == ']' {
				return nil
			}
			if c != ',' {
				return lineErrorf(ErrSyntax, "JSON: want ',' or ']', found %q", c)
			}
		}
	}
	for _, lit := range []string{"true", "false", "null"} {
		if c == lit[0] {
			for i := 1; i < len(lit); i++ {
				d, err := j.br.ReadByte()
				if err != nil || d != lit[i] {
					return lineErrorf(ErrSyntax, "JSON: bad literal")
				}
			}
			return nil
		}
	}
	return lineErrorf(ErrSyntax, "JSON: unexpected %q", c)
}
