package htmlreport_test

import (
	"fmt"
	"log"
	"net/netip"
	"strings"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/reputation/htmlreport"
)

func ExampleWrite() {
	rep := &reputation.Report{
		Prefix: netip.MustParsePrefix("192.0.2.0/30"), Score: 97.5, Verdict: reputation.VerdictClean,
		AddressesTotal: 4, AddressesChecked: 4, LookupsPlanned: 4, LookupsAnswered: 4, Coverage: 1,
		Listings: []reputation.ListingReport{{
			Address: netip.MustParseAddr("192.0.2.1"), Source: "bl.example.org",
			Categories: []string{"spam"}, Severity: reputation.SeverityMedium,
			DelistURL: "https://bl.example.org/lookup?ip=192.0.2.1",
		}},
	}
	var page strings.Builder
	if err := htmlreport.Write(&page, []*reputation.Report{rep}, htmlreport.Options{}); err != nil {
		log.Fatal(err)
	}
	html := page.String()
	for _, st := range []string{"clean", "listed"} {
		fmt.Printf("%s cells: %d\n", st, strings.Count(html, `data-state="`+st+`" data-prefix=`))
	}
	fmt.Println(strings.Contains(html, `<title>192.0.2.1: listed by bl.example.org (spam)</title>`))
	fmt.Println(strings.Contains(html, `<script type="application/json" id="prefixvet-report">{"prefix":"192.0.2.0/30"`))
	// Output:
	// clean cells: 3
	// listed cells: 1
	// true
	// true
}
