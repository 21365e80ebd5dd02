package sources

// What loading a feed (ReadList) and loading a zone mirror (ReadMirror)
// share: the size and line limits, the loading errors, and the reading of
// lines under those limits with malformed lines collected as ParseErrors.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
)

// Limits and defaults for loading feeds and zone mirrors.
const (
	// DefaultMaxBytes is the size cap of a feed or zone file when
	// [FeedConfig.MaxBytes] or [MirrorConfig.MaxBytes] is 0: 256 MiB.
	DefaultMaxBytes = 256 << 20
	// DefaultMaxEntries is the most entries a feed may hold when
	// [FeedConfig.MaxEntries] is 0. The largest public feeds hold a few
	// hundred thousand; 2^21 leaves room and bounds what a hostile or
	// broken feed can make a load allocate (tens of bytes per entry).
	DefaultMaxEntries = 1 << 21
	// DefaultMaxLineBytes is the longest accepted line when
	// [FeedConfig.MaxLineBytes] or [MirrorConfig.MaxLineBytes] is 0.
	DefaultMaxLineBytes = 4096
	// MaxParseErrors is how many [*ParseError] values a load keeps; the
	// joined error says how many more lines were malformed.
	MaxParseErrors = 20
)

// Errors of feed and mirror loading. Each is wrapped with the source name.
var (
	// ErrEmpty: the input parsed to zero entries.
	ErrEmpty error = &loadError{"no entries"}
	// ErrTooLarge: the input exceeds the size cap.
	ErrTooLarge error = &loadError{"input exceeds size cap"}
	// ErrLineTooLong: a line exceeds the line length limit.
	ErrLineTooLong error = &loadError{"line too long"}
	// ErrWholeSpace: an entry covers a whole address family (a /0). Such an
	// entry is refused: a feed that lists the whole Internet is broken, and
	// loading it would mark every block as listed.
	ErrWholeSpace error = &loadError{"entry covers the whole address space (/0)"}
	// ErrSyntax: a line cannot be parsed.
	ErrSyntax error = &loadError{"syntax error"}
)

// loadError is a loading sentinel. Its text is "sources: " and the reason;
// a [ParseError] quotes the reason alone, after its own "sources: " prefix.
type loadError struct{ reason string }

func (e *loadError) Error() string { return "sources: " + e.reason }

// lineError is why one line is malformed: a loading sentinel and the detail
// that follows its text, such as ": invalid address".
type lineError struct {
	sentinel error // one of the *loadError sentinels
	detail   string
}

func (e *lineError) Error() string { return e.sentinel.Error() + e.detail }

func (e *lineError) Unwrap() error { return e.sentinel }

// lineErrorf returns an error wrapping sentinel, one of the loading
// sentinels of a malformed line (ErrSyntax, ErrWholeSpace, ErrLineTooLong),
// whose text goes on with ": " and the formatted detail.
func lineErrorf(sentinel error, format string, args ...any) error {
	return &lineError{sentinel: sentinel, detail: ": " + fmt.Sprintf(format, args...)}
}

// ParseError is a malformed line of a feed or zone file, like
// [encoding/csv.ParseError]. Loaders skip such lines, keep the usable entries
// and return the ParseErrors joined with [errors.Join].
type ParseError struct {
	Name string // the source name
	Line int    // 1-based line number
	Text string // the line, truncated to 80 bytes
	Err  error  // what is wrong; wraps one of the package's sentinels
}

// Error returns "sources: NAME line N: ERR: TEXT", where ERR is the text of
// Err without the "sources: " of the loading sentinel it wraps, and TEXT is
// quoted.
func (e *ParseError) Error() string {
	return "sources: " + e.Name + " line " + strconv.Itoa(e.Line) + ": " + lineReason(e.Err) + ": " + strconv.Quote(e.Text)
}

// Unwrap returns e.Err.
func (e *ParseError) Unwrap() error { return e.Err }

// lineReason returns the text of a line's error as a ParseError quotes it.
func lineReason(err error) string {
	// Only err itself: a wrapper around a line error has its own text to
	// keep, which errors.As would drop.
	switch e := err.(type) { //nolint:errorlint // see above

	case *lineError:
		return lineReason(e.sentinel) + e.detail
	case *loadError:
		return e.reason
	}
	return fmt.Sprint(err)
}

// loader is what every line-oriented loader shares (feeds, zone mirrors and
// the lease-check inputs): the size cap, the line cap, an optional check of
// the kind of file from its first bytes, and the collection of malformed
// lines as ParseErrors.
type loader struct {
	name     string // the source name, for errors
	maxBytes int64
	maxLine  int
	lr       *limitedReader
	br       *bufio.Reader
	errs     *errList
	kind     fileKind // what the head looked like, when kinds were wanted
}

// newLoader wraps r with the size cap maxBytes and the line cap maxLine
// (0 or less mean [DefaultMaxBytes] and [DefaultMaxLineBytes]) for the load
// of source name. With strict, the first malformed line fails the load.
//
// When want names kinds of files, newLoader checks from r's first bytes
// that r is one of them: a file that looks like another known kind is
// refused with [ErrWrongFormat]. An unrecognisable head passes: its lines
// then fail one by one with parse errors.
func newLoader(r io.Reader, name string, maxBytes int64, maxLine int, strict bool, want ...fileKind) (*loader, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	ld := &loader{maxBytes: maxBytes, maxLine: maxLine, lr: &limitedReader{r: r, n: maxBytes}, errs: &errList{strict: strict}}
	ld.setName(name)
	ld.br = bufio.NewReaderSize(ld.lr, max(64<<10, maxLine+2))
	if len(want) == 0 {
		return ld, nil
	}
	head, err := ld.head()
	if err != nil {
		return nil, err
	}
	ld.kind = sniffKind(head)
	if ld.kind != kindUnknown && !slices.Contains(want, ld.kind) {
		return nil, fmt.Errorf("%w: %s looks like %v; want %v", ErrWrongFormat, name, ld.kind, want[0])
	}
	return ld, nil
}

