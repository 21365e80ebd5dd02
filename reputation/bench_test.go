package reputation_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/prefixvet/prefixvet/reputation"
)

// zeroSource answers "not listed" at once: it measures the Scorer alone.
type zeroSource struct{ name string }

func (z zeroSource) Name() string { return z.name }
func (zeroSource) Lookup(context.Context, netip.Addr) (reputation.Listing, error) {
	return reputation.Listing{}, nil
}

// reportPerLookup reports ns/lookup and allocs/lookup for the b.Loop just
// finished, given the mallocs counted before it.
func reportPerLookup(b *testing.B, lookups int, mallocsBefore uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n := float64(b.N) * float64(lookups)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/lookup")
	b.ReportMetric(float64(ms.Mallocs-mallocsBefore)/n, "allocs/lookup")
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// BenchmarkScorer_overhead measures the scheduler per (address, source)
// lookup with zero-latency sources.
func BenchmarkScorer_overhead(b *testing.B) {
	for _, bc := range []struct {
		name    string
		prefix  netip.Prefix
		sources int
		timeout bool
		conc    int
	}{
		{"v4_24_x1", mpp("198.51.100.0/24"), 1, true, 0},
		{"v4_24_x10", mpp("198.51.100.0/24"), 10, true, 0},
		{"v4_20_x10", mpp("198.18.0.0/20"), 10, true, 0},
		{"v4_20_x10_no_timeout", mpp("198.18.0.0/20"), 10, false, 0},
		{"v4_20_x10_conc2", mpp("198.18.0.0/20"), 10, true, 2},
		{"v6_116_x10", mpp("2001:db8::/116"), 10, true, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var srcs []reputation.Source
			for i := range bc.sources {
				srcs = append(srcs, zeroSource{fmt.Sprintf("zone%d", i)})
			}
			s := &reputation.Scorer{Sources: srcs, AllowSpecial: true, Concurrency: bc.conc}
			if !bc.timeout {
				s.Timeout = -1
			}
			ctx := b.Context()
			rep, err := s.Score(ctx, bc.prefix)
			if err != nil {
				b.Fatal(err)
			}
			lookups := rep.LookupsPlanned
			b.ReportAllocs()
			before := mallocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Score(ctx, bc.prefix); err != nil {
					b.Fatal(err)
				}
			}
			reportPerLookup(b, lookups, before)
		})
	}
}

// memList is an in-memory source of sorted, non-overlapping extents that
// answers per address and for whole blocks, like a feed or a local zone.
type memList struct {
	name    string
	entries []reputation.Match
}

func (m *memList) Name() string { return m.name }

// find returns the index of the last entry starting at or before a.
func (m *memList) find(a netip.Addr) int {
	i, found := slices.BinarySearchFunc(m.entries, a, func(e reputation.Match, a netip.Addr) int {
		return e.Prefix.Addr().Compare(a)
	})
	if found {
		return i
	}
	return i - 1
}

func (m *memList) Lookup(_ context.Context, a netip.Addr) (reputation.Listing, error) {
	if i := m.find(a); i >= 0 && m.entries[i].Prefix.Contains(a) {
		return m.entries[i].Listing, nil
	}
	return reputation.Listing{}, nil
}

func (m *memList) LookupPrefix(_ context.Context, p netip.Prefix) ([]reputation.Match, error) {
	var out []reputation.Match
	i := max(0, m.find(p.Addr()))
	for ; i < len(m.entries); i++ {
		e := m.entries[i]
		if e.Prefix.Addr().Compare(p.Addr()) > 0 && !p.Contains(e.Prefix.Addr()) {
			break
		}
		if e.Prefix.Overlaps(p) {
			out = append(out, e)
		}
	}
	return out, nil
}

// memZone hides LookupPrefix, so the Scorer asks it per address.
type memZone struct{ l *memList }

func (z memZone) Name() string { return z.l.Name() }
func (z memZone) Lookup(ctx context.Context, a netip.Addr) (reputation.Listing, error) {
	return z.l.Lookup(ctx, a)
}

