package sources_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/internal/daemontest"
)

// zoneLine is one generated line of a zone file and the span it names
// (invalid for lines that name none).
type zoneLine struct {
	text     string
	from, to netip.Addr
}

func spanOf(p string) (netip.Addr, netip.Addr) {
	pfx := netip.MustParsePrefix(strings.TrimPrefix(p, "!"))
	from := pfx.Masked().Addr()
	b := from.AsSlice()
	for i := pfx.Bits(); i < from.BitLen(); i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	to, _ := netip.AddrFromSlice(b)
	return from, to
}

func cidrLine(prefix, rest string) zoneLine {
	f, t := spanOf(prefix)
	return zoneLine{strings.TrimSpace(prefix + " " + rest), f, t}
}

var values = []string{"", ":3:", ":127.0.0.4:range $ listed", ":5", "custom text for $ $$ $1", ":127.0.0.6:$1$", "=no base for $"}

// genIP4 returns lines for ip4set (ranges allowed) or ip4trie (CIDRs only).
func genIP4(rng *rand.Rand, ranges bool, n int) []zoneLine {
	lines := []zoneLine{
		{text: "$TTL 1h"},
		{text: "$SOA 0 ns.example.org hostmaster.example.org 0 2h 2h 1w 1h"},
		{text: "$NS 0 ns.example.org"},
		{text: "$1 https://example.org/lookup?"},
		{text: ":127.0.0.2:Listed: $1$"},
		{text: "# a comment"},
		{text: "; another comment"},
		cidrLine("198.51.100.0/24", ""),
		cidrLine("!198.51.100.17/32", ""),
		cidrLine("198.51.100.128/25", ":127.0.0.4:"),
		cidrLine("198.51.100.200/32", ":5"),
		cidrLine("10.0.0.0/8", "; wide"),
		cidrLine("!10.20.0.0/16", ""),
		cidrLine("10.20.5.0/24", ":7:"),
		cidrLine("10.20.5.0/24", ":8:duplicate"),
		cidrLine("10.20.5.128/25", "   text after spaces # not a comment"),
		cidrLine("!10.20.5.130/32", ""),
	}
	if ranges {
		lines = append(lines,
			zoneLine{"203.0.113 ; partial octets", mpa("203.0.113.0"), mpa("203.0.113.255")},
			zoneLine{"203.0.113.64-127 other text", mpa("203.0.113.64"), mpa("203.0.113.127")},
			zoneLine{"192.0.2.0-192.0.3.255", mpa("192.0.2.0"), mpa("192.0.3.255")},
			zoneLine{"!192.0.2.128/25", mpa("192.0.2.128"), mpa("192.0.2.255")},
			zoneLine{"192.0.2.130 :6:inside an exclusion", mpa("192.0.2.130"), mpa("192.0.2.130")},
			zoneLine{"172.16-31 :9:", mpa("172.16.0.0"), mpa("172.31.255.255")},
			zoneLine{"!172.20.0.0-172.20.1.7", mpa("172.20.0.0"), mpa("172.20.1.7")},
			zoneLine{"172.20.1.5-172.21.0.3 :10:", mpa("172.20.1.5"), mpa("172.21.0.3")},
		)
	} else {
		lines = append(lines, cidrLine("172.16.0.0/12", ":9:"), cidrLine("!172.20.0.0/15", ""), cidrLine("172.20.1.0/24", ":10:"))
	}
	bases := []netip.Addr{mpa("192.0.2.0"), mpa("198.51.100.0"), mpa("203.0.113.0"), mpa("100.64.0.0")}
	for range n {
		base := bases[rng.IntN(len(bases))].As4()
		base[2] = byte(rng.IntN(4))
		base[3] = byte(rng.IntN(256))
		bits := 20 + rng.IntN(13)
		pfx, _ := netip.AddrFrom4(base).Prefix(bits)
		excl := ""
		if rng.IntN(5) == 0 {
			excl = "!"
		}
		val := values[rng.IntN(len(values))]
		if ranges && rng.IntN(3) == 0 {
			a := netip.AddrFrom4(base)
			b := a
			for range rng.IntN(600) {
				if nb := b.Next(); nb.Is4() && nb.IsValid() {
					b = nb
				}
			}
			lines = append(lines, zoneLine{fmt.Sprintf("%s%s-%s %s", excl, a, b, val), a, b})
			continue
		}
		f, t := spanOf(pfx.String())
		lines = append(lines, zoneLine{fmt.Sprintf("%s%s %s", excl, pfx, val), f, t})
	}
	return lines
}

