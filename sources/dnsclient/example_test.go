package dnsclient_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/sources/dnsbltest"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

func ExampleClient_Exchange() {
	// A DNS server on loopback serving one DNSBL test point.
	srv, err := dnsbltest.New(dnsbltest.Records{
		"2.0.0.127.bl.example.org.": {A: []netip.Addr{netip.MustParseAddr("127.0.0.2")}},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	c := &dnsclient.Client{Servers: []string{srv.Addr}}
	defer c.Close()
	ctx := context.Background()
	for _, name := range []string{"2.0.0.127.bl.example.org.", "1.0.0.127.bl.example.org."} {
		m, err := c.Exchange(ctx, name, dns.TypeA)
		if err != nil {
			fmt.Println(name, "error:", err)
			continue
		}
		fmt.Print(name, " ", dns.RcodeToString[m.Rcode])
		for _, rr := range m.Answer {
			if a, ok := rr.(*dns.A); ok {
				fmt.Print(" ", a.A)
			}
		}
		fmt.Println()
	}
	// Output:
	// 2.0.0.127.bl.example.org. NOERROR 127.0.0.2
	// 1.0.0.127.bl.example.org. NXDOMAIN
}
