package sources

import (
	"context"
	"encoding/binary"
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

// Dataset is an rbldnsd dataset type.
type Dataset string

// rbldnsd dataset types a [Mirror] can load (see rbldnsd(8)).
const (
	// DatasetIP4Set: IPv4 addresses, CIDRs, partial octets ("127.0.0") and
	// ranges ("127.0.0.1-255", "127.16-31") with per-entry values and "!"
	// exclusions. Where entries overlap, the most specific octet level
	// (/32, then /24, /16, /8) answers, with every value listed there.
	DatasetIP4Set Dataset = "ip4set"
	// DatasetIP4TSet: single IPv4 addresses sharing one value (the first
	// ":" line); no exclusions, per-entry values ignored.
	DatasetIP4TSet Dataset = "ip4tset"
	// DatasetIP4Trie: IPv4 CIDRs (no ranges) with per-entry values and
	// exclusions; the longest matching prefix answers; "/0" is allowed.
	DatasetIP4Trie Dataset = "ip4trie"
	// DatasetIP6Trie: the IPv6 form of DatasetIP4Trie; "::" notation and
	// partial addresses ("2001:db8:1:2" is a /64) are accepted.
	DatasetIP6Trie Dataset = "ip6trie"
	// DatasetIP6TSet: IPv6 /64s written as four words, sharing one value,
	// with "!" exclusions of single /128 addresses.
	DatasetIP6TSet Dataset = "ip6tset"
)

// DefaultMirrorTTL is the TTL of mirror answers when the data has no $TTL
// line: rbldnsd's default (-t 35m).
const DefaultMirrorTTL = 35 * time.Minute

// MirrorConfig says how to load a zone mirror.
type MirrorConfig struct {
	// Name is the source name; empty means Zone.Zone, or the dataset type
	// when that is empty too.
	Name string
	// Type is the rbldnsd dataset type. Required.
	Type Dataset
	// Zone describes the zone mirrored: its return codes, error codes and
	// delisting URL turn answers into evidence exactly as for the live
	// zone. A zero Zone decodes every answer with the ZoneInfo defaults.
	Zone ZoneInfo
	// Strict makes the first malformed line fail the load.
	Strict bool
	// MaxBytes caps the input size; 0 means [DefaultMaxBytes].
	MaxBytes int64
	// MaxLineBytes caps one line; 0 means [DefaultMaxLineBytes].
	MaxLineBytes int
}

// answer is what the mirror serves for the addresses of one payload.
type answer struct {
	as       []netip.Addr // A values, deduplicated
	txts     []string     // TXT templates, deduplicated
	evidence []reputation.Evidence
	err      error // decoding error (an error code of the zone)
}

// Mirror is a local copy of a DNSBL zone loaded from an rbldnsd data file.
// It implements [reputation.Source], [reputation.PrefixLookuper] and
// [reputation.Describer] with the answers rbldnsd would serve from the same
// file, decoded with the mirror's [ZoneInfo]. A Mirror is immutable and safe
// for concurrent use.
type Mirror struct {
	name    string
	typ     Dataset
	zone    ZoneInfo
	set     *ipset.Set
	answers []answer
	vars    [10]string
	base    string
	ttl     time.Duration
	entries int
}

var (
	_ reputation.Source         = (*Mirror)(nil)
	_ reputation.PrefixLookuper = (*Mirror)(nil)
	_ reputation.Describer      = (*Mirror)(nil)
)

// ReadMirror loads an rbldnsd data file of type cfg.Type from r (one file;
// decompress gzip files before). The syntax is rbldnsd's: "#" and ";"
// comments, ":A:TXT" default lines, per-entry values, "!" exclusions,
// special lines starting with "$" ($TTL, $MAXRANGE4, $0..$9 and "$="
// substitutions are used; $SOA, $NS, $TIMESTAMP and unknown ones are
// accepted and ignored).
//
// Lines rbldnsd would ignore with a warning are skipped and reported as
// [*ParseError] values joined with [errors.Join] next to the usable Mirror;
// with cfg.Strict the first one fails the load. An I/O error, input over the
// size cap ([ErrTooLarge]) or a file without entries ([ErrEmpty]) return a
// nil Mirror.
func ReadMirror(r io.Reader, cfg MirrorConfig) (*Mirror, error) {
	switch cfg.Type {
	case DatasetIP4Set, DatasetIP4TSet, DatasetIP4Trie, DatasetIP6Trie, DatasetIP6TSet:
	default:
		return nil, fmt.Errorf("sources: unsupported rbldnsd dataset type %q", cfg.Type)
	}
	name := cfg.Name
	if name == "" {
		name = cfg.Zone.Zone
	}
	if name == "" {
		name = string(cfg.Type)
	}
	p := newRbldnsdParser(cfg.Type)
	ld, err := newLoader(r, name, cfg.MaxBytes, cfg.MaxLineBytes, cfg.Strict)
	if err != nil {
		return nil, err
	}
	if err := ld.lines(func(_ int, line []byte) error { return p.line(string(line)) }); err != nil {
		return nil, err
	}
	parseErrs := ld.errs.err()
	if p.entries == 0 {
		return nil, errors.Join(fmt.Errorf("%w: zone %s", ErrEmpty, name), parseErrs)
	}
	m := &Mirror{name: name, typ: cfg.Type, zone: cfg.Zone, vars: p.vars, base: p.base, ttl: p.ttl, entries: p.entries}
	if m.ttl == 0 {
		m.ttl = DefaultMirrorTTL
	}
	if err := m.build(p); err != nil {
		return nil, fmt.Errorf("sources: zone %s: %w", name, err)
	}
	return m, parseErrs
}

// build resolves the pieces with rbldnsd's precedence into the interval set.
func (m *Mirror) build(p *rbldnsdParser) error {
	rrs := p.rrs.vals
	if p.tset() {
		rrs = []rrValue{p.tsetRR()}
	}
	pieces := p.pieces.vals
	// A payload numbers the set of values served for an interval.
	var sets interner[idSet]
	var pick []uint32
	set, err := p.b.Build(func(ids []uint32) (uint32, bool) {
		best := int16(1 << 14)
		for _, id := range ids {
			best = min(best, pieces[id].level)
		}
		pick = pick[:0]
		for _, id := range ids {
			pc := pieces[id]
			if pc.level != best {
				continue
			}
			if pc.rr < 0 {
				return 0, false // an exclusion at the winning level
			}
			if p.tset() {
				pc.rr = 0
			}
			if rr := uint32(pc.rr); !slices.Contains(pick, rr) {
				pick = append(pick, rr)
			}
		}
		slices.Sort(pick)
		return sets.id(idSetOf(pick)), true
	})
	if err != nil {
		return err
	}
	m.set = set
	m.answers = make([]answer, len(sets.vals))
	for i, s := range sets.vals {
		var an answer
		for r := range s.all() {
			v := rrs[r]
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], v.a)
			if a := netip.AddrFrom4(b); !slices.Contains(an.as, a) {
				an.as = append(an.as, a)
			}
			if !slices.Contains(an.txts, v.txt) {
				an.txts = append(an.txts, v.txt)
			}
		}
		an.evidence, an.err = m.zone.Decode(an.as)
		m.answers[i] = an
	}
	return nil
}

