// Package leasegen writes deterministic lease-check files of realistic size
// and shape for the benchmarks of package sources and for
// sources/bench/lease.sh: rpki-client JSON VRPs, the five RIRs' delegated
// statistics and a RouteViews pfx2as table.
//
// The shapes follow the real files: VRPs sorted by prefix with covering
// ROAs and more specifics, about 1% AS0; delegated files with a version
// line, summaries, asn rows, IPv4 counts that are not all powers of two and
// each RIR's row quirks; pfx2as with aggregates, more specifics, MOAS and AS
// sets. Addresses are synthetic.
package leasegen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
)

// Sizes of the full files, as the issue states them.
const (
	FullVRPs     = 600_000
	FullRIRLines = 300_000
	FullPfx2as   = 1_100_000
)

// v4Cursor walks IPv4 space upwards from 1.0.0.0.
type v4Cursor struct{ u uint64 }

// full reports whether the cursor has reached multicast space.
func (c *v4Cursor) full() bool { return c.u >= 224<<24 }

func (c *v4Cursor) take(bits int, gap uint32) netip.Prefix {
	size := uint64(1) << (32 - bits)
	c.u = (c.u + size - 1) &^ (size - 1) // align
	p := netip.PrefixFrom(addr4(uint32(c.u)), bits)
	c.u += size + uint64(gap)
	return p
}

// routedBits draws a prefix length as routed IPv4 space has them: about
// half /24s, the rest mostly /20 to /23, a few as wide as /12.
func routedBits(r *rand.Rand) int {
	weights := []int{55, 10, 12, 6, 6, 4, 3, 2, 1, 1} // /24, /23, ... /15
	k := r.IntN(100)
	for i, w := range weights {
		if k < w {
			return 24 - i
		}
		k -= w
	}
	return 12 + r.IntN(3)
}

func addr4(u uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
}

// sub returns the i-th /bits inside p: a /24 of an IPv4 prefix, or a /48
// of an IPv6 /32.
func sub(p netip.Prefix, bits, i int) netip.Prefix {
	if p.Addr().Is4() {
		a := p.Addr().As4()
		u := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		return netip.PrefixFrom(addr4(u+uint32(i)<<(32-bits)), bits)
	}
	a := p.Addr().As16()
	a[4], a[5] = byte(i>>8), byte(i)
	return netip.PrefixFrom(netip.AddrFrom16(a), bits)
}

func v6base(i int) netip.Prefix {
	// 2400::/12 onwards, one /32 per i
	a := [16]byte{0x24, 0x00}
	a[2], a[3] = byte(i>>8), byte(i)
	return netip.PrefixFrom(netip.AddrFrom16(a), 32)
}

// trustAnchors are the five RIRs' RPKI trust anchors.
func trustAnchors() [5]string { return [...]string{"afrinic", "apnic", "arin", "lacnic", "ripe"} }

// WriteVRPs writes n VRPs as rpki-client JSON, one ROA per line.
func WriteVRPs(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	r := rand.New(rand.NewPCG(42, 1))
	fmt.Fprintf(bw, "{\n\t\"metadata\": {\n\t\t\"buildmachine\": \"bench.example.org\",\n\t\t\"buildtime\": \"2026-11-29T00:00:00Z\",\n\t\t\"roas\": %d\n\t},\n\t\"roas\": [\n", n)
	first := true
	emit := func(asn uint32, p netip.Prefix, maxLen int) {
		if !first {
			bw.WriteString(",\n")
		}
		first = false
		fmt.Fprintf(bw, "\t\t{ \"asn\": %d, \"prefix\": \"%s\", \"maxLength\": %d, \"ta\": \"%s\", \"expires\": 1796040000 }", asn, p, maxLen, trustAnchors()[r.IntN(5)])
	}
	asn := func() uint32 {
		if r.IntN(100) == 0 {
			return 0
		}
		return 1 + r.Uint32N(400_000)
	}
	n4 := n * 85 / 100
	c := v4Cursor{u: 1 << 24}
	count := 0
	for count < n4 && !c.full() {
		bits := routedBits(r)
		p := c.take(bits, uint32(r.IntN(4))<<8)
		a := asn()
		emit(a, p, bits+r.IntN(25-bits))
		count++
		if bits < 24 && r.IntN(2) == 0 {
			k := min(1+r.IntN(8), 1<<(24-bits), n4-count)
			for i := range k {
				emit(asn(), sub(p, 24, i), 24)
				count++
			}
		}
	}
	for i := 0; count < n; i++ {
		p := v6base(i)
		emit(asn(), p, 48)
		count++
		k := min(r.IntN(12), n-count)
		for j := range k {
			emit(asn(), sub(p, 48, j*7), 48)
			count++
		}
	}
	bw.WriteString("\n\t],\n\t\"aspas\": []\n}\n")
	return bw.Flush()
}

// RIR describes one registry's file shape.
type RIR struct {
	Name  string
	Share int // per mille of all lines
}

