package prefix_test

import (
	"math"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/prefix"
)

// checkSample verifies the properties every sample has: length, ascending
// order (hence distinct) and membership in p.
func checkSample(t *testing.T, what string, p netip.Prefix, got []netip.Addr, wantLen int) {
	t.Helper()
	if len(got) != wantLen {
		t.Fatalf("%s: got %d addresses, want %d", what, len(got), wantLen)
	}
	for i, a := range got {
		if !p.Masked().Contains(a) {
			t.Errorf("%s: %v is outside %v", what, a, p)
		}
		if i > 0 && !got[i-1].Less(a) {
			t.Errorf("%s: not strictly ascending at %d: %v then %v", what, i, got[i-1], a)
		}
	}
}

func TestSample(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		p       netip.Prefix
		n       int
		wantLen int
	}{
		{"v4_24_few", mpp("203.0.113.0/24"), 10, 10},
		{"v4_24_most", mpp("203.0.113.0/24"), 200, 200}, // partial Fisher-Yates
		{"v4_24_half", mpp("203.0.113.0/24"), 128, 128}, // rejection boundary
		{"v4_24_all_but_one", mpp("203.0.113.0/24"), 255, 255},
		{"v4_24_all", mpp("203.0.113.0/24"), 256, 256},
		{"v4_24_more_than_all", mpp("203.0.113.0/24"), 1000, 256},
		{"v4_host_bits_masked", mpp("203.0.113.77/28"), 5, 5},
		{"v4_32", mpp("192.0.2.7/32"), 3, 1},
		{"v4_0", mpp("0.0.0.0/0"), 1000, 1000},
		{"v6_32", mpp("2001:db8::/32"), 1000, 1000},
		{"v6_0", mpp("::/0"), 1000, 1000},
		{"v6_1", mpp("8000::/1"), 100, 100},
		{"v6_65", mpp("2001:db8::/65"), 100, 100},
		{"v6_120", mpp("2001:db8::/120"), 250, 250},
		{"v6_128", mpp("2001:db8::1/128"), 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := prefix.Sample(tt.p, tt.n, 7)
			checkSample(t, "Sample", tt.p, got, tt.wantLen)
			again := prefix.Sample(tt.p, tt.n, 7)
			if diff := cmp.Diff(got, again, equateNetip); diff != "" {
				t.Errorf("Sample(%v, %d, 7) not reproducible (-first +second):\n%s", tt.p, tt.n, diff)
			}
		})
	}
}

func TestSampleAll(t *testing.T) {
	t.Parallel()
	p := mpp("198.51.100.0/29")
	want := slices.Collect(prefix.RangeOf(p).All())
	for _, n := range []int{8, 9, 1 << 20} {
		if diff := cmp.Diff(want, prefix.Sample(p, n, 1), equateNetip); diff != "" {
			t.Errorf("Sample(%v, %d, 1) mismatch (-want +got):\n%s", p, n, diff)
		}
	}
}

func TestSampleEmpty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    netip.Prefix
		n    int
	}{
		{"zero_n", mpp("203.0.113.0/24"), 0},
		{"negative_n", mpp("203.0.113.0/24"), -5},
		{"invalid_prefix", netip.Prefix{}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := prefix.Sample(tt.p, tt.n, 1); got != nil {
				t.Errorf("Sample(%v, %d, 1) = %v, want nil", tt.p, tt.n, got)
			}
			if got := prefix.SampleSubnets(tt.p, 28, tt.n, 1); got != nil {
				t.Errorf("SampleSubnets(%v, 28, %d, 1) = %v, want nil", tt.p, tt.n, got)
			}
		})
	}
}

func TestSampleSeeds(t *testing.T) {
	t.Parallel()
	p := mpp("2001:db8::/32")
	a, b := prefix.Sample(p, 50, 1), prefix.Sample(p, 50, 2)
	if slices.Equal(a, b) {
		t.Errorf("Sample with seeds 1 and 2 gave the same addresses: %v", a)
	}
	checkSample(t, "seed 1", p, a, 50)
	checkSample(t, "seed 2", p, b, 50)
}

