package reputation_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/prefixvet/prefixvet/reputation"
)

// world is a random set of answers: per source, per address, a listing or
// an error; plus the entries of one whole-block source.
type world struct {
	block  netip.Prefix
	names  []string
	listed []map[netip.Addr]reputation.Listing
	errs   []map[netip.Addr]error
	feed   []reputation.Match
}

var errFlaky = errors.New("servfail")

func randomListing(rng *rand.Rand) reputation.Listing {
	cats := []struct {
		name string
		sev  reputation.Severity
	}{
		{"spam", reputation.SeverityHigh}, {"exploited", reputation.SeverityMedium},
		{"policy", reputation.SeverityLow}, {"dynamic", reputation.SeverityInfo},
		{"hijacked", reputation.SeverityCritical}, {"whitelist", reputation.SeverityAllow},
	}
	l := reputation.Listing{Listed: true, Reason: "random"}
	for range 1 + rng.IntN(2) {
		c := cats[rng.IntN(len(cats))]
		l.Evidence = append(l.Evidence, reputation.Evidence{
			Code: netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + rng.IntN(8))}), Category: c.name, Severity: c.sev,
			Scope: reputation.Scope(rng.IntN(2)),
		})
	}
	return l
}

func randomWorld(rng *rand.Rand) *world {
	w := &world{block: mpp("192.0.2.0/26"), names: []string{"bl0", "bl1", "bl2"}}
	pList, pErr := rng.Float64()*0.3, rng.Float64()*0.12
	for range w.names {
		l, e := map[netip.Addr]reputation.Listing{}, map[netip.Addr]error{}
		for a := range w.block.Addr().As4()[3] + 64 { // addresses .0 to .63
			addr := netip.AddrFrom4([4]byte{192, 0, 2, a})
			switch x := rng.Float64(); {
			case x < pErr:
				e[addr] = errFlaky
			case x < pErr+pList:
				l[addr] = randomListing(rng)
			}
		}
		w.listed, w.errs = append(w.listed, l), append(w.errs, e)
	}
	// Non-overlapping feed extents: some of the four /28s.
	for i := range 4 {
		if rng.IntN(4) == 0 {
			m := entry(fmt.Sprintf("192.0.2.%d/28", 16*i), "abuse", reputation.Severity(rng.IntN(4)+1), reputation.ScopeRange, "")
			w.feed = append(w.feed, m)
		}
	}
	return w
}

// score scores w; delay, if set, gives each lookup a latency (run it inside
// a synctest bubble).
func (w *world) score(t *testing.T, conc int, delay func(netip.Addr) time.Duration) *reputation.Report {
	t.Helper()
	var srcs []reputation.Source
	for i, n := range w.names {
		srcs = append(srcs, &fake{name: n, listed: w.listed[i], errs: w.errs[i], delayFn: delay})
	}
	srcs = append(srcs, &feed{name: "feed", entries: w.feed})
	s := &reputation.Scorer{Sources: srcs, Concurrency: conc, AllowSpecial: true}
	rep, err := s.Score(t.Context(), w.block)
	if err != nil {
		t.Fatalf("Score: %v", err)
	}
	return rep
}

// pick returns a random (source, address) whose answer satisfies ok.
func (w *world) pick(rng *rand.Rand, ok func(src int, a netip.Addr) bool) (int, netip.Addr, bool) {
	for range 1000 {
		src, a := rng.IntN(len(w.names)), netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.IntN(64))})
		if ok(src, a) {
			return src, a, true
		}
	}
	return 0, netip.Addr{}, false
}

func iterations() int {
	if testing.Short() {
		return 30
	}
	return 300
}

func TestProperty_addingAListingNeverRaisesTheScore(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 42))
	tested, lowered := 0, 0
	for i := range iterations() {
		w := randomWorld(rng)
		before := w.score(t, 8, nil)
		src, a, ok := w.pick(rng, func(src int, a netip.Addr) bool {
			_, l := w.listed[src][a]
			return !l && w.errs[src][a] == nil
		})
		if !ok {
			continue
		}
		l := randomListing(rng)
		w.listed[src][a] = l
		after := w.score(t, 8, nil)
		tested++
		if after.Score > before.Score {
			t.Fatalf("world %d: listing %v on %s as %+v raised the score %v -> %v\nbefore %+v\nafter %+v",
				i, a, w.names[src], l.Evidence, before.Score, after.Score, before.Reasons, after.Reasons)
		}
		if after.Score < before.Score {
			lowered++
		}
	}
	// Was exercised: most worlds had a clean answer to turn into a
	// listing, and the added listings moved the score often, so the
	// comparison above was not between equal scores every time.
	if n := iterations(); tested < n/2 || lowered < tested/4 {
		t.Errorf("%d of %d worlds tested, %d of them lowered the score: the property was not exercised", tested, n, lowered)
	}
}

func TestProperty_listedTurnedUnknownIsNeverCleanUnderMinCoverage(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 42))
	underThreshold := 0
	for i := range iterations() {
		w := randomWorld(rng)
		src, a, ok := w.pick(rng, func(src int, a netip.Addr) bool { _, l := w.listed[src][a]; return l })
		if !ok {
			continue
		}
		delete(w.listed[src], a)
		w.errs[src][a] = errFlaky
		after := w.score(t, 8, nil)
		if after.Coverage < reputation.DefaultMinCoverage {
			underThreshold++
			if after.Verdict == reputation.VerdictClean {
				t.Fatalf("world %d: coverage %v under the threshold but verdict clean", i, after.Coverage)
			}
		}
	}
	if underThreshold == 0 {
		t.Error("no world fell under the coverage threshold: the property was not exercised")
	}
}

func TestProperty_sameAnswersSameReportInAnyOrder(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 42))
	n := iterations() / 3
	for i := range n {
		w := randomWorld(rng)
		d1, d2 := rand.New(rand.NewPCG(uint64(i), 1)), rand.New(rand.NewPCG(uint64(i), 2))
		j1, j2 := map[netip.Addr]time.Duration{}, map[netip.Addr]time.Duration{}
		for a := range 64 {
			addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(a)})
			j1[addr] = time.Duration(d1.IntN(1000)) * time.Millisecond
			j2[addr] = time.Duration(d2.IntN(1000)) * time.Millisecond
		}
		var r1, r2 *reputation.Report
		synctest.Test(t, func(t *testing.T) {
			r1 = w.score(t, 1+rng.IntN(16), func(a netip.Addr) time.Duration { return j1[a] })
			r2 = w.score(t, 1+rng.IntN(16), func(a netip.Addr) time.Duration { return j2[a] })
		})
		r1.DurationMS, r2.DurationMS = 0, 0
		if diff := cmp.Diff(r1, r2, reportOpts()...); diff != "" {
			t.Fatalf("world %d: reports differ with another completion order (-first +second):\n%s", i, diff)
		}
	}
}

func reportOpts() []cmp.Option {
	return []cmp.Option{
		cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
		cmpopts.IgnoreFields(reputation.UnknownReport{}, "Err"),
	}
}
