package sources

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
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

var errJSONEOF = fmt.Errorf("%w: unexpected end of JSON input", ErrSyntax)

// next returns the next byte that is not white space.
func (j *jsonReader) next() (byte, error) {
	for {
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
		return fmt.Errorf("%w: JSON: want %q, found %q", ErrSyntax, want, c)
	}
	return nil
}

// object reads an object whose '{' has been consumed, calling fn for each
// key; fn must consume the value.
func (j *jsonReader) object(fn func(key string) error) error {
	c, err := j.next()
	if err != nil {
		return err
	}
	if c == '}' {
		return nil
	}
	for {
		if c != '"' {
			return fmt.Errorf("%w: JSON: want a key, found %q", ErrSyntax, c)
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
		if c, err = j.next(); err != nil {
			return err
		}
		switch c {
		case '}':
			return nil
		case ',':
			if c, err = j.next(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: JSON: want ',' or '}', found %q", ErrSyntax, c)
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
			return fmt.Errorf("%w: JSON: want an object, found %q", ErrSyntax, c)
		}
		if err := fn(); err != nil {
			return err
		}
		if c, err = j.next(); err != nil {
			return err
		}
		switch c {
		case ']':
			return nil
		case ',':
			if c, err = j.next(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: JSON: want ',' or ']', found %q", ErrSyntax, c)
		}
	}
}

// scalar reads a string or number value and returns its text; str reports
// a string. Other values are an error.
func (j *jsonReader) scalar() (tok string, str bool, err error) {
	c, err := j.next()
	if err != nil {
		return "", false, err
	}
	switch {
	case c == '"':
		s, err := j.str()
		return s, true, err
	case c == '-' || c >= '0' && c <= '9':
		s, err := j.number(c)
		return s, false, err
	}
	return "", false, fmt.Errorf("%w: JSON: want a string or number, found %q", ErrSyntax, c)
}

// str reads a string whose opening quote has been consumed.
func (j *jsonReader) str() (string, error) {
	j.buf = j.buf[:0]
	escaped := false
	for {
		c, err := j.br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", errJSONEOF
			}
			return "", err
		}
		switch {
		case c == '"':
			if !escaped {
				return string(j.buf), nil
			}
			var s string
			q := append(append([]byte{'"'}, j.buf...), '"')
			if err := json.Unmarshal(q, &s); err != nil {
				return "", fmt.Errorf("%w: JSON: bad string: %v", ErrSyntax, err)
			}
			return s, nil
		case c == '\\':
			escaped = true
			j.buf = append(j.buf, c)
			if c, err = j.br.ReadByte(); err != nil {
				return "", errJSONEOF
			}
		case c < 0x20:
			return "", fmt.Errorf("%w: JSON: control character in string", ErrSyntax)
		}
		j.buf = append(j.buf, c)
		if len(j.buf) > j.maxTok {
			return "", fmt.Errorf("%w: JSON string longer than %d bytes", ErrLineTooLong, j.maxTok)
		}
	}
}

// number reads a number whose first byte is c.
func (j *jsonReader) number(c byte) (string, error) {
	j.buf = append(j.buf[:0], c)
	for {
		c, err := j.br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return "", err
		}
		if c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || c >= '0' && c <= '9' {
			j.buf = append(j.buf, c)
			if len(j.buf) > j.maxTok {
				return "", fmt.Errorf("%w: JSON number longer than %d bytes", ErrLineTooLong, j.maxTok)
			}
			continue
		}
		if err := j.br.UnreadByte(); err != nil {
			return "", err
		}
		break
	}
	if !json.Valid(j.buf) {
		return "", fmt.Errorf("%w: JSON: bad number %q", ErrSyntax, j.buf)
	}
	return string(j.buf), nil
}

// skip reads and discards one value of any kind.
func (j *jsonReader) skip(depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("%w: JSON nested deeper than %d", ErrSyntax, maxJSONDepth)
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
		return j.object(func(string) error { return j.skip(depth + 1) })
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
				return fmt.Errorf("%w: JSON: want ',' or ']', found %q", ErrSyntax, c)
			}
		}
	}
	for _, lit := range []string{"true", "false", "null"} {
		if c == lit[0] {
			for i := 1; i < len(lit); i++ {
				d, err := j.br.ReadByte()
				if err != nil || d != lit[i] {
					return fmt.Errorf("%w: JSON: bad literal", ErrSyntax)
				}
			}
			return nil
		}
	}
	return fmt.Errorf("%w: JSON: unexpected %q", ErrSyntax, c)
}
