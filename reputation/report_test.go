package reputation_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/prefixvet/prefixvet/reputation"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func dnsbl(f *fake) reputation.Source {
	return described{f, reputation.Info{Kind: reputation.KindDNSBL, IPv4: true, IPv6: true}}
}

func addrRange(from, to string) map[netip.Addr]bool {
	m := map[netip.Addr]bool{}
	for a := mpa(from); a.Compare(mpa(to)) <= 0; a = a.Next() {
		m[a] = true
	}
	return m
}

// scenarios are the blocks and sources behind the golden reports.
func scenarios() []struct {
	name   string
	scorer *reputation.Scorer
	prefix netip.Prefix
} {
	spamcopListed := addrRange("192.0.2.10", "192.0.2.21")
	spamcop := &fake{name: "spamcop", listFn: func(a netip.Addr) (reputation.Listing, bool) {
		l := spam("127.0.0.2", reputation.SeverityHigh)
		l.DelistURL = "https://www.spamcop.example.org/query?ip=" + a.String()
		return l, spamcopListed[a]
	}}
	zen := &fake{name: "zen", listed: map[netip.Addr]reputation.Listing{
		mpa("192.0.2.10"): {Listed: true, Reason: "https://check.example.org/sbl/SBL7", Evidence: []reputation.Evidence{
			{Code: mpa("127.0.0.3"), Category: "snowshoe", Severity: reputation.SeverityCritical, ID: "SBL7"},
			{Code: mpa("127.0.0.10"), Category: "policy", Severity: reputation.SeverityInfo},
		}},
	}}
	dnswl := &fake{name: "dnswl", listed: map[netip.Addr]reputation.Listing{
		mpa("192.0.2.200"): {Listed: true, Evidence: []reputation.Evidence{{Code: mpa("127.0.10.2"), Category: "whitelist", Severity: reputation.SeverityAllow}}},
	}}
	flaky := map[netip.Addr]error{}
	for a := range addrRange("192.0.2.30", "192.0.2.32") {
		flaky[a] = errors.New("sources: query timed out")
	}
	barracuda := &fake{name: "barracuda", errs: flaky}
	firehol := &feed{name: "firehol", entries: []reputation.Match{entry("192.0.2.64/28", "abuse", reputation.SeverityMedium, reputation.ScopeRange, "")}}

	drop := &feed{name: "drop", entries: []reputation.Match{entry("192.0.0.0/22", "hijacked", reputation.SeverityCritical, reputation.ScopeRange, "SBL123456")}}
	drop.entries[0].DelistURL = "https://www.example.org/drop/SBL123456"

	refusedZen := probed{&fake{name: "zen"}, reputation.Health{Status: reputation.StatusRefused,
		Detail: "resolver 127.0.0.1:53 refused by list operator (127.255.255.254)"}, nil}
	timeouts := map[netip.Addr]error{}
	for a := range addrRange("192.0.2.0", "192.0.2.39") {
		timeouts[a] = errors.New("sources: query timed out")
	}

	v6 := &fake{name: "spamhaus-v6", listFn: func(a netip.Addr) (reputation.Listing, bool) {
		return spam("127.0.0.2", reputation.SeverityHigh), a.As16()[7]%16 == 0
	}}
	v6feed := &feed{name: "drop-v6", entries: []reputation.Match{entry("2001:db8:1:ff00::/56", "hijacked", reputation.SeverityCritical, reputation.ScopeRange, "SBL9")}}

	var failing []reputation.Source
	for i := range 10 {
		failing = append(failing, dnsbl(&fake{name: fmt.Sprintf("zone%d", i), errAll: errors.New("sources: server failure")}))
	}

	return []struct {
		name   string
		scorer *reputation.Scorer
		prefix netip.Prefix
	}{
		{"clean_v4_24", &reputation.Scorer{Sources: []reputation.Source{dnsbl(&fake{name: "spamcop"}), &feed{name: "drop"}}}, mpp("192.0.2.0/24")},
		{"mixed_v4_24", &reputation.Scorer{Sources: []reputation.Source{dnsbl(spamcop), dnsbl(zen), dnsbl(dnswl), dnsbl(barracuda), firehol}}, mpp("192.0.2.0/24")},
		{"critical_v4_24", &reputation.Scorer{Sources: []reputation.Source{dnsbl(&fake{name: "spamcop"}), drop}}, mpp("192.0.2.0/24")},
		{"refused_v4_24", &reputation.Scorer{Sources: []reputation.Source{refusedZen, dnsbl(&fake{name: "spamcop", errs: timeouts})}}, mpp("192.0.2.0/24")},
		{"sampled_v6_48", &reputation.Scorer{Sources: []reputation.Source{dnsbl(v6), v6feed}, MaxAddrs: 512}, mpp("2001:db8:1::/48")},
		{"all_failing_v4_24", &reputation.Scorer{Sources: failing}, mpp("192.0.2.0/24")},
	}
}

