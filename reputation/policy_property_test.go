package reputation_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
)

// verdictOrder ranks verdicts from best to worst for the monotonicity
// properties. Incomplete sits with review: more evidence can turn it into
// reject, never into clean or review.
func verdictOrder(v reputation.Verdict) int {
	switch v {
	case reputation.VerdictClean:
		return 0
	case reputation.VerdictReview, reputation.VerdictIncomplete:
		return 1
	}
	return 2
}

// ruleWorld is a random world dense enough for every escalation rule of
// the default policy to fire in some of them.
type ruleWorld struct {
	block  netip.Prefix
	addrs  []netip.Addr
	listed []map[netip.Addr]reputation.Listing
	errs   []map[netip.Addr]error
	feed   []reputation.Match
	extra  []reputation.Match // a second whole-block source, one entry at most
}

func randomRuleWorld(rng *rand.Rand) *ruleWorld {
	bits := []int{22, 24, 24, 26, 28}[rng.IntN(5)]
	w := &ruleWorld{block: netip.PrefixFrom(netip.AddrFrom4([4]byte{11, 0, 0, 0}), bits)}
	for a := range prefix.RangeOf(w.block).All() {
		w.addrs = append(w.addrs, a)
	}
	sevs := []reputation.Severity{reputation.SeverityInfo, reputation.SeverityLow, reputation.SeverityMedium,
		reputation.SeverityHigh, reputation.SeverityCritical, reputation.SeverityAllow}
	for range 3 {
		l, e := map[netip.Addr]reputation.Listing{}, map[netip.Addr]error{}
		density := []float64{0, 0.005, 0.02, 0.1, 0.3, 0.6}[rng.IntN(6)]
		pErr := []float64{0, 0, 0.02, 0.2}[rng.IntN(4)]
		sev := sevs[rng.IntN(len(sevs))]
		for _, a := range w.addrs {
			switch x := rng.Float64(); {
			case x < pErr:
				e[a] = errFlaky
			case x < pErr+density:
				l[a] = reputation.Listing{Listed: true, Evidence: []reputation.Evidence{
					{Code: mpa("127.0.0.2"), Category: "cat" + sev.String(), Severity: sev, Scope: reputation.Scope(rng.IntN(2))},
				}}
			}
		}
		w.listed, w.errs = append(w.listed, l), append(w.errs, e)
	}
	cats := []string{"abuse", "abuse", "abuse", "rpki-as0"}
	for i := range 4 {
		if rng.IntN(5) == 0 {
			sub := netip.PrefixFrom(w.addrs[i*len(w.addrs)/4], bits+2)
			w.feed = append(w.feed, entry(sub.String(), cats[rng.IntN(len(cats))], sevs[rng.IntN(5)], reputation.ScopeRange, ""))
		}
	}
	return w
}

func (w *ruleWorld) score(t *testing.T) *reputation.Report {
	t.Helper()
	srcs := []reputation.Source{&feed{name: "feed", entries: w.feed}, &feed{name: "feed2", entries: w.extra}}
	for i := range w.listed {
		srcs = append(srcs, &fake{name: fmt.Sprintf("bl%d", i), listed: w.listed[i], errs: w.errs[i]})
	}
	s := &reputation.Scorer{Sources: srcs, AllowSpecial: true}
	rep, err := s.Score(t.Context(), w.block)
	if err != nil {
		t.Fatalf("Score: %v", err)
	}
	return rep
}

// TestProperty_moreEvidenceNeverImprovesTheVerdict adds one listing (or one
// feed entry) to a random world and checks that neither the score nor the
// verdict improves, and that every escalation rule was exercised.
func TestProperty_moreEvidenceNeverImprovesTheVerdict(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 42))
	fired := map[string]int{}
	escalated := 0 // runs where a rule, not the score, made the verdict worse
	for i := range iterations() {
		w := randomRuleWorld(rng)
		before := w.score(t)
		if rng.IntN(4) == 0 {
			// A new entry of another whole-block source, at most a quarter
			// of the block wide.
			a := w.addrs[rng.IntN(len(w.addrs))]
			sub := netip.PrefixFrom(a, min(32, w.block.Bits()+2+rng.IntN(6))).Masked()
			w.extra = []reputation.Match{entry(sub.String(), "abuse", reputation.Severity(1+rng.IntN(4)), reputation.ScopeRange, "")}
		} else {
			src, a := rng.IntN(len(w.listed)), w.addrs[rng.IntN(len(w.addrs))]
			if _, ok := w.listed[src][a]; ok || w.errs[src][a] != nil {
				continue
			}
			sev := reputation.Severity(1 + rng.IntN(4))
			w.listed[src][a] = reputation.Listing{Listed: true, Evidence: []reputation.Evidence{
				{Code: mpa("127.0.0.3"), Category: "added", Severity: sev},
			}}
		}
		after := w.score(t)
		for _, r := range after.Reasons {
			if r.Rule != "" {
				fired[r.Rule]++
			}
		}
		if after.Verdict == reputation.VerdictReject && after.Score >= reputation.DefaultRejectBelow ||
			after.Verdict == reputation.VerdictReview && after.Score >= reputation.DefaultReviewBelow {
			escalated++
		}
		if after.Score > before.Score {
			t.Fatalf("world %d: more evidence raised the score %v -> %v", i, before.Score, after.Score)
		}
		if verdictOrder(after.Verdict) < verdictOrder(before.Verdict) {
			t.Fatalf("world %d: more evidence improved the verdict %s -> %s\nbefore:\n%s\nafter:\n%s",
				i, before.Verdict, after.Verdict, reasonTexts(before), reasonTexts(after))
		}
	}
	for _, r := range []string{reputation.RuleCriticalShare, reputation.RuleRejectCategory, reputation.RuleDense,
		reputation.RuleReviewSeverity, reputation.RuleReviewShare, reputation.RuleHot24} {
		if fired[r] == 0 {
			t.Errorf("rule %s never fired: the property was not exercised for it (fired: %v)", r, fired)
		}
	}
	if escalated == 0 {
		t.Error("no rule ever made a verdict worse than the score alone")
	}
}
