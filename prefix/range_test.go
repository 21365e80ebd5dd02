package prefix_test

import (
	"math"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/prefixvet/prefixvet/prefix"
)

var equateNetip = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}, prefix.Range{})

func TestRangeOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		p        netip.Prefix
		from, to string
	}{
		{"v4_24", mpp("203.0.113.0/24"), "203.0.113.0", "203.0.113.255"},
		{"v4_host_bits_masked", mpp("203.0.113.5/24"), "203.0.113.0", "203.0.113.255"},
		{"v4_32", mpp("192.0.2.7/32"), "192.0.2.7", "192.0.2.7"},
		{"v4_0", mpp("0.0.0.0/0"), "0.0.0.0", "255.255.255.255"},
		{"v6_64", mpp("2001:db8:1:2::/64"), "2001:db8:1:2::", "2001:db8:1:2:ffff:ffff:ffff:ffff"},
		{"v6_0", mpp("::/0"), "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"v6_mapped", mpp("::ffff:192.0.2.0/120"), "::ffff:192.0.2.0", "::ffff:192.0.2.255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := prefix.RangeOf(tt.p)
			if r.From() != mpa(tt.from) || r.To() != mpa(tt.to) {
				t.Errorf("RangeOf(%v) = %v..%v, want %s..%s", tt.p, r.From(), r.To(), tt.from, tt.to)
			}
			if p, ok := r.Prefix(); !ok || p != tt.p.Masked() {
				t.Errorf("RangeOf(%v).Prefix() = %v, %v, want %v, true", tt.p, p, ok, tt.p.Masked())
			}
		})
	}
	if r := prefix.RangeOf(netip.Prefix{}); r.IsValid() || r != (prefix.Range{}) {
		t.Errorf("RangeOf(zero Prefix) = %v, want the zero Range", r)
	}
}

func TestRangeFrom(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		from, to netip.Addr
		valid    bool
	}{
		{"v4_ok", mpa("192.0.2.1"), mpa("192.0.2.9"), true},
		{"v4_single", mpa("192.0.2.1"), mpa("192.0.2.1"), true},
		{"v6_ok", mpa("2001:db8::1"), mpa("2001:db8::ff"), true},
		{"v4_reversed", mpa("192.0.2.9"), mpa("192.0.2.1"), false},
		{"mixed", mpa("192.0.2.1"), mpa("2001:db8::1"), false},
		{"mixed_mapped", mpa("192.0.2.1"), mpa("::ffff:192.0.2.9"), false},
		{"zero_from", netip.Addr{}, mpa("192.0.2.1"), false},
		{"zero_to", mpa("192.0.2.1"), netip.Addr{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := prefix.RangeFrom(tt.from, tt.to)
			if r.IsValid() != tt.valid {
				t.Fatalf("RangeFrom(%v, %v).IsValid() = %v, want %v", tt.from, tt.to, r.IsValid(), tt.valid)
			}
			if !tt.valid {
				if r != (prefix.Range{}) {
					t.Errorf("RangeFrom(%v, %v) = %v, want the zero Range", tt.from, tt.to, r)
				}
				return
			}
			if r.From() != tt.from || r.To() != tt.to {
				t.Errorf("RangeFrom(%v, %v) = %v..%v", tt.from, tt.to, r.From(), r.To())
			}
		})
	}
	zoned := prefix.RangeFrom(mpa("fe80::1%eth0"), mpa("fe80::2%eth0"))
	if zoned.From().Zone() != "" || zoned.To().Zone() != "" || zoned != prefix.RangeFrom(mpa("fe80::1"), mpa("fe80::2")) {
		t.Errorf("RangeFrom with zones = %v, want zones removed", zoned)
	}
}

func TestRangeZero(t *testing.T) {
	t.Parallel()
	var r prefix.Range
	if r.IsValid() {
		t.Error("zero Range IsValid() = true")
	}
	if r.From().IsValid() || r.To().IsValid() {
		t.Errorf("zero Range From, To = %v, %v; want invalid", r.From(), r.To())
	}
	if n, ok := r.Len(); n != 0 || !ok {
		t.Errorf("zero Range Len() = %d, %v; want 0, true", n, ok)
	}
	if r.Contains(mpa("0.0.0.0")) || r.Contains(netip.Addr{}) {
		t.Error("zero Range contains an address")
	}
	if n := len(slices.Collect(r.All())); n != 0 {
		t.Errorf("zero Range All() yields %d addresses", n)
	}
	if n := len(slices.Collect(r.Prefixes())); n != 0 {
		t.Errorf("zero Range Prefixes() yields %d prefixes", n)
	}
	if p, ok := r.Prefix(); ok || p.IsValid() {
		t.Errorf("zero Range Prefix() = %v, %v", p, ok)
	}
	if got := r.String(); got != "invalid Range" {
		t.Errorf("zero Range String() = %q", got)
	}
}

