package sources

import (
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

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources/internal/ipset"
)

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
	//   - FormatPlain and FormatIPsum: [reputation.DefaultCategory] and
	//     [reputation.DefaultSeverity] ("listed", medium),
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
	ld, err := newLoader(r, cfg.Name, cfg.MaxBytes, cfg.MaxLineBytes, cfg.Strict)
	if err != nil {
		return nil, err
	}
	format := cfg.Format
	if format == FormatAuto {
		head, err := ld.head()
		if err != nil {
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
		ld.setName(name)
	}
	maxEntries := cfg.MaxEntries
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	p := &feedParser{name: name, format: format}
	err = ld.lines(func(_ int, line []byte) error {
		if err := p.line(line); err != nil {
			return err
		}
		if p.b.Len() > maxEntries {
			return stopLoad(fmt.Errorf("%w: %s has more than %d entries", ErrTooLarge, name, maxEntries))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	parseErrs := ld.errs.err()
	if p.b.Len() == 0 {
		return nil, errors.Join(fmt.Errorf("%w: feed %s", ErrEmpty, name), parseErrs)
	}
	l := &List{name: name, format: format, meta: p.meta, entries: p.b.Len(), cfg: cfg}
	if err := l.build(p); err != nil {
		return nil, fmt.Errorf("sources: feed %s: %w", name, err)
	}
	return l, parseErrs
}

// build resolves the entries into the interval set and precomputes the
// evidence of every payload.
func (l *List) build(p *feedParser) error {
	metas := p.metas.vals
	n := uint32(len(metas))
	// Payloads below n are single entries; the others number the sets of
	// entries that cover an interval together.
	var multi interner[idSet]
	set, err := p.b.Build(func(ids []uint32) (uint32, bool) {
		if len(ids) == 1 {
			return ids[0], true
		}
		return n + multi.id(idSetOf(ids)), true
	})
	if err != nil {
		return err
	}
	l.set = set
	l.evidence = make([][]reputation.Evidence, int(n)+len(multi.vals))
	l.reasons = make([]string, len(l.evidence))
	for i, m := range metas {
		l.evidence[i] = []reputation.Evidence{l.evidenceOf(m)}
		l.reasons[i] = reasonOf(m)
	}
	for j, ids := range multi.vals {
		var evs []reputation.Evidence
		var rs []string
		for id := range ids.all() {
			e := l.evidenceOf(metas[id])
			if !slices.Contains(evs, e) {
				evs = append(evs, e)
			}
			if r := reasonOf(metas[id]); r != "" && !slices.Contains(rs, r) {
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
			e.Category, e.Severity, e.Scope = reputation.DefaultCategory, reputation.DefaultSeverity, reputation.ScopeRange
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
		return nil, lineErrorf(ErrSyntax, "invalid prefix")
	}
	r := prefix.RangeOf(prefix.Unmap(p))
	first, last := r.From(), r.To()
	var buf [4]ipset.Interval
	ivs := set.AppendOverlapping(buf[:0], first, last)
	if len(ivs) == 0 {
		return nil, nil
	}
	var out []reputation.Match
	for _, iv := range ivs {
		lst := listing(iv.Payload)
		if !first.Less(iv.From) && !iv.To.Less(last) {
			// The widest block of the extent that holds first holds all of p.
			w, _ := prefix.RangeFrom(iv.From, iv.To).WidestPrefix(first)
			out = append(out, reputation.Match{Prefix: w, Listing: lst})
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
		for _, q := range prefix.RangeFrom(from, to).AppendPrefixes(pbuf[:0]) {
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
