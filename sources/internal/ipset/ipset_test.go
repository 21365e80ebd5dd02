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

// TestFromSorted checks that FromSorted keeps well-ordered intervals as
// given and refuses ones that are out of order, overlapping or of unequal
// lengths.
func TestFromSorted(t *testing.T) {
	t.Parallel()
	a6 := netip.MustParseAddr
	good := Sorted{
		Start4: []uint32{10, 20}, End4: []uint32{15, 20}, Pay4: []uint32{1, 2},
		Start6: []netip.Addr{a6("2001:db8::"), a6("2001:db8::10")}, End6: []netip.Addr{a6("2001:db8::f"), a6("2001:db8::10")}, Pay6: []uint32{3, 4},
	}
	s, err := FromSorted(good)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := s.Lookup(addr4(12)); !ok || p != 1 {
		t.Errorf("Lookup(0.0.0.12) = %d, %v; want 1, true", p, ok)
	}
	if _, ok := s.Lookup(addr4(16)); ok {
		t.Error("Lookup(0.0.0.16) found a gap")
	}
	if p, ok := s.Lookup(a6("2001:db8::10")); !ok || p != 4 {
		t.Errorf("Lookup(2001:db8::10) = %d, %v; want 4, true", p, ok)
	}
	for name, bad := range map[string]Sorted{
		"overlap4":  {Start4: []uint32{10, 15}, End4: []uint32{15, 20}, Pay4: []uint32{1, 2}},
		"reversed4": {Start4: []uint32{10}, End4: []uint32{9}, Pay4: []uint32{1}},
		"lengths4":  {Start4: []uint32{10}, End4: []uint32{11}},
		"overlap6":  {Start6: []netip.Addr{a6("::1"), a6("::1")}, End6: []netip.Addr{a6("::1"), a6("::2")}, Pay6: []uint32{1, 2}},
		"ipv4in6":   {Start6: []netip.Addr{a6("1.2.3.4")}, End6: []netip.Addr{a6("1.2.3.4")}, Pay6: []uint32{1}},
		"lengths6":  {Start6: []netip.Addr{a6("::1")}, End6: []netip.Addr{a6("::1")}},
		"reversed6": {Start6: []netip.Addr{a6("::2")}, End6: []netip.Addr{a6("::1")}, Pay6: []uint32{1}},
	} {
		if _, err := FromSorted(bad); err == nil {
			t.Errorf("%s: FromSorted accepted %+v", name, bad)
		}
	}
}