func genIP4TSet(rng *rand.Rand, n int) []zoneLine {
	lines := []zoneLine{
		{text: ":127.0.0.3:tset $"},
		{text: ":127.0.0.9:second default is ignored"},
		{text: "!192.0.2.1"}, // invalid in ip4tset
		{text: "192.0.2"},    // invalid: not 4 octets
	}
	for range n {
		a := netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.IntN(256))})
		if rng.IntN(2) == 0 {
			a = netip.AddrFrom4([4]byte{198, 51, 100, byte(rng.IntN(256))})
		}
		lines = append(lines, zoneLine{a.String() + " :5:ignored value", a, a})
	}
	return lines
}

func genIP6(rng *rand.Rand, tset bool, n int) []zoneLine {
	var lines []zoneLine
	if tset {
		lines = []zoneLine{{text: ":127.0.0.4:v6 tset $"}}
	} else {
		lines = []zoneLine{
			{text: ":127.0.1.2: Listed, see https://example.org/lookup?$"},
			cidrLine("2001:db8::/32", ""),
			{"2001:db8:c000/36", mpa("2001:db8:c000::"), mpa("2001:db8:cfff:ffff:ffff:ffff:ffff:ffff")},
			{"2001:db8:def7:4242 :127.0.1.3: This one smells funny", mpa("2001:db8:def7:4242::"), mpa("2001:db8:def7:4242:ffff:ffff:ffff:ffff")},
			cidrLine("!2001:db8:42::/48", ""),
			cidrLine("2001:db8:42::/52", ":5:"),
			cidrLine("::1/128", "# localhost"),
			cidrLine("!2001:db8:42::bead/128", ""),
		}
	}
	for range n {
		var b [16]byte
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
		b[5] = byte(rng.IntN(4))
		b[7] = byte(rng.IntN(4))
		b[15] = byte(rng.IntN(8))
		a := netip.AddrFrom16(b)
		if tset {
			if rng.IntN(3) == 0 {
				lines = append(lines, zoneLine{"!" + a.String(), a, a})
				continue
			}
			p, _ := a.Prefix(64)
			w := p.Addr().As16()
			text := fmt.Sprintf("%x:%x:%x:%x", uint16(w[0])<<8|uint16(w[1]), uint16(w[2])<<8|uint16(w[3]), uint16(w[4])<<8|uint16(w[5]), uint16(w[6])<<8|uint16(w[7]))
			f, t := spanOf(p.String())
			lines = append(lines, zoneLine{text, f, t})
			continue
		}
		bits := []int{40, 48, 56, 64, 126, 128}[rng.IntN(6)]
		p, _ := a.Prefix(bits)
		excl := ""
		if rng.IntN(4) == 0 {
			excl = "!"
		}
		f, t := spanOf(p.String())
		lines = append(lines, zoneLine{fmt.Sprintf("%s%s %s", excl, p, values[rng.IntN(len(values))]), f, t})
	}
	return lines
}

// reverseName is the RFC 5782 query name of a in zone; an IPv4-mapped address
// is an IPv6 query.
func reverseName(a netip.Addr, zone string) string {
	return string(prefix.AppendQueryName(nil, a, zone+"."))
}

