package sources_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

// RPKI VRPs as rpki-client writes them: a block under an AS0 ROA fails,
// one whose ROA names another origin than the lessee's is flagged.
func ExampleReadVRPs() {
	const vrps = `{"metadata":{"buildtime":"2026-11-29T00:00:00Z"},"roas":[
{"asn":"AS0","prefix":"198.51.100.0/24","maxLength":24,"ta":"apnic"},
{"asn":65101,"prefix":"192.0.2.0/23","maxLength":24,"ta":"ripe"}]}`
	v, err := sources.ReadVRPs(strings.NewReader(vrps), sources.VRPConfig{ExpectOrigin: 64500})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, block := range []string{"198.51.100.0/24", "192.0.2.0/24", "203.0.113.0/24"} {
		ms, _ := v.LookupPrefix(context.Background(), netip.MustParsePrefix(block))
		for _, m := range ms {
			fmt.Printf("%s: %s %s: %s\n", block, m.Evidence[0].Category, m.Evidence[0].Severity, m.Reason)
		}
	}
	// Output:
	// 198.51.100.0/24: rpki-as0 critical: AS0 ROA 198.51.100.0/24 (apnic) covers the block: its holder says it must not be routed
	// 192.0.2.0/24: rpki-foreign-origin high: ROA 192.0.2.0/23-24 => AS65101 (ripe) authorises AS65101, not AS64500: an announcement of 192.0.2.0/24 from AS64500 would be RPKI-invalid
	// 203.0.113.0/24: rpki-roa info: no ROA covers 203.0.113.0/24 or lies inside it
}

// Registry, RPKI and routing evidence in one verdict: the RIR lists a
// sixteenth of the block as available, so the block is rejected although
// the blocklist and the announcement are fine.
func Example_leaseCheck() {
	rir, _ := sources.ReadRIRStats(strings.NewReader(`2|ripencc|20261129|2|19830705|20261128|+0100
ripencc|NL|ipv4|198.51.100.0|240|20100101|allocated|org-1
ripencc||ipv4|198.51.100.240|16||available
`), sources.RIRStatsConfig{Name: "ripencc"})
	origins, _ := sources.ReadOrigins(strings.NewReader("198.51.100.0\t24\t64500\n"), sources.OriginsConfig{ExpectOrigin: 64500})
	feed, _ := sources.ReadList(strings.NewReader("192.0.2.1\n"), sources.FeedConfig{Name: "blocklist"})
	s := &reputation.Scorer{Sources: []reputation.Source{feed, rir, origins}, AllowSpecial: true}
	rep, err := s.Score(context.Background(), netip.MustParsePrefix("198.51.100.0/24"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Verdict)
	for _, r := range rep.Reasons {
		fmt.Printf("%s %s %s", r.Source, r.Category, r.Severity)
		if r.Forces != "" {
			fmt.Printf(" (forces %s)", r.Forces)
		}
		fmt.Println()
	}
	// Output:
	// reject
	// ripencc rir-unallocated critical (forces reject)
	// origins announced info
	// ripencc rir-delegated info
}
