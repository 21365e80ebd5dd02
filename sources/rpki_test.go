package sources_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

func readVRPs(t *testing.T, text string, expect uint32) *sources.VRPs {
	t.Helper()
	v, err := sources.ReadVRPs(strings.NewReader(text), sources.VRPConfig{ExpectOrigin: expect})
	if err != nil {
		t.Fatalf("ReadVRPs: %v", err)
	}
	return v
}

func readVRPFile(t *testing.T, name string, expect uint32) *sources.VRPs {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "lease", name))
	if err != nil {
		t.Fatal(err)
	}
	return readVRPs(t, string(b), expect)
}

// matchView is what a test compares of a Match: the extent and the
// categories with their severities and IDs.
type matchView struct {
	Prefix string
	Cats   []string // "category/severity/ID"
}

func viewMatches(ms []reputation.Match) []matchView {
	var out []matchView
	for _, m := range ms {
		v := matchView{Prefix: m.Prefix.String()}
		for _, e := range m.Evidence {
			v.Cats = append(v.Cats, e.Category+"/"+e.Severity.String()+"/"+e.ID)
		}
		slices.Sort(v.Cats)
		out = append(out, v)
	}
	return out
}

// TestReadVRPs_formats: the four export formats of the same six ROAs give
// the same answers.
func TestReadVRPs_formats(t *testing.T) {
	t.Parallel()
	want := readVRPFile(t, "vrps.csv", 64500)
	for _, name := range []string{"vrps-rpki-client.json", "vrps-routinator.json", "vrps-routinator-jsonext.json"} {
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			t.Parallel()
			v := readVRPFile(t, name, 64500)
			if v.Len() != 6 {
				t.Errorf("Len = %d, want 6", v.Len())
			}
			for _, p := range []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/48", "2001:db8:dead::/48", "0.0.0.0/1", "2001:db8::/31"} {
				got, err := v.LookupPrefix(t.Context(), mpp(p))
				if err != nil {
					t.Fatal(err)
				}
				exp, _ := want.LookupPrefix(t.Context(), mpp(p))
				if diff := cmp.Diff(exp, got, cmpAddr); diff != "" {
					t.Errorf("LookupPrefix(%s) differs from CSV (-csv +%s):\n%s", p, name, diff)
				}
			}
		})
	}
}