var benchLists = sync.OnceValue(func() []*memList {
	rng := rand.New(rand.NewPCG(42, 42))
	var out []*memList
	for i := range 10 {
		seen := map[netip.Prefix]bool{}
		l := &memList{name: fmt.Sprintf("list%d", i)}
		for range 2000 { // 2000 listed addresses in 198.18.0.0/16, a few /24s elsewhere
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(rng.IntN(256)), byte(rng.IntN(256))}), 32)
			if !seen[p] {
				seen[p] = true
				l.entries = append(l.entries, reputation.Match{Prefix: p, Listing: spam("127.0.0.2", reputation.SeverityMedium)})
			}
		}
		for range 500 {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(rng.IntN(256)), 0}), 24)
			if !seen[p] {
				seen[p] = true
				l.entries = append(l.entries, reputation.Match{Prefix: p, Listing: spam("127.0.0.3", reputation.SeverityHigh)})
			}
		}
		slices.SortFunc(l.entries, func(a, b reputation.Match) int { return cmp.Compare(a.Prefix.Addr().Compare(b.Prefix.Addr()), 0) })
		out = append(out, l)
	}
	return out
})

// BenchmarkScorer_slash16 scores a /16 end to end against 10 in-memory
// sources: as whole-block sources (feeds), and as per-address sources
// walked over every address (local zone mirrors without LookupPrefix).
func BenchmarkScorer_slash16(b *testing.B) {
	for _, bc := range []struct {
		name    string
		perAddr bool
	}{{"v4_16_prefix_sources", false}, {"v4_16_per_address_sources", true}} {
		b.Run(bc.name, func(b *testing.B) {
			var srcs []reputation.Source
			for _, l := range benchLists() {
				if bc.perAddr {
					srcs = append(srcs, memZone{l})
				} else {
					srcs = append(srcs, l)
				}
			}
			s := &reputation.Scorer{Sources: srcs, MaxAddrs: 1 << 16, AllowSpecial: true}
			rep, err := s.Score(b.Context(), mpp("198.18.0.0/16"))
			if err != nil {
				b.Fatal(err)
			}
			if len(rep.Listings) < 10000 {
				b.Fatalf("only %d listings: the fixture does not list what it should", len(rep.Listings))
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Score(b.Context(), mpp("198.18.0.0/16")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// vetZone answers like one of the eight rbldnsd zones of
// sources/bench/vetrun.sh, without the network: listed are the zone's /26
// (198.18.(2z).0/26, code 127.0.0.10) and every 13th address (shifted by z).
// Each answer is a fresh Listing, as a DNSBL's is.
type vetZone struct{ z int }

func (v vetZone) Name() string { return fmt.Sprintf("z%d.bench.example.org", v.z) }
func (v vetZone) Lookup(_ context.Context, a netip.Addr) (reputation.Listing, error) {
	b := a.As4()
	i := int(b[2])<<8 | int(b[3])
	var code netip.Addr
	switch {
	case b[2] == byte(2*v.z) && b[3] < 64:
		code = netip.AddrFrom4([4]byte{127, 0, 0, 10})
	case (i+v.z)%13 == 0:
		code = netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + v.z%5)})
	default:
		return reputation.Listing{}, nil
	}
	return reputation.Listing{Listed: true, Evidence: []reputation.Evidence{{Code: code, Category: "listed", Severity: reputation.SeverityMedium}}}, nil
}

// BenchmarkScorer_vetRun is the part of sources/bench/vetrun.sh's whole
// vet run that is not DNS: 4 × /22 × 8 zones (32,768 lookups) through the
// Scorer with zero-latency sources, report building, and (score_json) the
// JSON encoding vet -json prints.
func BenchmarkScorer_vetRun(b *testing.B) {
	blocks := []netip.Prefix{mpp("198.18.0.0/22"), mpp("198.18.4.0/22"), mpp("198.18.8.0/22"), mpp("198.18.12.0/22")}
	var srcs []reputation.Source
	for z := range 8 {
		srcs = append(srcs, vetZone{z})
	}
	s := &reputation.Scorer{Sources: srcs, AllowSpecial: true, Concurrency: 256}
	for _, bc := range []struct {
		name string
		json bool
	}{{"score", false}, {"score_json", true}} {
		b.Run(bc.name, func(b *testing.B) {
			reps, err := s.ScoreAll(b.Context(), blocks)
			if err != nil {
				b.Fatal(err)
			}
			if n := len(reps[0].Listings); n < 500 || len(reps[0].Omitted) > 0 {
				b.Fatalf("%d listings, %v omitted: the fixture does not list what it should", n, reps[0].Omitted)
			}
			b.ReportAllocs()
			for b.Loop() {
				reps, err := s.ScoreAll(b.Context(), blocks)
				if err != nil {
					b.Fatal(err)
				}
				if !bc.json {
					continue
				}
				for _, r := range reps {
					if _, err := json.Marshal(r); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
