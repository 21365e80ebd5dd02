package htmlreport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/reputation/htmlreport"
)

var fixedTime = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func mpp(s string) netip.Prefix {
	p := netip.MustParsePrefix(s)
	if p != p.Masked() {
		panic(s + " is not canonical")
	}
	return p
}

// score scores p against srcs; a nil report fails the test.
func score(t testing.TB, ctx context.Context, p netip.Prefix, maxAddrs int, srcs ...reputation.Source) *reputation.Report {
	t.Helper()
	s := &reputation.Scorer{Sources: srcs, AllowSpecial: true, MaxAddrs: maxAddrs}
	rep, err := s.Score(ctx, p)
	if rep == nil {
		t.Fatalf("Score(%s): %v", p, err)
	}
	return rep
}

func render(t testing.TB, reps []*reputation.Report, opts htmlreport.Options) string {
	t.Helper()
	if opts.Time.IsZero() {
		opts.Time = fixedTime
	}
	var b bytes.Buffer
	if err := htmlreport.Write(&b, reps, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.String()
}

var jsonRE = regexp.MustCompile(`(?s)<script type="application/json" id="prefixvet-report">(.*?)</script>`)

// embedded returns the embedded report JSON of a page.
func embedded(t testing.TB, page string) string {
	t.Helper()
	m := jsonRE.FindAllStringSubmatch(page, -1)
	if len(m) != 1 {
		t.Fatalf("%d embedded JSON elements, want 1", len(m))
	}
	return m[0][1]
}

var cellRE = regexp.MustCompile(`<rect x="\d+" data-state="([a-z]+)" data-prefix="([^"]+)"><title>[^<]*</title></rect>`)

// cellCounts counts the map cells of each page section by state.
func cellCounts(page string) []map[string]int {
	var out []map[string]int
	for _, part := range strings.Split(page, `<svg class="map`)[1:] {
		part = part[:strings.Index(part, "</svg>")]
		c := map[string]int{}
		for _, m := range cellRE.FindAllStringSubmatch(part, -1) {
			c[m[1]]++
		}
		if n := strings.Count(part, "<rect "); n != c["clean"]+c["listed"]+c["critical"]+c["unknown"]+c["unchecked"] {
			panic("a cell does not match cellRE")
		}
		out = append(out, c)
	}
	return out
}

// wantCounts computes the cells per state from the report's own fields,
// independently of the package: per address for blocks of up to 2^16
// addresses walked in full, per checked /64 for sampled IPv6.
func wantCounts(r *reputation.Report) map[string]int {
	stateOf := func(cell netip.Prefix, base string) string {
		st := base
		for _, u := range r.Unknown {
			if !u.Address.IsValid() || cell.Contains(u.Address) {
				st = "unknown"
			}
		}
		if r.Interrupted {
			st = "unknown"
		}
		for _, l := range r.Listings {
			if (l.Address.IsValid() && cell.Contains(l.Address)) || (l.Prefix.IsValid() && l.Prefix.Overlaps(cell)) {
				if l.Severity >= reputation.SeverityCritical {
					return "critical"
				}
				st = "listed"
			}
		}
		return st
	}
	out := map[string]int{}
	base := "clean"
	if r.LookupsAnswered == 0 {
		base = "unchecked"
	}
	p := r.Prefix
	if p.Addr().Is4() && p.Bits() < 16 {
		// One cell per /24, in the state the report's subnets give it.
		subs := map[netip.Prefix]reputation.SubnetReport{}
		for _, s := range r.Subnets {
			subs[s.Prefix] = s
		}
		for a := p.Addr(); p.Contains(a); a = netip.AddrFrom4([4]byte{a.As4()[0], a.As4()[1], a.As4()[2], 255}).Next() {
			cell := netip.PrefixFrom(a, 24)
			s := subs[cell]
			st := stateOf(cell, "unchecked")
			if s.Checked > 0 && st == "unchecked" {
				st = "clean"
			}
			if (s.Listed > 0 || s.Covered > 0) != (st == "listed" || st == "critical") {
				panic("subnets and listings disagree about " + cell.String())
			}
			out[st]++
			if a.As4()[1] == 255 && a.As4()[2] == 255 {
				break
			}
		}
		return out
	}
	if !r.Sampled {
		for a := p.Addr(); p.Contains(a); a = a.Next() {
			out[stateOf(netip.PrefixFrom(a, a.BitLen()), base)]++
		}
		return out
	}
	// Sampled IPv6: one cell per /64 of the report's sample, drawn again
	// from its own seed and count.
	seen := map[netip.Prefix]bool{}
	for _, a := range prefix.SampleSubnets(p, 64, r.AddressesChecked, r.Seed) {
		u := netip.PrefixFrom(a, 64).Masked()
		if !seen[u] {
			seen[u] = true
			out[stateOf(u, base)]++
		}
	}
	return out
}

func drop(a string) reputation.Evidence {
	return reputation.Evidence{Code: netip.MustParseAddr(a), Category: "hijacked", Severity: reputation.SeverityCritical, ID: "SBL000001"}
}

func TestWrite_cellsAndJSON(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	exploit := reputation.Evidence{Code: netip.MustParseAddr("127.0.0.4"), Category: "exploited", Severity: reputation.SeverityHigh}
	mixed := []reputation.Source{
		&src{name: "spam.example.org", listed: every(7, spam("127.0.0.2")), reason: "seen spamming"},
		&src{name: "exploit.example.org", listed: every(50, exploit)},
		&src{name: "flaky.example.org", listed: every(1000, spam("127.0.0.2")), fail: func(a netip.Addr) bool { return a.As4()[3]%16 == 3 }},
		feed{&src{name: "drop", kind: reputation.KindFeed, listed: func(a netip.Addr) (reputation.Evidence, bool) {
			return drop("127.0.0.2"), a.As4()[3] >= 128
		}}},
	}
	tests := []struct {
		name string
		rep  *reputation.Report
		says []string // phrases the page must contain
	}{
		{"clean_v4_24", score(t, ctx, mpp("192.0.2.0/24"), 0, &src{name: "bl.example.org", listed: never}),
			[]string{"Nothing lists any part of this block", ">clean<"}},
		{"mixed_v4_24", score(t, ctx, mpp("198.51.100.0/24"), 0, mixed...),
			[]string{"exploit.example.org", "seen spamming", "forces reject", `title="escalation rule critical-share"`, "No answer", "SBL000001", `href="https://spam.example.org/lookup?ip=198.51.100.7"`}},
		{"mixed_v4_25", score(t, ctx, mpp("198.51.100.128/25"), 0, mixed...), []string{"16 to a row"}},
		{"interrupted_v4_24", score(t, cancelled, mpp("203.0.113.0/24"), 0, mixed...),
			[]string{"The run was interrupted", "incomplete"}},
		{"nothing_usable_v4_24", score(t, ctx, mpp("203.0.113.0/24"), 0, &src{name: "zen.example.org", listed: every(2, spam("127.0.0.2")), status: reputation.StatusRefused}),
			[]string{"Nothing was asked about this block", "refused the resolver", "not used: does not count"}},
		{"sampled_v6_32", score(t, ctx, mpp("2001:db8::/32"), 0, &src{name: "v6.example.org", listed: share(0.2, 1, spam("127.0.0.2"))}),
			[]string{"Only a sample was checked: 4096 of the block&#39;s 4294967296 /64s", "one cell per checked /64", "seed 5782"}},
		{"sampled_v6_56", score(t, ctx, mpp("2001:db8:beef::/56"), 0, &src{name: "v6.example.org", listed: share(0.25, 2, spam("127.0.0.2"))}),
			[]string{"one cell per checked /64"}},
		{"sampled_v4_15", score(t, ctx, mpp("198.18.0.0/15"), 0, append(mixed[:3:3], feed{&src{name: "drop", kind: reputation.KindFeed,
			listed: func(a netip.Addr) (reputation.Evidence, bool) {
				return drop("127.0.0.2"), a.As4()[2] == 7 && a.As4()[3] >= 128
			}}})...),
			[]string{"one cell per /24", "Subnets", "hot"}},
		{"single_v4_32", score(t, ctx, mpp("192.0.2.7/32"), 0, mixed...), nil},
	}
	var all []*reputation.Report
	for _, tc := range tests {
		all = append(all, tc.rep)
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			page := render(t, []*reputation.Report{tc.rep}, htmlreport.Options{})
			want, err := json.Marshal(tc.rep)
			if err != nil {
				t.Fatal(err)
			}
			if got := embedded(t, page); got != string(want) {
				t.Errorf("embedded JSON differs from json.Marshal of the report:\n got %.300s\nwant %.300s", got, want)
			}
			counts := cellCounts(page)
			if len(counts) != 1 {
				t.Fatalf("%d maps, want 1", len(counts))
			}
			if diff := cmp.Diff(wantCounts(tc.rep), counts[0]); diff != "" {
				t.Errorf("cells per state (-want +got):\n%s", diff)
			}
			for _, s := range tc.says {
				if !strings.Contains(page, s) {
					t.Errorf("page does not say %q", s)
				}
			}
		})
	}
	t.Run("all_in_one_page", func(t *testing.T) {
		t.Parallel()
		page := render(t, all, htmlreport.Options{Title: "all blocks"})
		want, err := json.Marshal(all)
		if err != nil {
			t.Fatal(err)
		}
		if got := embedded(t, page); got != string(want) {
			t.Errorf("embedded JSON differs from json.Marshal of the reports")
		}
		counts := cellCounts(page)
		if len(counts) != len(all) {
			t.Fatalf("%d maps, want %d", len(counts), len(all))
		}
		for i, r := range all {
			if diff := cmp.Diff(wantCounts(r), counts[i]); diff != "" {
				t.Errorf("block %d %s: cells per state (-want +got):\n%s", i+1, r.Prefix, diff)
			}
			if !strings.Contains(page, `<a href="#block-`+strconv.Itoa(i+1)+`">`+r.Prefix.String()+`</a>`) {
				t.Errorf("summary table has no link to block %d", i+1)
			}
		}
	})
}

