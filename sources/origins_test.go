package sources_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

const pfx2as = `# prefix	length	origin
192.0.2.0	24	64500
198.51.100.0	23	64501
198.51.100.128	25	64666
203.0.113.0	24	64500_64502
2001:db8::	32	64500
2001:db8:1::	48	64503,64504
2001:db8:bad::	48	64666
`

const asnDrop = `{"asn":64666,"rir":"ripencc","domain":"bad.example.org","cc":"NL","asname":"BAD-AS"}
{"asn":"AS64667","rir":"arin","domain":"worse.example.org","cc":"US","asname":"WORSE","extra":[1]}
{"type":"metadata","timestamp":1795953600,"size":180,"records":2,"copyright":"(c) 2026 The Spamhaus Project SLU","terms":"https://www.spamhaus.org/drop/terms/"}
`

func readOrigins(t *testing.T, expect uint32) *sources.Origins {
	t.Helper()
	o, err := sources.ReadOrigins(strings.NewReader(pfx2as), sources.OriginsConfig{ExpectOrigin: expect})
	if err != nil {
		t.Fatalf("ReadOrigins: %v", err)
	}
	return o
}

func TestOrigins_LookupPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		expect uint32
		block  string
		want   []matchView
		reason string
	}{
		{name: "expected_origin", expect: 64500, block: "192.0.2.0/24",
			want: []matchView{{"192.0.2.0/24", []string{"announced/info/AS64500"}}}, reason: "192.0.2.0/24 announced by AS64500"},
		{name: "foreign_origin", expect: 64500, block: "198.51.100.0/25",
			want:   []matchView{{"198.51.100.0/25", []string{"announced/info/AS64501", "foreign-origin/high/AS64501"}}},
			reason: "someone else routes this space today"},
		{name: "unknown_expectation_no_foreign", expect: 0, block: "198.51.100.0/25",
			want: []matchView{{"198.51.100.0/25", []string{"announced/info/AS64501"}}}},
		{name: "more_specific_inside", expect: 64501, block: "198.51.100.0/24",
			want: []matchView{
				{"198.51.100.0/25", []string{"announced/info/AS64501"}},
				{"198.51.100.128/25", []string{"announced/info/AS64501", "announced/info/AS64666", "foreign-origin/high/AS64666"}},
			}},
		{name: "moas", expect: 64500, block: "203.0.113.0/24",
			want:   []matchView{{"203.0.113.0/24", []string{"announced/info/AS64500", "announced/info/AS64502", "foreign-origin/high/AS64502"}}},
			reason: "several origins, MOAS"},
		{name: "v6_covering", expect: 64500, block: "2001:db8:5::/48",
			want: []matchView{{"2001:db8:4::/46", []string{"announced/info/AS64500"}}}, reason: "2001:db8::/32 announced by AS64500"},
		{name: "v6_as_set", expect: 64500, block: "2001:db8:1::/48",
			want:   []matchView{{"2001:db8:1::/48", []string{"announced/info/AS64500", "announced/info/AS64503", "announced/info/AS64504", "foreign-origin/high/AS64503", "foreign-origin/high/AS64504"}}},
			reason: "an AS set"},
		{name: "not_announced", expect: 64500, block: "198.18.0.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := readOrigins(t, tt.expect)
			got, err := o.LookupPrefix(t.Context(), mpp(tt.block))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, viewMatches(got)); diff != "" {
				t.Errorf("LookupPrefix(%s) (-want +got):\n%s", tt.block, diff)
			}
			if tt.reason != "" && (len(got) == 0 || !strings.Contains(got[len(got)-1].Reason, tt.reason)) {
				t.Errorf("reason %v, want it to contain %q", got, tt.reason)
			}
			checkContract(t, mpp(tt.block), got)
		})
	}
}

