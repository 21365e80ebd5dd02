package reputation_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
)

// A run cut off by its deadline says what it did not do: every lookup
// without an answer is in Unknown (by range and source in the text), and
// addresses_checked counts only addresses that got an answer.
func TestScore_partialReportShowsWhatWasNotDone(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// Addresses .0-.63 answer at once, the rest after 10 s; the
		// deadline is 1 s.
		slow := func(a netip.Addr) time.Duration {
			if a.As4()[3] < 64 {
				return 0
			}
			return 10 * time.Second
		}
		s := &reputation.Scorer{AllowSpecial: true, Concurrency: 256, Timeout: -1, Sources: []reputation.Source{
			&fake{name: "bl1", delayFn: slow},
			&feed{name: "drop"},
		}}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		rep, err := s.Score(ctx, mpp("192.0.2.0/24"))
		if !errors.Is(err, context.DeadlineExceeded) || rep == nil {
			t.Fatalf("Score = %v, %v; want a partial report and DeadlineExceeded", rep, err)
		}
		if rep.LookupsPlanned != 257 || rep.LookupsAnswered != 65 {
			t.Fatalf("answered %d of %d, want 65 of 257", rep.LookupsAnswered, rep.LookupsPlanned)
		}
		if got, want := len(rep.Unknown), rep.LookupsPlanned-rep.LookupsAnswered; got != want {
			t.Errorf("%d unknown, want %d (every lookup without an answer)", got, want)
		}
		if rep.AddressesChecked != 64 || !rep.BlockChecked {
			t.Errorf("addresses checked %d, block checked %v; want 64 (only those answered) and true", rep.AddressesChecked, rep.BlockChecked)
		}
		if rep.NotScored || rep.Verdict != reputation.VerdictIncomplete {
			t.Errorf("not scored %v, verdict %s; want scored (65 answers) and incomplete", rep.NotScored, rep.Verdict)
		}
		var txt strings.Builder
		if err := rep.WriteText(&txt); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"checked 64 of 256 addresses",
			"bl1: 192 not answered: 192.0.2.64-192.0.2.255",
			"192x not answered: reputation: scoring interrupted: context deadline",
		} {
			if !strings.Contains(txt.String(), want) {
				t.Errorf("text lacks %q:\n%s", want, txt.String())
			}
		}
	})
}

// Coverage 0 is not a score of 100: the report is marked not scored, its
// score is 0, and the text says "not scored".
func TestScore_nothingAnsweredIsNotScored(t *testing.T) {
	t.Parallel()
	s := &reputation.Scorer{AllowSpecial: true, Sources: []reputation.Source{&fake{name: "bl1", errAll: errors.New("servfail")}}}
	rep, err := s.Score(t.Context(), mpp("192.0.2.0/28"))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.NotScored || rep.Score != 0 || rep.Coverage != 0 || rep.AddressesChecked != 0 || rep.Verdict != reputation.VerdictIncomplete {
		t.Errorf("report: not scored %v, score %v, coverage %v, checked %d, %s; want true, 0, 0, 0, incomplete",
			rep.NotScored, rep.Score, rep.Coverage, rep.AddressesChecked, rep.Verdict)
	}
	var txt strings.Builder
	_ = rep.WriteText(&txt)
	if first, _, _ := strings.Cut(txt.String(), "\n"); first != "192.0.2.0/28: INCOMPLETE, not scored (policy "+rep.PolicyVersion+")" {
		t.Errorf("first line %q, want it to say not scored", first)
	}
	js, _ := json.Marshal(rep)
	if !strings.Contains(string(js), `"not_scored":true`) || !strings.Contains(string(js), `"score":0`) {
		t.Errorf("JSON %s, want not_scored true and score 0", js)
	}
}

// A run on mirrors and feeds alone checked the whole block at once; the
// text must not say "checked 0 of 256 addresses".
func TestScore_mirrorOnlyText(t *testing.T) {
	t.Parallel()
	s := &reputation.Scorer{AllowSpecial: true, Sources: []reputation.Source{
		&feed{name: "local-bl", kind: reputation.KindZone, entries: []reputation.Match{entry("192.0.2.7/32", "spam", reputation.SeverityLow, reputation.ScopeAddress, "")}},
	}}
	rep, err := s.Score(t.Context(), mpp("192.0.2.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	var txt strings.Builder
	_ = rep.WriteText(&txt)
	if !rep.BlockChecked || rep.AddressesChecked != 0 || !strings.Contains(txt.String(), "checked all 256 addresses at once") ||
		strings.Contains(txt.String(), "checked 0 of") {
		t.Errorf("block checked %v, addresses checked %d, text:\n%s", rep.BlockChecked, rep.AddressesChecked, txt.String())
	}
}
