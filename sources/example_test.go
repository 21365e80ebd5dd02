package sources_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"os"
	"strings"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
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
func ExampleDNSBL_Lookup() {
	zone, err := sources.LookupZone("zen.spamhaus.org")
	if err != nil {
		fmt.Println(err)
		return
	}
	// Your own non-forwarding resolver: list operators refuse public ones.
	client := &dnsclient.Client{Servers: []string{"127.0.0.1:53"}}
	defer client.Close()
	bl := &sources.DNSBL{Zone: zone, Client: client}

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

// Vet a block against the catalog's default zones through your own resolver,
// plus a local copy of the Spamhaus DROP list. (No Output: it needs a
// resolver; README.md shows this program.)
func Example_vetBlock() {
	client := &dnsclient.Client{Servers: []string{"127.0.0.1:53"}} // your own caching resolver
	defer client.Close()
	var srcs []reputation.Source
	for _, z := range sources.DefaultZones() {
		srcs = append(srcs, &sources.DNSBL{Zone: z, Client: client})
	}
	if f, err := os.Open("drop_v4.json"); err == nil {
		drop, err := sources.ReadList(f, sources.FeedConfig{Name: "spamhaus-drop", Format: sources.FormatDROP})
		f.Close()
		if err != nil {
			log.Fatal(err)
		}
		srcs = append(srcs, drop)
	}
	s := &reputation.Scorer{Sources: srcs}
	rep, err := s.Score(context.Background(), netip.MustParsePrefix("198.51.100.0/24"))
	if err != nil {
		log.Print(err) // e.g. every zone refused: the error names the resolver
	}
	if rep != nil {
		rep.WriteText(os.Stdout)
	}
}
