package prefix_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/prefix"
)

func TestSpecialPurpose(t *testing.T) {
	t.Parallel()
	doc3 := prefix.Special{Prefix: mpp("203.0.113.0/24"), Name: "Documentation (TEST-NET-3)", RFC: "RFC 5737"}
	tests := []struct {
		name  string
		p     netip.Prefix
		want  []netip.Prefix // the Prefix fields of the entries, in order
		first *prefix.Special
	}{
		{"doc_exact", mpp("203.0.113.0/24"), []netip.Prefix{mpp("203.0.113.0/24")}, &doc3},
		{"doc_inside", mpp("203.0.113.128/25"), []netip.Prefix{mpp("203.0.113.0/24")}, &doc3},
		{"doc_host_bits", mpp("203.0.113.9/32"), []netip.Prefix{mpp("203.0.113.0/24")}, &doc3},
		{"private_10", mpp("10.1.2.0/24"), []netip.Prefix{mpp("10.0.0.0/8")}, nil},
		{"cgnat", mpp("100.127.0.0/16"), []netip.Prefix{mpp("100.64.0.0/10")}, nil},
		{"loopback", mpp("127.0.0.2/32"), []netip.Prefix{mpp("127.0.0.0/8")}, nil},
		{"this_host", mpp("0.0.0.0/32"), []netip.Prefix{mpp("0.0.0.0/8"), mpp("0.0.0.0/32")}, nil},
		{"multicast", mpp("239.1.0.0/16"), []netip.Prefix{mpp("224.0.0.0/4")}, nil},
		{"reserved_240", mpp("250.0.0.0/8"), []netip.Prefix{mpp("240.0.0.0/4")}, nil},
		{"broadcast", mpp("255.255.255.255/32"), []netip.Prefix{mpp("240.0.0.0/4"), mpp("255.255.255.255/32")}, nil},
		{"benchmarking", mpp("198.19.0.0/16"), []netip.Prefix{mpp("198.18.0.0/15")}, nil},
		{"ietf_nested", mpp("192.0.0.8/31"), []netip.Prefix{mpp("192.0.0.0/24"), mpp("192.0.0.8/32"), mpp("192.0.0.9/32")}, nil},
		{"contains_several", mpp("192.0.0.0/16"), []netip.Prefix{
			mpp("192.0.0.0/24"), mpp("192.0.0.0/29"), mpp("192.0.0.8/32"), mpp("192.0.0.9/32"), mpp("192.0.0.10/32"),
			mpp("192.0.0.170/32"), mpp("192.0.0.171/32"), mpp("192.0.2.0/24"),
		}, nil},
		{"contains_doc", mpp("203.0.0.0/16"), []netip.Prefix{mpp("203.0.113.0/24")}, nil},
		{"v6_doc", mpp("2001:db8:1::/48"), []netip.Prefix{mpp("2001:db8::/32")}, nil},
		{"v6_ietf_nested", mpp("2001:1::/120"), []netip.Prefix{mpp("2001::/23"), mpp("2001:1::1/128"), mpp("2001:1::2/128"), mpp("2001:1::3/128")}, nil},
		{"v6_doc_3fff", mpp("3fff:100::/24"), []netip.Prefix{mpp("3fff::/20")}, nil},
		{"v6_loopback", mpp("::1/128"), []netip.Prefix{mpp("::1/128")}, nil},
		{"v6_unspecified", mpp("::/128"), []netip.Prefix{mpp("::/128")}, nil},
		{"v6_mapped", mpp("::ffff:203.0.113.0/120"), []netip.Prefix{mpp("::ffff:0:0/96")}, nil},
		{"v6_nat64", mpp("64:ff9b::/120"), []netip.Prefix{mpp("64:ff9b::/96")}, nil},
		{"v6_teredo", mpp("2001:0:4136::/48"), []netip.Prefix{mpp("2001::/23"), mpp("2001::/32")}, nil},
		{"v6_6to4", mpp("2002:cb00:7100::/40"), []netip.Prefix{mpp("2002::/16")}, nil},
		{"v6_ula", mpp("fd00:1::/32"), []netip.Prefix{mpp("fc00::/7")}, nil},
		{"v6_link_local", mpp("fe80::/64"), []netip.Prefix{mpp("fe80::/10")}, nil},
		{"v6_multicast", mpp("ff02::/16"), []netip.Prefix{mpp("ff00::/8")}, nil},
		{"v6_discard", mpp("100::/64"), []netip.Prefix{mpp("100::/64")}, nil},
		// Public space (R31 allows no real addresses, so these are whole
		// unassigned-looking blocks rather than anyone's network).
		{"v4_public_block", mpp("128.0.0.0/3"), nil, nil},
		{"v6_public_block", mpp("4000::/4"), nil, nil},
		{"invalid", netip.Prefix{}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := prefix.SpecialPurpose(tt.p)
			var gotPrefixes []netip.Prefix
			for _, sp := range got {
				gotPrefixes = append(gotPrefixes, sp.Prefix)
				if sp.Name == "" || sp.RFC == "" {
					t.Errorf("entry %v has an empty Name or RFC", sp.Prefix)
				}
			}
			if diff := cmp.Diff(tt.want, gotPrefixes, equateNetip); diff != "" {
				t.Errorf("SpecialPurpose(%v) mismatch (-want +got):\n%s", tt.p, diff)
			}
			if tt.first != nil && (len(got) == 0 || got[0] != *tt.first) {
				t.Errorf("SpecialPurpose(%v)[0] = %v, want %v", tt.p, got, *tt.first)
			}
		})
	}
}