func TestVRPs_LookupPrefix(t *testing.T) {
	t.Parallel()
	const vrps = `ASN,IP Prefix,Max Length,Trust Anchor
AS65101,192.0.2.0/23,24,ripe
AS0,198.51.100.0/24,24,apnic
AS0,203.0.113.192/26,32,apnic
AS64500,203.0.113.0/24,24,arin
AS64500,2001:db8::/32,48,ripe
AS0,2001:db8:dead::/48,48,ripe
AS64500,2001:db8:1::/48,48,ripe
AS64501,2001:db8:1:8000::/49,49,ripe
`
	tests := []struct {
		name   string
		expect uint32
		block  string
		want   []matchView
		reason string // a substring of the first match's reason
	}{
		{
			name: "as0_covers_v4", expect: 64500, block: "198.51.100.0/24",
			want:   []matchView{{"198.51.100.0/24", []string{"rpki-as0/critical/198.51.100.0/24-24 => AS0"}}},
			reason: "must not be routed",
		},
		{
			name: "as0_covers_more_specific_despite_maxlength", expect: 64500, block: "198.51.100.128/25",
			want: []matchView{{"198.51.100.0/24", []string{"rpki-as0/critical/198.51.100.0/24-24 => AS0"}}},
		},
		{
			name: "as0_part_of_block", expect: 64500, block: "203.0.113.0/24",
			want: []matchView{
				{"203.0.113.0/25", []string{"rpki-roa/info/203.0.113.0/24-24 => AS64500"}},
				{"203.0.113.128/26", []string{"rpki-roa/info/203.0.113.0/24-24 => AS64500"}},
				{"203.0.113.192/26", []string{"rpki-as0/critical/203.0.113.192/26-32 => AS0", "rpki-roa/info/203.0.113.0/24-24 => AS64500"}},
			},
			reason: "covers the block",
		},
		{
			name: "foreign_origin_invalid", expect: 64500, block: "192.0.2.0/24",
			want:   []matchView{{"192.0.2.0/23", []string{"rpki-foreign-origin/high/192.0.2.0/23-24 => AS65101"}}},
			reason: "would be RPKI-invalid",
		},
		{
			name: "foreign_origin_beyond_maxlength_still_invalid", expect: 64500, block: "192.0.2.0/25",
			want:   []matchView{{"192.0.2.0/23", []string{"rpki-foreign-origin/high/192.0.2.0/23-24 => AS65101"}}},
			reason: "would be RPKI-invalid",
		},
		{
			name: "no_expected_origin_is_info", expect: 0, block: "192.0.2.0/24",
			want: []matchView{{"192.0.2.0/23", []string{"rpki-roa/info/192.0.2.0/23-24 => AS65101"}}},
		},
		{
			name: "expected_origin_within_maxlength", expect: 65101, block: "192.0.2.0/24",
			want:   []matchView{{"192.0.2.0/23", []string{"rpki-roa/info/192.0.2.0/23-24 => AS65101"}}},
			reason: "covers the block",
		},
		{
			name: "expected_origin_beyond_maxlength", expect: 65101, block: "192.0.2.0/25",
			want:   []matchView{{"192.0.2.0/23", []string{"rpki-roa/info/192.0.2.0/23-24 => AS65101"}}},
			reason: "maxLength 24 is shorter than /25",
		},
		{
			name: "roa_inside_block", expect: 64500, block: "192.0.0.0/22",
			want:   []matchView{{"192.0.2.0/23", []string{"rpki-foreign-origin/high/192.0.2.0/23-24 => AS65101"}}},
			reason: "could not announce 192.0.2.0/23",
		},
		{
			name: "no_roa_v4", expect: 64500, block: "198.18.0.0/24",
			want:   []matchView{{"198.18.0.0/24", []string{"rpki-roa/info/"}}},
			reason: "no ROA",
		},
		{
			name: "v6_as0", expect: 64500, block: "2001:db8:dead::/48",
			want: []matchView{{"2001:db8:dead::/48", []string{"rpki-as0/critical/2001:db8:dead::/48-48 => AS0", "rpki-roa/info/2001:db8::/32-48 => AS64500"}}},
		},
		{
			name: "v6_moas_roas_valid_for_expected", expect: 64500, block: "2001:db8:1::/48",
			want: []matchView{
				{"2001:db8:1::/49", []string{"rpki-roa/info/2001:db8:1::/48-48 => AS64500", "rpki-roa/info/2001:db8::/32-48 => AS64500"}},
				{"2001:db8:1:8000::/49", []string{"rpki-foreign-origin/high/2001:db8:1:8000::/49-49 => AS64501", "rpki-roa/info/2001:db8:1::/48-48 => AS64500", "rpki-roa/info/2001:db8::/32-48 => AS64500"}},
			},
		},
		{
			name: "v6_no_roa", expect: 64500, block: "2001:db9::/48",
			want: []matchView{{"2001:db9::/48", []string{"rpki-roa/info/"}}},
		},
		{
			name: "v4_mapped_block", expect: 64500, block: "::ffff:198.51.100.0/120",
			want: []matchView{{"198.51.100.0/24", []string{"rpki-as0/critical/198.51.100.0/24-24 => AS0"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := readVRPs(t, vrps, tt.expect)
			got, err := v.LookupPrefix(t.Context(), mpp(tt.block))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, viewMatches(got)); diff != "" {
				t.Errorf("LookupPrefix(%s) (-want +got):\n%s", tt.block, diff)
			}
			if tt.reason != "" && (len(got) == 0 || !strings.Contains(got[0].Reason, tt.reason)) {
				t.Errorf("reason = %q, want it to contain %q", got[0].Reason, tt.reason)
			}
			checkContract(t, mpp(tt.block), got)
		})
	}
}

// checkContract checks the PrefixLookuper contract: listed extents that
// overlap p and do not overlap each other.
func checkContract(t *testing.T, p netip.Prefix, ms []reputation.Match) {
	t.Helper()
	p = prefix.Unmap(p).Masked()
	for i, m := range ms {
		if !m.Listed {
			t.Errorf("match %s not Listed", m.Prefix)
		}
		if !m.Prefix.Overlaps(p) {
			t.Errorf("match %s does not overlap %s", m.Prefix, p)
		}
		for _, o := range ms[:i] {
			if o.Prefix.Overlaps(m.Prefix) {
				t.Errorf("matches %s and %s overlap", o.Prefix, m.Prefix)
			}
		}
	}
}

func TestVRPs_Lookup(t *testing.T) {
	t.Parallel()
	v := readVRPFile(t, "vrps.csv", 64500)
	l, err := v.Lookup(t.Context(), mpa("203.0.113.200"))
	if err != nil {
		t.Fatal(err)
	}
	var cats []string
	for _, e := range l.Evidence {
		cats = append(cats, e.Category)
	}
	slices.Sort(cats)
	if want := []string{"rpki-as0", "rpki-roa"}; !l.Listed || !slices.Equal(cats, want) {
		t.Errorf("Lookup(203.0.113.200) = %v %v, want listed with %v", l.Listed, cats, want)
	}
	if _, err := v.Lookup(canceled(), mpa("192.0.2.1")); !errors.Is(err, context.Canceled) {
		t.Errorf("Lookup with a canceled context: %v", err)
	}
}

func TestReadVRPs_bad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		wantErr  error
		fatal    bool
		line     int
		loaded   int
		contains string
	}{
		{name: "json_truncated", in: "{\n\"roas\": [\n{\"asn\": 1, \"prefix\": \"192.0.2.0/24\", \"maxLength\": 24},\n{\"asn\": 2,", wantErr: sources.ErrSyntax, fatal: true, line: 4},
		{name: "json_not_json", in: "{\n\"roas\": [ nope ]}", wantErr: sources.ErrSyntax, fatal: true, line: 2},
		{name: "json_bad_prefix", in: "{\"roas\":[\n{\"asn\":1,\"prefix\":\"192.0.2.1/24\",\"maxLength\":24},\n{\"asn\":2,\"prefix\":\"198.51.100.0/24\",\"maxLength\":24}]}", wantErr: sources.ErrSyntax, line: 2, loaded: 1, contains: "host bits"},
		{name: "json_maxlength_short", in: "{\"roas\":[\n{\"asn\":1,\"prefix\":\"192.0.2.0/24\",\"maxLength\":23},\n{\"asn\":2,\"prefix\":\"198.51.100.0/24\",\"maxLength\":24}]}", wantErr: sources.ErrSyntax, line: 2, loaded: 1, contains: "maxLength 23"},
		{name: "json_maxlength_long_v6", in: "{\"roas\":[\n{\"asn\":1,\"prefix\":\"2001:db8::/32\",\"maxLength\":129},\n{\"asn\":2,\"prefix\":\"198.51.100.0/24\",\"maxLength\":24}]}", wantErr: sources.ErrSyntax, line: 2, loaded: 1},
		{name: "json_bad_asn", in: "{\"roas\":[\n{\"asn\":\"ASX\",\"prefix\":\"192.0.2.0/24\",\"maxLength\":24},\n{\"asn\":4294967296,\"prefix\":\"192.0.2.0/24\"},\n{\"asn\":2,\"prefix\":\"198.51.100.0/24\",\"maxLength\":24}]}", wantErr: sources.ErrSyntax, line: 2, loaded: 1},
		{name: "json_unknown_fields_ignored", in: `{"x":[1,{"y":null}],"roas":[{"asn":2,"prefix":"198.51.100.0/24","maxLength":24,"extra":{"a":[true,false]}}],"aspas":[{}]}`, loaded: 1},
		{name: "json_empty", in: `{"roas":[]}`, wantErr: sources.ErrEmpty, fatal: true},
		{name: "csv_bad_line", in: "ASN,IP Prefix,Max Length,Trust Anchor\nAS1,192.0.2.0/24,24,ripe\nAS2,nope,24,ripe\n", wantErr: sources.ErrSyntax, line: 3, loaded: 1},
		{name: "csv_short_line", in: "AS1,192.0.2.0/24,24\nAS2,198.51.100.0/24\n", wantErr: sources.ErrSyntax, line: 2, loaded: 1},
		{name: "csv_whole_space", in: "AS1,0.0.0.0/0,24\nAS2,198.51.100.0/24,24\n", wantErr: sources.ErrWholeSpace, line: 1, loaded: 1},
		{name: "wrong_format_rir", in: "2|ripencc|20261129|3|19830705|20261128|+0100\nripencc|NL|ipv4|192.0.2.0|256|20100101|allocated\n", wantErr: sources.ErrWrongFormat, fatal: true, contains: "RIR delegated statistics"},
		{name: "wrong_format_pfx2as", in: "192.0.2.0\t24\t64500\n", wantErr: sources.ErrWrongFormat, fatal: true, contains: "pfx2as"},
		{name: "wrong_format_drop", in: `{"cidr":"192.0.2.0/24","sblid":"SBL1","rir":"ripencc"}` + "\n", wantErr: sources.ErrWrongFormat, fatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := sources.ReadVRPs(strings.NewReader(tt.in), sources.VRPConfig{})
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ReadVRPs: %v", err)
				}
			} else if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadVRPs error = %v, want %v", err, tt.wantErr)
			}
			if tt.fatal != (v == nil) {
				t.Fatalf("ReadVRPs returned VRPs %v, want nil: %v", v != nil, tt.fatal)
			}
			if v != nil && v.Len() != tt.loaded {
				t.Errorf("Len = %d, want %d", v.Len(), tt.loaded)
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

func TestReadVRPs_strictAndCaps(t *testing.T) {
	t.Parallel()
	in := "AS1,192.0.2.0/24,24\nAS2,nope,24\nAS3,198.51.100.0/24,24\n"
	if v, err := sources.ReadVRPs(strings.NewReader(in), sources.VRPConfig{Strict: true}); v != nil || !errors.Is(err, sources.ErrSyntax) {
		t.Errorf("strict: %v, %v; want nil and ErrSyntax", v, err)
	}
	if v, err := sources.ReadVRPs(strings.NewReader(in), sources.VRPConfig{MaxBytes: 20}); v != nil || !errors.Is(err, sources.ErrTooLarge) {
		t.Errorf("MaxBytes: %v, %v; want nil and ErrTooLarge", v, err)
	}
	long := `{"roas":[{"asn":1,"prefix":"192.0.2.0/24","ta":"` + strings.Repeat("x", 100) + `"}]}`
	if v, err := sources.ReadVRPs(strings.NewReader(long), sources.VRPConfig{MaxLineBytes: 50}); v != nil || !errors.Is(err, sources.ErrLineTooLong) {
		t.Errorf("MaxLineBytes: %v, %v; want nil and ErrLineTooLong", v, err)
	}
}