// TestSampleUniform checks that every address of a small prefix is chosen
// about equally often over many seeds, for both sampling strategies. The
// seeds are fixed, so the test is deterministic; the bounds are five
// standard deviations.
func TestSampleUniform(t *testing.T) {
	t.Parallel()
	seeds := 4000
	if testing.Short() {
		seeds = 1000
	}
	tests := []struct {
		name string
		p    netip.Prefix
		n    int
	}{
		{"fisher_yates", mpp("192.0.2.0/28"), 12},
		{"rejection", mpp("192.0.2.0/26"), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			size, _ := prefix.RangeOf(tt.p).Len()
			count := map[netip.Addr]int{}
			for seed := range uint64(seeds) {
				for _, a := range prefix.Sample(tt.p, tt.n, seed) {
					count[a]++
				}
			}
			q := float64(tt.n) / float64(size)
			mean := float64(seeds) * q
			sd := math.Sqrt(float64(seeds) * q * (1 - q))
			for a := range prefix.RangeOf(tt.p).All() {
				if c := float64(count[a]); c < mean-5*sd || c > mean+5*sd {
					t.Errorf("%v chosen %v times, want %.0f±%.0f", a, c, mean, 5*sd)
				}
			}
		})
	}
}

// TestSampleHugeUniform checks the top bits of samples from ::/0: each of
// the 16 top nibble values should appear about equally often.
func TestSampleHugeUniform(t *testing.T) {
	t.Parallel()
	n := 16000
	if testing.Short() {
		n = 4000
	}
	var count [16]int
	for _, a := range prefix.Sample(mpp("::/0"), n, 99) {
		count[a.As16()[0]>>4]++
	}
	mean := float64(n) / 16
	sd := math.Sqrt(float64(n) * (1.0 / 16) * (15.0 / 16))
	for v, c := range count {
		if float64(c) < mean-5*sd || float64(c) > mean+5*sd {
			t.Errorf("top nibble %x seen %d times, want %.0f±%.0f", v, c, mean, 5*sd)
		}
	}
}

func TestSampleSubnets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		p       netip.Prefix
		bits, n int
		wantLen int
	}{
		{"v6_32_into_64", mpp("2001:db8::/32"), 64, 1000, 1000},
		{"v6_0_into_64", mpp("::/0"), 64, 100, 100},
		{"v6_60_into_64_all", mpp("2001:db8::/60"), 64, 100, 16},
		{"v6_60_into_64_most", mpp("2001:db8::/60"), 64, 12, 12},
		{"v6_120_into_128", mpp("2001:db8::/120"), 128, 10, 10},
		{"v4_16_into_24", mpp("198.51.0.0/16"), 24, 50, 50},
		{"v4_22_into_24_all", mpp("198.51.100.0/22"), 24, 9, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := prefix.SampleSubnets(tt.p, tt.bits, tt.n, 3)
			checkSample(t, "SampleSubnets", tt.p, got, tt.wantLen)
			seen := map[netip.Prefix]bool{}
			for _, a := range got {
				sub := netip.PrefixFrom(a, tt.bits).Masked()
				if seen[sub] {
					t.Errorf("SampleSubnets(%v, %d, %d, 3): two addresses in %v", tt.p, tt.bits, tt.n, sub)
				}
				seen[sub] = true
			}
			again := prefix.SampleSubnets(tt.p, tt.bits, tt.n, 3)
			if diff := cmp.Diff(got, again, equateNetip); diff != "" {
				t.Errorf("SampleSubnets not reproducible (-first +second):\n%s", diff)
			}
		})
	}
}

func TestSampleSubnetsFallsBackToSample(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    netip.Prefix
		bits int
	}{
		{"v6_same_length", mpp("2001:db8:1:2::/64"), 64},
		{"v6_longer_prefix", mpp("2001:db8::/120"), 64},
		{"v4_bits_clamped", mpp("203.0.113.0/24"), 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := prefix.Sample(tt.p, 20, 5)
			got := prefix.SampleSubnets(tt.p, tt.bits, 20, 5)
			if diff := cmp.Diff(want, got, equateNetip); diff != "" {
				t.Errorf("SampleSubnets(%v, %d, 20, 5) differs from Sample (-want +got):\n%s", tt.p, tt.bits, diff)
			}
		})
	}
}
