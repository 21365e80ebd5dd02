package sources_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/sources"
)

func ExampleLookupZone() {
	z, err := sources.LookupZone("zen")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(z.Zone, z.IPv4, z.IPv6)
	fmt.Println(z.Delist(netip.MustParseAddr("192.0.2.1")))

	_, err = sources.LookupZone("dnsbl.sorbs.net")
	fmt.Println(strings.SplitN(err.Error(), ";", 2)[0])
	// Output:
	// zen.spamhaus.org true true
	// https://check.spamhaus.org/query/ip/192.0.2.1
	// sources: list is dead or unsafe: dnsbl.sorbs.net: decommissioned by Proofpoint 2024-06-05
}

func ExampleZoneInfo_Decode() {
	z, _ := sources.LookupZone("zen.spamhaus.org")

	ev, _ := z.Decode([]netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.9")})
	for _, e := range ev {
		fmt.Println(e.Code, e.Category, e.Severity, e.Scope)
	}

	// An error code is never a listing.
	_, err := z.Decode([]netip.Addr{netip.MustParseAddr("127.255.255.254")})
	fmt.Println(err)
	// Output:
	// 127.0.0.2 spam high address
	// 127.0.0.9 hijacked critical range
	// sources: query refused by list operator: zen.spamhaus.org answered 127.255.255.254 (query via a public/open resolver or unattributable rDNS)
}

// resolver is a minimal [sources.Exchanger] over a miekg/dns client and one
// resolver; real programs use the package's DNS client.
type resolver struct{ addr string }

func (r resolver) Exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	in, _, err := new(dns.Client).ExchangeContext(ctx, m, r.addr)
	return in, err
}

func (r resolver) String() string { return r.addr }

func ExampleDNSBL_Lookup() {
	zone, err := sources.LookupZone("zen.spamhaus.org")
	if err != nil {
		fmt.Println(err)
		return
	}
	// Your own non-forwarding resolver: list operators refuse public ones.
	bl := &sources.DNSBL{Zone: zone, Client: resolver{addr: "127.0.0.1:53"}}

	ctx := context.Background()
	if h := bl.Probe(ctx); !h.Status.Usable() {
		fmt.Println("not using", bl.Name()+":", h.Detail)
		return
	}
	l, err := bl.Lookup(ctx, netip.MustParseAddr("192.0.2.1"))
	switch {
	case err != nil:
		fmt.Println("unknown:", err)
	case l.Listed:
		fmt.Println("listed:", l.Codes(), l.Reason, l.DelistURL)
	default:
		fmt.Println("not listed")
	}
}
