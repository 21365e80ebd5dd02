package reputation

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/prefix"
)

type nopSource struct{}

func (nopSource) Name() string { return "nop" }
func (nopSource) Lookup(context.Context, netip.Addr) (Listing, error) {
	return Listing{}, nil
}

func TestScore_refusesSpecialPurposeSpace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		prefix netip.Prefix
		allow  bool
		want   error
	}{
		{"documentation_refused", netip.MustParsePrefix("192.0.2.0/24"), false, prefix.ErrSpecialPurpose},
		{"private_refused", netip.MustParsePrefix("10.1.0.0/16"), false, prefix.ErrSpecialPurpose},
		{"v6_documentation_refused", netip.MustParsePrefix("2001:db8::/48"), false, prefix.ErrSpecialPurpose},
		{"documentation_allowed", netip.MustParsePrefix("192.0.2.0/24"), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &Scorer{Sources: []Source{nopSource{}}, AllowSpecial: tt.allow}
			rep, err := s.Score(t.Context(), tt.prefix)
			if !errors.Is(err, tt.want) || (err == nil) != (rep != nil) {
				t.Errorf("Score = %v, %v; want error %v", rep, err, tt.want)
			}
		})
	}
}

func TestWilsonUpper(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		x, n     int
		min, max float64
	}{
		{"none_of_100", 0, 100, 0.036, 0.038},   // 3.84/(100+3.84)
		{"half_of_100", 50, 100, 0.59, 0.60},    // 0.5 + ~0.096
		{"all_of_10", 10, 10, 1 - 1e-12, 1},     // bounded by 1
		{"one_of_4096", 1, 4096, 0.0002, 0.002}, // small but above the point estimate
		{"no_trials", 0, 0, 1, 1},
	}
	for _, tt := range tests {
		if got := wilsonUpper(tt.x, tt.n); got < tt.min || got > tt.max {
			t.Errorf("%s: wilsonUpper(%d, %d) = %v, want in [%v, %v]", tt.name, tt.x, tt.n, got, tt.min, tt.max)
		}
	}
	for n := 1; n < 200; n += 7 {
		for x := 0; x < n; x++ {
			if lo, hi := wilsonUpper(x, n), wilsonUpper(x+1, n); hi < lo || lo < float64(x)/float64(n) {
				t.Fatalf("wilsonUpper not monotone or below the estimate at x=%d n=%d: %v %v", x, n, lo, hi)
			}
		}
	}
}

func TestPolicy_resolve(t *testing.T) {
	t.Parallel()
	zero := (*Policy)(nil).resolve()
	def := DefaultPolicy().resolve()
	if zero.version != DefaultPolicyVersion || def.version != DefaultPolicyVersion {
		t.Errorf("versions %q %q, want %q", zero.version, def.version, DefaultPolicyVersion)
	}
	if zero.points != def.points || zero.minBreadth != def.minBreadth || zero.minCoverage != def.minCoverage ||
		zero.reviewBelow != def.reviewBelow || zero.rejectBelow != def.rejectBelow || zero.critShare != def.critShare {
		t.Errorf("zero policy %+v differs from DefaultPolicy %+v", zero, def)
	}
	custom := (&Policy{Points: map[Severity]float64{SeverityHigh: 7, SeverityAllow: 99}}).resolve()
	if !strings.HasPrefix(custom.version, DefaultPolicyVersion+"+") || custom.pointsOf(SeverityHigh) != 7 ||
		custom.pointsOf(SeverityAllow) != 0 || custom.pointsOf(SeverityLow) != DefaultPoints(SeverityLow) {
		t.Errorf("custom policy resolved to %+v", custom)
	}
	if w := (&Policy{Weights: map[string]float64{"a": -2}}).resolve(); w.weight("a") != 0 || w.weight("b") != 1 {
		t.Errorf("weights a=%v b=%v, want 0 and 1", w.weight("a"), w.weight("b"))
	}
}

func TestPickIndices(t *testing.T) {
	t.Parallel()
	got := pickIndices(256, 100, 9)
	if len(got) != 100 || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != 100 || got[99] >= 256 {
		t.Errorf("pickIndices(256, 100) = %v", got)
	}
}
