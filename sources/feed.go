package sources

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources/internal/ipset"
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
	ErrEmpty = errors.New("sources: no entries")
	// ErrTooLarge: the input exceeds the size cap.
	ErrTooLarge = errors.New("sources: input exceeds size cap")
	// ErrLineTooLong: a line exceeds the line length limit.
	ErrLineTooLong = errors.New("sources: line too long")
	// ErrWholeSpace: an entry covers a whole address family (a /0). Such an
	// entry is refused: a feed that lists the whole Internet is broken, and
	// loading it would mark every block as listed.
	ErrWholeSpace = errors.New("sources: entry covers the whole address space (/0)")
	// ErrSyntax: a line cannot be parsed.
	ErrSyntax = errors.New("sources: syntax error")
)

// ParseError is a malformed line of a feed or zone file, like
// [encoding/csv.ParseError]. Loaders skip such lines, keep the usable entries
// and return the ParseErrors joined with [errors.Join].
type ParseError struct {
	Name string // the source name
	Line int    // 1-based line number
	Text string // the line, truncated to 80 bytes
	Err  error  // what is wrong; wraps one of the package's sentinels
}

// Error returns "sources: NAME line N: ERR: TEXT".
func (e *ParseError) Error() string {
	return fmt.Sprintf("sources: %s line %d: %s: %q", e.Name, e.Line, strings.TrimPrefix(fmt.Sprint(e.Err), "sources: "), e.Text)
}

// Unwrap returns e.Err.
func (e *ParseError) Unwrap() error { return e.Err }

// Format is the syntax of a feed.
type Format int

// Feed formats.
const (
	// FormatAuto asks [ReadList] to detect the format with [DetectFormat].
	FormatAuto Format = iota
	// FormatPlain: one IP, CIDR or "a-b" range per line; "#" and ";" start
	// comments (whole-line or trailing); blank lines are ignored. FireHOL
	// netsets, Team Cymru bogons, blocklist.de, Tor bulk exit lists.
	FormatPlain
	// FormatDROP: Spamhaus DROP, as JSON lines ({"cidr","sblid","rir"} with a
	// final {"type":"metadata"} record) or as the older text "cidr ; SBLnnn"
	// with ";" comments. Both forms may be mixed.
	FormatDROP
	// FormatIPsum: stamparm/ipsum, "ip<TAB>count" with "#" comments; the count
	// becomes [reputation.Evidence.Count].
	FormatIPsum
)

// String returns "auto", "plain", "drop" or "ipsum".
func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatPlain:
		return "plain"
	case FormatDROP:
		return "drop"
	case FormatIPsum:
		return "ipsum"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses the String form of a Format.
