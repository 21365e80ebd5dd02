package sources_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/sources"
)

// One file per RIR, each in the shape that RIR writes.
var rirFiles = map[string]string{
	"arin": `2.3|arin|1795910400|5|19700101|20261128|-0500
# ARIN writes an opaque id on every row
arin|*|asn|*|1|summary
arin|*|ipv4|*|3|summary
arin|*|ipv6|*|1|summary
arin|US|asn|64500|1|20100101|assigned|8f2e5a0c
arin|US|ipv4|192.0.2.0|256|20100101|allocated|8f2e5a0c
arin||ipv4|198.51.100.0|128||available|
arin||ipv4|198.51.100.128|128||reserved|
arin|US|ipv6|2001:db8::|32|20120304|allocated|8f2e5a0c
`,
	"ripencc": `2|ripencc|1795910400|4|19830705|20261128|+0100
ripencc|*|ipv4|*|3|summary
ripencc|*|ipv6|*|1|summary
ripencc|NL|ipv4|203.0.113.0|192|20150601|allocated|b1a2c3d4-e5f6
ripencc||ipv4|203.0.113.192|64||available
ripencc|DE|ipv4|198.18.0.0|768|20200202|assigned|0aa0
ripencc||ipv6|2001:db8:dead::|48||reserved
`,
	"afrinic": `2|afrinic|20261128|2|00000000|20261128|00000
afrinic|*|ipv4|*|2|summary
afrinic|ZZ|ipv4|198.18.4.0|1536||available|
afrinic|ZA|ipv4|198.18.10.0|512|20190101|allocated|F36A1B2C
`,
	"apnic": `2|apnic|20261129|2|19850701|20261128|+1000
apnic|*|ipv4|*|1|summary
apnic|*|ipv6|*|1|summary
apnic|AU|ipv4|198.18.16.0|1024|20110811|assigned|A91872ED
apnic|JP|ipv6|2001:db8:1::|48|20130101|allocated|A92D8AF1
`,
	"lacnic": `2|lacnic|20261128|2|19870101|20261128|-0300
lacnic|*|ipv4|*|2|summary
lacnic|BR|ipv4|198.18.32.0|4096|20080808|allocated|123456
lacnic|ZZ|ipv4|198.18.48.0|256||reserved|
`,
}

func readRIR(t *testing.T, rir string) *sources.RIRStats {
	t.Helper()
	s, err := sources.ReadRIRStats(strings.NewReader(rirFiles[rir]), sources.RIRStatsConfig{Name: rir})
	if err != nil {
		t.Fatalf("ReadRIRStats(%s): %v", rir, err)
	}
	return s
}

