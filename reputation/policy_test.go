package reputation_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/reputation"
)

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name   string
		p      *reputation.Policy
		fields []string // each must be named in the error; nil: valid
	}{
		{name: "nil", p: nil},
		{name: "zero", p: &reputation.Policy{}},
		{name: "default", p: reputation.DefaultPolicy()},
		{name: "rules_off", p: &reputation.Policy{DenseShare: -1, ReviewShare: -1, HotAddrs: -1,
			ReviewSeverity: reputation.SeverityCritical + 1, RejectCategories: []string{}}},
		{name: "nan_breadth", p: &reputation.Policy{MinBreadth: nan}, fields: []string{"MinBreadth"}},
		{name: "inf_coverage", p: &reputation.Policy{MinCoverage: inf}, fields: []string{"MinCoverage"}},
		{name: "share_above_one", p: &reputation.Policy{CriticalShare: 1.5, DenseShare: 2}, fields: []string{"CriticalShare", "DenseShare"}},
		{name: "negative_breadth", p: &reputation.Policy{MinBreadth: -0.1}, fields: []string{"MinBreadth"}},
		{name: "reject_above_review", p: &reputation.Policy{RejectBelow: 95}, fields: []string{"RejectBelow"}},
		{name: "score_out_of_range", p: &reputation.Policy{ReviewBelow: 101, RejectBelow: -1}, fields: []string{"ReviewBelow", "RejectBelow"}},
		{name: "nan_threshold", p: &reputation.Policy{ReviewBelow: nan}, fields: []string{"ReviewBelow"}},
		{name: "bad_points", p: &reputation.Policy{Points: map[reputation.Severity]float64{
			reputation.SeverityHigh: -1, reputation.SeverityLow: inf, reputation.Severity(9): 1}},
			fields: []string{"Points[high]", "Points[low]", "unknown severity 9"}},
		{name: "bad_weights", p: &reputation.Policy{Weights: map[string]float64{"a": -2, "b": nan}},
			fields: []string{`Weights["a"]`, `Weights["b"]`}},
		{name: "severity_below_info", p: &reputation.Policy{ReviewSeverity: reputation.SeverityAllow}, fields: []string{"ReviewSeverity"}},
		{name: "empty_category", p: &reputation.Policy{RejectCategories: []string{"x", ""}}, fields: []string{"RejectCategories[1]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.p.Validate()
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, reputation.ErrInvalidPolicy) {
				t.Fatalf("Validate() = %v, want ErrInvalidPolicy", err)
			}
			for _, f := range tc.fields {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("Validate() = %q, does not name %s", err, f)
				}
			}
		})
	}
}

func TestScore_refusesInvalidPolicy(t *testing.T) {
	t.Parallel()
	for _, p := range []*reputation.Policy{
		{MinCoverage: math.NaN()},
		{RejectBelow: 95, ReviewBelow: 90},
		{Weights: map[string]float64{"bl-typo": 2}}, // names no source
	} {
		s := &reputation.Scorer{Sources: []reputation.Source{&fake{name: "bl"}}, Policy: p, AllowSpecial: true}
		rep, err := s.Score(t.Context(), mpp("192.0.2.0/24"))
		if !errors.Is(err, reputation.ErrInvalidPolicy) || rep != nil {
			t.Errorf("Score with %+v = %v, %v; want no report and ErrInvalidPolicy", p, rep, err)
		}
	}
}

