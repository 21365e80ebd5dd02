// Package lines reads line-oriented input (blocks on standard input, an
// inventory) with line numbers and a bound on the length of a line, so
// that the example programs can report a bad or over-long line by its
// number and go on with the next one.
package lines

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxLen is the longest line accepted, in bytes, without its line ending.
// A block, a range or an inventory line with its label is far shorter.
const MaxLen = 4096

// ErrTooLong is the error of a line longer than MaxLen bytes.
var ErrTooLong = fmt.Errorf("line longer than %d bytes", MaxLen)

// Scan calls fn for each line of r with its number (from 1) and its text
// without the line ending (LF or CRLF). A line longer than MaxLen is not
// held in memory: fn gets an empty text and ErrTooLong, and the scan goes
// on with the next line. Scan returns the first read error other than
// io.EOF, or the first error fn returns.
func Scan(r io.Reader, fn func(n int, text string, err error) error) error {
	br := bufio.NewReaderSize(r, MaxLen+2) // room for the CRLF
	for n := 1; ; n++ {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			if ferr := fn(n, "", ErrTooLong); ferr != nil {
				return ferr
			}
			if err != nil {
				return nil
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if len(b) == 0 && err != nil {
			return nil
		}
		text := bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
		var ferr error
		if len(text) > MaxLen {
			ferr = fn(n, "", ErrTooLong)
		} else {
			ferr = fn(n, string(text), nil)
		}
		if ferr != nil {
			return ferr
		}
		if err != nil {
			return nil
		}
	}
}
