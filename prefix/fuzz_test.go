package prefix_test

import (
	"net/netip"
	"testing"

	"github.com/prefixvet/prefixvet/prefix"
)

// FuzzParse checks that Parse never panics, that every accepted input
// round-trips through String, and that Parse agrees with net/netip on the
// canonical CIDR and address strings netip produces.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"203.0.113.0/24", "203.0.113.5/24", "203.0.113.7", "203.0.113.10-203.0.113.20",
		"203.0.113.20-203.0.113.10", "203.0.113.0/255.255.255.0", "203.0.113.0/255.0.255.0",
		"2001:db8::/32", "2001:0db8:0000:0000:0000:0000:0000:0001", "::ffff:192.0.2.1",
		"64:ff9b::192.0.2.0/120", " 192.0.2.1 ", "", "garbage", "192.0.2.1-2001:db8::1",
		"203.0.113.0-127", "203.0.113.*", "0.0.0.0/0", "::/0", "fe80::1%eth0", "010.1.2.3",
		"1.2.3", "*", "192.0.2.0/024", "2001:db8::1-2001:db8::ff", "::ffff:192.0.2.0/120",
		"1-2::3", "0-255.0.0.0", "2001:db8::/ffff:ffff::", "192.0.2.1 - 192.0.2.9",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := prefix.Parse(s)
		if err == nil {
			if !r.IsValid() || r.To().Less(r.From()) {
				t.Fatalf("Parse(%q) = %v (%v..%v), an invalid Range without error", s, r, r.From(), r.To())
			}
			back, err := prefix.Parse(r.String())
			if err != nil || back != r {
				t.Fatalf("Parse(%q) = %v; Parse(%q) = %v, %v", s, r, r.String(), back, err)
			}
		} else if r.IsValid() {
			t.Fatalf("Parse(%q) = %v with error %v", s, r, err)
		}
		if p, perr := netip.ParsePrefix(s); perr == nil && s == p.String() {
			switch {
			case p == p.Masked() && (err != nil || r != prefix.RangeOf(p)):
				t.Fatalf("Parse(%q) = %v, %v; netip reads %v", s, r, err, p)
			case p != p.Masked() && err == nil:
				t.Fatalf("Parse(%q) = %v, want a host-bits error", s, r)
			}
		}
		if a, aerr := netip.ParseAddr(s); aerr == nil && a.Zone() == "" && s == a.String() {
			if err != nil || r != prefix.RangeFrom(a, a) {
				t.Fatalf("Parse(%q) = %v, %v; netip reads %v", s, r, err, a)
			}
		}
	})
}