func TestASNDrop_LookupPrefix(t *testing.T) {
	t.Parallel()
	o := readOrigins(t, 64500)
	d, err := sources.ReadASNDrop(strings.NewReader(asnDrop), sources.ASNDropConfig{Routes: o})
	if err != nil {
		t.Fatalf("ReadASNDrop: %v", err)
	}
	if d.Len() != 2 || d.Meta().Records != 2 || !strings.Contains(d.Meta().Copyright, "Spamhaus") {
		t.Errorf("Len %d, Meta %+v", d.Len(), d.Meta())
	}
	if e, ok := d.LookupASN(64667); !ok || e.ASName != "WORSE" {
		t.Errorf("LookupASN(64667) = %+v, %v", e, ok)
	}
	tests := []struct {
		name, block string
		want        []matchView
	}{
		{"inside_block_v4", "198.51.100.0/23", []matchView{{"198.51.100.128/25", []string{"asn-drop/critical/AS64666"}}}},
		{"covering_v4", "198.51.100.192/26", []matchView{{"198.51.100.128/25", []string{"asn-drop/critical/AS64666"}}}},
		{"v6", "2001:db8:bad::/48", []matchView{{"2001:db8:bad::/48", []string{"asn-drop/critical/AS64666"}}}},
		{"clean", "192.0.2.0/24", nil},
	}
	for _, tt := range tests {
		got, err := d.LookupPrefix(t.Context(), mpp(tt.block))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, viewMatches(got)); diff != "" {
			t.Errorf("%s: LookupPrefix(%s) (-want +got):\n%s", tt.name, tt.block, diff)
		}
		for _, m := range got {
			if m.Evidence[0].Scope != reputation.ScopeASN || !strings.Contains(m.Reason, "BAD-AS, NL, bad.example.org") {
				t.Errorf("%s: %+v: want scope asn and the AS described", tt.name, m)
			}
		}
		checkContract(t, mpp(tt.block), got)
	}
	l, err := d.Lookup(t.Context(), mpa("198.51.100.129"))
	if err != nil || !l.Listed {
		t.Errorf("Lookup = %+v, %v; want listed", l, err)
	}
}

