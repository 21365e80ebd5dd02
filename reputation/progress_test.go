package reputation_test

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
)

// 50 goroutines share one Scorer, each with a progress callback of its own
// that writes unsynchronised per-call state: under -race this holds only if
// each call's callbacks run one at a time and belong to that call alone.
func TestScoreWith_progressPerCall(t *testing.T) {
	t.Parallel()
	listed := map[netip.Addr]reputation.Listing{}
	for i := range 50 {
		listed[netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})] = spam("127.0.0.2", reputation.SeverityLow)
	}
	s := &reputation.Scorer{AllowSpecial: true, Concurrency: 8, Sources: []reputation.Source{
		&fake{name: "bl1", listed: listed},
		&fake{name: "bl2", delay: 50 * time.Microsecond},
	}}
	type state struct {
		calls   int
		last    reputation.Progress
		backwds bool
	}
	states := make([]state, 50)
	var wg sync.WaitGroup
	for g := range states {
		st := &states[g] // this call's own state, no lock
		wg.Go(func() {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(g)}), 32)
			_, err := s.ScoreWith(t.Context(), p, reputation.ScoreOptions{Progress: func(pr reputation.Progress) {
				st.calls++
				if pr.Done < st.last.Done || pr.Listed < st.last.Listed || pr.Errors < st.last.Errors || pr.Planned != 2 {
					st.backwds = true
				}
				st.last = pr
			}})
			if err != nil {
				t.Errorf("call %d: %v", g, err)
			}
		})
	}
	wg.Wait()
	for g, st := range states {
		if want := (reputation.Progress{Planned: 2, Done: 2, Listed: 1}); st.last != want || st.backwds || st.calls < 2 {
			t.Errorf("call %d: %d progress calls ending with %+v (went backwards or saw another call: %v), want at least 2 ending with %+v",
				g, st.calls, st.last, st.backwds, want)
		}
	}
}

// Progress is throttled to about ten calls a second, plus the first and the
// final one.
func TestScoreWith_progressThrottled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &reputation.Scorer{AllowSpecial: true, Concurrency: 1, Sources: []reputation.Source{
			&fake{name: "bl1", delay: 10 * time.Millisecond}, // 256 lookups one after the other: 2.56 s
		}}
		var calls []reputation.Progress
		var at []time.Duration
		start := time.Now()
		rep, err := s.ScoreWith(t.Context(), mpp("192.0.2.0/24"), reputation.ScoreOptions{Progress: func(p reputation.Progress) {
			calls = append(calls, p)
			at = append(at, time.Since(start))
		}})
		if err != nil || rep.Coverage != 1 {
			t.Fatalf("Score: %v, coverage %v", err, rep.Coverage)
		}
		// First at 0, then at most one per 100 ms over 2.56 s, then the final one.
		if n := len(calls); n < 20 || n > 28 {
			t.Errorf("%d progress calls in %v, want about 10 a second plus the first and the last", n, time.Since(start))
		}
		for i := 2; i < len(at)-1; i++ {
			if at[i]-at[i-1] < reputation.ProgressInterval {
				t.Errorf("calls %d and %d %v apart, want at least %v", i-1, i, at[i]-at[i-1], reputation.ProgressInterval)
			}
		}
		if calls[0] != (reputation.Progress{Planned: 256}) || calls[len(calls)-1] != (reputation.Progress{Planned: 256, Done: 256}) {
			t.Errorf("first %+v, last %+v; want Done 0 and Done 256", calls[0], calls[len(calls)-1])
		}
	})
}

// The deprecated Scorer.Progress still works when no per-call callback is
// given, and a per-call one takes its place.
func TestScore_deprecatedProgressField(t *testing.T) {
	t.Parallel()
	var shared, own []string
	s := &reputation.Scorer{AllowSpecial: true, Sources: []reputation.Source{&fake{name: "bl1"}},
		Progress: func(p reputation.Progress) { shared = append(shared, fmt.Sprint(p.Done)) }}
	if _, err := s.Score(t.Context(), mpp("192.0.2.0/30")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ScoreWith(t.Context(), mpp("192.0.2.0/30"), reputation.ScoreOptions{Progress: func(p reputation.Progress) {
		own = append(own, fmt.Sprint(p.Done))
	}}); err != nil {
		t.Fatal(err)
	}
	if len(shared) < 2 || shared[len(shared)-1] != "4" || len(own) < 2 || own[len(own)-1] != "4" {
		t.Errorf("Scorer.Progress saw %v, ScoreOptions.Progress saw %v; want each to end at 4 and the second call to go to its own", shared, own)
	}
	if len(shared) > 3 {
		t.Errorf("Scorer.Progress was called by the second call too: %v", shared)
	}
}
