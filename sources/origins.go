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
	"strconv"
	"strings"

	"github.com/prefixvet/prefixvet/reputation"
)

// DefaultOriginsName is the source name of [Origins] when
// [OriginsConfig.Name] is empty.
const DefaultOriginsName = "origins"

// OriginsConfig says how to load a prefix-to-origin table. The zero value
// loads a table with no expected origin.
type OriginsConfig struct {
	// Name is the source name; empty means [DefaultOriginsName].
	Name string
	// ExpectOrigin is the AS the block will be announced from; 0 means
	// unknown, and then no origin counts as foreign.
	ExpectOrigin uint32
	// Strict makes the first malformed line fail the load.
	Strict bool
	// MaxBytes caps the input size; 0 means [DefaultMaxBytes].
	MaxBytes int64
	// MaxLineBytes caps one line; 0 means [DefaultMaxLineBytes].
	MaxLineBytes int
}

// Route is one announced prefix of a prefix-to-origin table.
type Route struct {
	// Prefix is the announced prefix.
	Prefix netip.Prefix
	// Origins are the origin ASes: one, several when several ASes originate
	// the prefix (MOAS, "a_b" in pfx2as), or the members of an AS set
	// ("a,b"). Shared between answers: read-only.
	Origins []uint32
	// ASSet reports that Origins holds the members of an AS set.
	ASSet bool
}

// RouteMatch is one extent of a queried block with the announced prefixes
// that cover it, the most specific first.
type RouteMatch struct {
	Prefix netip.Prefix
	Routes []Route
}

// RouteLookuper answers which announced prefixes cover or lie inside a
// block, as non-overlapping extents (the shape of
// [reputation.PrefixLookuper]). [*Origins] implements it, and so does a
// [Fetcher] serving one.
type RouteLookuper interface {
	LookupRoutes(ctx context.Context, p netip.Prefix) ([]RouteMatch, error)
}

type route struct {
	key   pkey
	multi bool   // origin is an index into Origins.sets
	asn   uint32 // the origin, or the index of several
}

type originSet struct {
	asns  []uint32
	asSet bool // "a,b": the members of an AS set
}

// Origins is a prefix-to-origin table (CAIDA RouteViews pfx2as) held in
// memory: who announces which prefix. It implements [reputation.Source],
// [reputation.PrefixLookuper], [reputation.Describer] and [RouteLookuper].
// An Origins is immutable and safe for concurrent use.
//
// For a block it reports every announced prefix that covers the block or
// lies inside it, per origin AS:
//
//   - [CategoryAnnounced], info: "announced by AS64500";
//   - with [OriginsConfig.ExpectOrigin] set, an origin other than it:
//     [CategoryForeignOrigin], high. Someone else routes the space today
//     (often the holder's own aggregate: the reason names the prefix, so a
//     person can tell).
//
// A block nothing announces gets no match.
type Origins struct {
	name   string
	expect uint32
	routes []route
	sets   []originSet
	idx    *nested
}

var (
	_ reputation.Source         = (*Origins)(nil)
	_ reputation.PrefixLookuper = (*Origins)(nil)
	_ reputation.Describer      = (*Origins)(nil)
	_ RouteLookuper             = (*Origins)(nil)
)

