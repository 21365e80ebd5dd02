package sources_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

func TestCatalogValid(t *testing.T) {
	t.Parallel()
	names := map[string]string{}
	alive, dead := 0, 0
	for _, z := range sources.Catalog() {
		if err := z.Validate(); err != nil {
			t.Errorf("catalog entry %s: %v", z.Zone, err)
		}
		if len(z.Refs) == 0 && z.Zone != "dnsbl.anonmails.de" { // §2.3 lists it without a source
			t.Errorf("catalog entry %s has no Refs", z.Zone)
		}
		if z.Name == "" {
			t.Errorf("catalog entry %s has no Name", z.Zone)
		}
		for _, n := range append([]string{z.Zone}, z.Aliases...) {
			k := strings.ToLower(n)
			if owner, ok := names[k]; ok {
				t.Errorf("name %q used by both %s and %s", n, owner, z.Zone)
			}
			names[k] = z.Zone
		}
		if z.Dead != "" {
			dead++
			continue
		}
		alive++
		if z.Lists == "" || z.Policy == "" {
			t.Errorf("active entry %s lacks Lists or Policy", z.Zone)
		}
		if len(z.Codes) == 0 && z.Default.Category == "" {
			t.Errorf("active entry %s documents no code and no default", z.Zone)
		}
		if strings.HasSuffix(z.Zone, ".spamhaus.org") {
			if _, err := z.Decode([]netip.Addr{mpa("127.255.255.254")}); !errors.Is(err, sources.ErrRefused) {
				t.Errorf("%s: 127.255.255.254 decodes to %v, want ErrRefused", z.Zone, err)
			}
		}
	}
	if alive < 30 || dead < 10 {
		t.Errorf("catalog has %d active and %d dead entries; expected the whole fact sheet", alive, dead)
	}
}

func TestCatalogFresh(t *testing.T) {
	t.Parallel()
	a := sources.Catalog()
	a[0].Zone = "changed.example.org"
	a[0].Codes[0].Category = "changed"
	a[0].Errors[0].Kind = "changed"
	a[0].Aliases[0] = "changed"
	b := sources.Catalog()
	if b[0].Zone == "changed.example.org" || b[0].Codes[0].Category == "changed" || b[0].Errors[0].Kind == "changed" || b[0].Aliases[0] == "changed" {
		t.Errorf("Catalog() shares memory between calls")
	}
	d := sources.DefaultZones()
	d[0].Codes[0].Category = "changed"
	if sources.DefaultZones()[0].Codes[0].Category == "changed" {
		t.Errorf("DefaultZones() shares memory between calls")
	}
}

func TestCatalogSeverities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, zone, code string
		want             reputation.Severity
		scope            reputation.Scope
	}{
		{name: "drop_critical", zone: "zen", code: "127.0.0.9", want: reputation.SeverityCritical, scope: reputation.ScopeRange},
		{name: "sbl_high", zone: "zen", code: "127.0.0.2", want: reputation.SeverityHigh},
		{name: "pbl_low_range", zone: "zen", code: "127.0.0.10", want: reputation.SeverityLow, scope: reputation.ScopeRange},
		{name: "uce2_range", zone: "uceprotect-2", code: "127.0.0.2", want: reputation.SeverityMedium, scope: reputation.ScopeRange},
		{name: "uce3_asn", zone: "uceprotect-3", code: "127.0.0.2", want: reputation.SeverityLow, scope: reputation.ScopeASN},
		{name: "tor_info", zone: "tor.dan.me.uk", code: "127.0.0.100", want: reputation.SeverityInfo},
		{name: "dnswl_allow", zone: "dnswl", code: "127.0.5.2", want: reputation.SeverityAllow},
		{name: "hostkarma_white_allow", zone: "hostkarma", code: "127.0.0.1", want: reputation.SeverityAllow},
		{name: "dronebl_botnet_high", zone: "dronebl", code: "127.0.0.17", want: reputation.SeverityHigh},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			z, err := sources.LookupZone(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := z.Decode([]netip.Addr{mpa(tc.code)})
			if err != nil {
				t.Fatal(err)
			}
			if ev[0].Severity != tc.want || ev[0].Scope != tc.scope {
				t.Errorf("%s %s = %v/%v, want %v/%v", tc.zone, tc.code, ev[0].Severity, ev[0].Scope, tc.want, tc.scope)
			}
		})
	}
}

func TestCatalogErrorCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, zone, code string
		want             error
	}{
		{name: "spamhaus_rate", zone: "zen.spamhaus.org", code: "127.255.255.255", want: sources.ErrRateLimited},
		{name: "spamhaus_typo", zone: "xbl", code: "127.255.255.252", want: sources.ErrUnknownZone},
		{name: "spamhaus_key_250", zone: "sbl", code: "127.255.255.250", want: sources.ErrBadKey},
		{name: "spamhaus_key_251", zone: "pbl", code: "127.255.255.251", want: sources.ErrBadKey},
		{name: "spamhaus_range", zone: "zen", code: "127.255.255.1", want: sources.ErrRefused},
		{name: "dnswl_blocked", zone: "dnswl", code: "127.0.0.255", want: sources.ErrRateLimited},
		{name: "dnswl_over_quota", zone: "dnswl", code: "127.0.10.3", want: sources.ErrRateLimited},
		{name: "senderscore_blocked", zone: "senderscore", code: "127.255.255.255", want: sources.ErrRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			z, err := sources.LookupZone(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := z.Decode([]netip.Addr{mpa(tc.code)}); !errors.Is(err, tc.want) {
				t.Errorf("%s answering %s: %v, want %v", tc.zone, tc.code, err, tc.want)
			}
		})
	}
	// The dnswl test entry answers 127.0.10.0: it must stay a listing, or
	// the probe would call dnswl refused.
	z, _ := sources.LookupZone("list.dnswl.org")
	if _, err := z.Decode([]netip.Addr{mpa("127.0.10.0")}); err != nil {
		t.Errorf("dnswl test entry: %v", err)
	}
}