func TestReadOriginsAndASNDrop_bad(t *testing.T) {
	t.Parallel()
	o := readOrigins(t, 0)
	tests := []struct {
		name     string
		read     func(string) (int, error)
		in       string
		wantErr  error
		fatal    bool
		line     int
		contains string
	}{
		{name: "pfx2as_bad_length", in: "192.0.2.0\t24\t64500\n198.51.100.0\t33\t64500\n", wantErr: sources.ErrSyntax, line: 2},
		{name: "pfx2as_host_bits", in: "192.0.2.0\t24\t64500\n198.51.100.1\t24\t64500\n", wantErr: sources.ErrSyntax, line: 2, contains: "host bits"},
		{name: "pfx2as_bad_asn", in: "192.0.2.0\t24\t64500\n198.51.100.0\t24\t64500_x\n", wantErr: sources.ErrSyntax, line: 2},
		{name: "pfx2as_two_fields", in: "192.0.2.0\t24\t64500\n198.51.100.0\t24\n", wantErr: sources.ErrSyntax, line: 2},
		{name: "pfx2as_given_rir_stats", in: "ripencc|NL|ipv4|192.0.2.0|256|20100101|allocated\n", wantErr: sources.ErrWrongFormat, fatal: true, contains: "want a prefix-to-origin table"},
		{name: "pfx2as_given_vrps", in: "{\n\"roas\": []}\n", wantErr: sources.ErrWrongFormat, fatal: true},
		{name: "asndrop_bad_json", in: `{"asn":64666}` + "\n{\"asn\":\n", wantErr: sources.ErrSyntax, line: 2},
		{name: "asndrop_bad_asn", in: `{"asn":64666}` + "\n" + `{"asn":"ASX"}` + "\n", wantErr: sources.ErrSyntax, line: 2},
		{name: "asndrop_no_asn", in: `{"asn":64666}` + "\n" + `{"cc":"NL"}` + "\n", wantErr: sources.ErrSyntax, line: 2},
		{name: "asndrop_given_drop", in: `{"cidr":"192.0.2.0/24","sblid":"SBL1","rir":"ripencc"}` + "\n", wantErr: sources.ErrWrongFormat, fatal: true, contains: "Spamhaus DROP"},
		{name: "asndrop_text", in: "; Spamhaus ASN-DROP (c) 2021\nAS64666 ; NL | BAD-AS\nnope\n", wantErr: sources.ErrSyntax, line: 3},
		{name: "asndrop_only_metadata", in: `{"type":"metadata","records":0}` + "\n", wantErr: sources.ErrEmpty, fatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n int
			var err error
			if strings.HasPrefix(tt.name, "pfx2as") {
				var got *sources.Origins
				if got, err = sources.ReadOrigins(strings.NewReader(tt.in), sources.OriginsConfig{}); got != nil {
					n = got.Len()
				}
			} else {
				var got *sources.ASNDrop
				if got, err = sources.ReadASNDrop(strings.NewReader(tt.in), sources.ASNDropConfig{Routes: o}); got != nil {
					n = got.Len()
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if tt.fatal != (n == 0) {
				t.Fatalf("loaded %d entries, want none: %v", n, tt.fatal)
			}
			if !tt.fatal && n != 1 {
				t.Errorf("loaded %d entries, want 1", n)
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
	if _, err := sources.ReadASNDrop(strings.NewReader(asnDrop), sources.ASNDropConfig{}); !errors.Is(err, sources.ErrNoRoutes) {
		t.Errorf("ReadASNDrop without Routes: %v, want ErrNoRoutes", err)
	}
}

// TestFetcher_leaseSources: the Fetcher serves the lease-check sources
// through Read, and an ASN-DROP consults the route table a Fetcher serves.
func TestFetcher_leaseSources(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		switch r.URL.Path {
		case "/pfx2as":
			io.WriteString(w, pfx2as)
		case "/asndrop.json":
			io.WriteString(w, asnDrop)
		case "/vrps.json":
			io.WriteString(w, `{"roas":[{"asn":0,"prefix":"198.51.100.0/24","maxLength":24,"ta":"apnic"}]}`)
		case "/delegated":
			io.WriteString(w, rirFiles["arin"])
		}
	}))
	t.Cleanup(srv.Close)
	routes := &sources.Fetcher{URL: srv.URL + "/pfx2as", Client: srv.Client(), Read: func(r io.Reader, name string) (reputation.Source, error) {
		o, err := sources.ReadOrigins(r, sources.OriginsConfig{Name: name, ExpectOrigin: 64500})
		if o == nil {
			return nil, err
		}
		return o, err
	}}
	drop := &sources.Fetcher{URL: srv.URL + "/asndrop.json", Client: srv.Client(), Read: func(r io.Reader, name string) (reputation.Source, error) {
		d, err := sources.ReadASNDrop(r, sources.ASNDropConfig{Name: name, Routes: routes})
		if d == nil {
			return nil, err
		}
		return d, err
	}}
	vrps := &sources.Fetcher{URL: srv.URL + "/vrps.json", Client: srv.Client(), Read: func(r io.Reader, name string) (reputation.Source, error) {
		v, err := sources.ReadVRPs(r, sources.VRPConfig{Name: name})
		if v == nil {
			return nil, err
		}
		return v, err
	}}
	rir := &sources.Fetcher{URL: srv.URL + "/delegated", Client: srv.Client(), Read: func(r io.Reader, name string) (reputation.Source, error) {
		s, err := sources.ReadRIRStats(r, sources.RIRStatsConfig{Name: name})
		if s == nil {
			return nil, err
		}
		return s, err
	}}
	if _, err := drop.LookupPrefix(t.Context(), mpp("198.51.100.0/24")); !errors.Is(err, sources.ErrNotLoaded) {
		t.Errorf("before any fetch: %v, want ErrNotLoaded", err)
	}
	for _, f := range []*sources.Fetcher{routes, drop, vrps, rir} {
		if err := f.Refresh(t.Context()); err != nil {
			t.Fatalf("Refresh %s: %v", f.URL, err)
		}
		if f.List() != nil || f.Source() == nil {
			t.Errorf("%s: List %v, Source %v", f.URL, f.List(), f.Source())
		}
	}
	cases := []struct {
		f    *sources.Fetcher
		cat  string
		want string
	}{
		{drop, sources.CategoryASNDrop, "198.51.100.128/25"},
		{routes, sources.CategoryForeignOrigin, "198.51.100.0/25"},
		{vrps, sources.CategoryRPKIAS0, "198.51.100.0/24"},
		{rir, sources.CategoryRIRUnallocated, "198.51.100.0/25"},
	}
	for _, c := range cases {
		ms, err := c.f.LookupPrefix(t.Context(), mpp("198.51.100.0/24"))
		if err != nil || len(ms) == 0 || ms[0].Prefix.String() != c.want || !hasCategory(ms, c.cat) {
			t.Errorf("%s: LookupPrefix = %v, %v; want %s first and a %s", c.f.URL, viewMatches(ms), err, c.want, c.cat)
		}
	}
	if _, err := vrps.LookupRoutes(t.Context(), mpp("198.51.100.0/24")); err == nil {
		t.Error("LookupRoutes on a VRP Fetcher: want an error")
	}
	// MinInterval keeps a second refresh from sending a request.
	before := hits.Load()
	if err := drop.Refresh(t.Context()); err != nil || hits.Load() != before {
		t.Errorf("second Refresh: %v, requests %d -> %d", err, before, hits.Load())
	}
}

func hasCategory(ms []reputation.Match, cat string) bool {
	for _, m := range ms {
		for _, e := range m.Evidence {
			if e.Category == cat {
				return true
			}
		}
	}
	return false
}