func scoreScenario(t *testing.T, name string) *reputation.Report {
	t.Helper()
	for _, sc := range scenarios() {
		if sc.name == name {
			sc.scorer.AllowSpecial = true
			rep, err := sc.scorer.Score(t.Context(), sc.prefix)
			if err != nil {
				t.Fatalf("Score(%s): %v", name, err)
			}
			rep.DurationMS = 0
			return rep
		}
	}
	t.Fatalf("no scenario %q", name)
	return nil
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func TestReport_golden(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			rep := scoreScenario(t, sc.name)
			js, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, sc.name+".json", append(js, '\n'))
			var txt bytes.Buffer
			if err := rep.WriteText(&txt); err != nil {
				t.Fatal(err)
			}
			golden(t, sc.name+".txt", txt.Bytes())
		})
	}
}

func TestReport_verdictsOfScenarios(t *testing.T) {
	t.Parallel()
	want := map[string]reputation.Verdict{
		"clean_v4_24": reputation.VerdictClean, "mixed_v4_24": reputation.VerdictReview,
		"critical_v4_24": reputation.VerdictReject, "refused_v4_24": reputation.VerdictIncomplete,
		"sampled_v6_48": reputation.VerdictReview, "all_failing_v4_24": reputation.VerdictIncomplete,
	}
	for name, v := range want {
		if got := scoreScenario(t, name).Verdict; got != v {
			t.Errorf("%s: verdict %s, want %s", name, got, v)
		}
	}
}

func TestReport_JSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			rep := scoreScenario(t, sc.name)
			js, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			var back reputation.Report
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(rep, &back, reportOpts()...); diff != "" {
				t.Errorf("JSON round trip changed the report (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReport_JSONFieldNames(t *testing.T) {
	t.Parallel()
	js, err := json.Marshal(scoreScenario(t, "mixed_v4_24"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"prefix", "score", "verdict", "addresses_total", "addresses_checked", "sampled", "seed",
		"coverage", "duration_ms", "policy_version", "reasons", "sources", "listings", "whitelist", "unknown"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report JSON has no %q field", k)
		}
	}
}

func TestReport_reasonsSortedWithText(t *testing.T) {
	t.Parallel()
	rep := scoreScenario(t, "mixed_v4_24")
	rank := map[reputation.Verdict]int{"": 0, reputation.VerdictReview: 1, reputation.VerdictReject: 2}
	for i, r := range rep.Reasons {
		if i > 0 {
			prev := rep.Reasons[i-1]
			if rank[r.Forces] > rank[prev.Forces] || rank[r.Forces] == rank[prev.Forces] && r.Points > prev.Points {
				t.Errorf("reason %d (forces %q, %v points) after (forces %q, %v points)", i, r.Forces, r.Points, prev.Forces, prev.Points)
			}
		}
		switch {
		case r.Source == "" && !strings.HasPrefix(r.Text, "rule "+r.Rule+": "):
			t.Errorf("rule reason text %q does not start with its rule", r.Text)
		case r.Source != "" && !strings.HasPrefix(r.Text, r.Source+" ("+r.Category+"): "):
			t.Errorf("reason text %q does not start with the source and category", r.Text)
		}
	}
	want := "spamcop (spam): 12 of 256 addresses listed, -5.7; rule severe-listing: a high listing anywhere in the block, forces review"
	if !slices.ContainsFunc(rep.Reasons, func(r reputation.Reason) bool { return r.Text == want }) {
		t.Errorf("no reason %q in %+v", want, rep.Reasons)
	}
}

func TestReport_WriteTextFits80Columns(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios() {
		var b bytes.Buffer
		if err := scoreScenario(t, sc.name).WriteText(&b); err != nil {
			t.Fatal(err)
		}
		sn := bufio.NewScanner(&b)
		for sn.Scan() {
			if n := len(sn.Text()); n > 80 {
				t.Errorf("%s: line of %d columns: %q", sc.name, n, sn.Text())
			}
		}
	}
}

type failWriter struct{ n int }

var errWrite = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errWrite
	}
	w.n--
	return len(p), nil
}