// Name returns the source name.
func (m *Mirror) Name() string { return m.name }

// Type returns the dataset type the mirror was loaded as.
func (m *Mirror) Type() Dataset { return m.typ }

// Len returns the number of entries loaded, exclusions included.
func (m *Mirror) Len() int { return m.entries }

// Zone returns the zone description the mirror decodes answers with.
func (m *Mirror) Zone() ZoneInfo { return m.zone }

// Info reports [reputation.KindZone] and the family of the dataset type.
func (m *Mirror) Info() reputation.Info {
	v6 := m.typ == DatasetIP6Trie || m.typ == DatasetIP6TSet
	return reputation.Info{Kind: reputation.KindZone, IPv4: !v6, IPv6: v6}
}

func (m *Mirror) family(a netip.Addr) error {
	if a.Is4() == m.Info().IPv4 {
		return nil
	}
	return fmt.Errorf("%w: zone %s (%s) asked for %s", ErrUnsupported, m.name, m.typ, a)
}

// rbldnsdString formats a as rbldnsd substitutes it for "$" in TXT.
func rbldnsdString(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	return ip6String(a.As16())
}

// Answer returns the A and TXT records rbldnsd would serve for addr from the
// same data (nil, nil when addr is not listed), with "$" substituted in TXT.
// Records are deduplicated; their order is the data file's.
//
// An IPv4-mapped IPv6 address (the RFC 5782 IPv6 test point ::ffff:127.0.0.2)
// stands for a query name in IPv6 form, and gets rbldnsd's answer to it: IPv6
// data (ip6trie, ip6tset) look it up as the IPv6 address it is, IPv4 data
// answer for the IPv4 address it maps. The differential test against rbldnsd
// checks both.
func (m *Mirror) Answer(addr netip.Addr) (as []netip.Addr, txts []string) {
	if addr.Is4In6() && m.Info().IPv4 {
		addr = addr.Unmap()
	}
	if m.family(addr) != nil {
		return nil, nil
	}
	p, ok := m.set.Lookup(addr)
	if !ok {
		return nil, nil
	}
	an := &m.answers[p]
	return slices.Clone(an.as), m.expand(an, rbldnsdString(addr))
}

