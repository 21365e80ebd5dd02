package prefix_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/prefix"
)

var (
	mpa = netip.MustParseAddr
	mpp = netip.MustParsePrefix
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		from, to netip.Addr
		str      string // want String()
	}{
		{"v4_cidr", "203.0.113.0/24", mpa("203.0.113.0"), mpa("203.0.113.255"), "203.0.113.0/24"},
		{"v4_cidr_32", "192.0.2.1/32", mpa("192.0.2.1"), mpa("192.0.2.1"), "192.0.2.1/32"},
		{"v4_cidr_0", "0.0.0.0/0", mpa("0.0.0.0"), mpa("255.255.255.255"), "0.0.0.0/0"},
		{"v4_cidr_len_leading_zero", "192.0.2.0/024", mpa("192.0.2.0"), mpa("192.0.2.255"), "192.0.2.0/24"},
		{"v4_single", "203.0.113.7", mpa("203.0.113.7"), mpa("203.0.113.7"), "203.0.113.7/32"},
		{"v4_range", "203.0.113.10-203.0.113.20", mpa("203.0.113.10"), mpa("203.0.113.20"), "203.0.113.10-203.0.113.20"},
		{"v4_range_spaces", " 203.0.113.10 - 203.0.113.20 ", mpa("203.0.113.10"), mpa("203.0.113.20"), "203.0.113.10-203.0.113.20"},
		{"v4_range_one_cidr", "198.51.100.0-198.51.100.127", mpa("198.51.100.0"), mpa("198.51.100.127"), "198.51.100.0/25"},
		{"v4_range_single", "192.0.2.1-192.0.2.1", mpa("192.0.2.1"), mpa("192.0.2.1"), "192.0.2.1/32"},
		{"v4_netmask", "203.0.113.0/255.255.255.0", mpa("203.0.113.0"), mpa("203.0.113.255"), "203.0.113.0/24"},
		{"v4_netmask_20", "198.51.96.0/255.255.240.0", mpa("198.51.96.0"), mpa("198.51.111.255"), "198.51.96.0/20"},
		{"v4_netmask_32", "192.0.2.1/255.255.255.255", mpa("192.0.2.1"), mpa("192.0.2.1"), "192.0.2.1/32"},
		{"v4_segment_range", "203.0.113.0-127", mpa("203.0.113.0"), mpa("203.0.113.127"), "203.0.113.0/25"},
		{"v4_wildcard", "203.0.113.*", mpa("203.0.113.0"), mpa("203.0.113.255"), "203.0.113.0/24"},
		{"v4_space", "\t192.0.2.1 \n", mpa("192.0.2.1"), mpa("192.0.2.1"), "192.0.2.1/32"},
		{"v6_cidr", "2001:db8::/32", mpa("2001:db8::"), mpa("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), "2001:db8::/32"},
		{"v6_cidr_0", "::/0", mpa("::"), mpa("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "::/0"},
		{"v6_single", "2001:db8::1", mpa("2001:db8::1"), mpa("2001:db8::1"), "2001:db8::1/128"},
		{"v6_uncompressed", "2001:0db8:0000:0000:0000:0000:0000:0001", mpa("2001:db8::1"), mpa("2001:db8::1"), "2001:db8::1/128"},
		{"v6_upper_case", "2001:DB8::/48", mpa("2001:db8::"), mpa("2001:db8:0:ffff:ffff:ffff:ffff:ffff"), "2001:db8::/48"},
		{"v6_range", "2001:db8::1-2001:db8::ff", mpa("2001:db8::1"), mpa("2001:db8::ff"), "2001:db8::1-2001:db8::ff"},
		{"v6_embedded_v4", "64:ff9b::192.0.2.0/120", mpa("64:ff9b::c000:200"), mpa("64:ff9b::c000:2ff"), "64:ff9b::c000:200/120"},
		{"v6_mapped_single", "::ffff:192.0.2.1", mpa("::ffff:192.0.2.1"), mpa("::ffff:192.0.2.1"), "::ffff:192.0.2.1/128"},
		{"v6_mapped_cidr", "::ffff:192.0.2.0/120", mpa("::ffff:192.0.2.0"), mpa("::ffff:192.0.2.255"), "::ffff:192.0.2.0/120"},
		{"v6_full_mixed", "2001:db8:0:0:0:0:192.0.2.1", mpa("2001:db8::c000:201"), mpa("2001:db8::c000:201"), "2001:db8::c000:201/128"},
		{"v6_netmask", "2001:db8::/ffff:ffff::", mpa("2001:db8::"), mpa("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), "2001:db8::/32"},
		{"v6_unspecified", "::", mpa("::"), mpa("::"), "::/128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := prefix.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if want := prefix.RangeFrom(tt.from, tt.to); r != want {
				t.Errorf("Parse(%q) = %v, want %v", tt.in, r, want)
			}
			if got := r.String(); got != tt.str {
				t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.str)
			}
			back, err := prefix.Parse(r.String())
			if err != nil || back != r {
				t.Errorf("Parse(%q) = %v, %v; want round trip to %v", r.String(), back, err, r)
			}
			if got := prefix.MustParse(tt.in); got != r {
				t.Errorf("MustParse(%q) = %v, want %v", tt.in, got, r)
			}
		})
	}
}

func TestParseError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // the exact error text
	}{
		{"empty", "", `prefix.Parse(""): empty input; want an address, CIDR prefix or range such as 203.0.113.0/24`},
		{"blank", "  \t", `prefix.Parse("  \t"): empty input; want an address, CIDR prefix or range such as 203.0.113.0/24`},
		{"garbage", "garbage", `prefix.Parse("garbage"): not an IP address, CIDR prefix or range: invalid character number 0`},
		{"host_bits_v4", "203.0.113.5/24", `prefix.Parse("203.0.113.5/24"): host bits set; did you mean 203.0.113.0/24?`},
		{"host_bits_v4_netmask", "203.0.113.5/255.255.255.0", `prefix.Parse("203.0.113.5/255.255.255.0"): host bits set; did you mean 203.0.113.0/24?`},
		{"host_bits_v6", "2001:db8::1/64", `prefix.Parse("2001:db8::1/64"): host bits set; did you mean 2001:db8::/64?`},
		{"end_before_start", "203.0.113.20-203.0.113.10", `prefix.Parse("203.0.113.20-203.0.113.10"): range end 203.0.113.10 precedes its start 203.0.113.20; did you mean 203.0.113.10-203.0.113.20?`},
		{"segment_range_reversed", "192.0.2.20-10", `prefix.Parse("192.0.2.20-10"): not an IP address, CIDR prefix or range: in segment range, lower value must precede upper value`},
		{"mixed_families", "192.0.2.1-2001:db8::1", `prefix.Parse("192.0.2.1-2001:db8::1"): range mixes IPv4 and IPv6: 192.0.2.1 and 2001:db8::1 are of different families`},
		{"mixed_families_mapped", "::ffff:192.0.2.1-192.0.2.9", `prefix.Parse("::ffff:192.0.2.1-192.0.2.9"): range mixes IPv4 and IPv6: ::ffff:192.0.2.1 and 192.0.2.9 are of different families`},
		{"range_no_start", "-192.0.2.1", `prefix.Parse("-192.0.2.1"): range has no start; want from-to such as 203.0.113.10-203.0.113.20`},
		{"range_no_end", "192.0.2.1-", `prefix.Parse("192.0.2.1-"): range has no end; want from-to such as 203.0.113.10-203.0.113.20`},
		{"range_bad_end", "192.0.2.1-192.0.2.x", `prefix.Parse("192.0.2.1-192.0.2.x"): range end "192.0.2.x" is not an IP address: invalid combination with earlier character at character number 8`},
		{"range_prefix_start", "2001:db8::/33-2001:db8::1", `prefix.Parse("2001:db8::/33-2001:db8::1"): range start "2001:db8::/33" is not an IP address: CIDR prefix or mask not allowed for this address`},
		{"noncontiguous_netmask", "203.0.113.0/255.0.255.0", `prefix.Parse("203.0.113.0/255.0.255.0"): netmask 255.0.255.0 is not contiguous; use a prefix length such as /24`},
		{"wildcard_netmask", "192.0.2.0/0.0.0.255", `prefix.Parse("192.0.2.0/0.0.0.255"): netmask 0.0.0.255 is not contiguous; use a prefix length such as /24`},
		{"noncontiguous_segments", "192.0.2-3.1", `prefix.Parse("192.0.2-3.1"): segment ranges do not form one contiguous range; write it as from-to or as separate prefixes`},
		{"prefix_too_long", "192.0.2.0/33", `prefix.Parse("192.0.2.0/33"): not an IP address, CIDR prefix or range: the network prefix bit-length is negative or exceeds the address bit-length`},
		{"octet_too_large", "192.0.2.256", `prefix.Parse("192.0.2.256"): not an IP address, CIDR prefix or range: IPv4 segment too large`},
		{"too_many_octets", "192.0.2.1.5", `prefix.Parse("192.0.2.1.5"): not an IP address, CIDR prefix or range: IPv4 address has too many segments`},
		{"leading_zeros", "010.1.2.3", `prefix.Parse("010.1.2.3"): not an IP address, CIDR prefix or range: leading zeros and hexadecimal octets are ambiguous (inet_aton reads 010 as 8 and 0x10 as 16); write plain decimal`},
		{"hex_octet", "0xc0.0.2.1", `prefix.Parse("0xc0.0.2.1"): not an IP address, CIDR prefix or range: leading zeros and hexadecimal octets are ambiguous (inet_aton reads 010 as 8 and 0x10 as 16); write plain decimal`},
		{"leading_zeros_embedded", "::ffff:010.1.2.3", `prefix.Parse("::ffff:010.1.2.3"): not an IP address, CIDR prefix or range: leading zeros and hexadecimal octets are ambiguous (inet_aton reads 010 as 8 and 0x10 as 16); write plain decimal`},
		{"two_addresses", "192.0.2.1 192.0.2.2", `prefix.Parse("192.0.2.1 192.0.2.2"): not an IP address, CIDR prefix or range: invalid character number 9`},
		{"inet_aton_short", "192.0.2", `prefix.Parse("192.0.2"): not an IP address, CIDR prefix or range: options do not allow IPv4 address with less than four segments`},
		{"bare_number", "3221225985", `prefix.Parse("3221225985"): not an IP address, CIDR prefix or range: validation options do not allow you to specify a non-segmented single value`},
		{"all", "*", `prefix.Parse("*"): not an IP address, CIDR prefix or range: the universal address is not allowed`},
		{"zone", "fe80::1%eth0", `prefix.Parse("fe80::1%eth0"): IPv6 zones ("%eth0") have no place in a prefix; remove the zone`},
		{"v6_bad_hex", "2001:db8::g", `prefix.Parse("2001:db8::g"): not an IP address, CIDR prefix or range: invalid character number 10`},
		{"v6_too_many_groups", "2001:db8:0:0:0:0:0:0:1", `prefix.Parse("2001:db8:0:0:0:0:0:0:1"): not an IP address, CIDR prefix or range: address has too many segments`},
		{"brackets", "[2001:db8::1]", `prefix.Parse("[2001:db8::1]"): not an IP address, CIDR prefix or range: invalid character number 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := prefix.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error %q", tt.in, r, tt.want)
			}
			if r.IsValid() {
				t.Errorf("Parse(%q) returned valid %v with error", tt.in, r)
			}
			// The text of our own parse error is part of its contract (R35).
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse(%q) error:\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestMustParsePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !strings.HasPrefix(err.Error(), `prefix.Parse("203.0.113.5/24")`) {
			t.Errorf("MustParse panicked with %v, want the Parse error", r)
		}
	}()
	prefix.MustParse("203.0.113.5/24")
}

func TestParseLongInput(t *testing.T) {
	t.Parallel()
	// Long inputs are refused, not accepted through unlimited leading zeros.
	for _, s := range []string{"::" + strings.Repeat("0", 1000) + "1", strings.Repeat("1.", 5000) + "1", strings.Repeat("f", 10000) + "::/12"} {
		if r, err := prefix.Parse(s); err == nil {
			t.Errorf("Parse(%.20q…) = %v, want an error", s, r)
		}
	}
	// Up to four hexadecimal digits per group, with leading zeros, are fine.
	if r, err := prefix.Parse("2001:0db8::0001"); err != nil || r != prefix.MustParse("2001:db8::1") {
		t.Errorf("Parse(2001:0db8::0001) = %v, %v", r, err)
	}
}