func TestRangeContains(t *testing.T) {
	t.Parallel()
	r := prefix.MustParse("192.0.2.10-192.0.2.20")
	m := prefix.MustParse("::ffff:192.0.2.0/120")
	tests := []struct {
		name string
		r    prefix.Range
		a    netip.Addr
		want bool
	}{
		{"first", r, mpa("192.0.2.10"), true},
		{"last", r, mpa("192.0.2.20"), true},
		{"middle", r, mpa("192.0.2.15"), true},
		{"before", r, mpa("192.0.2.9"), false},
		{"after", r, mpa("192.0.2.21"), false},
		{"other_family", r, mpa("::ffff:192.0.2.15"), false},
		{"invalid_addr", r, netip.Addr{}, false},
		{"mapped_in_mapped", m, mpa("::ffff:192.0.2.15"), true},
		{"v4_in_mapped", m, mpa("192.0.2.15"), false},
		{"zone", prefix.MustParse("fe80::/64"), mpa("fe80::1%eth0"), false},
		{"v6_all_max", prefix.MustParse("::/0"), mpa("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.r.Contains(tt.a); got != tt.want {
				t.Errorf("%v.Contains(%v) = %v, want %v", tt.r, tt.a, got, tt.want)
			}
		})
	}
}

func TestRangeLen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		n    uint64
		ok   bool
	}{
		{"v4_single", "192.0.2.1", 1, true},
		{"v4_range", "192.0.2.10-192.0.2.20", 11, true},
		{"v4_24", "203.0.113.0/24", 256, true},
		{"v4_0", "0.0.0.0/0", 1 << 32, true},
		{"v6_64", "2001:db8::/64", 0, false},
		{"v6_65", "2001:db8::/65", 1 << 63, true},
		{"v6_max_fit", "2001:db8::-2001:db8::ffff:ffff:ffff:fffe", math.MaxUint64, true},
		{"v6_just_over", "2001:db8::-2001:db8::ffff:ffff:ffff:ffff", 0, false},
		{"v6_0", "::/0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, ok := prefix.MustParse(tt.in).Len()
			if n != tt.n || ok != tt.ok {
				t.Errorf("MustParse(%q).Len() = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.ok)
			}
		})
	}
}