func TestReport_WriteTextReturnsWriteError(t *testing.T) {
	t.Parallel()
	if err := scoreScenario(t, "mixed_v4_24").WriteText(&failWriter{n: 3}); !errors.Is(err, errWrite) {
		t.Errorf("WriteText = %v, want %v", err, errWrite)
	}
}

func TestReport_AddressStates(t *testing.T) {
	t.Parallel()
	rep := scoreScenario(t, "mixed_v4_24")
	// Through JSON: the states derive from the report alone.
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back reputation.Report
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	states := back.AddressStates()
	if len(states) != 256 {
		t.Fatalf("%d states for a walked /24, want 256", len(states))
	}
	want := map[netip.Addr]reputation.AddressState{}
	for a := range addrRange("192.0.2.11", "192.0.2.21") {
		want[a] = reputation.StateListed
	}
	want[mpa("192.0.2.10")] = reputation.StateCritical
	for a := range addrRange("192.0.2.30", "192.0.2.32") {
		want[a] = reputation.StateUnknown
	}
	for a := range addrRange("192.0.2.64", "192.0.2.79") {
		want[a] = reputation.StateListed
	}
	for i, st := range states {
		if st.Addr != netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}) {
			t.Fatalf("state %d is for %v", i, st.Addr)
		}
		if st.State != want[st.Addr] { // missing means clean, including the whitelisted .200
			t.Errorf("%v: %s, want %s", st.Addr, st.State, want[st.Addr])
		}
	}

	sampled := scoreScenario(t, "sampled_v6_48").AddressStates()
	for _, st := range sampled {
		if st.State == reputation.StateClean {
			t.Errorf("sampled report lists clean %v; only listed and unknown addresses are known", st.Addr)
		}
	}
	if len(sampled) == 0 {
		t.Error("sampled report has no listed addresses")
	}
}

// listedBy counts the listings of r by source.
func listedBy(r *reputation.Report, source string) int {
	n := 0
	for _, l := range r.Listings {
		if l.Source == source {
			n++
		}
	}
	return n
}