func TestPolicyStamps(t *testing.T) {
	t.Parallel()
	stamp := func(p *reputation.Policy) string {
		t.Helper()
		s := &reputation.Scorer{Sources: []reputation.Source{&fake{name: "bl"}}, Policy: p, AllowSpecial: true}
		rep, err := s.Score(t.Context(), mpp("192.0.2.0/30"))
		if err != nil {
			t.Fatal(err)
		}
		return rep.PolicyVersion
	}
	changed := reputation.DefaultPolicy()
	changed.ReviewBelow = 80
	changed2 := reputation.DefaultPolicy()
	changed2.ReviewBelow = 85
	named := &reputation.Policy{Version: "acme-1", ReviewBelow: 80}
	// The zero policy and DefaultPolicy are the same policy, so the same
	// stamp; every change of a value changes it.
	for _, tc := range []struct {
		name string
		p    *reputation.Policy
		want string // "" means: starts with prefixvet-2+
	}{
		{"nil", nil, reputation.DefaultPolicyVersion},
		{"zero", &reputation.Policy{}, reputation.DefaultPolicyVersion},
		{"default", reputation.DefaultPolicy(), reputation.DefaultPolicyVersion},
		{"default_values_spelled_out", &reputation.Policy{ReviewBelow: 90, HotAddrs: 4}, reputation.DefaultPolicyVersion},
	} {
		if got := stamp(tc.p); got != tc.want {
			t.Errorf("%s: stamp %q, want %q", tc.name, got, tc.want)
		}
	}
	seen := map[string]string{}
	for name, p := range map[string]*reputation.Policy{
		"changed": changed, "changed2": changed2, "named": named,
		"weights":   {Weights: map[string]float64{"bl": 0.5}},
		"rules_off": {HotAddrs: -1},
		"cats":      {RejectCategories: []string{"x"}},
	} {
		got := stamp(p)
		if got == reputation.DefaultPolicyVersion || !strings.Contains(got, "+") {
			t.Errorf("%s: stamp %q does not set the policy apart", name, got)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("%s and %s share the stamp %q", name, other, got)
		}
		seen[got] = name
	}
	if got := stamp(named); !strings.HasPrefix(got, "acme-1+") {
		t.Errorf("named policy stamp %q, want acme-1+HASH", got)
	}
}

// junk is a caller's source that returns evidence the Scorer cannot score.
type junk struct {
	name string
	ev   reputation.Evidence
}

func (j junk) Name() string { return j.name }
func (j junk) Lookup(_ context.Context, a netip.Addr) (reputation.Listing, error) {
	if a.As4()[3]%2 == 0 {
		return reputation.Listing{Listed: true, Evidence: []reputation.Evidence{j.ev}}, nil
	}
	return reputation.Listing{}, nil
}

func TestScore_junkEvidenceIsUnknown(t *testing.T) {
	t.Parallel()
	for _, ev := range []reputation.Evidence{
		{Category: "spam", Severity: reputation.Severity(5)},
		{Category: "spam", Severity: reputation.Severity(-7)},
		{Category: "spam", Severity: reputation.SeverityHigh, Scope: reputation.Scope(9)},
	} {
		s := &reputation.Scorer{Sources: []reputation.Source{junk{"custom", ev}}, AllowSpecial: true}
		rep, err := s.Score(t.Context(), mpp("192.0.2.0/28"))
		if err != nil {
			t.Fatalf("Score: %v", err)
		}
		if len(rep.Listings) != 0 || len(rep.Unknown) != 8 || rep.Verdict != reputation.VerdictIncomplete {
			t.Errorf("evidence %+v: %d listings, %d unknown, verdict %s; want 0, 8, incomplete", ev, len(rep.Listings), len(rep.Unknown), rep.Verdict)
		}
		for _, u := range rep.Unknown {
			if !errors.Is(u.Err, reputation.ErrInvalidEvidence) {
				t.Errorf("unknown %+v does not wrap ErrInvalidEvidence", u)
			}
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Errorf("report does not marshal: %v", err)
		}
	}
	// A whole-block source returning a match without a prefix.
	f := &feed{name: "feed", entries: []reputation.Match{{Listing: reputation.Listing{Listed: true}}}}
	f.entries[0].Prefix = netip.Prefix{}
	s := &reputation.Scorer{Sources: []reputation.Source{badFeed{f}}, AllowSpecial: true}
	rep, err := s.Score(t.Context(), mpp("192.0.2.0/28"))
	if err != nil || len(rep.Unknown) != 1 || !errors.Is(rep.Unknown[0].Err, reputation.ErrInvalidEvidence) {
		t.Errorf("match without prefix: %v, %+v", err, rep)
	}
}

// badFeed returns its entries whatever the prefix.
type badFeed struct{ *feed }

func (b badFeed) LookupPrefix(context.Context, netip.Prefix) ([]reputation.Match, error) {
	return b.entries, nil
}
