package reputation_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
)

// slowZone answers at once for the first 16 addresses of each /24 and
// never for the others, like a zone whose resolver went quiet mid-run.
type slowZone struct{}

func (slowZone) Name() string { return "slow-zone" }

func (slowZone) Lookup(ctx context.Context, a netip.Addr) (reputation.Listing, error) {
	if a.As4()[3] < 16 {
		return reputation.Listing{}, nil
	}
	<-ctx.Done()
	return reputation.Listing{}, ctx.Err()
}

// A batch with a deadline and a progress callback of its own: the reports
// come back partial, say what was not done, and the error says why. (The
// workers all wait on the first block's silent addresses, so the second
// block is never reached: all of its lookups are unknown.)
func ExampleScorer_ScoreAllWith() {
	s := &reputation.Scorer{Sources: []reputation.Source{slowZone{}}, AllowSpecial: true}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()

	var first, last reputation.Progress // this call's own state: no lock needed
	calls := 0
	opts := reputation.ScoreOptions{Progress: func(p reputation.Progress) {
		if calls == 0 {
			first = p
		}
		calls++
		last = p
	}}
	blocks := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24")}
	reps, err := s.ScoreAllWith(ctx, blocks, opts)
	fmt.Println("deadline:", errors.Is(err, context.DeadlineExceeded))
	fmt.Printf("progress: first %d of %d, last %d of %d\n", first.Done, first.Planned, last.Done, last.Planned)
	for _, rep := range reps {
		fmt.Printf("%s: %s, %d of %d addresses checked, %d lookups unknown\n",
			rep.Prefix, rep.Verdict, rep.AddressesChecked, int(rep.AddressesTotal), len(rep.Unknown))
	}
	// Output:
	// deadline: true
	// progress: first 0 of 512, last 16 of 512
	// 198.51.100.0/24: incomplete, 16 of 256 addresses checked, 240 lookups unknown
	// 203.0.113.0/24: incomplete, 0 of 256 addresses checked, 256 lookups unknown
}

// inHouse is a source of one's own: an in-house abuse list that answers
// for IPv4 only and accepts at most 100 lookups per run. Info tells the
// Scorer so: it does not ask about IPv6, and it samples rather than exceed
// the budget.
type inHouse struct{ listed map[netip.Addr]bool }

func (inHouse) Name() string { return "in-house" }

func (inHouse) Info() reputation.Info {
	return reputation.Info{Kind: reputation.KindOther, IPv4: true, Budget: 100}
}

func (h inHouse) Lookup(_ context.Context, a netip.Addr) (reputation.Listing, error) {
	if !h.listed[a] {
		return reputation.Listing{}, nil // not listed is not an error
	}
	return reputation.Listing{Listed: true, Evidence: []reputation.Evidence{
		{Category: "abuse", Severity: reputation.SeverityMedium},
	}}, nil
}

// A custom source that describes itself with Describer.
func ExampleDescriber() {
	src := inHouse{listed: map[netip.Addr]bool{}}
	for i := range 256 {
		src.listed[netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})] = i%4 == 0 // every fourth address
	}
	s := &reputation.Scorer{Sources: []reputation.Source{src}, AllowSpecial: true}
	for _, p := range []string{"198.51.100.0/24", "2001:db8::/64"} {
		rep, err := s.Score(context.Background(), netip.MustParsePrefix(p))
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: %s, sampled %v, %d lookups\n", rep.Prefix, rep.Verdict, rep.Sampled, rep.LookupsPlanned)
		if rep.Sources[0].Detail != "" {
			fmt.Println("  ", rep.Sources[0].Detail)
		}
	}
	// Output:
	// 198.51.100.0/24: review, sampled true, 100 lookups
	// 2001:db8::/64: incomplete, sampled false, 0 lookups
	//    not queried: does not answer for IPv6
}

// Tuning the policy: a stricter review threshold and a heavier weight for
// one source, and Diff saying what the change does to a report.
func ExamplePolicy_tuning() {
	spamcop := zone{name: "spamcop", listed: map[netip.Addr]reputation.Listing{}}
	for i := range 3 { // three addresses: not yet a hot /24
		spamcop.listed[netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})] = reputation.Listing{
			Listed: true, Evidence: []reputation.Evidence{{Category: "spam", Severity: reputation.SeverityMedium}},
		}
	}
	block := netip.MustParsePrefix("203.0.113.0/24")
	s := &reputation.Scorer{Sources: []reputation.Source{spamcop}, AllowSpecial: true}
	before, err := s.Score(context.Background(), block)
	if err != nil {
		fmt.Println(err)
		return
	}

	strict := reputation.DefaultPolicy()
	strict.Version = "strict-1"
	strict.ReviewBelow = 98
	strict.Weights = map[string]float64{"spamcop": 2}
	s.Policy = strict
	after, err := s.Score(context.Background(), block)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := reputation.Diff(before, after)
	fmt.Printf("%s %v %s -> %s %v %s\n", before.PolicyVersion, before.Score, c.VerdictBefore,
		after.PolicyVersion, after.Score, c.VerdictAfter)
	fmt.Printf("score delta %.2f, newly listed %d\n", c.ScoreDelta(), len(c.NewlyListed))
	// Output:
	// prefixvet-2 97.24 clean -> strict-1+cfa28b7a 94.47 review
	// score delta -2.77, newly listed 0
}