func TestRIRStats_LookupPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		rir    string
		block  string
		want   []matchView
		reason string
	}{
		{name: "arin_allocated", rir: "arin", block: "192.0.2.0/24",
			want:   []matchView{{"192.0.2.0/24", []string{"rir-delegated/info/arin US 2010-01-01 allocated"}}},
			reason: "allocated by arin to a holder in US on 2010-01-01 (holder id 8f2e5a0c)"},
		{name: "arin_available_and_reserved", rir: "arin", block: "198.51.100.0/24",
			want: []matchView{
				{"198.51.100.0/25", []string{"rir-unallocated/critical/arin available"}},
				{"198.51.100.128/25", []string{"rir-unallocated/critical/arin reserved"}},
			},
			reason: "not delegated to anyone"},
		{name: "arin_v6", rir: "arin", block: "2001:db8:5::/48",
			want: []matchView{{"2001:db8::/32", []string{"rir-delegated/info/arin US 2012-03-04 allocated"}}}},
		{name: "ripe_available_part_of_block", rir: "ripencc", block: "203.0.113.0/24",
			want: []matchView{
				{"203.0.113.0/25", []string{"rir-delegated/info/ripencc NL 2015-06-01 allocated"}},
				{"203.0.113.128/26", []string{"rir-delegated/info/ripencc NL 2015-06-01 allocated"}},
				{"203.0.113.192/26", []string{"rir-unallocated/critical/ripencc available"}},
			}},
		{name: "ripe_count_768", rir: "ripencc", block: "198.18.0.0/22",
			want: []matchView{
				{"198.18.0.0/23", []string{"rir-delegated/info/ripencc DE 2020-02-02 assigned"}},
				{"198.18.2.0/24", []string{"rir-delegated/info/ripencc DE 2020-02-02 assigned"}},
			}},
		{name: "ripe_v6_reserved", rir: "ripencc", block: "2001:db8:dead::/56",
			want: []matchView{{"2001:db8:dead::/48", []string{"rir-unallocated/critical/ripencc reserved"}}}},
		{name: "afrinic_zz_1536", rir: "afrinic", block: "198.18.4.0/22",
			want: []matchView{{"198.18.4.0/22", []string{"rir-unallocated/critical/afrinic ZZ available"}}}},
		{name: "afrinic_1536_tail", rir: "afrinic", block: "198.18.8.0/23",
			want: []matchView{{"198.18.8.0/23", []string{"rir-unallocated/critical/afrinic ZZ available"}}}},
		{name: "afrinic_allocated", rir: "afrinic", block: "198.18.10.0/24",
			want: []matchView{{"198.18.10.0/23", []string{"rir-delegated/info/afrinic ZA 2019-01-01 allocated"}}}},
		{name: "apnic_assigned", rir: "apnic", block: "198.18.17.0/24",
			want: []matchView{{"198.18.16.0/22", []string{"rir-delegated/info/apnic AU 2011-08-11 assigned"}}}},
		{name: "apnic_v6", rir: "apnic", block: "2001:db8:1::/48",
			want: []matchView{{"2001:db8:1::/48", []string{"rir-delegated/info/apnic JP 2013-01-01 allocated"}}}},
		{name: "lacnic_reserved_zz", rir: "lacnic", block: "198.18.48.0/24",
			want: []matchView{{"198.18.48.0/24", []string{"rir-unallocated/critical/lacnic ZZ reserved"}}}},
		{name: "not_in_file", rir: "lacnic", block: "192.0.2.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := readRIR(t, tt.rir)
			got, err := s.LookupPrefix(t.Context(), mpp(tt.block))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, viewMatches(got)); diff != "" {
				t.Errorf("LookupPrefix(%s) (-want +got):\n%s", tt.block, diff)
			}
			if tt.reason != "" && (len(got) == 0 || !strings.Contains(got[0].Reason, tt.reason)) {
				t.Errorf("reason %v, want it to contain %q", got, tt.reason)
			}
			checkContract(t, mpp(tt.block), got)
		})
	}
}

func TestRIRStats_counts(t *testing.T) {
	t.Parallel()
	for rir, want := range map[string]int{"arin": 4, "ripencc": 4, "afrinic": 2, "apnic": 2, "lacnic": 2} {
		if got := readRIR(t, rir).Len(); got != want {
			t.Errorf("%s: Len = %d, want %d (asn, header and summary lines skipped)", rir, got, want)
		}
	}
	s := readRIR(t, "arin")
	l, err := s.Lookup(t.Context(), mpa("198.51.100.200"))
	if err != nil || !l.Listed || l.Evidence[0].Category != sources.CategoryRIRUnallocated {
		t.Errorf("Lookup(198.51.100.200) = %+v, %v; want rir-unallocated", l, err)
	}
	if info := s.Info(); !info.IPv4 || !info.IPv6 {
		t.Errorf("Info = %+v, want both families", info)
	}
}

