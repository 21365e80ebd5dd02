package ipset

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// TestBuildAgainstNaive checks Lookup and AppendOverlapping against a naive
// per-address table over small IPv4 and IPv6 spaces with random overlapping
// spans.
func TestBuildAgainstNaive(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 42))
	const space = 2048
	// Each family at the bottom, in the middle and at the very top of its
	// space, where the last interval ends at the family's last address.
	var bases []netip.Addr
	for _, s := range []string{"0.0.0.0", "192.0.2.0", "255.255.248.0", "::", "2001:db8::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:f800"} {
		bases = append(bases, netip.MustParseAddr(s))
	}
	for round := range 60 {
		addrs := make([]netip.Addr, space)
		for i, a := 0, bases[round%len(bases)]; i < space; i, a = i+1, a.Next() {
			addrs[i] = a
		}
		addr := func(i int) netip.Addr { return addrs[i] }
		naive := make([][]uint32, space)
		var b Builder
		for range 1 + rng.IntN(40) {
			from := rng.IntN(space)
			to := min(space-1, from+rng.IntN(300))
			if rng.IntN(10) == 0 {
				to = space - 1 // up to the last address of the space
			}
			id := uint32(rng.IntN(6))
			if err := b.Add(addr(from), addr(to), id); err != nil {
				t.Fatal(err)
			}
			for i := from; i <= to; i++ {
				if !slices.Contains(naive[i], id) {
					naive[i] = append(naive[i], id)
				}
			}
		}
		// Payload: the id set encoded as a bitmask; drop sets containing 5.
		s, err := b.Build(func(ids []uint32) (uint32, bool) {
			var m uint32
			for _, id := range ids {
				m |= 1 << id
			}
			return m, m&(1<<5) == 0
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range space {
			var want uint32
			for _, id := range naive[i] {
				want |= 1 << id
			}
			got, ok := s.Lookup(addr(i))
			wantOK := want != 0 && want&(1<<5) == 0
			if ok != wantOK || (ok && got != want) {
				t.Fatalf("round %d: Lookup(%s) = %b, %v; want %b, %v", round, addr(i), got, ok, want, wantOK)
			}
		}
		// Intervals are disjoint, sorted, and neighbours with equal
		// payloads are merged.
		var prev Interval
		for iv := range s.All {
			if prev.To.IsValid() && (!prev.To.Less(iv.From) || prev.To.Next() == iv.From && prev.Payload == iv.Payload) {
				t.Fatalf("round %d: intervals %v and %v overlap or are not merged", round, prev, iv)
			}
			prev = iv
		}
		from, to := addr(rng.IntN(space/2)), addr(space/2+rng.IntN(space/2))
		for _, iv := range s.AppendOverlapping(nil, from, to) {
			if iv.To.Less(from) || to.Less(iv.From) {
				t.Fatalf("AppendOverlapping(%s, %s) returned %v", from, to, iv)
			}
		}
	}
}