func TestLookupZone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		wantErr        error
		wantText       string
	}{
		{name: "zone", in: "zen.spamhaus.org", want: "zen.spamhaus.org"},
		{name: "alias", in: "zen", want: "zen.spamhaus.org"},
		{name: "case_and_dot", in: " ZEN.Spamhaus.ORG. ", want: "zen.spamhaus.org"},
		{name: "alias_case", in: "Barracuda", want: "b.barracudacentral.org"},
		{name: "dead_zone", in: "dnsbl.sorbs.net", wantErr: sources.ErrDeadList, wantText: "dnsbl.sorbs.net: decommissioned by Proofpoint 2024-06-05"},
		{name: "dead_alias", in: "njabl", wantErr: sources.ErrDeadList, wantText: "lists the world"},
		{name: "dead_subzone", in: "spam.dnsbl.sorbs.net", wantErr: sources.ErrDeadList},
		{name: "dead_country_list", in: "cn.country.spameatingmonkey.net", wantErr: sources.ErrDeadList},
		{name: "dead_ahbl", in: "dnsbl.ahbl.org", wantErr: sources.ErrDeadList},
		{name: "unknown", in: "bl.example.org", wantText: "sources.Catalog"},
		{name: "empty", in: "", wantText: "not in the built-in catalog"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			z, err := sources.LookupZone(tc.in)
			if tc.want != "" {
				if err != nil || z.Zone != tc.want {
					t.Errorf("LookupZone(%q) = %q, %v, want %q", tc.in, z.Zone, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("LookupZone(%q) = %q, want an error", tc.in, z.Zone)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("LookupZone(%q) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			if tc.wantErr == nil && errors.Is(err, sources.ErrDeadList) {
				t.Errorf("LookupZone(%q) error = %v, must not be ErrDeadList", tc.in, err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("LookupZone(%q) error = %q, want it to contain %q", tc.in, err, tc.wantText)
			}
		})
	}
}

func TestDefaultZones(t *testing.T) {
	t.Parallel()
	want := []string{"zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org", "dnsbl-1.uceprotect.net", "dnsbl-2.uceprotect.net",
		"psbl.surriel.com", "bl.mailspike.net", "all.s5h.net", "dnsbl.dronebl.org", "bl.blocklist.de"}
	var got []string
	for _, z := range sources.DefaultZones() {
		got = append(got, z.Zone)
		if z.Dead != "" || z.KeyedZone != "" && z.Zone != "zen.spamhaus.org" {
			t.Errorf("default zone %s is dead or keyed-only", z.Zone)
		}
		if _, err := sources.LookupZone(z.Zone); err != nil {
			t.Errorf("default zone %s: %v", z.Zone, err)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DefaultZones (-want +got):\n%s", diff)
	}
}

func TestReadZoneInfos(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/zones.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := sources.ReadZoneInfos(f)
	if err != nil {
		t.Fatalf("ReadZoneInfos: %v", err)
	}
	want := []sources.ZoneInfo{
		{
			Zone: "bl.example.org", Name: "Example BL", Aliases: []string{"example-bl"}, IPv4: true, IPv6: true,
			Codes: []sources.Code{
				{Addr: mpa("127.0.0.2"), Category: "spam", Severity: reputation.SeverityHigh, Description: "spam source"},
				{Addr: mpa("127.0.0.9"), Category: "hijacked", Severity: reputation.SeverityCritical, Scope: reputation.ScopeRange},
			},
			Default: sources.Code{Category: "listed", Severity: reputation.SeverityLow},
			Errors: []sources.ErrorCode{
				{Prefix: mpp("127.255.255.0/24"), Kind: sources.ErrorRefused},
				{Prefix: mpp("127.255.255.255/32"), Kind: sources.ErrorRateLimited},
			},
			TXT: true, DelistURL: "https://bl.example.org/lookup?ip={ip}", KeyedZone: "{key}.bl.dq.example.org",
			Rate: 20, Budget: 10000, Refs: []string{"local"},
		},
		{
			Zone: "policy.example.org", IPv4: true, // no family given: IPv4
			Codes: []sources.Code{{Addr: mpa("127.0.0.10"), Category: "policy", Severity: reputation.SeverityInfo, Scope: reputation.ScopeRange}},
		},
	}
	if diff := cmp.Diff(want, got, opts()...); diff != "" {
		t.Errorf("ReadZoneInfos mismatch (-want +got):\n%s", diff)
	}
}

func TestReadZoneInfosErrors(t *testing.T) {
	t.Parallel()
	bad, err := os.ReadFile("testdata/zones-bad.json")
	if err != nil {
		t.Fatal(err)
	}
	type loc struct {
		Line  int
		Zone  string
		Field string
	}
	tests := []struct {
		name    string
		in      string
		want    []loc
		wantErr error // optional, errors.Is on the joined error
	}{
		{name: "file_with_errors", in: string(bad), want: []loc{
			{6, "typo.example.org", "codes[1]"},
			{6, "typo.example.org", "errors[0].kind"},
			{14, "dnsbl.sorbs.net", "zone"},
			{17, "other.example.org", "aliases[0]"},
		}, wantErr: sources.ErrDeadList},
		{name: "not_an_array", in: `{"zone": "bl.example.org"}`, want: []loc{{1, "", ""}}},
		{name: "syntax_error", in: "[\n{\"zone\": \"a.example.org\"},\n{\"zone\": }\n]", want: []loc{{3, "", ""}}},
		{name: "truncated", in: "[\n{\"zone\": \"a.example.org\"}", want: []loc{{2, "", ""}}},
		{name: "unknown_field", in: "[\n {\"zone\": \"a.example.org\", \"colour\": 1}]", want: []loc{{2, "", ""}}},
		{name: "wrong_type", in: "[\n\n {\"zone\": \"a.example.org\", \"rate\": \"fast\"}]", want: []loc{{3, "", "rate"}}},
		{name: "bad_severity", in: `[{"zone": "a.example.org", "codes": [{"code": "127.0.0.2", "category": "x", "severity": "dire"}]}]`, want: []loc{{1, "", ""}}},
		{name: "bad_code_addr", in: `[{"zone": "a.example.org", "codes": [{"code": "127.0.0", "category": "x"}]}]`, want: []loc{{1, "", ""}}},
		{name: "prefix_not_cidr", in: `[{"zone": "a.example.org", "errors": [{"prefix": "127.255.255.254", "kind": "refused"}]}]`, want: []loc{{1, "", ""}}},
		{name: "duplicate_zone", in: "[{\"zone\": \"a.example.org\"},\n{\"zone\": \"A.example.org\"}]", want: []loc{{2, "A.example.org", "zone"}}},
		{name: "trailing_data", in: `[] []`, want: []loc{{1, "", ""}}},
		{name: "empty_input", in: ``, want: []loc{{1, "", ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			zones, err := sources.ReadZoneInfos(strings.NewReader(tc.in))
			if zones != nil || err == nil {
				t.Fatalf("ReadZoneInfos = %v, %v, want nil and an error", zones, err)
			}
			var got []loc
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, e := range errs {
				var ze *sources.ZoneError
				if !errors.As(e, &ze) {
					t.Fatalf("error %v is not a *ZoneError", e)
				}
				got = append(got, loc{ze.Line, ze.Zone, ze.Field})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ReadZoneInfos error = %v\nlocations (-want +got):\n%s", err, diff)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("ReadZoneInfos error = %v, want errors.Is %v", err, tc.wantErr)
			}
		})
	}
}

func TestReadZoneInfosEmptyAndLarge(t *testing.T) {
	t.Parallel()
	zones, err := sources.ReadZoneInfos(strings.NewReader(" [ ] \n"))
	if err != nil || zones == nil || len(zones) != 0 {
		t.Errorf("ReadZoneInfos(empty array) = %v, %v, want an empty slice", zones, err)
	}
	big := "[" + strings.Repeat(" ", sources.MaxZoneFileSize) + "]"
	if _, err := sources.ReadZoneInfos(strings.NewReader(big)); err == nil {
		t.Errorf("ReadZoneInfos accepted a file over MaxZoneFileSize")
	}
}

// TestReadZoneInfosCatalogRoundTrip writes the live catalog as a zone file
// and reads it back: the JSON form is complete and the catalog passes the
// same checks as user files.
func TestReadZoneInfosCatalogRoundTrip(t *testing.T) {
	t.Parallel()
	var live []sources.ZoneInfo
	for _, z := range sources.Catalog() {
		if z.Dead == "" {
			live = append(live, z)
		}
	}
	data, err := json.MarshalIndent(live, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got, err := sources.ReadZoneInfos(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadZoneInfos(catalog): %v", err)
	}
	if diff := cmp.Diff(live, got, opts()...); diff != "" {
		t.Errorf("catalog round trip (-want +got):\n%s", diff)
	}
}

func FuzzReadZoneInfos(f *testing.F) {
	for _, name := range []string{"testdata/zones.json", "testdata/zones-bad.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`[{"zone":"a.example.org","ipv6":true,"codes":[{"code":"127.0.0.2","category":"spam","severity":"low","scope":"asn"}]}]`))
	f.Add([]byte(`[{"zone":"a.example.org","errors":[{"prefix":"127.0.0.0/8","kind":"bad-key"}],"rate":1e308}]`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		zones, err := sources.ReadZoneInfos(bytes.NewReader(data))
		if err != nil {
			if zones != nil {
				t.Fatalf("zones and an error: %v", err)
			}
			return
		}
		for _, z := range zones {
			if err := z.Validate(); err != nil {
				t.Fatalf("accepted an invalid zone: %v", err)
			}
		}
		// Accepted files round-trip through their JSON form.
		out, err := json.Marshal(zones)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := sources.ReadZoneInfos(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("re-reading %s: %v", out, err)
		}
		if diff := cmp.Diff(zones, again, opts()...); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
