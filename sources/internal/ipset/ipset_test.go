package ipset

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// TestBuildAgainstNaive checks Lookup and AppendOverlapping against a naive
// per-address table over a small IPv4 space with random overlapping spans.
func TestBuildAgainstNaive(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 42))
	for round := range 50 {
		const space = 2048
		base := netip.MustParseAddr("192.0.2.0").As4()
		addr := func(i int) netip.Addr {
			b := base
			v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 + uint32(i)
			return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		}
		naive := make([][]uint32, space)
		var b Builder
		for range 1 + rng.IntN(40) {
			from := rng.IntN(space)
			to := min(space-1, from+rng.IntN(300))
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

func TestPrefixes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, from, to string
		want           string
	}{
		{"single", "192.0.2.1", "192.0.2.1", "[192.0.2.1/32]"},
		{"aligned_24", "192.0.2.0", "192.0.2.255", "[192.0.2.0/24]"},
		{"unaligned", "192.0.2.10", "192.0.2.20", "[192.0.2.10/31 192.0.2.12/30 192.0.2.16/30 192.0.2.20/32]"},
		{"v6_all", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "[::/0]"},
	}
	for _, tc := range tests {
		got := fmt.Sprint(AppendPrefixes(nil, netip.MustParseAddr(tc.from), netip.MustParseAddr(tc.to)))
		if got != tc.want {
			t.Errorf("%s: AppendPrefixes = %s, want %s", tc.name, got, tc.want)
		}
	}
	if got := Widest(netip.MustParsePrefix("192.0.2.64/26"), netip.MustParseAddr("192.0.0.0"), netip.MustParseAddr("192.0.3.255")); got != netip.MustParsePrefix("192.0.0.0/22") {
		t.Errorf("Widest = %s, want 192.0.0.0/22", got)
	}
}