func ParseFormat(s string) (Format, error) {
	for f := FormatAuto; f <= FormatIPsum; f++ {
		if f.String() == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("sources: unknown feed format %q (want auto, plain, drop or ipsum)", s)
}

// DetectFormat guesses the format of a feed from its first bytes (a few
// KiB are plenty). It looks at comment headers ("; Spamhaus", "# IPsum") and
// at the first data line: a JSON object or "cidr ; SBL..." means
// [FormatDROP], "ip<TAB>number" means [FormatIPsum]; anything else is
// [FormatPlain]. It never returns [FormatAuto].
func DetectFormat(head []byte) Format {
	for len(head) > 0 {
		var line []byte
		line, head, _ = bytes.Cut(head, []byte{'\n'})
		s := strings.TrimSpace(string(line))
		switch {
		case s == "":
			continue
		case strings.HasPrefix(s, ";"):
			if strings.Contains(s, "Spamhaus") {
				return FormatDROP
			}
			continue
		case strings.HasPrefix(s, "#"):
			if strings.Contains(s, "IPsum") {
				return FormatIPsum
			}
			continue
		case strings.HasPrefix(s, "{"):
			return FormatDROP
		}
		if a, rest, ok := strings.Cut(s, ";"); ok && strings.HasPrefix(strings.TrimSpace(rest), "SBL") && strings.TrimSpace(a) != "" {
			return FormatDROP
		}
		if _, count, ok := strings.Cut(s, "\t"); ok && isDigits(strings.TrimSpace(count)) {
			return FormatIPsum
		}
		return FormatPlain
	}
	return FormatPlain
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FeedConfig says how to load a feed. The zero value loads a feed of any
// supported format with the format's default meaning.
type FeedConfig struct {
	// Name is the source name ([reputation.Source.Name]); empty means the
	// format's name ("plain", "drop", "ipsum").
	Name string
	// Format is the feed syntax; [FormatAuto] (zero) detects it.
	Format Format
	// Category, Severity and Scope give every entry its meaning. When
	// Category is empty all three take the format's defaults:
	//   - FormatDROP: "hijacked", [reputation.SeverityCritical],
	//     [reputation.ScopeRange];
	//   - FormatPlain and FormatIPsum: "listed", [reputation.SeverityMedium],
	//     and [reputation.ScopeAddress] for entries written as a bare
	//     address, [reputation.ScopeRange] for CIDRs and ranges.
	// Category "bogon" (Team Cymru fullbogons, the bogon part of FireHOL
	// level1) means unallocated or reserved space, never abuse: its severity
	// is always [reputation.SeverityInfo] whatever Severity says.
	Category string
	Severity reputation.Severity
	Scope    reputation.Scope
	// Strict makes the first malformed line fail the load.
	Strict bool
	// MaxBytes caps the input size; 0 means [DefaultMaxBytes]. Larger input
	// fails with [ErrTooLarge].
	MaxBytes int64
	// MaxLineBytes caps one line; 0 means [DefaultMaxLineBytes]. Longer lines
	// are malformed ([ErrLineTooLong]).
	MaxLineBytes int
	// MaxEntries caps the entries; 0 means [DefaultMaxEntries]. The load
	// stops at the first entry past the cap and fails with [ErrTooLarge],
	// so what a load holds is bounded by the entries kept, whatever the
	// bytes read (the input is streamed, never held whole).
	MaxEntries int
}

// FeedMeta is what a feed says about itself. Fields are zero when the feed
// does not say.
type FeedMeta struct {
	// Timestamp is when the publisher generated the feed (DROP JSON
	// "timestamp", DROP text "Last-Modified" header).
	Timestamp time.Time `json:"timestamp,omitzero"`
	// Copyright is the publisher's copyright line, which Spamhaus requires
	// redistributors to keep.
	Copyright string `json:"copyright,omitempty"`
	// Terms is the URL of the publisher's terms of use.
	Terms string `json:"terms,omitempty"`
	// Records is the record count the publisher declares (DROP JSON).
	Records int `json:"records,omitempty"`
}

// entryMeta is the metadata shared by the entries that carry it.
type entryMeta struct {
	id     string
	rir    string
	count  int
	single bool // single-address entry (scope default)
}

// List is a blocklist feed held in memory. It implements
// [reputation.Source], [reputation.PrefixLookuper] and
// [reputation.Describer]. A List is immutable and safe for concurrent use.
type List struct {
	name     string
	format   Format
	meta     FeedMeta
	entries  int
	set      *ipset.Set
	evidence [][]reputation.Evidence // by payload
	reasons  []string                // by payload
	cfg      FeedConfig
}

var (
	_ reputation.Source         = (*List)(nil)
	_ reputation.PrefixLookuper = (*List)(nil)
	_ reputation.Describer      = (*List)(nil)
)

// ReadList loads a feed from r.
//
// Malformed lines are skipped: ReadList returns the List of the usable
// entries together with an [errors.Join] of [*ParseError] values (at most
// [MaxParseErrors] of them, then one error saying how many more). With
// cfg.Strict the first malformed line fails the load. Entries that cover a
// whole address family (/0) are malformed ([ErrWholeSpace]). IPv4-mapped IPv6
// entries are unmapped. Overlapping entries are all kept: an address covered
// by several reports one [reputation.Evidence] per distinct entry meaning.
//
// ReadList returns a nil List and an error when reading r fails, when the
// input exceeds the size cap or the entry cap ([ErrTooLarge]; the input is
// read line by line, and the load stops at the cap), or when no entry is usable
// ([ErrEmpty], joined with the parse errors).
func ReadList(r io.Reader, cfg FeedConfig) (*List, error) {
	maxBytes := cfg.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	maxLine := cfg.MaxLineBytes
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	lr := &limitedReader{r: r, n: maxBytes}
	br := newLineReader(lr, maxLine)
	format := cfg.Format
	if format == FormatAuto {
		head, err := br.Peek(8 << 10)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		format = DetectFormat(head)
	}
	if format < FormatPlain || format > FormatIPsum {
		return nil, fmt.Errorf("sources: unknown feed format %v", format)
	}
	name := cfg.Name
	if name == "" {
		name = format.String()
	}
	maxEntries := cfg.MaxEntries
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	p := &feedParser{name: name, format: format, metaIdx: map[entryMeta]uint32{}}
	errs := &errList{name: name, strict: cfg.Strict}
	tooMany := fmt.Errorf("%w: %s has more than %d entries", ErrTooLarge, name, maxEntries)
	err := readLines(br, maxLine, func(n int, line []byte, long bool) error {
		if long {
			return errs.add(n, line, fmt.Errorf("%w (limit %d bytes)", ErrLineTooLong, maxLine))
		}
		if err := p.line(line); err != nil {
			return errs.add(n, line, err)
		}
		if p.b.Len() > maxEntries {
			return tooMany
		}
		return nil
	})
	if lr.over {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, name, maxBytes)
	}
	if err != nil {
		return nil, err
	}
	if p.b.Len() == 0 {
		return nil, errors.Join(fmt.Errorf("%w: feed %s", ErrEmpty, name), errs.err())
	}
	l := &List{name: name, format: format, meta: p.meta, entries: p.b.Len(), cfg: cfg}
	if err := l.build(p); err != nil {
		return nil, fmt.Errorf("sources: feed %s: %w", name, err)
	}
	return l, errs.err()
}

// build resolves the entries into the interval set and precomputes the
// evidence of every payload.
func (l *List) build(p *feedParser) error {
	n := uint32(len(p.metas))
	var multi [][]uint32
	multiIdx := map[string]uint32{}
	set, err := p.b.Build(func(ids []uint32) (uint32, bool) {
		if len(ids) == 1 {
			return ids[0], true
		}
		k := fmt.Sprint(ids)
		if i, ok := multiIdx[k]; ok {
			return i, true
		}
		i := n + uint32(len(multi))
		multi = append(multi, slices.Clone(ids))
		multiIdx[k] = i
		return i, true
	})
	if err != nil {
		return err
	}
	l.set = set
	l.evidence = make([][]reputation.Evidence, int(n)+len(multi))
	l.reasons = make([]string, len(l.evidence))
	for i, m := range p.metas {
		l.evidence[i] = []reputation.Evidence{l.evidenceOf(m)}
		l.reasons[i] = reasonOf(m)
	}
	for j, ids := range multi {
		var evs []reputation.Evidence
		var rs []string
		for _, id := range ids {
			e := l.evidenceOf(p.metas[id])
			if !slices.Contains(evs, e) {
				evs = append(evs, e)
			}
			if r := reasonOf(p.metas[id]); r != "" && !slices.Contains(rs, r) {
				rs = append(rs, r)
			}
		}
		slices.SortFunc(evs, func(a, b reputation.Evidence) int {
			return cmp.Or(cmp.Compare(a.Category, b.Category), cmp.Compare(a.Severity, b.Severity),
				cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Count, b.Count))
		})
		slices.Sort(rs)
		l.evidence[int(n)+j] = evs
		l.reasons[int(n)+j] = strings.Join(rs, "; ")
	}
	return nil
}

