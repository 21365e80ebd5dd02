package reputation_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"

	"github.com/prefixvet/prefixvet/reputation"
)

// zone is a tiny per-address source, standing in for a DNSBL zone.
type zone struct {
	name   string
	listed map[netip.Addr]reputation.Listing
}

func (z zone) Name() string { return z.name }

func (z zone) Lookup(_ context.Context, a netip.Addr) (reputation.Listing, error) {
	return z.listed[a], nil
}

// list is a tiny whole-block source, standing in for a blocklist feed.
type list struct {
	name    string
	entries []reputation.Match
}

func (l list) Name() string { return l.name }

func (l list) Lookup(_ context.Context, a netip.Addr) (reputation.Listing, error) {
	for _, m := range l.entries {
		if m.Prefix.Contains(a) {
			return m.Listing, nil
		}
	}
	return reputation.Listing{}, nil
}

func (l list) LookupPrefix(_ context.Context, p netip.Prefix) ([]reputation.Match, error) {
	var out []reputation.Match
	for _, m := range l.entries {
		if m.Prefix.Overlaps(p) {
			out = append(out, m)
		}
	}
	return out, nil
}

func ExampleScorer_Score() {
	spamcop := zone{name: "spamcop", listed: map[netip.Addr]reputation.Listing{}}
	for i := 10; i < 22; i++ {
		spamcop.listed[netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})] = reputation.Listing{
			Listed:   true,
			Evidence: []reputation.Evidence{{Code: netip.MustParseAddr("127.0.0.2"), Category: "spam", Severity: reputation.SeverityHigh}},
		}
	}
	abuse := list{name: "abuse-feed", entries: []reputation.Match{{
		Prefix: netip.MustParsePrefix("203.0.113.64/28"),
		Listing: reputation.Listing{Listed: true, Evidence: []reputation.Evidence{
			{Category: "abuse", Severity: reputation.SeverityMedium, Scope: reputation.ScopeRange},
		}},
	}}}

	s := &reputation.Scorer{
		Sources:      []reputation.Source{spamcop, abuse},
		AllowSpecial: true, // 203.0.113.0/24 is documentation space
	}
	rep, err := s.Score(context.Background(), netip.MustParsePrefix("203.0.113.0/24"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Printf("%s: %s, score %v, coverage %v\n", rep.Prefix, rep.Verdict, rep.Score, rep.Coverage)
	for _, r := range rep.Reasons {
		fmt.Println(r.Text)
	}
	// Output:
	// 203.0.113.0/24: review, score 90.4, coverage 1
	// spamcop (spam): 12 of 256 addresses listed, -5.7; rule severe-listing: a high listing anywhere in the block, forces review
	// rule hot-24: 1 /24 hot (4 or more addresses listed by per-address lists, as UCEPROTECT Level 2 counts): 203.0.113.0/24 (12 listed), forces review
	// abuse-feed (abuse): 1 entry covers 16 of 256 addresses, -3.9
}

func ExampleDiff() {
	prev := &reputation.Report{Verdict: reputation.VerdictClean, Score: 100}
	cur := &reputation.Report{Verdict: reputation.VerdictReview, Score: 60, Listings: []reputation.ListingReport{{
		Address: netip.MustParseAddr("198.51.100.7"), Source: "spamcop", Categories: []string{"spam"},
	}}}
	c := reputation.Diff(prev, cur)
	fmt.Println(c.VerdictBefore, "->", c.VerdictAfter, c.ScoreDelta())
	for _, l := range c.NewlyListed {
		fmt.Println("newly listed:", l.Address, "by", l.Source)
	}
	// Output:
	// clean -> review -40
	// newly listed: 198.51.100.7 by spamcop
}