// TestWrite_agreesWithAddressStates: for blocks walked in full, the map's
// states are those of Report.AddressStates.
func TestWrite_agreesWithAddressStates(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../testdata/*_v[46]_*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no report fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var r reputation.Report
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			page := render(t, []*reputation.Report{&r}, htmlreport.Options{})
			counts := cellCounts(page)
			if len(counts) != 1 {
				t.Fatalf("%d maps, want 1", len(counts))
			}
			if r.Sampled {
				if diff := cmp.Diff(wantCounts(&r), counts[0]); diff != "" {
					t.Errorf("cells per state (-want +got):\n%s", diff)
				}
				return
			}
			want := map[string]int{}
			for _, st := range r.AddressStates() {
				s := st.State.String()
				if r.LookupsAnswered == 0 && st.State == reputation.StateClean {
					s = "unchecked" // AddressStates cannot tell; the map says nothing answered
				}
				want[s]++
			}
			if diff := cmp.Diff(want, counts[0]); diff != "" {
				t.Errorf("cells per state, AddressStates (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWrite_badInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		reps []*reputation.Report
		json string
		says string
	}{
		{"nil_list", nil, "[]", "This page holds no report"},
		{"empty_list", []*reputation.Report{}, "[]", "This page holds no report"},
		{"nil_report", []*reputation.Report{nil}, "null", "There is no report for this block"},
		{"zero_report", []*reputation.Report{{}}, "", "The report names no valid block"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			page := render(t, tc.reps, htmlreport.Options{})
			want := tc.json
			if want == "" {
				b, err := json.Marshal(tc.reps[0])
				if err != nil {
					t.Fatal(err)
				}
				want = string(b)
			}
			if got := embedded(t, page); got != want {
				t.Errorf("embedded JSON = %.200s, want %.200s", got, want)
			}
			if !strings.Contains(page, tc.says) {
				t.Errorf("page does not say %q", tc.says)
			}
		})
	}
}

// TestWrite_escaping: report texts cannot end the JSON script element,
// inject markup or a javascript: link.
func TestWrite_escaping(t *testing.T) {
	t.Parallel()
	evil := "x</script><script>alert(1)</script><!--\u2028"
	s := &src{name: "evil" + evil, listed: every(2, spam("127.0.0.2")), reason: evil, delist: "javascript:alert(1)"}
	rep := score(t, t.Context(), mpp("192.0.2.0/30"), 0, s)
	page := render(t, []*reputation.Report{rep}, htmlreport.Options{Title: evil})
	html := strings.Replace(page, embedded(t, page), "", 1)
	if strings.Contains(html, "<script>alert") || strings.Contains(html, "javascript:alert") {
		t.Errorf("page carries the markup or the link unescaped")
	}
	if n := strings.Count(page, "</script>"); n != 2 {
		t.Errorf("%d </script> in the page, want 2 (the JSON and the script)", n)
	}
	var back reputation.Report
	if err := json.Unmarshal([]byte(embedded(t, page)), &back); err != nil {
		t.Fatal(err)
	}
	if back.Listings[0].Reason != evil || back.Sources[0].Name != "evil"+evil {
		t.Errorf("embedded JSON does not round-trip: %q, %q", back.Listings[0].Reason, back.Sources[0].Name)
	}
}

func TestWrite_maxListings(t *testing.T) {
	t.Parallel()
	rep := score(t, t.Context(), mpp("192.0.2.0/24"), 0, &src{name: "bl.example.org", listed: every(2, spam("127.0.0.2"))})
	page := render(t, []*reputation.Report{rep}, htmlreport.Options{MaxListings: 10})
	if n := strings.Count(page, `<td class="addr">`); n != 10 {
		t.Errorf("%d listing rows, want 10", n)
	}
	if !strings.Contains(page, "118 more listings by bl.example.org are not shown here") {
		t.Errorf("page does not say how many listings it left out")
	}
}

func TestWriteIndex(t *testing.T) {
	t.Parallel()
	rep := score(t, t.Context(), mpp("192.0.2.0/24"), 0, &src{name: "bl.example.org", listed: every(64, spam("127.0.0.2"))})
	var b bytes.Buffer
	err := htmlreport.WriteIndex(&b, []htmlreport.IndexEntry{
		{Report: rep, Label: "mail <relays>", Href: "192.0.2.0_24.html", Changes: []string{"newly listed 192.0.2.64 by bl.example.org"}},
		{Label: "gone"},
	}, htmlreport.Options{Time: fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, s := range []string{`<a href="192.0.2.0_24.html">192.0.2.0/24</a>`, "mail &lt;relays&gt;", "newly listed 192.0.2.64", "(no report)", "2026-11-30 12:00 UTC"} {
		if !strings.Contains(page, s) {
			t.Errorf("index does not say %q", s)
		}
	}
	if strings.Contains(page, "prefixvet-report") {
		t.Errorf("index embeds report JSON")
	}
}

type failWriter struct{ n int }

var errWrite = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errWrite
	}
	return len(p), nil
}

func TestWrite_writeError(t *testing.T) {
	t.Parallel()
	rep := score(t, t.Context(), mpp("192.0.2.0/24"), 0, &src{name: "bl.example.org", listed: every(64, spam("127.0.0.2"))})
	err := htmlreport.Write(&failWriter{n: 1000}, []*reputation.Report{rep}, htmlreport.Options{})
	if !errors.Is(err, errWrite) {
		t.Errorf("Write to a failing writer: %v, want %v", err, errWrite)
	}
}

// TestWrite_omittedListings: a report whose listings were capped is drawn
// per /24 from its subnets, whose counts are exact, and says what it left out.
func TestWrite_omittedListings(t *testing.T) {
	t.Parallel()
	s := &reputation.Scorer{AllowSpecial: true, MaxListings: 10, Sources: []reputation.Source{
		&src{name: "bl.example.org", listed: every(3, spam("127.0.0.2"))},
		feed{&src{name: "drop", kind: reputation.KindFeed, listed: func(a netip.Addr) (reputation.Evidence, bool) {
			return drop("127.0.0.2"), a.As4()[2] == 2
		}}},
	}}
	rep, err := s.Score(t.Context(), mpp("198.18.0.0/22"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Omitted) == 0 || len(rep.Subnets) != 4 {
		t.Fatalf("fixture: omitted %v, %d subnets; want some omitted and 4 subnets", rep.Omitted, len(rep.Subnets))
	}
	page := render(t, []*reputation.Report{rep}, htmlreport.Options{})
	counts := cellCounts(page)
	want := map[string]int{"listed": 3, "critical": 1} // every /24 has listed addresses; 198.18.2.0/24 is on DROP
	if diff := cmp.Diff(want, counts[0]); diff != "" {
		t.Errorf("cells per state (-want +got):\n%s", diff)
	}
	for _, say := range []string{
		"so the map shows each /24 subnet from the report&#39;s exact per-subnet counts",
		"more listing entries by bl.example.org were left out of the report itself",
		`data-prefix="198.18.2.0/24"><title>198.18.2.0/24: `,
	} {
		if !strings.Contains(page, say) {
			t.Errorf("page does not say %q", say)
		}
	}
}
