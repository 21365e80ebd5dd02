package sources_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/internal/daemontest"
)

// The integration tests start rbldnsd (and unbound in front of it) on
// loopback high ports, serving the zone files in testdata/rbldnsd. They fail
// under CI=true when a binary is missing and skip otherwise.

// rbldnsdZones are the zones of testdata/rbldnsd, as rbldnsd arguments.
var rbldnsdZones = []string{
	"bl.example.org:ip4set:bl.ip4set",
	"bl.example.org:ip4tset:bl.ip4tset",
	"bl6.example.org:ip6trie:bl6.ip6trie",
	"bl6.example.org:ip6tset:bl6.ip6tset",
	"refuse.example.org:ip4trie:refuse.ip4trie",
	"world.example.org:ip4trie:world.ip4trie",
	"empty.example.org:ip4set:empty.ip4set",
}

// startRbldnsd serves testdata/rbldnsd on a loopback high port.
func startRbldnsd(t *testing.T) string {
	t.Helper()
	dir := daemontest.ReadableDir(t)
	files, err := filepath.Glob("testdata/rbldnsd/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no zone files: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return daemontest.Rbldnsd(t, dir, rbldnsdZones...)
}

// startUnbound runs unbound as a caching resolver with stub zones pointing at
// rbldnsd.
func startUnbound(t *testing.T, upstream string) string {
	t.Helper()
	return daemontest.Unbound(t, upstream, "bl.example.org", "bl6.example.org", "refuse.example.org", "world.example.org", "empty.example.org")
}

func integrationZone(zone string, v4, v6 bool) sources.ZoneInfo {
	z := testZone()
	z.Zone, z.IPv4, z.IPv6, z.KeyedZone = zone, v4, v6, ""
	return z
}

func TestIntegrationRbldnsd(t *testing.T) {
	t.Parallel()
	runIntegration(t, startRbldnsd(t))
}

func TestIntegrationUnbound(t *testing.T) {
	t.Parallel()
	runIntegration(t, startUnbound(t, startRbldnsd(t)))
}

func runIntegration(t *testing.T, server string) {
	ev := func(code, cat string, sev reputation.Severity, sc reputation.Scope) reputation.Evidence {
		return reputation.Evidence{Code: mpa(code), Category: cat, Severity: sev, Scope: sc}
	}
	listed := func(addr string, reason string, e ...reputation.Evidence) reputation.Listing {
		return reputation.Listing{Listed: true, Evidence: e, Reason: reason, TTL: 300 * time.Second,
			DelistURL: "https://bl.example.org/lookup?ip=" + addr}
	}
	bl := &sources.DNSBL{Zone: integrationZone("bl.example.org", true, false), Client: newClient(t, server)}
	bl6 := &sources.DNSBL{Zone: integrationZone("bl6.example.org", false, true), Client: newClient(t, server)}
	refuse := &sources.DNSBL{Zone: integrationZone("refuse.example.org", true, false), Client: newClient(t, server)}
	world := &sources.DNSBL{Zone: integrationZone("world.example.org", true, false), Client: newClient(t, server)}
	empty := &sources.DNSBL{Zone: integrationZone("empty.example.org", true, false), Client: newClient(t, server)}

	lookups := []struct {
		name    string
		bl      *sources.DNSBL
		addr    string
		want    reputation.Listing
		wantErr error
	}{
		{name: "two_datasets_two_codes", bl: bl, addr: "192.0.2.1", want: listed("192.0.2.1",
			"Exploited host 192.0.2.1; Listed in bl.example.org, see https://bl.example.org/lookup?ip=192.0.2.1",
			ev("127.0.0.2", "spam", reputation.SeverityHigh, reputation.ScopeAddress),
			ev("127.0.0.4", "exploited", reputation.SeverityMedium, reputation.ScopeAddress))},
		{name: "own_code_and_text", bl: bl, addr: "192.0.2.2", want: listed("192.0.2.2", "Hijacked netblock",
			ev("127.0.0.9", "hijacked", reputation.SeverityCritical, reputation.ScopeRange))},
		{name: "range_dollar_substitution", bl: bl, addr: "198.51.100.5", want: listed("198.51.100.5", "Spam range 198.51.100.5",
			ev("127.0.0.3", "exploited", reputation.SeverityMedium, reputation.ScopeAddress))},
		{name: "range_exclusion", bl: bl, addr: "198.51.100.7"},
		{name: "not_listed", bl: bl, addr: "192.0.2.50"},
		{name: "negative_test_point", bl: bl, addr: "127.0.0.1"},
		{name: "ipv6_range", bl: bl6, addr: "2001:db8:1::5", want: listed("2001:db8:1::5", "IPv6 spam range",
			ev("127.0.0.3", "exploited", reputation.SeverityMedium, reputation.ScopeAddress))},
		{name: "ipv6_trie_exclusion", bl: bl6, addr: "2001:db8:1::7"},
		{name: "ipv6_tset_64", bl: bl6, addr: "2001:db8:2:3::1", want: listed("2001:db8:2:3::1", "Exploited /64",
			ev("127.0.0.4", "exploited", reputation.SeverityMedium, reputation.ScopeAddress))},
		{name: "ipv6_tset_exclusion", bl: bl6, addr: "2001:db8:2:3::9"},
		{name: "ipv6_not_listed", bl: bl6, addr: "2001:db8:9::1"},
		{name: "ipv4_on_ipv6_zone", bl: bl6, addr: "192.0.2.1", wantErr: sources.ErrUnsupported},
		{name: "refusal_code", bl: refuse, addr: "192.0.2.1", wantErr: sources.ErrRefused},
		{name: "unknown_zone_nxdomain_stays_clean", bl: empty, addr: "192.0.2.1"},
		{name: "default_code", bl: empty, addr: "192.0.2.99", want: reputation.Listing{Listed: true,
			Evidence:  []reputation.Evidence{ev("127.0.0.2", "spam", reputation.SeverityHigh, reputation.ScopeAddress)},
			TTL:       300 * time.Second,
			DelistURL: "https://bl.example.org/lookup?ip=192.0.2.99"}},
	}
	for _, tc := range lookups {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			got, err := tc.bl.Lookup(ctx, mpa(tc.addr))
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s Lookup(%s) error = %v, want %v", tc.bl.Name(), tc.addr, err, tc.wantErr)
			}
			// Resolvers may reorder records: compare codes and reasons as sets.
			slices.SortFunc(got.Evidence, func(a, b reputation.Evidence) int { return a.Code.Compare(b.Code) })
			parts := strings.Split(got.Reason, "; ")
			slices.Sort(parts)
			got.Reason = strings.Join(parts, "; ")
			if got.TTL > 0 && got.TTL <= 300*time.Second && tc.want.TTL == 300*time.Second {
				got.TTL = tc.want.TTL // a caching resolver counts the TTL down
			}
			if diff := cmp.Diff(tc.want, got, opts()...); diff != "" {
				t.Errorf("%s Lookup(%s) mismatch (-want +got):\n%s", tc.bl.Name(), tc.addr, diff)
			}
		})
	}
	probes := []struct {
		name string
		bl   *sources.DNSBL
		want reputation.Status
		err  error
	}{
		{name: "probe_ok_ipv4", bl: bl, want: reputation.StatusOK},
		{name: "probe_ok_ipv6_test_points", bl: bl6, want: reputation.StatusOK},
		{name: "probe_refused", bl: refuse, want: reputation.StatusRefused, err: sources.ErrRefused},
		{name: "probe_lists_world", bl: world, want: reputation.StatusDead, err: sources.ErrBrokenList},
		{name: "probe_no_test_point", bl: empty, want: reputation.StatusDead, err: sources.ErrBrokenList},
	}
	for _, tc := range probes {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			h := tc.bl.Probe(ctx)
			if h.Status != tc.want || !errors.Is(h.Err, tc.err) {
				t.Errorf("%s Probe = %+v, want %s wrapping %v", tc.bl.Name(), h, tc.want, tc.err)
			}
		})
	}
}