// A listing that the current report could not re-check is unconfirmed, never
// delisted: a zone that went dark, a failed lookup, a source no longer asked.
func TestDiff_unconfirmed(t *testing.T) {
	t.Parallel()
	a, b := mpa("192.0.2.7"), mpa("192.0.2.8")
	listing := func(src string, addr netip.Addr) reputation.ListingReport {
		return reputation.ListingReport{Source: src, Address: addr, Categories: []string{"spam"}}
	}
	prev := &reputation.Report{Listings: []reputation.ListingReport{
		listing("zen", a), listing("spamcop", a), listing("spamcop", b), listing("gone", a),
	}}
	cur := &reputation.Report{
		Sources: []reputation.SourceReport{
			{Name: "zen", Status: reputation.StatusRefused},
			{Name: "spamcop", Status: reputation.StatusOK},
		},
		Unknown: []reputation.UnknownReport{{Source: "spamcop", Address: b, Error: "timeout"}},
	}
	c := reputation.Diff(prev, cur)
	wantDelisted := []reputation.ListingReport{listing("spamcop", a)}
	wantUnconfirmed := []reputation.ListingReport{listing("zen", a), listing("spamcop", b), listing("gone", a)}
	if diff := cmp.Diff(wantDelisted, c.Delisted, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); diff != "" {
		t.Errorf("Delisted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantUnconfirmed, c.Unconfirmed, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); diff != "" {
		t.Errorf("Unconfirmed (-want +got):\n%s", diff)
	}
	if c.IsZero() {
		t.Error("IsZero with unconfirmed listings")
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	mixed := scoreScenario(t, "mixed_v4_24")
	clean := scoreScenario(t, "clean_v4_24")
	refused := scoreScenario(t, "refused_v4_24")
	tests := []struct {
		name                                          string
		prev, cur                                     *reputation.Report
		newlyListed, delisted, newlyUnknown, resolved int
		verdictBefore, verdictAfter                   reputation.Verdict
		zero                                          bool
	}{
		{"same_report", mixed, mixed, 0, 0, 0, 0, reputation.VerdictReview, reputation.VerdictReview, true},
		{"first_run", nil, mixed, len(mixed.Listings), 0, 3, 0, "", reputation.VerdictReview, false},
		{"got_listed", clean, mixed, len(mixed.Listings), 0, 3, 0, reputation.VerdictClean, reputation.VerdictReview, false},
		// clean asks only spamcop and drop: mixed's other listings are
		// unconfirmed, not delisted (see TestDiff_unconfirmed).
		{"got_delisted", mixed, clean, 0, listedBy(mixed, "spamcop"), 0, 3, reputation.VerdictReview, reputation.VerdictClean, false},
		{"zone_went_dark", clean, refused, 0, 0, 40, 0, reputation.VerdictClean, reputation.VerdictIncomplete, false},
		{"zone_came_back", refused, mixed, len(mixed.Listings), 0, 3, 40, reputation.VerdictIncomplete, reputation.VerdictReview, false},
	}
	roundTrip := func(r *reputation.Report) *reputation.Report {
		if r == nil {
			return nil
		}
		js, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back reputation.Report
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatal(err)
		}
		return &back
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, json := range []bool{false, true} {
				prev, cur := tt.prev, tt.cur
				if json {
					prev, cur = roundTrip(prev), roundTrip(cur)
				}
				c := reputation.Diff(prev, cur)
				if len(c.NewlyListed) != tt.newlyListed || len(c.Delisted) != tt.delisted ||
					len(c.NewlyUnknown) != tt.newlyUnknown || len(c.Resolved) != tt.resolved {
					t.Errorf("json=%v: newly listed %d, delisted %d, newly unknown %d, resolved %d; want %d %d %d %d",
						json, len(c.NewlyListed), len(c.Delisted), len(c.NewlyUnknown), len(c.Resolved),
						tt.newlyListed, tt.delisted, tt.newlyUnknown, tt.resolved)
				}
				if c.VerdictBefore != tt.verdictBefore || c.VerdictAfter != tt.verdictAfter || c.IsZero() != tt.zero {
					t.Errorf("json=%v: verdict %s -> %s (zero %v), want %s -> %s (zero %v)",
						json, c.VerdictBefore, c.VerdictAfter, c.IsZero(), tt.verdictBefore, tt.verdictAfter, tt.zero)
				}
				wantDelta := cur.Score
				if prev != nil {
					wantDelta -= prev.Score
				}
				if c.ScoreDelta() != wantDelta || c.VerdictChanged() != (tt.verdictBefore != tt.verdictAfter) {
					t.Errorf("json=%v: score delta %v verdict changed %v", json, c.ScoreDelta(), c.VerdictChanged())
				}
			}
		})
	}
}

func TestDiff_singleListingChange(t *testing.T) {
	t.Parallel()
	prev := scoreScenario(t, "mixed_v4_24")
	cur := scoreScenario(t, "mixed_v4_24")
	gone := cur.Listings[0]
	cur.Listings = cur.Listings[1:]
	added := reputation.ListingReport{Address: mpa("192.0.2.99"), Source: "spamcop", Categories: []string{"spam"}, Severity: reputation.SeverityHigh}
	cur.Listings = append(cur.Listings, added)
	c := reputation.Diff(prev, cur)
	if diff := cmp.Diff([]reputation.ListingReport{added}, c.NewlyListed, reportOpts()...); diff != "" {
		t.Errorf("NewlyListed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]reputation.ListingReport{gone}, c.Delisted, reportOpts()...); diff != "" {
		t.Errorf("Delisted (-want +got):\n%s", diff)
	}
}