func (m *Mirror) expand(an *answer, subst string) []string {
	var out []string
	for _, t := range an.txts {
		if s := txtSubst(t, subst, &m.vars, m.base); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (m *Mirror) listing(p uint32, subst string, delist netip.Addr) (reputation.Listing, error) {
	an := &m.answers[p]
	if an.err != nil {
		return reputation.Listing{}, fmt.Errorf("sources: zone %s: %w", m.name, an.err)
	}
	return reputation.Listing{
		Listed:    true,
		Evidence:  slices.Clone(an.evidence),
		Reason:    strings.Join(m.expand(an, subst), "; "),
		TTL:       m.ttl,
		DelistURL: m.zone.Delist(delist),
	}, nil
}

// Lookup returns what the live zone would answer for addr, decoded with the
// mirror's ZoneInfo: evidence from the A records and Reason from the TXT
// records ("; "-joined), with "$" replaced by addr. An answer that is an
// error code of the zone is returned as an error, as for the live zone. An
// address of the other family fails with [ErrUnsupported].
func (m *Mirror) Lookup(ctx context.Context, addr netip.Addr) (reputation.Listing, error) {
	if err := ctx.Err(); err != nil {
		return reputation.Listing{}, fmt.Errorf("sources: zone %s: %w", m.name, err)
	}
	addr = addr.Unmap()
	if err := m.family(addr); err != nil {
		return reputation.Listing{}, err
	}
	p, ok := m.set.Lookup(addr)
	if !ok {
		return reputation.Listing{}, nil
	}
	return m.listing(p, rbldnsdString(addr), addr)
}

// LookupPrefix returns the listed extents overlapping p with exclusions cut
// out, as [List.LookupPrefix] does. In Reason, "$" is replaced by the
// extent's prefix, and DelistURL is built for the extent's first address.
func (m *Mirror) LookupPrefix(ctx context.Context, p netip.Prefix) ([]reputation.Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sources: zone %s: %w", m.name, err)
	}
	if !p.IsValid() {
		return nil, lineErrorf(ErrSyntax, "invalid prefix")
	}
	if err := m.family(p.Addr().Unmap()); err != nil {
		return nil, err
	}
	var firstErr error
	ms, err := lookupPrefix(m.set, p, func(pay uint32) reputation.Listing {
		l, err := m.listing(pay, "", netip.Addr{})
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return l
	})
	if err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	for i := range ms {
		an := &m.answers[mustPayload(m.set, ms[i].Prefix.Addr())]
		ms[i].Reason = strings.Join(m.expand(an, ms[i].Prefix.String()), "; ")
		ms[i].DelistURL = m.zone.Delist(ms[i].Prefix.Addr())
	}
	return ms, nil
}

func mustPayload(s *ipset.Set, a netip.Addr) uint32 {
	p, _ := s.Lookup(a)
	return p
}
