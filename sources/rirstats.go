package sources

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources/internal/ipset"
)

// DefaultRIRStatsName is the source name of [RIRStats] when
// [RIRStatsConfig.Name] is empty.
const DefaultRIRStatsName = "rir-stats"

// RIRStatsConfig says how to load RIR delegated statistics. The zero value
// is ready to use.
type RIRStatsConfig struct {
	// Name is the source name; empty means [DefaultRIRStatsName].
	Name string
	// Strict makes the first malformed line fail the load.
	Strict bool
	// MaxBytes caps the size of each file; 0 means [DefaultMaxBytes].
	MaxBytes int64
	// MaxLineBytes caps one line; 0 means [DefaultMaxLineBytes].
	MaxLineBytes int
}

// rirMeta is what a delegated-stats record says about its range, in 20
// bytes: the strings are interned in RIRStats.strs.
type rirMeta struct {
	registry, cc, status uint32 // indices into strs
	date                 uint32 // YYYYMMDD, 0 when empty
	opaque               uint32 // index into strs
}

// rirStatuses returns the statuses a record may have; the first two are
// delegated space.
func rirStatuses() [6]string {
	return [...]string{"allocated", "assigned", "available", "reserved", "ianapool", "ietf"}
}

// RIRStats is the address space of the RIR delegated statistics files
// ("delegated-<rir>-extended-latest") held in memory. It implements
// [reputation.Source], [reputation.PrefixLookuper] and
// [reputation.Describer]. An RIRStats is immutable and safe for concurrent
// use.
//
// For a block it reports the records that overlap it:
//
//   - status available or reserved (and ianapool or ietf in the NRO's
//     combined file): [CategoryRIRUnallocated], critical. Space the RIR has
//     not delegated has no holder who could lease it;
//   - status allocated or assigned: [CategoryRIRDelegated], info, with the
//     registry, country, date and opaque holder id in ID and Reason.
//
// Space no file mentions gets no match.
type RIRStats struct {
	name    string
	records int
	set     *ipset.Set
	metas   []rirMeta
	strs    []string   // interned registry, country, status and holder ids
	multi   [][]uint32 // payloads of ranges listed by several records
}

var (
	_ reputation.Source         = (*RIRStats)(nil)
	_ reputation.PrefixLookuper = (*RIRStats)(nil)
	_ reputation.Describer      = (*RIRStats)(nil)
)

// ReadRIRStats loads a delegated statistics file (one RIR's extended file,
// or the NRO's combined one; load each RIR's file as its own source).
// Records are "registry|cc|type|start|value|date|status[|opaque-id[|...]]"
// after a version line "2|registry|serial|records|start|end|UTCoffset" and
// summary lines "registry|*|type|*|count|summary"; "#" starts a comment.
//
//   - For ipv4, value is an address count, not always a power of two (768,
//     1536); for ipv6 it is a prefix length. asn records are skipped.
//   - RIPE NCC writes 7 fields for available and reserved rows with empty
//     cc and date; AFRINIC writes cc ZZ. Both are read as written.
//   - Fields after the eighth are ignored; status is read case-insensitively.
//
// Malformed lines are skipped: ReadRIRStats returns the usable RIRStats and
// an [errors.Join] of [*ParseError] values naming the line, as [ReadList]
// does. It fails, with a nil RIRStats, when reading fails, when the input
// exceeds the size cap ([ErrTooLarge]), when it is a file of another known
// kind, such as VRPs or a pfx2as table ([ErrWrongFormat]), or when no record
// is usable ([ErrEmpty]).
func ReadRIRStats(r io.Reader, cfg RIRStatsConfig) (*RIRStats, error) {
	name := cmp.Or(cfg.Name, DefaultRIRStatsName)
	b := &rirBuilder{metaIdx: map[rirMeta]uint32{}, strIdx: map[string]uint32{"": 0}, strs: []string{""}}
	ld, err := newLoader(r, name, cfg.MaxBytes, cfg.MaxLineBytes, cfg.Strict, kindRIRStats)
	if err != nil {
		return nil, err
	}
	if err := ld.lines(b.line); err != nil {
		return nil, err
	}
	perr := ld.errs.err()
	if b.records == 0 {
		return nil, errors.Join(fmt.Errorf("%w: delegated statistics %s", ErrEmpty, name), perr)
	}
	s := &RIRStats{name: name, records: b.records, metas: b.metas, strs: b.strs}
	n := uint32(len(b.metas))
	multiIdx := map[string]uint32{}
	set, err := b.b.Build(func(ids []uint32) (uint32, bool) {
		if len(ids) == 1 {
			return ids[0], true
		}
		k := fmt.Sprint(ids)
		if i, ok := multiIdx[k]; ok {
			return i, true
		}
		i := n + uint32(len(s.multi))
		s.multi = append(s.multi, slices.Clone(ids))
		multiIdx[k] = i
		return i, true
	})
	if err != nil {
		return nil, fmt.Errorf("sources: delegated statistics %s: %w", name, err)
	}
	s.set = set
	return s, perr
}

