package reputation_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"strings"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

// Score blocks against a Spamhaus DROP feed and a local copy of a DNSBL zone,
// both held in memory: no DNS at all. README.md shows this program.
func ExampleScorer_Score_localData() {
	drop, err := sources.ReadList(strings.NewReader(`{"cidr":"203.0.113.0/25","sblid":"SBL000001","rir":"example"}`), sources.FeedConfig{Name: "drop"})
	if err != nil {
		log.Fatal(err)
	}
	bl, err := sources.ReadMirror(strings.NewReader("198.51.100.7\n198.51.100.9\n"), sources.MirrorConfig{Type: sources.DatasetIP4Set, Name: "local-bl"})
	if err != nil {
		log.Fatal(err)
	}
	s := &reputation.Scorer{Sources: []reputation.Source{drop, bl}, AllowSpecial: true} // documentation space
	for _, p := range []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"} {
		rep, err := s.Score(context.Background(), netip.MustParsePrefix(p))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(rep.Prefix, rep.Verdict, rep.Score)
		for _, r := range rep.Reasons {
			fmt.Println("  " + r.Text)
		}
	}
	// Output:
	// 192.0.2.0/24 clean 100
	// 198.51.100.0/24 clean 97.32
	//   local-bl (listed): 2 entries cover 2 of 256 addresses, -2.7
	// 203.0.113.0/24 reject 45
	//   drop (hijacked): 1 entry covers 128 of 256 addresses, -55; rule critical-share: critical listing covers 50% of the block (50% or more), forces reject
}
