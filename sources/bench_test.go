package sources_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/sources"
)

const benchLines = 1_000_000

// benchData is a deterministic 1M-line feed: single IPv4 addresses spread
// over 128 /16s (about 12% dense, so many touch), 4% CIDRs from /24 to /30,
// 1% IPv6 /64s; plus the probe addresses used by the lookup benchmarks.
type benchData struct {
	feed   []byte
	hits   []netip.Addr
	misses []netip.Addr
	p24s   []netip.Prefix
	zone   []byte
	z16    netip.Prefix
}

var benchOnce = sync.OnceValue(func() *benchData {
	rng := rand.New(rand.NewPCG(42, 42))
	d := &benchData{}
	var b16 [128][2]byte
	for i := range b16 {
		b16[i] = [2]byte{byte(11 + rng.IntN(200)), byte(rng.IntN(256))}
	}
	var feed bytes.Buffer
	feed.WriteString("# benchmark feed\n")
	for i := range benchLines {
		h := b16[rng.IntN(len(b16))]
		a := netip.AddrFrom4([4]byte{h[0], h[1], byte(rng.IntN(256)), byte(rng.IntN(256))})
		hit := i%1000 == 0
		switch r := rng.IntN(100); {
		case r < 4:
			p, _ := a.Prefix(24 + rng.IntN(7))
			feed.WriteString(p.String())
		case r < 5:
			hit = false
			var v6 [16]byte
			v6[0], v6[1], v6[2], v6[3] = 0x20, 0x01, 0x0d, 0xb8
			v6[6], v6[7] = byte(rng.IntN(256)), byte(rng.IntN(256))
			fmt.Fprintf(&feed, "%s/64", netip.AddrFrom16(v6))
		default:
			feed.WriteString(a.String())
		}
		feed.WriteByte('\n')
		if hit {
			d.hits = append(d.hits, a)
		}
	}
	d.feed = feed.Bytes()
	for range 1000 {
		d.misses = append(d.misses, netip.AddrFrom4([4]byte{byte(220 + rng.IntN(3)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}))
		h := b16[rng.IntN(len(b16))]
		d.p24s = append(d.p24s, netip.PrefixFrom(netip.AddrFrom4([4]byte{h[0], h[1], byte(rng.IntN(256)), 0}), 24))
	}
	// A 1M-entry ip4set zone, 16 /16s dense with single addresses, ranges,
	// CIDRs, exclusions and several return codes.
	var zone bytes.Buffer
	zone.WriteString("$TTL 1h\n:127.0.0.2:Listed, see https://example.org/lookup?$\n")
	for range benchLines {
		h := b16[rng.IntN(16)]
		a := netip.AddrFrom4([4]byte{h[0], h[1], byte(rng.IntN(256)), byte(rng.IntN(256))})
		switch r := rng.IntN(100); {
		case r < 3:
			fmt.Fprintf(&zone, "!%s\n", a)
		case r < 6:
			p, _ := a.Prefix(24 + rng.IntN(5))
			fmt.Fprintf(&zone, "%s :%d:\n", p, 3+rng.IntN(4))
		case r < 20:
			fmt.Fprintf(&zone, "%s :%d:code text for $\n", a, 3+rng.IntN(8))
		default:
			fmt.Fprintf(&zone, "%s\n", a)
		}
	}
	d.zone = zone.Bytes()
	d.z16 = netip.PrefixFrom(netip.AddrFrom4([4]byte{b16[0][0], b16[0][1], 0, 0}), 16)
	return d
})

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

var benchList = sync.OnceValue(func() *sources.List {
	l, err := sources.ReadList(bytes.NewReader(benchOnce().feed), sources.FeedConfig{Name: "bench"})
	if err != nil {
		panic(err)
	}
	return l
})

// BenchmarkLoadFeed loads the 1M-line feed into a List and reports the heap
// the List keeps.
func BenchmarkLoadFeed(b *testing.B) {
	d := benchOnce()
	b.ReportAllocs()
	b.SetBytes(int64(len(d.feed)))
	var keep *sources.List
	var heap uint64
	for b.Loop() {
		before := heapInUse()
		l, err := sources.ReadList(bytes.NewReader(d.feed), sources.FeedConfig{Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		heap = heapInUse() - before
		keep = l
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(heap)/benchLines, "heap-B/line")
	runtime.KeepAlive(keep)
}

// rangeSlice is the reference structure: a sorted, merged slice of netip
// ranges with binary search and no metadata.
type rangeSlice []struct{ from, to netip.Addr }

func loadRangeSlice(data []byte) rangeSlice {
	var rs rangeSlice
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if p, err := netip.ParsePrefix(line); err == nil {
			r := prefix.RangeOf(p)
			rs = append(rs, struct{ from, to netip.Addr }{r.From(), r.To()})
		} else if a, err := netip.ParseAddr(line); err == nil {
			rs = append(rs, struct{ from, to netip.Addr }{a, a})
		}
	}
	slices.SortFunc(rs, func(x, y struct{ from, to netip.Addr }) int { return x.from.Compare(y.from) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && (r.from.Compare(out[n-1].to) <= 0 || out[n-1].to.Next() == r.from) {
			if out[n-1].to.Less(r.to) {
				out[n-1].to = r.to
			}
			continue
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

func (rs rangeSlice) contains(a netip.Addr) bool {
	i := sort.Search(len(rs), func(i int) bool { return a.Less(rs[i].from) }) - 1
	return i >= 0 && !rs[i].to.Less(a)
}

var benchRanges = sync.OnceValue(func() rangeSlice { return loadRangeSlice(benchOnce().feed) })

// BenchmarkLoadRangeSlice is the reference: the same feed into a sorted,
// merged netip range slice.
func BenchmarkLoadRangeSlice(b *testing.B) {
	d := benchOnce()
	b.ReportAllocs()
	b.SetBytes(int64(len(d.feed)))
	var keep rangeSlice
	var heap uint64
	for b.Loop() {
		before := heapInUse()
		keep = loadRangeSlice(d.feed)
		heap = heapInUse() - before
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(heap)/benchLines, "heap-B/line")
	runtime.KeepAlive(keep)
}

// slash24Map is another alternative: a map from /24 to a 256-bit bitmap.
type slash24Map map[uint32]*[4]uint64

func loadSlash24Map(rs rangeSlice) slash24Map {
	m := slash24Map{}
	for _, r := range rs {
		if !r.from.Is4() {
			continue
		}
		for a := r.from; ; a = a.Next() {
			b := a.As4()
			k := uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
			bm := m[k]
			if bm == nil {
				bm = new([4]uint64)
				m[k] = bm
			}
			bm[b[3]/64] |= 1 << (b[3] % 64)
			if a == r.to {
				break
			}
		}
	}
	return m
}

func (m slash24Map) contains(a netip.Addr) bool {
	b := a.As4()
	bm := m[uint32(b[0])<<16|uint32(b[1])<<8|uint32(b[2])]
	return bm != nil && bm[b[3]/64]&(1<<(b[3]%64)) != 0
}

func BenchmarkLookup(b *testing.B) {
	d := benchOnce()
	l := benchList()
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		addrs []netip.Addr
	}{{"hit", d.hits}, {"miss", d.misses}} {
		b.Run("list_"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				lst, _ := l.Lookup(ctx, tc.addrs[i%len(tc.addrs)])
				if tc.name == "hit" && !lst.Listed {
					b.Fatal("hit not listed")
				}
				i++
			}
		})
		b.Run("rangeslice_"+tc.name, func(b *testing.B) {
			rs := benchRanges()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if rs.contains(tc.addrs[i%len(tc.addrs)]) != (tc.name == "hit") {
					b.Fatal("wrong answer")
				}
				i++
			}
		})
		b.Run("map24_"+tc.name, func(b *testing.B) {
			m := benchMap24()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if m.contains(tc.addrs[i%len(tc.addrs)]) != (tc.name == "hit") {
					b.Fatal("wrong answer")
				}
				i++
			}
		})
	}
}

var benchMap24 = sync.OnceValue(func() slash24Map { return loadSlash24Map(benchRanges()) })

func BenchmarkLookupPrefix24(b *testing.B) {
	d := benchOnce()
	l := benchList()
	ctx := context.Background()
	var miss []netip.Prefix
	for _, a := range d.misses {
		p, _ := a.Prefix(24)
		miss = append(miss, p)
	}
	for _, tc := range []struct {
		name string
		ps   []netip.Prefix
	}{{"dense", d.p24s}, {"miss", miss}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			i, matches := 0, 0
			for b.Loop() {
				ms, err := l.LookupPrefix(ctx, tc.ps[i%len(tc.ps)])
				if err != nil {
					b.Fatal(err)
				}
				matches += len(ms)
				i++
			}
			b.ReportMetric(float64(matches)/float64(i), "matches/op")
		})
	}
}