type rirBuilder struct {
	b       ipset.Builder
	metas   []rirMeta
	metaIdx map[rirMeta]uint32
	strs    []string
	strIdx  map[string]uint32
	records int
}

// intern returns the index of s in b.strs.
func (b *rirBuilder) intern(s string) uint32 {
	if i, ok := b.strIdx[s]; ok {
		return i
	}
	i := uint32(len(b.strs))
	b.strs = append(b.strs, s)
	b.strIdx[s] = i
	return i
}

// line reads one line of a delegated statistics file.
func (b *rirBuilder) line(_ int, raw []byte) error {
	s := strings.TrimSpace(string(raw))
	if s == "" || s[0] == '#' {
		return nil
	}
	f := strings.Split(s, "|")
	switch {
	case len(f) >= 6 && f[len(f)-1] == "summary" && f[1] == "*":
		return nil
	case len(f) == 7 && isVersion(f[0]):
		return nil // version line
	case len(f) < 7:
		return lineErrorf(ErrSyntax, "want registry|cc|type|start|value|date|status, found %d fields", len(f))
	}
	typ := strings.ToLower(f[2])
	if typ == "asn" {
		return nil
	}
	if typ != "ipv4" && typ != "ipv6" {
		return lineErrorf(ErrSyntax, "unknown type %q (want ipv4, ipv6 or asn)", f[2])
	}
	start, err := netip.ParseAddr(f[3])
	if err != nil || start.Zone() != "" || start.Is4() != (typ == "ipv4") {
		return lineErrorf(ErrSyntax, "bad %s start %q", typ, f[3])
	}
	var last netip.Addr
	if typ == "ipv4" {
		n, err := strconv.ParseUint(f[4], 10, 64)
		if err != nil || n == 0 || n > 1<<32 {
			return lineErrorf(ErrSyntax, "bad address count %q", f[4])
		}
		a := start.As4()
		u := uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
		if u+n-1 > 0xffffffff {
			return lineErrorf(ErrSyntax, "%s + %d runs past 255.255.255.255", start, n)
		}
		e := uint32(u + n - 1)
		last = netip.AddrFrom4([4]byte{byte(e >> 24), byte(e >> 16), byte(e >> 8), byte(e)})
	} else {
		bits, err := strconv.Atoi(f[4])
		if err != nil || bits < 1 || bits > 128 {
			return lineErrorf(ErrSyntax, "bad prefix length %q", f[4])
		}
		p := netip.PrefixFrom(start, bits)
		if p.Masked().Addr() != start {
			return lineErrorf(ErrSyntax, "%s/%d has host bits set", start, bits)
		}
		last = prefix.RangeOf(p).To()
	}
	if start == netip.IPv4Unspecified() && last == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return lineErrorf(ErrWholeSpace, "record for all of IPv4")
	}
	status := strings.ToLower(f[6])
	if statuses := rirStatuses(); !slices.Contains(statuses[:], status) {
		return lineErrorf(ErrSyntax, "unknown status %q (want allocated, assigned, available or reserved)", f[6])
	}
	var date uint64
	if f[5] != "" {
		if len(f[5]) != 8 || !isDigits(f[5]) {
			return lineErrorf(ErrSyntax, "bad date %q (want YYYYMMDD)", f[5])
		}
		date, _ = strconv.ParseUint(f[5], 10, 32)
	}
	m := rirMeta{
		registry: b.intern(strings.ToLower(f[0])),
		cc:       b.intern(strings.ToUpper(f[1])),
		status:   b.intern(status),
		date:     uint32(date),
	}
	if len(f) > 7 {
		m.opaque = b.intern(f[7])
	}
	id, ok := b.metaIdx[m]
	if !ok {
		id = uint32(len(b.metas))
		b.metas = append(b.metas, m)
		b.metaIdx[m] = id
	}
	b.records++
	return b.b.Add(start, last, id)
}

