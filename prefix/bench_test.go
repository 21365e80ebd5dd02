package prefix_test

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/prefixvet/prefixvet/prefix"
)

// queryAddrs is the fixture of BenchmarkAppendQueryName: 1<<20 addresses per
// family, built once. IPv4 cycles through the three documentation /24s.
var queryAddrs = sync.OnceValues(func() (v4, v6 []netip.Addr) {
	const n = 1 << 20
	docs := []prefix.Range{prefix.MustParse("192.0.2.0/24"), prefix.MustParse("198.51.100.0/24"), prefix.MustParse("203.0.113.0/24")}
	v4 = make([]netip.Addr, 0, n)
	for len(v4) < n {
		for _, r := range docs {
			for a := range r.All() {
				v4 = append(v4, a)
			}
		}
	}
	v4 = v4[:n]
	v6 = prefix.Sample(netip.MustParsePrefix("2001:db8::/32"), n, 1)
	return v4, v6
})

func BenchmarkRangeAll(b *testing.B) {
	for _, bb := range []struct {
		name string
		r    prefix.Range
	}{
		{"v4_16", prefix.MustParse("198.51.0.0/16")},
		{"v6_112", prefix.MustParse("2001:db8::/112")},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			n, _ := bb.r.Len()
			var last netip.Addr
			for b.Loop() {
				for a := range bb.r.All() {
					last = a
				}
			}
			if last != bb.r.To() {
				b.Fatalf("last address %v, want %v", last, bb.r.To())
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/addr")
		})
	}
}

// BenchmarkAppendQueryName builds 1<<20 query names per op (1M names).
func BenchmarkAppendQueryName(b *testing.B) {
	v4, v6 := queryAddrs()
	for _, bb := range []struct {
		name  string
		addrs []netip.Addr
	}{
		{"v4_1M", v4},
		{"v6_1M", v6},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 128)
			for b.Loop() {
				for _, a := range bb.addrs {
					buf = prefix.AppendQueryName(buf[:0], a, "bl.example.org.")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(bb.addrs)), "ns/name")
		})
	}
}

func BenchmarkSample(b *testing.B) {
	for _, bb := range []struct {
		name string
		p    netip.Prefix
		n    int
		bits int // 0 means Sample, else SampleSubnets
	}{
		{"v6_32_10k", netip.MustParsePrefix("2001:db8::/32"), 10000, 0},
		{"v6_32_10k_per_64", netip.MustParsePrefix("2001:db8::/32"), 10000, 64},
		{"v4_16_10k", netip.MustParsePrefix("198.51.0.0/16"), 10000, 0},
		{"v4_16_60k", netip.MustParsePrefix("198.51.0.0/16"), 60000, 0},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			var got []netip.Addr
			for seed := uint64(0); b.Loop(); seed++ {
				if bb.bits == 0 {
					got = prefix.Sample(bb.p, bb.n, seed)
				} else {
					got = prefix.SampleSubnets(bb.p, bb.bits, bb.n, seed)
				}
			}
			if len(got) != bb.n {
				b.Fatalf("sampled %d, want %d", len(got), bb.n)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for _, bb := range []struct{ name, in string }{
		{"v4_24", "203.0.113.0/24"},
		{"v4_range", "203.0.113.10-203.0.113.20"},
		{"v4_netmask", "203.0.113.0/255.255.255.0"},
		{"v6_32", "2001:db8::/32"},
		{"v6_120", "2001:db8::/120"},
		{"v6_range", "2001:db8::1-2001:db8::ff"},
		{"error_host_bits", "203.0.113.5/24"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = prefix.Parse(bb.in)
			}
		})
	}
}

func BenchmarkPrefixes(b *testing.B) {
	r := prefix.MustParse("0.0.0.1-255.255.255.254")
	b.ReportAllocs()
	for b.Loop() {
		for p := range r.Prefixes() {
			_ = p
		}
	}
}