func reasonOf(m entryMeta) string {
	switch {
	case m.id != "" && m.rir != "":
		return m.id + " (" + m.rir + ")"
	case m.id != "":
		return m.id
	}
	return ""
}

func (l *List) evidenceOf(m entryMeta) reputation.Evidence {
	e := reputation.Evidence{Category: l.cfg.Category, Severity: l.cfg.Severity, Scope: l.cfg.Scope, ID: m.id, Count: m.count}
	if e.Category == "" {
		switch l.format {
		case FormatDROP:
			e.Category, e.Severity, e.Scope = "hijacked", reputation.SeverityCritical, reputation.ScopeRange
		default:
			e.Category, e.Severity, e.Scope = "listed", reputation.SeverityMedium, reputation.ScopeRange
			if m.single {
				e.Scope = reputation.ScopeAddress
			}
		}
	}
	if e.Category == "bogon" {
		e.Severity = reputation.SeverityInfo
	}
	return e
}

// Name returns the source name.
func (l *List) Name() string { return l.name }

// Format returns the format the feed was parsed as (the detected one when
// [FeedConfig.Format] was [FormatAuto]).
func (l *List) Format() Format { return l.format }

// Meta returns what the feed says about itself.
func (l *List) Meta() FeedMeta { return l.meta }

