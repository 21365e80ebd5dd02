package prefix_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/prefixvet/prefixvet/prefix"
)

func ExampleParse() {
	for _, s := range []string{
		"203.0.113.0/24",
		"203.0.113.0/255.255.255.0",
		" 203.0.113.10 - 203.0.113.20 ",
		"2001:0db8:0000:0000:0000:0000:0000:0001",
		"64:ff9b::192.0.2.0/120",
		"203.0.113.5/24",
		"203.0.113.20-203.0.113.10",
	} {
		r, err := prefix.Parse(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(r)
	}
	// Output:
	// 203.0.113.0/24
	// 203.0.113.0/24
	// 203.0.113.10-203.0.113.20
	// 2001:db8::1/128
	// 64:ff9b::c000:200/120
	// prefix.Parse("203.0.113.5/24"): host bits set; did you mean 203.0.113.0/24?
	// prefix.Parse("203.0.113.20-203.0.113.10"): range end 203.0.113.10 precedes its start 203.0.113.20; did you mean 203.0.113.10-203.0.113.20?
}

func ExampleMustParse() {
	r := prefix.MustParse("198.51.100.0/24")
	fmt.Println(r.From(), r.To())
	// Output: 198.51.100.0 198.51.100.255
}

func ExampleRangeOf() {
	// RangeOf masks host bits.
	r := prefix.RangeOf(netip.MustParsePrefix("198.51.100.77/26"))
	fmt.Println(r, r.From(), r.To())
	// Output: 198.51.100.64/26 198.51.100.64 198.51.100.127
}

func ExampleRangeFrom() {
	r := prefix.RangeFrom(netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.20"))
	fmt.Println(r, r.IsValid())
	bad := prefix.RangeFrom(netip.MustParseAddr("192.0.2.20"), netip.MustParseAddr("192.0.2.10"))
	fmt.Println(bad, bad.IsValid())
	// Output:
	// 192.0.2.10-192.0.2.20 true
	// invalid Range false
}

func ExampleRange_From() {
	r := prefix.MustParse("2001:db8::/126")
	fmt.Println(r.From())
	// Output: 2001:db8::
}

func ExampleRange_To() {
	r := prefix.MustParse("2001:db8::/126")
	fmt.Println(r.To())
	// Output: 2001:db8::3
}

func ExampleRange_IsValid() {
	var zero prefix.Range
	fmt.Println(zero.IsValid(), prefix.MustParse("192.0.2.1").IsValid())
	// Output: false true
}

func ExampleRange_Contains() {
	r := prefix.MustParse("192.0.2.10-192.0.2.20")
	fmt.Println(r.Contains(netip.MustParseAddr("192.0.2.15")))
	fmt.Println(r.Contains(netip.MustParseAddr("192.0.2.21")))
	fmt.Println(r.Contains(netip.MustParseAddr("::ffff:192.0.2.15"))) // other family
	// Output:
	// true
	// false
	// false
}

func ExampleRange_Len() {
	for _, s := range []string{"203.0.113.0/24", "2001:db8::/96", "2001:db8::/32"} {
		n, ok := prefix.MustParse(s).Len()
		fmt.Println(s, n, ok)
	}
	// Output:
	// 203.0.113.0/24 256 true
	// 2001:db8::/96 4294967296 true
	// 2001:db8::/32 0 false
}

func ExampleRange_All() {
	for a := range prefix.MustParse("192.0.2.254-192.0.3.1").All() {
		fmt.Println(a)
	}
	// Output:
	// 192.0.2.254
	// 192.0.2.255
	// 192.0.3.0
	// 192.0.3.1
}

func ExampleRange_Prefixes() {
	for p := range prefix.MustParse("203.0.113.10-203.0.113.20").Prefixes() {
		fmt.Println(p)
	}
	// Output:
	// 203.0.113.10/31
	// 203.0.113.12/30
	// 203.0.113.16/30
	// 203.0.113.20/32
}

func ExampleRange_AppendPrefixes() {
	var buf [8]netip.Prefix // no allocation while the cover fits
	ps := prefix.MustParse("203.0.113.10-203.0.113.20").AppendPrefixes(buf[:0])
	fmt.Println(ps)
	// Output:
	// [203.0.113.10/31 203.0.113.12/30 203.0.113.16/30 203.0.113.20/32]
}

func ExampleRange_WidestPrefix() {
	r := prefix.MustParse("198.51.100.0-198.51.100.191")
	fmt.Println(r.WidestPrefix(netip.MustParseAddr("198.51.100.7")))
	fmt.Println(r.WidestPrefix(netip.MustParseAddr("198.51.100.130")))
	fmt.Println(r.WidestPrefix(netip.MustParseAddr("198.51.100.200")))
	// Output:
	// 198.51.100.0/25 true
	// 198.51.100.128/26 true
	// invalid Prefix false
}

func ExampleUnmap() {
	fmt.Println(prefix.Unmap(netip.MustParsePrefix("::ffff:192.0.2.0/120")))
	fmt.Println(prefix.Unmap(netip.MustParsePrefix("2001:db8::/32")))
	// Output:
	// 192.0.2.0/24
	// 2001:db8::/32
}

func ExampleRange_Prefix() {
	p, ok := prefix.MustParse("198.51.100.128-198.51.100.255").Prefix()
	fmt.Println(p, ok)
	p, ok = prefix.MustParse("198.51.100.1-198.51.100.2").Prefix()
	fmt.Println(p, ok)
	// Output:
	// 198.51.100.128/25 true
	// invalid Prefix false
}

func ExampleRange_String() {
	fmt.Println(prefix.MustParse("203.0.113.0-203.0.113.255"))
	fmt.Println(prefix.MustParse("203.0.113.7"))
	fmt.Println(prefix.MustParse("203.0.113.7-203.0.113.9"))
	// Output:
	// 203.0.113.0/24
	// 203.0.113.7/32
	// 203.0.113.7-203.0.113.9
}

func ExampleSplit() {
	subnets, err := prefix.Split(netip.MustParsePrefix("198.51.100.0/22"), 24)
	if err != nil {
		fmt.Println(err)
		return
	}
	for p := range subnets {
		fmt.Println(p)
	}
	// Output:
	// 198.51.100.0/24
	// 198.51.101.0/24
	// 198.51.102.0/24
	// 198.51.103.0/24
}

func ExampleSample() {
	p := netip.MustParsePrefix("2001:db8::/32")
	addrs := prefix.Sample(p, 1000, 42)
	again := prefix.Sample(p, 1000, 42)
	fmt.Println(len(addrs), p.Contains(addrs[0]), addrs[0] == again[0] && addrs[999] == again[999])
	// A sample as large as the prefix is the whole prefix.
	fmt.Println(prefix.Sample(netip.MustParsePrefix("192.0.2.0/30"), 10, 42))
	// Output:
	// 1000 true true
	// [192.0.2.0 192.0.2.1 192.0.2.2 192.0.2.3]
}

func ExampleSampleSubnets() {
	p := netip.MustParsePrefix("2001:db8::/48")
	seen := map[netip.Prefix]bool{}
	for _, a := range prefix.SampleSubnets(p, 64, 100, 42) {
		seen[netip.PrefixFrom(a, 64).Masked()] = true
	}
	fmt.Println(len(seen), "distinct /64s")
	// Output: 100 distinct /64s
}

func ExampleAppendQueryName() {
	buf := make([]byte, 0, 128)
	for _, s := range []string{"192.0.2.99", "2001:db8:1:2:3:4:567:89ab", "::ffff:127.0.0.2"} {
		buf = prefix.AppendQueryName(buf[:0], netip.MustParseAddr(s), "bl.example.org.")
		fmt.Println(string(buf))
	}
	// Output:
	// 99.2.0.192.bl.example.org.
	// b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example.org.
	// 2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example.org.
}

func ExampleSpecialPurpose() {
	for _, sp := range prefix.SpecialPurpose(netip.MustParsePrefix("192.0.0.0/22")) {
		fmt.Println(sp)
	}
	// Output:
	// 192.0.0.0/24 IETF Protocol Assignments, RFC 6890
	// 192.0.0.0/29 IPv4 Service Continuity Prefix, RFC 7335
	// 192.0.0.8/32 IPv4 dummy address, RFC 7600
	// 192.0.0.9/32 Port Control Protocol Anycast, RFC 7723
	// 192.0.0.10/32 Traversal Using Relays around NAT Anycast, RFC 8155
	// 192.0.0.170/32 NAT64/DNS64 Discovery, RFC 8880
	// 192.0.0.171/32 NAT64/DNS64 Discovery, RFC 8880
	// 192.0.2.0/24 Documentation (TEST-NET-1), RFC 5737
}

func ExampleSpecial_String() {
	sp := prefix.SpecialPurpose(netip.MustParsePrefix("fd00::/8"))[0]
	fmt.Println(sp.String())
	// Output: fc00::/7 Unique-Local, RFC 4193
}

func ExampleCheckVettable() {
	err := prefix.CheckVettable(netip.MustParsePrefix("203.0.113.0/24"))
	fmt.Println(err)
	fmt.Println(errors.Is(err, prefix.ErrSpecialPurpose))
	// Output:
	// 203.0.113.0/24 is special-purpose space: 203.0.113.0/24 Documentation (TEST-NET-3), RFC 5737
	// true
}