// setName names the source, for a loader that learns its name from the
// head (a feed named after its detected format).
func (ld *loader) setName(name string) { ld.name, ld.errs.name = name, name }

// head returns the first 8 KiB of the input (less if it is shorter)
// without consuming them.
func (ld *loader) head() ([]byte, error) {
	b, err := ld.br.Peek(8 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		if ld.lr.over {
			return nil, ld.tooLarge()
		}
		return nil, err
	}
	return b, nil
}

// tooLarge is the error of an input over the size cap.
func (ld *loader) tooLarge() error {
	name := ld.name
	if name == "" {
		name = "input"
	}
	return fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, name, ld.maxBytes)
}

// lines calls fn for each line, without its line ending, with its 1-based
// number. A malformed line (too long, or refused by fn) becomes a
// [*ParseError] in ld.errs; lines returns an error only when the load
// fails: reading fails, the input is over the size cap ([ErrTooLarge]), fn
// returns an error made by stopLoad, or, when strict, a line is malformed
// (the error is its *ParseError).
func (ld *loader) lines(fn func(n int, line []byte) error) error {
	err := readLines(ld.br, ld.maxLine, func(n int, line []byte, long bool) error {
		if long {
			return ld.errs.add(n, line, &lineError{sentinel: ErrLineTooLong, detail: fmt.Sprintf(" (limit %d bytes)", ld.maxLine)})
		}
		err := fn(n, line)
		var stop *stopError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &stop):
			return stop.err
		}
		return ld.errs.add(n, line, err)
	})
	if ld.lr.over {
		return ld.tooLarge()
	}
	return err
}

// stopLoad marks err, returned by a loader's line function, as the end of
// the load (an entry cap reached) rather than a malformed line.
func stopLoad(err error) error { return &stopError{err} }

type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }

// limitedReader reads at most n bytes and records whether r had more.
type limitedReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (lr *limitedReader) Read(p []byte) (int, error) {
	if lr.n <= 0 {
		// Probe one byte to tell "exactly n" from "more than n".
		var one [1]byte
		k, err := lr.r.Read(one[:])
		if k > 0 {
			lr.over = true
			return 0, ErrTooLarge
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		return 0, err
	}
	if int64(len(p)) > lr.n {
		p = p[:lr.n]
	}
	k, err := lr.r.Read(p)
	lr.n -= int64(k)
	return k, err
}

// readLines calls fn for each line of br without its line ending, with its
// 1-based number. A line longer than maxLine is passed truncated to 80 bytes
// with long set; the rest of it is skipped. An error from fn stops the read.
func readLines(br *bufio.Reader, maxLine int, fn func(n int, line []byte, long bool) error) error {
	n := 0
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if long == nil {
				long = append([]byte(nil), line[:min(len(line), 80)]...)
			}
			continue
		}
		if len(line) > 0 || long != nil {
			n++
			var ferr error
			switch trimmed := bytes.TrimRight(line, "\r\n"); {
			case long != nil:
				ferr = fn(n, long, true)
				long = nil
			case len(trimmed) > maxLine:
				ferr = fn(n, trimmed[:min(len(trimmed), 80)], true)
			default:
				ferr = fn(n, trimmed, false)
			}
			if ferr != nil {
				return ferr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// errList collects parse errors.
type errList struct {
	name   string
	strict bool
	errs   []error
	more   int
}

func (e *errList) add(n int, line []byte, err error) error {
	text := line
	if len(text) > 80 {
		text = text[:80]
	}
	pe := &ParseError{Name: e.name, Line: n, Text: string(text), Err: err}
	if e.strict {
		return pe
	}
	if len(e.errs) < MaxParseErrors {
		e.errs = append(e.errs, pe)
	} else {
		e.more++
	}
	return nil
}

func (e *errList) err() error {
	if e.more > 0 {
		return errors.Join(append(e.errs, fmt.Errorf("sources: %s: %d more malformed lines", e.name, e.more))...)
	}
	return errors.Join(e.errs...)
}

// interner numbers distinct values densely, in the order first seen, so
// that a loader keeps each distinct entry meaning, piece, value or set of
// them once and refers to it by number.
type interner[T comparable] struct {
	ids  map[T]uint32
	vals []T // by number
}

// id returns v's number, adding v when it is new.
func (in *interner[T]) id(v T) uint32 {
	if id, ok := in.ids[v]; ok {
		return id
	}
	if in.ids == nil {
		in.ids = make(map[T]uint32)
	}
	id := uint32(len(in.vals))
	in.vals = append(in.vals, v)
	in.ids[v] = id
	return id
}

// idSet is a list of numbers as a comparable value, four bytes each, so
// that an interner can number the sets of entries that cover an interval.
type idSet string

func idSetOf(ids []uint32) idSet {
	b := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		b = binary.LittleEndian.AppendUint32(b, id)
	}
	return idSet(b)
}

// all returns an iterator over the numbers of s, in their order.
func (s idSet) all() iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		for i := 0; i+4 <= len(s); i += 4 {
			if !yield(binary.LittleEndian.Uint32([]byte(s[i : i+4]))) {
				return
			}
		}
	}
}