// Len returns the number of entries loaded (distinct after merging entries
// with the same meaning that overlap or touch).
func (l *List) Len() int { return l.entries }

// Info reports [reputation.KindFeed] and the address families present.
func (l *List) Info() reputation.Info {
	return reputation.Info{Kind: reputation.KindFeed, IPv4: l.set.Has4(), IPv6: l.set.Has6()}
}

// listing returns the listing of payload p. Its Evidence is shared with
// every other answer for the same payload (read-only, see
// [reputation.Listing]); the full slice expression makes an append by the
// caller copy rather than write into the List.
func (l *List) listing(p uint32) reputation.Listing {
	ev := l.evidence[p]
	return reputation.Listing{Listed: true, Evidence: ev[:len(ev):len(ev)], Reason: l.reasons[p]}
}

// Lookup reports whether addr is listed, with one evidence per distinct
// meaning of the entries that cover it. It fails only when ctx is done.
func (l *List) Lookup(ctx context.Context, addr netip.Addr) (reputation.Listing, error) {
	if err := ctx.Err(); err != nil {
		return reputation.Listing{}, fmt.Errorf("sources: feed %s: %w", l.name, err)
	}
	if p, ok := l.set.Lookup(addr.Unmap()); ok {
		return l.listing(p), nil
	}
	return reputation.Listing{}, nil
}

// LookupPrefix returns the listed extents that overlap p (host bits are
// masked). An extent covering all of p is returned as the widest prefix
// containing p over which the entries' meaning does not change (so a DROP
// /12 covering a /24 comes back as the /12); extents inside p are returned as
// the CIDR blocks they span. Extents do not overlap. It fails only when ctx
// is done or p is invalid.
func (l *List) LookupPrefix(ctx context.Context, p netip.Prefix) ([]reputation.Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sources: feed %s: %w", l.name, err)
	}
	return lookupPrefix(l.set, p, l.listing)
}

func lookupPrefix(set *ipset.Set, p netip.Prefix, listing func(uint32) reputation.Listing) ([]reputation.Match, error) {
	if !p.IsValid() {
		return nil, fmt.Errorf("%w: invalid prefix", ErrSyntax)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	first, last := p.Addr(), ipset.LastAddr(p)
	var buf [4]ipset.Interval
	ivs := set.AppendOverlapping(buf[:0], first, last)
	if len(ivs) == 0 {
		return nil, nil
	}
	var out []reputation.Match
	for _, iv := range ivs {
		lst := listing(iv.Payload)
		if !first.Less(iv.From) && !iv.To.Less(last) {
			out = append(out, reputation.Match{Prefix: ipset.Widest(p, iv.From, iv.To), Listing: lst})
			continue
		}
		from, to := iv.From, iv.To
		if from.Less(first) {
			from = first
		}
		if last.Less(to) {
			to = last
		}
		var pbuf [8]netip.Prefix
		for _, q := range ipset.AppendPrefixes(pbuf[:0], from, to) {
			out = append(out, reputation.Match{Prefix: q, Listing: lst})
		}
	}
	return out, nil
}

// Entry is one extent of a [List] with its evidence, as returned by
// [List.All].
type Entry struct {
	From, To netip.Addr
	Listing  reputation.Listing
}

// All returns an iterator over the List's extents in ascending order, IPv4
// first. Overlapping entries appear split at their boundaries and touching
// entries with equal meaning merged.
func (l *List) All() func(yield func(Entry) bool) {
	return func(yield func(Entry) bool) {
		for iv := range l.set.All {
			if !yield(Entry{iv.From, iv.To, l.listing(iv.Payload)}) {
				return
			}
		}
	}
}

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

// newLineReader returns a buffered reader for lines of up to maxLine bytes.
func newLineReader(r io.Reader, maxLine int) *bufio.Reader {
	return bufio.NewReaderSize(r, max(64<<10, maxLine+2))
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
