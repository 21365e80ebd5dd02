package prefix_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/prefix"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    netip.Prefix
		bits int
		want []netip.Prefix
	}{
		{"v4_22_into_24", mpp("198.51.100.0/22"), 24, []netip.Prefix{mpp("198.51.100.0/24"), mpp("198.51.101.0/24"), mpp("198.51.102.0/24"), mpp("198.51.103.0/24")}},
		{"v4_same_length", mpp("203.0.113.0/24"), 24, []netip.Prefix{mpp("203.0.113.0/24")}},
		{"v4_host_bits_masked", mpp("203.0.113.77/30"), 31, []netip.Prefix{mpp("203.0.113.76/31"), mpp("203.0.113.78/31")}},
		{"v4_into_32", mpp("192.0.2.252/30"), 32, []netip.Prefix{mpp("192.0.2.252/32"), mpp("192.0.2.253/32"), mpp("192.0.2.254/32"), mpp("192.0.2.255/32")}},
		{"v4_0_into_1", mpp("0.0.0.0/0"), 1, []netip.Prefix{mpp("0.0.0.0/1"), mpp("128.0.0.0/1")}},
		{"v4_0_same", mpp("0.0.0.0/0"), 0, []netip.Prefix{mpp("0.0.0.0/0")}},
		{"v6_0_into_1", mpp("::/0"), 1, []netip.Prefix{mpp("::/1"), mpp("8000::/1")}},
		{"v6_0_same", mpp("::/0"), 0, []netip.Prefix{mpp("::/0")}},
		{"v6_62_into_64", mpp("2001:db8::/62"), 64, []netip.Prefix{mpp("2001:db8::/64"), mpp("2001:db8:0:1::/64"), mpp("2001:db8:0:2::/64"), mpp("2001:db8:0:3::/64")}},
		{"v6_top", mpp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"), 128, []netip.Prefix{mpp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128"), mpp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seq, err := prefix.Split(tt.p, tt.bits)
			if err != nil {
				t.Fatalf("Split(%v, %d) error: %v", tt.p, tt.bits, err)
			}
			if diff := cmp.Diff(tt.want, slices.Collect(seq), equateNetip); diff != "" {
				t.Errorf("Split(%v, %d) mismatch (-want +got):\n%s", tt.p, tt.bits, diff)
			}
		})
	}
}

func TestSplitCount(t *testing.T) {
	t.Parallel()
	seq, err := prefix.Split(mpp("198.51.96.0/20"), 24)
	if err != nil {
		t.Fatal(err)
	}
	var got []netip.Prefix
	for p := range seq {
		got = append(got, p)
	}
	if len(got) != 16 || got[0] != mpp("198.51.96.0/24") || got[15] != mpp("198.51.111.0/24") {
		t.Errorf("Split(198.51.96.0/20, 24) = %v, want the 16 /24s from 198.51.96.0 to 198.51.111.0", got)
	}
	// Huge splits are lazy: take the first three /128s of ::/0.
	seq, err = prefix.Split(mpp("::/0"), 128)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for p := range seq {
		got = append(got, p)
		if len(got) == 3 {
			break
		}
	}
	want := []netip.Prefix{mpp("::/128"), mpp("::1/128"), mpp("::2/128")}
	if diff := cmp.Diff(want, got, equateNetip); diff != "" {
		t.Errorf("first /128s of ::/0 mismatch (-want +got):\n%s", diff)
	}
}

func TestSplitError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    netip.Prefix
		bits int
		want string
	}{
		{"invalid_prefix", netip.Prefix{}, 24, "prefix.Split(invalid Prefix, 24): invalid prefix"},
		{"bits_shorter", mpp("198.51.100.0/24"), 20, "prefix.Split(198.51.100.0/24, 20): bits must be between 24 and 32"},
		{"bits_too_long_v4", mpp("198.51.100.0/24"), 33, "prefix.Split(198.51.100.0/24, 33): bits must be between 24 and 32"},
		{"bits_too_long_v6", mpp("2001:db8::/32"), 129, "prefix.Split(2001:db8::/32, 129): bits must be between 32 and 128"},
		{"bits_negative", mpp("::/0"), -1, "prefix.Split(::/0, -1): bits must be between 0 and 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seq, err := prefix.Split(tt.p, tt.bits)
			if err == nil || seq != nil {
				t.Fatalf("Split(%v, %d) = %v, %v; want nil and an error", tt.p, tt.bits, seq, err)
			}
			if err.Error() != tt.want {
				t.Errorf("Split(%v, %d) error = %q, want %q", tt.p, tt.bits, err, tt.want)
			}
		})
	}
}
