package reputation_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
)

// One bad prefix among 50 does not fail the batch: every other block gets
// its report, the bad one gets nil and a *PrefixError naming its index.
func TestScoreAll_badPrefixDoesNotFailTheBatch(t *testing.T) {
	t.Parallel()
	const bad = 17
	ps := make([]netip.Prefix, 50)
	for i := range ps {
		ps[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i * 4)}), 30)
	}
	ps[bad] = netip.Prefix{}
	f := &fake{name: "bl1", listed: map[netip.Addr]reputation.Listing{mpa("198.51.100.1"): spam("127.0.0.2", reputation.SeverityLow)}}
	s := &reputation.Scorer{Sources: []reputation.Source{f}, AllowSpecial: true}
	reps, err := s.ScoreAll(t.Context(), ps)
	if len(reps) != len(ps) {
		t.Fatalf("ScoreAll returned %d reports for %d prefixes", len(reps), len(ps))
	}
	var pe *reputation.PrefixError
	if !errors.As(err, &pe) || pe.Index != bad || !errors.Is(err, reputation.ErrInvalidPrefix) {
		t.Fatalf("ScoreAll error = %v, want a *PrefixError for index %d wrapping ErrInvalidPrefix", err, bad)
	}
	for i, rep := range reps {
		switch {
		case i == bad && rep != nil:
			t.Errorf("reps[%d] = %v, want nil for the bad prefix", i, rep.Prefix)
		case i != bad && (rep == nil || rep.Prefix != ps[i] || rep.Verdict == reputation.VerdictIncomplete):
			t.Errorf("reps[%d] = %+v, want a complete report of %s", i, rep, ps[i])
		}
	}
	if reps[0].Verdict != reputation.VerdictReview && reps[0].Verdict != reputation.VerdictClean || len(reps[0].Listings) != 1 {
		t.Errorf("reps[0] lost its listing: %+v", reps[0].Listings)
	}
	if n := f.calls.Load(); n != 49*4 {
		t.Errorf("%d lookups, want %d (4 addresses of each of the 49 good blocks)", n, 49*4)
	}
}

// Special-purpose space without AllowSpecial: one *PrefixError per block,
// each errors.Is prefix.ErrSpecialPurpose, and nil reports.
func TestScoreAll_specialPurposePrefixErrors(t *testing.T) {
	t.Parallel()
	ps := []netip.Prefix{mpp("192.0.2.0/24"), mpp("198.51.100.0/24"), mpp("10.0.0.0/8")}
	s := &reputation.Scorer{Sources: []reputation.Source{&fake{name: "bl1"}}}
	reps, err := s.ScoreAll(t.Context(), ps)
	if len(reps) != 3 || reps[0] != nil || reps[1] != nil || reps[2] != nil {
		t.Fatalf("reports %v, want three nils", reps)
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok || len(j.Unwrap()) != 3 {
		t.Fatalf("error %v, want the join of three *PrefixError", err)
	}
	for i, e := range j.Unwrap() {
		var pe *reputation.PrefixError
		if !errors.As(e, &pe) || pe.Index != i || pe.Prefix != ps[i] || !errors.Is(e, prefix.ErrSpecialPurpose) {
			t.Errorf("error %d = %v, want a *PrefixError for %s wrapping ErrSpecialPurpose", i, e, ps[i])
		}
	}
	// Score keeps returning the refusal itself.
	if rep, err := s.Score(t.Context(), ps[0]); rep != nil || !errors.Is(err, prefix.ErrSpecialPurpose) {
		t.Errorf("Score = %v, %v; want nil and ErrSpecialPurpose", rep, err)
	}
}
