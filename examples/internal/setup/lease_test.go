package setup

import (
	"bytes"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

const (
	testVRPs    = "ASN,IP Prefix,Max Length,Trust Anchor\nAS0,198.51.100.0/24,24,apnic\nAS64501,192.0.2.0/24,24,ripe\n"
	testRIR     = "2|ripencc|20261129|2|19830705|20261128|+0100\nripencc||ipv4|203.0.113.0|256||available\nripencc|NL|ipv4|192.0.2.0|256|20100101|allocated|x\n"
	testPfx2as  = "192.0.2.0\t24\t64666\n"
	testASNDrop = `{"asn":64666,"rir":"ripencc","domain":"bad.example.org","cc":"NL","asname":"BAD-AS"}` + "\n"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// categories returns the categories every source gives for p.
func categories(t *testing.T, srcs []reputation.Source, p string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, s := range srcs {
		ms, err := s.(reputation.PrefixLookuper).LookupPrefix(t.Context(), netip.MustParsePrefix(p))
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		for _, m := range ms {
			for _, e := range m.Evidence {
				out[s.Name()] = append(out[s.Name()], e.Category)
			}
		}
	}
	return out
}

func TestLeaseFlags_files(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"vrps.csv": testVRPs, "delegated-ripencc-extended-latest": testRIR, "pfx2as": testPfx2as, "asndrop.json": testASNDrop})
	var f Flags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f.Register(fs)
	err := fs.Parse([]string{"-zones", "none", "-vrps", filepath.Join(dir, "vrps.csv"), "-rir-stats", filepath.Join(dir, "delegated-ripencc-extended-latest"),
		"-origins", filepath.Join(dir, "pfx2as"), "-asn-drop", filepath.Join(dir, "asndrop.json"), "-expect-origin", "AS64500"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Lease.ExpectOrigin != 64500 {
		t.Errorf("-expect-origin AS64500 = %d", f.Lease.ExpectOrigin)
	}
	var warn bytes.Buffer
	srcs, closeFn, err := f.Sources(t.Context(), &warn)
	closeFn()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range srcs {
		names = append(names, s.Name())
	}
	if want := "rpki delegated-ripencc-extended-latest origins asn-drop"; strings.Join(names, " ") != want {
		t.Errorf("sources %v, want %s", names, want)
	}
	got := categories(t, srcs, "192.0.2.0/24")
	want := map[string][]string{
		"rpki":                              {"rpki-foreign-origin"},
		"delegated-ripencc-extended-latest": {"rir-delegated"},
		"origins":                           {"announced", "foreign-origin"},
		"asn-drop":                          {"asn-drop"},
	}
	for k, v := range want {
		if strings.Join(got[k], ",") != strings.Join(v, ",") {
			t.Errorf("%s: categories %v, want %v", k, got[k], v)
		}
	}
	if warn.Len() != 0 {
		t.Errorf("warnings: %s", warn.String())
	}
}

func TestLeaseFlags_bad(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"vrps.csv": testVRPs, "pfx2as": testPfx2as, "asndrop.json": testASNDrop})
	tests := []struct {
		name    string
		lease   LeaseFlags
		wantErr error
		want    string
	}{
		{name: "vrps_as_rir_stats", lease: LeaseFlags{RIRStats: []string{filepath.Join(dir, "vrps.csv")}}, wantErr: sources.ErrWrongFormat, want: "want RIR delegated statistics"},
		{name: "pfx2as_as_vrps", lease: LeaseFlags{VRPs: filepath.Join(dir, "pfx2as")}, wantErr: sources.ErrWrongFormat, want: "-vrps"},
		{name: "asn_drop_without_origins", lease: LeaseFlags{ASNDrop: filepath.Join(dir, "asndrop.json")}, want: "-asn-drop needs -origins"},
		{name: "missing_file", lease: LeaseFlags{Origins: filepath.Join(dir, "nope")}, wantErr: os.ErrNotExist, want: "-origins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &Flags{Zones: "none", Lease: tt.lease}
			_, closeFn, err := f.Sources(t.Context(), &bytes.Buffer{})
			closeFn()
			var ie *InputError
			if !errors.As(err, &ie) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want an InputError wrapping %v that mentions %q", err, tt.wantErr, tt.want)
			}
		})
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	var f Flags
	f.Register(fs)
	if err := fs.Parse([]string{"-expect-origin", "ASX"}); err == nil {
		t.Error("-expect-origin ASX: want an error")
	}
}

// Lease files given as URLs are fetched once and kept across runs, and
// ASN-DROP consults the route table its Fetcher serves.
func TestLeaseFlags_urls(t *testing.T) {
	t.Parallel()
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		body := map[string]string{"/vrps.csv": testVRPs, "/delegated": testRIR, "/pfx2as": testPfx2as, "/asndrop.json": testASNDrop}[r.URL.Path]
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	f := &Flags{Zones: "none", Lease: LeaseFlags{VRPs: srv.URL + "/vrps.csv", RIRStats: []string{srv.URL + "/delegated"}, Origins: srv.URL + "/pfx2as", ASNDrop: srv.URL + "/asndrop.json", ExpectOrigin: 64500}}
	for run := range 2 {
		srcs, closeFn, err := f.Sources(t.Context(), &bytes.Buffer{})
		closeFn()
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		got := categories(t, srcs, "192.0.2.0/24")
		if c := got[srv.URL+"/delegated"]; len(c) != 1 || c[0] != "rir-delegated" {
			t.Errorf("run %d: rir-stats categories %v (all: %v)", run, c, got)
		}
		if c := got["asn-drop"]; len(c) != 1 || c[0] != "asn-drop" {
			t.Errorf("run %d: asn-drop categories %v", run, c)
		}
	}
	if n := gets.Load(); n != 4 {
		t.Errorf("%d requests for 4 files in two runs, want 4", n)
	}
	var warn bytes.Buffer
	f.Refresh(t.Context(), &warn)
	if gets.Load() != 4 || warn.Len() != 0 {
		t.Errorf("Refresh within the minimum interval: %d requests, warnings %q", gets.Load(), warn.String())
	}
}
