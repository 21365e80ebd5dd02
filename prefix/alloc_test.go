package prefix_test

import (
	"net/netip"
	"testing"

	"github.com/prefixvet/prefixvet/prefix"
)

// TestNoAllocs proves that the hot paths do not allocate (netip's
// TestNoAllocs). Iterating counts allocations over a whole /24, so any
// per-address allocation would show as 256.
func TestNoAllocs(t *testing.T) {
	// Not parallel: AllocsPerRun measures the whole process.
	v4 := prefix.MustParse("203.0.113.0/24")
	v6 := prefix.MustParse("2001:db8::/120")
	buf := make([]byte, 0, 128)
	a4, a6, mapped := mpa("192.0.2.99"), mpa("2001:db8:1:2:3:4:567:89ab"), mpa("::ffff:127.0.0.2")
	in4, in6 := mpa("203.0.113.9"), mpa("2001:db8::9")
	odd := prefix.RangeFrom(mpa("2001:db8::3"), mpa("2001:db8::1:0"))
	var pbuf [40]netip.Prefix
	mappedPrefix := netip.MustParsePrefix("::ffff:192.0.2.0/120")
	tests := []struct {
		name string
		fn   func()
	}{
		{"all_v4", func() {
			for a := range v4.All() {
				_ = a
			}
		}},
		{"all_v6", func() {
			for a := range v6.All() {
				_ = a
			}
		}},
		{"contains_v4", func() { _ = v4.Contains(in4) }},
		{"contains_v6", func() { _ = v6.Contains(in6) }},
		{"len", func() { _, _ = v6.Len() }},
		{"prefix", func() { _, _ = v4.Prefix() }},
		{"prefixes", func() {
			for p := range odd.Prefixes() {
				_ = p
			}
		}},
		{"append_prefixes", func() { _ = odd.AppendPrefixes(pbuf[:0]) }},
		{"widest_prefix", func() { _, _ = odd.WidestPrefix(mpa("2001:db8::8000")) }},
		{"range_of_to", func() { _ = prefix.RangeOf(mappedPrefix).To() }},
		{"unmap", func() { _ = prefix.Unmap(mappedPrefix) }},
		{"query_name_v4", func() { buf = prefix.AppendQueryName(buf[:0], a4, "bl.example.org.") }},
		{"query_name_v6", func() { buf = prefix.AppendQueryName(buf[:0], a6, "bl.example.org.") }},
		{"query_name_mapped", func() { buf = prefix.AppendQueryName(buf[:0], mapped, "bl.example.org.") }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", tt.name, n)
		}
	}
}