func TestRangeAll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []netip.Addr
	}{
		{"v4_single", "192.0.2.1", []netip.Addr{mpa("192.0.2.1")}},
		{"v4_30", "192.0.2.4/30", []netip.Addr{mpa("192.0.2.4"), mpa("192.0.2.5"), mpa("192.0.2.6"), mpa("192.0.2.7")}},
		{"v4_octet_carry", "192.0.2.254-192.0.3.1", []netip.Addr{mpa("192.0.2.254"), mpa("192.0.2.255"), mpa("192.0.3.0"), mpa("192.0.3.1")}},
		{"v4_top", "255.255.255.254/31", []netip.Addr{mpa("255.255.255.254"), mpa("255.255.255.255")}},
		{"v6_top", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", []netip.Addr{mpa("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), mpa("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}},
		{"v6_mapped", "::ffff:192.0.2.0/127", []netip.Addr{mpa("::ffff:192.0.2.0"), mpa("::ffff:192.0.2.1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := slices.Collect(prefix.MustParse(tt.in).All())
			if diff := cmp.Diff(tt.want, got, equateNetip); diff != "" {
				t.Errorf("MustParse(%q).All() mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
	// Breaking out early stops the iteration.
	var n int
	for range prefix.MustParse("::/0").All() {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("early break after %d addresses, want 3", n)
	}
}

func TestRangePrefixes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []netip.Prefix
	}{
		{"v4_single", "192.0.2.1", []netip.Prefix{mpp("192.0.2.1/32")}},
		{"v4_cidr", "203.0.113.0/24", []netip.Prefix{mpp("203.0.113.0/24")}},
		{"v4_range", "203.0.113.10-203.0.113.20", []netip.Prefix{mpp("203.0.113.10/31"), mpp("203.0.113.12/30"), mpp("203.0.113.16/30"), mpp("203.0.113.20/32")}},
		{"v4_all", "0.0.0.0-255.255.255.255", []netip.Prefix{mpp("0.0.0.0/0")}},
		{"v4_all_but_first", "0.0.0.1-255.255.255.255", []netip.Prefix{
			mpp("0.0.0.1/32"), mpp("0.0.0.2/31"), mpp("0.0.0.4/30"), mpp("0.0.0.8/29"), mpp("0.0.0.16/28"), mpp("0.0.0.32/27"),
			mpp("0.0.0.64/26"), mpp("0.0.0.128/25"), mpp("0.0.1.0/24"), mpp("0.0.2.0/23"), mpp("0.0.4.0/22"), mpp("0.0.8.0/21"),
			mpp("0.0.16.0/20"), mpp("0.0.32.0/19"), mpp("0.0.64.0/18"), mpp("0.0.128.0/17"), mpp("0.1.0.0/16"), mpp("0.2.0.0/15"),
			mpp("0.4.0.0/14"), mpp("0.8.0.0/13"), mpp("0.16.0.0/12"), mpp("0.32.0.0/11"), mpp("0.64.0.0/10"), mpp("0.128.0.0/9"),
			mpp("1.0.0.0/8"), mpp("2.0.0.0/7"), mpp("4.0.0.0/6"), mpp("8.0.0.0/5"), mpp("16.0.0.0/4"), mpp("32.0.0.0/3"),
			mpp("64.0.0.0/2"), mpp("128.0.0.0/1"),
		}},
		{"v6_all", "::/0", []netip.Prefix{mpp("::/0")}},
		{"v6_range", "2001:db8::-2001:db8::1:0", []netip.Prefix{mpp("2001:db8::/112"), mpp("2001:db8::1:0/128")}},
		{"v6_top", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []netip.Prefix{mpp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd/128"), mpp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := slices.Collect(prefix.MustParse(tt.in).Prefixes())
			if diff := cmp.Diff(tt.want, got, equateNetip); diff != "" {
				t.Errorf("MustParse(%q).Prefixes() mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestRangePrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want netip.Prefix
		ok   bool
	}{
		{"v4_24", "203.0.113.0/24", mpp("203.0.113.0/24"), true},
		{"v4_single", "192.0.2.7", mpp("192.0.2.7/32"), true},
		{"v4_range_aligned", "198.51.100.128-198.51.100.255", mpp("198.51.100.128/25"), true},
		{"v4_range_unaligned", "198.51.100.1-198.51.100.2", netip.Prefix{}, false},
		{"v4_range_not_pow2", "198.51.100.0-198.51.100.2", netip.Prefix{}, false},
		{"v6_0", "::/0", mpp("::/0"), true},
		{"v6_range", "2001:db8::1-2001:db8::ff", netip.Prefix{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := prefix.MustParse(tt.in).Prefix()
			if got != tt.want || ok != tt.ok {
				t.Errorf("MustParse(%q).Prefix() = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRangeWidestPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    prefix.Range
		a    netip.Addr
		want netip.Prefix // invalid: not contained
	}{
		{"v4_whole_block", prefix.MustParse("203.0.113.0/24"), mpa("203.0.113.77"), mpp("203.0.113.0/24")},
		{"v4_ragged_start", prefix.MustParse("203.0.113.3-203.0.113.255"), mpa("203.0.113.3"), mpp("203.0.113.3/32")},
		{"v4_ragged_middle", prefix.MustParse("203.0.113.3-203.0.113.255"), mpa("203.0.113.100"), mpp("203.0.113.64/26")},
		{"v4_all", prefix.RangeOf(mpp("0.0.0.0/0")), mpa("192.0.2.1"), mpp("0.0.0.0/0")},
		{"v6_all", prefix.RangeOf(mpp("::/0")), mpa("2001:db8::1"), mpp("::/0")},
		{"v6_top", prefix.MustParse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), mpa("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), mpp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127")},
		{"outside", prefix.MustParse("203.0.113.0/24"), mpa("203.0.114.0"), netip.Prefix{}},
		{"other_family", prefix.MustParse("::ffff:203.0.113.0/120"), mpa("203.0.113.1"), netip.Prefix{}},
		{"zoned", prefix.MustParse("fe80::/64"), mpa("fe80::1%eth0"), netip.Prefix{}},
		{"invalid_range", prefix.Range{}, mpa("192.0.2.1"), netip.Prefix{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.r.WidestPrefix(tt.a)
			if got != tt.want || ok != tt.want.IsValid() {
				t.Errorf("%v.WidestPrefix(%v) = %v, %v; want %v, %v", tt.r, tt.a, got, ok, tt.want, tt.want.IsValid())
			}
		})
	}
}

func TestUnmap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    netip.Prefix
		want netip.Prefix
	}{
		{"mapped_120", mpp("::ffff:192.0.2.0/120"), mpp("192.0.2.0/24")},
		{"mapped_96", mpp("::ffff:0.0.0.0/96"), mpp("0.0.0.0/0")},
		{"mapped_128", mpp("::ffff:192.0.2.7/128"), mpp("192.0.2.7/32")},
		{"mapped_host_bits_kept", netip.MustParsePrefix("::ffff:192.0.2.7/120"), netip.MustParsePrefix("192.0.2.7/24")},
		{"mapped_95", mpp("::ffff:0.0.0.0/95"), mpp("::ffff:0.0.0.0/95")},
		{"unmasked_wider_than_96", netip.MustParsePrefix("::ffff:192.0.2.0/80"), netip.MustParsePrefix("::ffff:192.0.2.0/80")},
		{"v6", mpp("2001:db8::/32"), mpp("2001:db8::/32")},
		{"v4", mpp("192.0.2.0/24"), mpp("192.0.2.0/24")},
		{"invalid", netip.Prefix{}, netip.Prefix{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := prefix.Unmap(tt.p); got != tt.want {
				t.Errorf("Unmap(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}