// RIRs returns the five registries with their rough share of the lines.
func RIRs() []RIR {
	return []RIR{{"ripencc", 400}, {"arin", 230}, {"apnic", 200}, {"lacnic", 100}, {"afrinic", 70}}
}

// WriteRIRStats writes registry rir's delegated-extended file of about
// lines lines, in that registry's row shapes.
func WriteRIRStats(w io.Writer, rir string, lines int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	seed := uint64(0)
	for _, c := range rir {
		seed = seed*31 + uint64(c)
	}
	r := rand.New(rand.NewPCG(42, seed))
	nasn, n4 := lines/4, lines*55/100
	n6 := lines - nasn - n4
	fmt.Fprintf(bw, "2|%s|20261129|%d|19830705|20261128|+0000\n", rir, lines)
	fmt.Fprintf(bw, "%s|*|asn|*|%d|summary\n%s|*|ipv4|*|%d|summary\n%s|*|ipv6|*|%d|summary\n", rir, nasn, rir, n4, rir, n6)
	ccs := []string{"NL", "DE", "US", "BR", "ZA", "JP", "AU", "FR", "GB", "IN"}
	row := func(typ, start string, value int, status string) {
		cc, date, opaque := ccs[r.IntN(len(ccs))], fmt.Sprintf("20%02d%02d%02d", r.IntN(27), 1+r.IntN(12), 1+r.IntN(28)), fmt.Sprintf("%08x", r.Uint32())
		if status == "available" || status == "reserved" {
			switch rir {
			case "ripencc":
				fmt.Fprintf(bw, "%s||%s|%s|%d||%s\n", rir, typ, start, value, status)
				return
			case "afrinic", "lacnic":
				cc = "ZZ"
			default:
				cc = ""
			}
			date, opaque = "", ""
		}
		if rir == "ripencc" && r.IntN(10) == 0 {
			// Older rows have no opaque id.
			fmt.Fprintf(bw, "%s|%s|%s|%s|%d|%s|%s\n", rir, cc, typ, start, value, date, status)
			return
		}
		fmt.Fprintf(bw, "%s|%s|%s|%s|%d|%s|%s|%s\n", rir, cc, typ, start, value, date, status, opaque)
	}
	status := func() string {
		switch k := r.IntN(100); {
		case k < 2:
			return "available"
		case k < 3:
			return "reserved"
		case k < 60:
			return "allocated"
		}
		return "assigned"
	}
	for i := range nasn {
		row("asn", fmt.Sprint(1000+i*3), 1, status())
	}
	// Each registry gets its own /8s.
	base := map[string]uint32{"ripencc": 2, "arin": 60, "apnic": 110, "lacnic": 170, "afrinic": 200}[rir]
	c := v4Cursor{u: uint64(base) << 24}
	for range n4 {
		var count int
		switch k := r.IntN(20); {
		case k == 0:
			count = 768
		case k == 1:
			count = 1536
		default:
			count = 256 << r.IntN(8)
		}
		bits := 32
		for 1<<(32-bits) < count {
			bits--
		}
		p := c.take(bits, 0)
		row("ipv4", p.Addr().String(), count, status())
	}
	for i := range n6 {
		p := sub(v6base(int(base)<<8), 48, i)
		row("ipv6", p.Addr().String(), 48, status())
	}
	return bw.Flush()
}

// WritePfx2as writes n lines of a RouteViews pfx2as table.
func WritePfx2as(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	r := rand.New(rand.NewPCG(42, 3))
	origin := func() string {
		switch k := r.IntN(1000); {
		case k < 10:
			return fmt.Sprintf("%d_%d", 1+r.Uint32N(400_000), 1+r.Uint32N(400_000))
		case k < 11:
			return fmt.Sprintf("%d,%d", 1+r.Uint32N(400_000), 1+r.Uint32N(400_000))
		}
		return fmt.Sprint(1 + r.Uint32N(400_000))
	}
	n4 := n * 86 / 100
	c := v4Cursor{u: 1 << 24}
	count := 0
	for count < n4 && !c.full() {
		bits := routedBits(r)
		p := c.take(bits, uint32(r.IntN(2))<<8)
		fmt.Fprintf(bw, "%s\t%d\t%s\n", p.Addr(), bits, origin())
		count++
		if bits < 24 && r.IntN(3) == 0 {
			for i := 0; i < 6*3 && i < 1<<(24-bits) && count < n4; i += 1 + r.IntN(3) {
				fmt.Fprintf(bw, "%s\t24\t%s\n", sub(p, 24, i).Addr(), origin())
				count++
			}
		}
	}
	for i := 0; count < n; i++ {
		p := v6base(i)
		fmt.Fprintf(bw, "%s\t32\t%s\n", p.Addr(), origin())
		count++
		k := min(r.IntN(10), n-count)
		for j := range k {
			fmt.Fprintf(bw, "%s\t48\t%s\n", sub(p, 48, j*5).Addr(), origin())
			count++
		}
	}
	return bw.Flush()
}