func TestSpecialPurposeFresh(t *testing.T) {
	t.Parallel()
	a := prefix.SpecialPurpose(mpp("203.0.113.0/24"))
	a[0].Name = "changed"
	b := prefix.SpecialPurpose(mpp("203.0.113.0/24"))
	if b[0].Name != "Documentation (TEST-NET-3)" {
		t.Errorf("changing a returned entry changed the registry: %v", b[0])
	}
}

func TestCheckVettable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		p       netip.Prefix
		special bool
		want    string
	}{
		{"doc_3", mpp("203.0.113.0/24"), true, "203.0.113.0/24 is special-purpose space: 203.0.113.0/24 Documentation (TEST-NET-3), RFC 5737"},
		{"doc_1_inside", mpp("192.0.2.128/25"), true, "192.0.2.128/25 is special-purpose space: 192.0.2.0/24 Documentation (TEST-NET-1), RFC 5737"},
		{"host_bits_masked", mpp("198.51.100.7/24"), true, "198.51.100.0/24 is special-purpose space: 198.51.100.0/24 Documentation (TEST-NET-2), RFC 5737"},
		{"v6_doc", mpp("2001:db8::/32"), true, "2001:db8::/32 is special-purpose space: 2001:db8::/32 Documentation, RFC 3849"},
		{"v6_several", mpp("2001:1::/126"), true, "2001:1::/126 is special-purpose space: 2001::/23 IETF Protocol Assignments, RFC 2928; 2001:1::1/128 Port Control Protocol Anycast, RFC 7723; 2001:1::2/128 Traversal Using Relays around NAT Anycast, RFC 8155; 2001:1::3/128 DNS-SD Service Registration Protocol Anycast, RFC 9665"},
		{"contains_v4_all", mpp("0.0.0.0/0"), true, ""},
		{"contains_v6_all", mpp("::/0"), true, ""},
		{"contains_192_8", mpp("192.0.0.0/8"), true, ""},
		{"v4_public_block", mpp("128.0.0.0/3"), false, ""},
		{"v6_public_block", mpp("4000::/4"), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := prefix.CheckVettable(tt.p)
			if got := errors.Is(err, prefix.ErrSpecialPurpose); got != tt.special {
				t.Fatalf("CheckVettable(%v) = %v; errors.Is ErrSpecialPurpose = %v, want %v", tt.p, err, got, tt.special)
			}
			if !tt.special && err != nil {
				t.Fatalf("CheckVettable(%v) = %v, want nil", tt.p, err)
			}
			if tt.want != "" && err.Error() != tt.want {
				t.Errorf("CheckVettable(%v) error:\n got %s\nwant %s", tt.p, err, tt.want)
			}
		})
	}
	err := prefix.CheckVettable(netip.Prefix{})
	if err == nil || errors.Is(err, prefix.ErrSpecialPurpose) {
		t.Errorf("CheckVettable(invalid) = %v, want an error that is not ErrSpecialPurpose", err)
	}
}