// ReadOrigins loads a CAIDA RouteViews prefix-to-AS table (pfx2as):
// "prefix<TAB>length<TAB>origin" per line, where origin is an AS number,
// "a_b" for several origins (MOAS) or "a,b" for an AS set; the two may be
// combined ("a_b,c"). Blank lines and "#" comments are skipped.
//
// Malformed lines are skipped: ReadOrigins returns the usable Origins and
// an [errors.Join] of [*ParseError] values naming the line, as [ReadList]
// does. It fails, with a nil Origins, when reading fails, when the input
// exceeds the size cap ([ErrTooLarge]), when it is a file of another known
// kind ([ErrWrongFormat]), or when no line is usable ([ErrEmpty]).
func ReadOrigins(r io.Reader, cfg OriginsConfig) (*Origins, error) {
	name := cmp.Or(cfg.Name, DefaultOriginsName)
	size := sizeHint(r)
	ld, err := newLoader(r, name, cfg.MaxBytes, cfg.MaxLineBytes, cfg.Strict, kindPfx2as)
	if err != nil {
		return nil, err
	}
	// A pfx2as line takes about 20 bytes ("192.0.2.0\t24\t64500\n").
	o := &Origins{name: name, expect: cfg.ExpectOrigin, routes: make([]route, 0, capHint(size, 18))}
	setIdx := map[string]uint32{}
	err = ld.lines(func(_ int, line []byte) error {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			return nil
		}
		a, rest, ok1 := bytes.Cut(line, []byte{'\t'})
		l, asns, ok2 := bytes.Cut(rest, []byte{'\t'})
		if !ok1 || !ok2 {
			return lineErrorf(ErrSyntax, "want prefix<TAB>length<TAB>origin")
		}
		addr, err := netip.ParseAddr(string(a))
		if err != nil || addr.Zone() != "" {
			return lineErrorf(ErrSyntax, "bad prefix %q", a)
		}
		bits, err := strconv.Atoi(string(l))
		if err != nil || bits < 1 || bits > addr.BitLen() {
			return lineErrorf(ErrSyntax, "bad length %q", l)
		}
		p := netip.PrefixFrom(addr, bits)
		if p.Masked() != p {
			return lineErrorf(ErrSyntax, "%s has host bits set (want %s)", p, p.Masked())
		}
		if addr.Is4In6() {
			return lineErrorf(ErrSyntax, "IPv4-mapped prefix %s", p)
		}
		if asn, ok := parseDigits(asns); ok {
			o.routes = append(o.routes, route{key: pkeyOf(p), asn: asn})
			return nil
		}
		si, ok := setIdx[string(asns)]
		if !ok {
			set, err := parseOrigins(string(asns))
			if err != nil {
				return err
			}
			si = uint32(len(o.sets))
			o.sets = append(o.sets, set)
			setIdx[string(asns)] = si
		}
		o.routes = append(o.routes, route{key: pkeyOf(p), multi: true, asn: si})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(o.routes) == 0 {
		return nil, errors.Join(fmt.Errorf("%w: origins %s", ErrEmpty, name), ld.errs.err())
	}
	o.routes = trimCap(o.routes) // the capacity came from the input size
	if o.idx, err = buildNested(o.routes, func(r route) pkey { return r.key }); err != nil {
		return nil, fmt.Errorf("sources: origins %s: %w", name, err)
	}
	return o, ld.errs.err()
}

// parseDigits parses a plain AS number, the common case, without
// allocating.
func parseDigits(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return uint32(n), n <= 1<<32-1
}

// parseOrigins parses "64500", "64500_64501" (MOAS) or "64500,64501" (an AS
// set), or a mix of the two.
func parseOrigins(s string) (originSet, error) {
	var set originSet
	for _, moas := range strings.Split(s, "_") {
		members := strings.Split(moas, ",")
		if len(members) > 1 {
			set.asSet = true
		}
		for _, m := range members {
			asn, err := ParseASN(m)
			if err != nil {
				return set, err
			}
			if !slices.Contains(set.asns, asn) {
				set.asns = append(set.asns, asn)
			}
		}
	}
	return set, nil
}

// Name returns the source name.
func (o *Origins) Name() string { return o.name }

// Len returns the number of announced prefixes loaded.
func (o *Origins) Len() int { return len(o.routes) }

// Info reports [reputation.KindFeed] and both families: a block nothing
// announces is an answer too.
func (o *Origins) Info() reputation.Info {
	return reputation.Info{Kind: reputation.KindFeed, IPv4: true, IPv6: true}
}

// LookupRoutes returns the announced prefixes that cover p or lie inside
// it, per non-overlapping extent of p. It fails only when ctx is done or p
// is invalid.
func (o *Origins) LookupRoutes(ctx context.Context, p netip.Prefix) ([]RouteMatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sources: origins %s: %w", o.name, err)
	}
	ms, err := lookupPrefix(o.idx.set, p, func(uint32) reputation.Listing { return reputation.Listing{} })
	if err != nil {
		return nil, err
	}
	out := make([]RouteMatch, len(ms))
	for i, m := range ms {
		out[i].Prefix = m.Prefix
		// Every extent lies within one interval of the set, so its first
		// address finds the deepest announced prefix covering it.
		g, _ := o.idx.set.Lookup(m.Prefix.Addr())
		o.idx.chain(int32(g), func(g int32) {
			from, to := o.idx.records(g)
			for j := from; j < to; j++ {
				r := &o.routes[j]
				rt := Route{Prefix: r.key.prefix()}
				if r.multi {
					rt.Origins, rt.ASSet = o.sets[r.asn].asns, o.sets[r.asn].asSet
				} else {
					rt.Origins = []uint32{r.asn}
				}
				out[i].Routes = append(out[i].Routes, rt)
			}
		})
	}
	return out, nil
}

// Lookup answers for addr as [Origins.LookupPrefix] does for its /32 or
// /128.
func (o *Origins) Lookup(ctx context.Context, addr netip.Addr) (reputation.Listing, error) {
	ms, err := o.LookupPrefix(ctx, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
	if err != nil || len(ms) == 0 {
		return reputation.Listing{}, err
	}
	return ms[0].Listing, nil
}

// LookupPrefix returns the announced prefixes that cover p or lie inside
// it as non-overlapping extents, with the evidence described at [Origins].
// It fails only when ctx is done or p is invalid.
func (o *Origins) LookupPrefix(ctx context.Context, p netip.Prefix) ([]reputation.Match, error) {
	rms, err := o.LookupRoutes(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]reputation.Match, 0, len(rms))
	for _, rm := range rms {
		var evs []reputation.Evidence
		var reasons []string
		for _, rt := range rm.Routes {
			var by, foreign []string
			for _, asn := range rt.Origins {
				by = append(by, formatASN(asn))
				e := reputation.Evidence{Category: CategoryAnnounced, Severity: reputation.SeverityInfo, Scope: reputation.ScopeRange, ID: formatASN(asn)}
				if !slices.Contains(evs, e) {
					evs = append(evs, e)
				}
				if o.expect != 0 && asn != o.expect {
					foreign = append(foreign, formatASN(asn))
					e.Category, e.Severity = CategoryForeignOrigin, reputation.SeverityHigh
					if !slices.Contains(evs, e) {
						evs = append(evs, e)
					}
				}
			}
			s := rt.Prefix.String() + " announced by " + strings.Join(by, " and ")
			switch {
			case rt.ASSet:
				s += " (an AS set)"
			case len(by) > 1:
				s += " (several origins, MOAS)"
			}
			if len(foreign) > 0 {
				s += ", not " + formatASN(o.expect) + ": someone else routes this space today"
			}
			reasons = append(reasons, s)
		}
		out = append(out, reputation.Match{Prefix: rm.Prefix, Listing: reputation.Listing{Listed: true, Evidence: evs, Reason: strings.Join(reasons, "; ")}})
	}
	return out, nil
}