var benchMirror = sync.OnceValue(func() *sources.Mirror {
	m, err := sources.ReadMirror(bytes.NewReader(benchOnce().zone), sources.MirrorConfig{Type: sources.DatasetIP4Set, Zone: sources.ZoneInfo{Zone: "bench.example.org"}})
	if m == nil {
		panic(err)
	}
	return m
})

// BenchmarkMirrorSlash16 checks a whole /16 against a 1M-entry ip4set
// mirror: one LookupPrefix, then every address of the /16 resolved with its
// codes and TXT.
func BenchmarkMirrorSlash16(b *testing.B) {
	d := benchOnce()
	m := benchMirror()
	ctx := context.Background()
	b.ReportAllocs()
	listed := 0
	for b.Loop() {
		if _, err := m.LookupPrefix(ctx, d.z16); err != nil {
			b.Fatal(err)
		}
		listed = 0
		for a := d.z16.Addr(); d.z16.Contains(a); a = a.Next() {
			lst, err := m.Lookup(ctx, a)
			if err != nil {
				b.Fatal(err)
			}
			if lst.Listed && len(lst.Codes()) > 0 {
				listed++
			}
		}
	}
	b.ReportMetric(float64(listed), "listed/16")
}

func BenchmarkLoadMirror(b *testing.B) {
	d := benchOnce()
	b.ReportAllocs()
	var heap uint64
	var keep *sources.Mirror
	for b.Loop() {
		before := heapInUse()
		m, _ := sources.ReadMirror(bytes.NewReader(d.zone), sources.MirrorConfig{Type: sources.DatasetIP4Set})
		heap = heapInUse() - before
		keep = m
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	runtime.KeepAlive(keep)
}
