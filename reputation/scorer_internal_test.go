package reputation

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"slices"
	"testing"
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
		{"documentation_refused", netip.MustParsePrefix("192.0.2.0/24"), false, prefixErrSpecialPurpose},
		{"private_refused", netip.MustParsePrefix("10.1.0.0/16"), false, prefixErrSpecialPurpose},
		{"v6_documentation_refused", netip.MustParsePrefix("2001:db8::/48"), false, prefixErrSpecialPurpose},
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
	if custom.version != DefaultPolicyVersion+"+custom" || custom.pointsOf(SeverityHigh) != 7 ||
		custom.pointsOf(SeverityAllow) != 0 || custom.pointsOf(SeverityLow) != DefaultPoints(SeverityLow) {
		t.Errorf("custom policy resolved to %+v", custom)
	}
	if w := (&Policy{Weights: map[string]float64{"a": -2}}).resolve(); w.weight("a") != 0 || w.weight("b") != 1 {
		t.Errorf("weights a=%v b=%v, want 0 and 1", w.weight("a"), w.weight("b"))
	}
}

func TestShim_sample(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		prefix netip.Prefix
		n      int
		want   int
	}{
		{"v4_24_all", netip.MustParsePrefix("198.51.100.0/24"), 1000, 256},
		{"v4_16_some", netip.MustParsePrefix("198.18.0.0/16"), 300, 300},
		{"v4_32", netip.MustParsePrefix("198.51.100.7/32"), 5, 1},
		{"v6_64", netip.MustParsePrefix("2001:db8::/64"), 500, 500},
		{"v6_0", netip.MustParsePrefix("::/0"), 50, 50},
	}
	for _, tt := range tests {
		got := prefixSample(tt.prefix, tt.n, 1)
		if len(got) != tt.want {
			t.Errorf("%s: %d addresses, want %d", tt.name, len(got), tt.want)
		}
		if !slices.IsSortedFunc(got, netip.Addr.Compare) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("%s: not ascending and distinct", tt.name)
		}
		for _, a := range got {
			if !tt.prefix.Contains(a) {
				t.Errorf("%s: %v outside the prefix", tt.name, a)
			}
		}
		if again := prefixSample(tt.prefix, tt.n, 1); !slices.Equal(got, again) {
			t.Errorf("%s: not reproducible", tt.name)
		}
	}
	sub := prefixSampleSubnets(netip.MustParsePrefix("2001:db8::/40"), 64, 1000, 3)
	nets := map[netip.Prefix]bool{}
	for _, a := range sub {
		p, _ := a.Prefix(64)
		nets[p] = true
	}
	if len(sub) != 1000 || len(nets) != 1000 {
		t.Errorf("SampleSubnets gave %d addresses in %d /64s, want 1000 in 1000", len(sub), len(nets))
	}
	if got := prefixSampleSubnets(netip.MustParsePrefix("2001:db8::/62"), 64, 10, 3); len(got) != 4 {
		t.Errorf("SampleSubnets of a /62 gave %d addresses, want one per /64 (4)", len(got))
	}
}

func TestShim_sampleIsUniform(t *testing.T) {
	t.Parallel()
	// Each of the 16 /28s of a /24 should get about 1/16 of 64-address samples.
	p := netip.MustParsePrefix("198.51.100.0/24")
	var hits [16]int
	const runs = 400
	for seed := range uint64(runs) {
		for _, a := range prefixSample(p, 64, seed+1) {
			hits[a.As4()[3]/16]++
		}
	}
	want := float64(runs*64) / 16
	for i, h := range hits {
		if math.Abs(float64(h)-want) > 0.1*want {
			t.Errorf("/28 #%d got %d samples, want about %v", i, h, want)
		}
	}
}

func TestPickIndices(t *testing.T) {
	t.Parallel()
	got := pickIndices(256, 100, 9)
	if len(got) != 100 || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != 100 || got[99] >= 256 {
		t.Errorf("pickIndices(256, 100) = %v", got)
	}
}