func isVersion(s string) bool {
	v, _, _ := strings.Cut(s, ".")
	return isDigits(v)
}

// evidence describes record m's range to a person vetting a block.
func (s *RIRStats) evidence(m rirMeta) (reputation.Evidence, string) {
	registry, cc, status := s.strs[m.registry], s.strs[m.cc], s.strs[m.status]
	date := ""
	if m.date != 0 {
		d := fmt.Sprintf("%08d", m.date)
		date = d[:4] + "-" + d[4:6] + "-" + d[6:]
	}
	id := strings.Join(slices.DeleteFunc([]string{registry, cc, date, status}, func(s string) bool { return s == "" }), " ")
	e := reputation.Evidence{Scope: reputation.ScopeRange, ID: id}
	if delegated := rirStatuses(); status != delegated[0] && status != delegated[1] {
		e.Category, e.Severity = CategoryRIRUnallocated, reputation.SeverityCritical
		return e, fmt.Sprintf("%s lists the space as %s: not delegated to anyone, so nobody can lease it", registry, status)
	}
	e.Category, e.Severity = CategoryRIRDelegated, reputation.SeverityInfo
	r := status + " by " + registry
	if cc != "" && cc != "ZZ" {
		r += " to a holder in " + cc
	}
	if date != "" {
		r += " on " + date
	}
	if o := s.strs[m.opaque]; o != "" {
		r += " (holder id " + o + ")"
	}
	return e, r
}

// Name returns the source name.
func (s *RIRStats) Name() string { return s.name }

// Len returns the number of ipv4 and ipv6 records loaded.
func (s *RIRStats) Len() int { return s.records }

// Info reports [reputation.KindFeed] and the address families present.
func (s *RIRStats) Info() reputation.Info {
	return reputation.Info{Kind: reputation.KindFeed, IPv4: s.set.Has4(), IPv6: s.set.Has6()}
}

// listing builds the answer for payload p when asked: precomputing it for
// every record would triple the memory of a full file.
func (s *RIRStats) listing(p uint32) reputation.Listing {
	ids := []uint32{p}
	if int(p) >= len(s.metas) {
		ids = s.multi[int(p)-len(s.metas)]
	}
	l := reputation.Listing{Listed: true, Evidence: make([]reputation.Evidence, 0, len(ids))}
	var rs []string
	for _, id := range ids {
		e, r := s.evidence(s.metas[id])
		l.Evidence, rs = append(l.Evidence, e), append(rs, r)
	}
	l.Reason = strings.Join(rs, "; ")
	return l
}

// Lookup reports the record that covers addr; it fails only when ctx is
// done.
func (s *RIRStats) Lookup(ctx context.Context, addr netip.Addr) (reputation.Listing, error) {
	if err := ctx.Err(); err != nil {
		return reputation.Listing{}, fmt.Errorf("sources: delegated statistics %s: %w", s.name, err)
	}
	if p, ok := s.set.Lookup(addr.Unmap()); ok {
		return s.listing(p), nil
	}
	return reputation.Listing{}, nil
}

// LookupPrefix returns the records that overlap p as non-overlapping
// extents (see [List.LookupPrefix] for their shape). It fails only when ctx
// is done or p is invalid.
func (s *RIRStats) LookupPrefix(ctx context.Context, p netip.Prefix) ([]reputation.Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sources: delegated statistics %s: %w", s.name, err)
	}
	return lookupPrefix(s.set, p, s.listing)
}