func TestReadRIRStats_bad(t *testing.T) {
	t.Parallel()
	const good = "ripencc|NL|ipv4|192.0.2.0|256|20100101|allocated\n"
	tests := []struct {
		name     string
		in       string
		wantErr  error
		fatal    bool
		line     int
		contains string
	}{
		{name: "too_few_fields", in: good + "ripencc|NL|ipv4|198.51.100.0|256|20100101\n", wantErr: sources.ErrSyntax, line: 2, contains: "found 6 fields"},
		{name: "bad_count", in: good + "ripencc|NL|ipv4|198.51.100.0|0|20100101|allocated\n", wantErr: sources.ErrSyntax, line: 2},
		{name: "count_overflow", in: good + "ripencc|NL|ipv4|255.255.255.0|512|20100101|allocated\n", wantErr: sources.ErrSyntax, line: 2, contains: "runs past"},
		{name: "bad_family", in: good + "ripencc|NL|ipv4|2001:db8::|32|20100101|allocated\n", wantErr: sources.ErrSyntax, line: 2},
		{name: "v6_host_bits", in: good + "ripencc|NL|ipv6|2001:db8::1|32|20100101|allocated\n", wantErr: sources.ErrSyntax, line: 2},
		{name: "bad_status", in: good + "ripencc|NL|ipv4|198.51.100.0|256|20100101|stolen\n", wantErr: sources.ErrSyntax, line: 2, contains: "unknown status"},
		{name: "bad_type", in: good + "ripencc|NL|ipv5|198.51.100.0|256|20100101|allocated\n", wantErr: sources.ErrSyntax, line: 2},
		{name: "bad_date", in: good + "ripencc|NL|ipv4|198.51.100.0|256|2010-01-01|allocated\n", wantErr: sources.ErrSyntax, line: 2},
		{name: "whole_space", in: good + "iana||ipv4|0.0.0.0|4294967296||reserved\n", wantErr: sources.ErrWholeSpace, line: 2},
		{name: "only_headers", in: "2|ripencc|1|0|19830705|20261128|+0100\nripencc|*|ipv4|*|0|summary\n", wantErr: sources.ErrEmpty, fatal: true},
		{name: "vrps_json", in: `{"roas":[{"asn":1,"prefix":"192.0.2.0/24","maxLength":24}]}`, wantErr: sources.ErrWrongFormat, fatal: true, contains: "RPKI VRPs"},
		{name: "vrps_csv", in: "ASN,IP Prefix,Max Length,Trust Anchor\nAS1,192.0.2.0/24,24,ripe\n", wantErr: sources.ErrWrongFormat, fatal: true, contains: "want RIR delegated statistics"},
		{name: "asn_drop", in: `{"asn":64666,"rir":"ripencc","domain":"example.org","cc":"NL","asname":"EXAMPLE"}` + "\n", wantErr: sources.ErrWrongFormat, fatal: true, contains: "ASN-DROP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := sources.ReadRIRStats(strings.NewReader(tt.in), sources.RIRStatsConfig{})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadRIRStats error = %v, want %v", err, tt.wantErr)
			}
			if tt.fatal != (s == nil) {
				t.Fatalf("ReadRIRStats returned %v, want nil: %v", s != nil, tt.fatal)
			}
			if s != nil && s.Len() != 1 {
				t.Errorf("Len = %d, want 1 (the good line)", s.Len())
			}
			if tt.line > 0 {
				var pe *sources.ParseError
				if !errors.As(err, &pe) || pe.Line != tt.line {
					t.Errorf("error %v: want a ParseError at line %d", err, tt.line)
				}
			}
			if tt.contains != "" && !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not mention %q", err, tt.contains)
			}
		})
	}
}

// TestRIRStats_overlap: two files' records over the same space (the NRO's
// combined file next to an RIR's own) both show.
func TestRIRStats_overlap(t *testing.T) {
	t.Parallel()
	in := "ripencc|NL|ipv4|192.0.2.0|256|20100101|allocated\niana||ipv4|192.0.2.0|128||ietf\n"
	s, err := sources.ReadRIRStats(strings.NewReader(in), sources.RIRStatsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.LookupPrefix(t.Context(), mpp("192.0.2.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	want := []matchView{
		{"192.0.2.0/25", []string{"rir-delegated/info/ripencc NL 2010-01-01 allocated", "rir-unallocated/critical/iana ietf"}},
		{"192.0.2.128/25", []string{"rir-delegated/info/ripencc NL 2010-01-01 allocated"}},
	}
	if diff := cmp.Diff(want, viewMatches(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