// probes returns every boundary +-1 of every line plus random addresses
// near them, deduplicated.
func probes(rng *rand.Rand, lines []zoneLine, random int) []netip.Addr {
	var out []netip.Addr
	var spans []zoneLine
	for _, l := range lines {
		if !l.from.IsValid() {
			continue
		}
		spans = append(spans, l)
		for _, a := range []netip.Addr{l.from.Prev(), l.from, l.from.Next(), l.to.Prev(), l.to, l.to.Next()} {
			if a.IsValid() {
				out = append(out, a)
			}
		}
	}
	for range random {
		s := spans[rng.IntN(len(spans))]
		b := s.from.AsSlice()
		b[len(b)-1] ^= byte(rng.IntN(256))
		b[len(b)-2] ^= byte(rng.IntN(4))
		a, _ := netip.AddrFromSlice(b)
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

func TestMirrorMatchesRbldnsd(t *testing.T) {
	daemontest.NeedBinary(t, "rbldnsd")
	rng := rand.New(rand.NewPCG(42, 42))
	n := 150
	if testing.Short() {
		n = 40
	}
	cases := []struct {
		name  string
		typ   sources.Dataset
		lines []zoneLine
	}{
		{"ip4set", sources.DatasetIP4Set, genIP4(rng, true, n)},
		{"ip4trie", sources.DatasetIP4Trie, genIP4(rng, false, n)},
		{"ip4tset", sources.DatasetIP4TSet, genIP4TSet(rng, n)},
		{"ip6trie", sources.DatasetIP6Trie, genIP6(rng, false, n)},
		{"ip6tset", sources.DatasetIP6TSet, genIP6(rng, true, n)},
	}
	// The /64 that holds the IPv4-mapped addresses, among them the RFC 5782
	// IPv6 test point ::ffff:127.0.0.2: queried in IPv6 form, never unmapped.
	mapped64 := zoneLine{from: mpa("::"), to: mpa("::ffff:ffff:ffff:ffff")}
	loop1 := mpa("::ffff:127.0.0.1") // the negative test point, excluded
	cases[3].lines = append(cases[3].lines, zoneLine{text: "::/64", from: mapped64.from, to: mapped64.to},
		zoneLine{text: "!::ffff:7f00:1", from: loop1, to: loop1})
	cases[4].lines = append(cases[4].lines, zoneLine{text: "0:0:0:0", from: mapped64.from, to: mapped64.to},
		zoneLine{text: "!::ffff:7f00:1", from: loop1, to: loop1})
	dir := daemontest.ReadableDir(t)
	var specs []string
	for i, c := range cases {
		var sb strings.Builder
		for _, l := range c.lines {
			sb.WriteString(l.text + "\n")
		}
		if i == 0 { // a base template in one zone
			sb.WriteString("$= base: $= for $\n")
		}
		file := c.name + ".zone"
		if err := os.WriteFile(filepath.Join(dir, file), []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		specs = append(specs, fmt.Sprintf("%s.example.org:%s:%s", c.name, c.typ, file))
	}
	server := daemontest.Rbldnsd(t, dir, specs...)
	client := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	query := func(name string, qtype uint16) ([]string, error) {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		var r *dns.Msg
		var err error
		for range 3 {
			if r, _, err = client.Exchange(m, server); err == nil {
				break
			}
		}
		if err != nil {
			return nil, err
		}
		if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
			return nil, fmt.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
		}
		var out []string
		for _, rr := range r.Answer {
			switch v := rr.(type) {
			case *dns.A:
				out = append(out, v.A.String())
			case *dns.TXT:
				out = append(out, strings.Join(v.Txt, ""))
			}
		}
		slices.Sort(out)
		return out, nil
	}
	// Wait until the server answers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := query(reverseName(mpa("198.51.100.1"), "ip4set.example.org"), dns.TypeA); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("rbldnsd did not answer within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	total := 0
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sb strings.Builder
			for _, l := range c.lines {
				sb.WriteString(l.text + "\n")
			}
			if i == 0 {
				sb.WriteString("$= base: $= for $\n")
			}
			m, err := sources.ReadMirror(strings.NewReader(sb.String()), sources.MirrorConfig{Type: c.typ, Zone: sources.ZoneInfo{Zone: c.name + ".example.org"}})
			if m == nil {
				t.Fatalf("ReadMirror: %v", err)
			}
			addrs := probes(rng, c.lines, 600)
			addrs = append(addrs, mpa("::ffff:127.0.0.2"), mpa("::ffff:127.0.0.1"), mpa("::ffff:198.51.100.1"))
			total += len(addrs)
			var mu sync.Mutex
			var wg sync.WaitGroup
			work := make(chan netip.Addr)
			fails, listed, withTXT := 0, 0, 0
			for range 8 {
				wg.Go(func() {
					for a := range work {
						name := reverseName(a, c.name+".example.org")
						gotA, errA := query(name, dns.TypeA)
						gotT, errT := query(name, dns.TypeTXT)
						wantA, wantT := m.Answer(a)
						var sa []string
						for _, x := range wantA {
							sa = append(sa, x.String())
						}
						slices.Sort(sa)
						slices.Sort(wantT)
						mu.Lock()
						if len(gotA) > 0 {
							listed++
						}
						if len(gotT) > 0 {
							withTXT++
						}
						if errA != nil || errT != nil {
							t.Errorf("%s: query: %v %v", a, errA, errT)
						} else if !slices.Equal(gotA, sa) || !slices.Equal(gotT, wantT) {
							if fails++; fails <= 15 {
								t.Errorf("%s: rbldnsd A=%q TXT=%q, mirror A=%q TXT=%q", a, gotA, gotT, sa, wantT)
							}
						}
						mu.Unlock()
					}
				})
			}
			for _, a := range addrs {
				work <- a
			}
			close(work)
			wg.Wait()
			if fails > 15 {
				t.Errorf("%d mismatches in all", fails)
			}
			t.Logf("%d addresses compared, %d listed, %d with TXT", len(addrs), listed, withTXT)
			if listed == 0 || listed == len(addrs) {
				t.Errorf("probe set is degenerate: %d of %d listed", listed, len(addrs))
			}
		})
	}
	t.Logf("%d addresses compared against rbldnsd", total)
}
