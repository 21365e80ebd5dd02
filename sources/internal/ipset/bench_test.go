package ipset

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
)

// benchV6 is 100,000 random disjoint IPv6 /64s and /128s in 2001:db8::/32,
// with as many random addresses to look up, half of them listed.
var benchV6 = sync.OnceValues(func() ([]netip.Prefix, []netip.Addr) {
	rng := rand.New(rand.NewPCG(42, 42))
	const n = 100_000
	ps := make([]netip.Prefix, 0, n)
	addrs := make([]netip.Addr, 0, n)
	for i := range n {
		var b [16]byte
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
		for j := 4; j < 16; j++ {
			b[j] = byte(rng.UintN(256))
		}
		a := netip.AddrFrom16(b)
		bits := 64
		if i%2 == 0 {
			bits = 128
		}
		ps = append(ps, netip.PrefixFrom(a, bits).Masked())
		if i%2 == 0 {
			addrs = append(addrs, a) // listed
		} else {
			b[15] ^= 1
			b[4] ^= 0x80
			addrs = append(addrs, netip.AddrFrom16(b)) // almost surely not
		}
	}
	return ps, addrs
})

func buildV6(b *testing.B, ps []netip.Prefix) *Set {
	var bld Builder
	for i, p := range ps {
		p = p.Masked()
		last := p.Addr().As16()
		for k := p.Bits(); k < 128; k++ {
			last[k/8] |= 0x80 >> (k % 8)
		}
		if err := bld.Add(p.Addr(), netip.AddrFrom16(last), uint32(i%7)); err != nil {
			b.Fatal(err)
		}
	}
	s, err := bld.Build(func(ids []uint32) (uint32, bool) { return ids[0], true })
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkV6(b *testing.B) {
	ps, addrs := benchV6()
	b.Run("build_100k", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buildV6(b, ps)
		}
	})
	s := buildV6(b, ps)
	b.Run("lookup", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s.Lookup(addrs[i%len(addrs)])
			i++
		}
	})
	b.ReportMetric(float64(s.Bytes()), "set-bytes")
}
