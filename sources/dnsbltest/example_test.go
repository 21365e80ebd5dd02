package dnsbltest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/dnsbltest"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

// A zone served on loopback: the DNSBL wiring of an application tested
// offline, first against a healthy list, then against a resolver the list
// refuses and a list that lists the world.
func Example() {
	const zone = "bl.example.org"
	listed := netip.MustParseAddr("198.51.100.7")
	recs := dnsbltest.Records{}.AddTestPoints(zone).List(zone, listed, "spam source, see https://bl.example.org/")
	srv, err := dnsbltest.New(recs) // in a test: dnsbltest.Start(t, recs)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	newDNSBL := func() *sources.DNSBL { // a fresh DNSBL: probes are cached per DNSBL
		client := &dnsclient.Client{Servers: []string{srv.Addr}, CacheSize: -1, Attempts: 2, Timeout: 200 * time.Millisecond}
		return &sources.DNSBL{Zone: sources.ZoneInfo{Zone: zone, IPv4: true, TXT: true,
			Errors: []sources.ErrorCode{{Prefix: netip.MustParsePrefix("127.255.255.0/24"), Kind: sources.ErrorRefused}}}, Client: client}
	}
	ctx := context.Background()

	bl := newDNSBL()
	fmt.Println("probe:", bl.Probe(ctx).Status)
	l, err := bl.Lookup(ctx, listed)
	fmt.Println(listed, l.Listed, l.Codes(), l.Reason, err)
	l, err = bl.Lookup(ctx, netip.MustParseAddr("198.51.100.8"))
	fmt.Println("198.51.100.8", l.Listed, err)

	// The list refuses the resolver: an error, never "not listed".
	srv.SetFault("", dnsbltest.Fault{Answer: []netip.Addr{dnsbltest.RefusedCode()}})
	bl = newDNSBL()
	_, err = bl.Lookup(ctx, listed)
	fmt.Println("refused:", errors.Is(err, sources.ErrRefused), bl.Probe(ctx).Status)

	// A dead list that lists the world fails its health probe.
	srv.SetFault("", dnsbltest.Fault{Answer: []netip.Addr{dnsbltest.ListedCode()}})
	fmt.Println("lists the world:", newDNSBL().Probe(ctx).Status == reputation.StatusDead)
	// Output:
	// probe: ok
	// 198.51.100.7 true [127.0.0.2] spam source, see https://bl.example.org/ <nil>
	// 198.51.100.8 false <nil>
	// refused: true refused
	// lists the world: true
}
