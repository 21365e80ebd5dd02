package prefix_test

import (
	"net/netip"
	"testing"

	"github.com/prefixvet/prefixvet/prefix"
)

func TestAppendQueryName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a    netip.Addr
		zone string
		want string
	}{
		// The examples of RFC 5782 section 2.1 and 2.4.
		{"rfc5782_v4", mpa("192.0.2.99"), "bad.example.com", "99.2.0.192.bad.example.com"},
		{"rfc5782_v6", mpa("2001:db8:1:2:3:4:567:89ab"), "ugly.example.com", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com"},
		// RFC 5782 section 5 test points.
		{"rfc5782_test_v4", mpa("127.0.0.2"), "bl.example.org.", "2.0.0.127.bl.example.org."},
		{"rfc5782_test_v6_mapped", mpa("::ffff:127.0.0.2"), "bl.example.org", "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example.org"},
		{"v6_low_address", mpa("::2"), "bl.example.org", "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example.org"},
		{"v4_zero_and_max_octets", mpa("0.255.0.10"), "bl.example.org", "10.0.255.0.bl.example.org"},
		{"v6_zone_ignored", mpa("fe80::1%eth0"), "bl.example.org", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.bl.example.org"},
		{"empty_zone", mpa("192.0.2.1"), "", "1.2.0.192."},
		{"invalid_addr", netip.Addr{}, "bl.example.org", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(prefix.AppendQueryName(nil, tt.a, tt.zone)); got != tt.want {
				t.Errorf("AppendQueryName(nil, %v, %q) = %q, want %q", tt.a, tt.zone, got, tt.want)
			}
			// Appending keeps what dst already holds.
			if got := string(prefix.AppendQueryName([]byte("x:"), tt.a, tt.zone)); got != "x:"+tt.want {
				t.Errorf("AppendQueryName(\"x:\", %v, %q) = %q, want %q", tt.a, tt.zone, got, "x:"+tt.want)
			}
		})
	}
}
