package reputation_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/reputation"
)

// perAddr lists the given last octets of 192.0.2.0/24 with spam, naming the
// address in its reason and delisting URL as real lists do.
func perAddr(name string, octets ...int) *fake {
	m := map[netip.Addr]reputation.Listing{}
	for _, o := range octets {
		a := netip.AddrFrom4([4]byte{192, 0, 2, byte(o)})
		l := spam("127.0.0.2", reputation.SeverityLow)
		l.Reason = "listed: " + a.String()
		l.DelistURL = "https://bl.example.org/?ip=" + a.String()
		m[a] = l
	}
	return &fake{name: name, listed: m}
}

func TestReport_mergedListings(t *testing.T) {
	t.Parallel()
	// .4-.11 merge into /30 + /30 (.4-.7, .8-.11); .13 stays alone; .20-.21
	// have another code and merge separately.
	a := perAddr("bl", 4, 5, 6, 7, 8, 9, 10, 11, 13)
	b := perAddr("bl", 20, 21)
	for k, l := range b.listed {
		l.Evidence = []reputation.Evidence{{Code: mpa("127.0.0.3"), Category: "spam", Severity: reputation.SeverityLow}}
		a.listed[k] = l
	}
	s := &reputation.Scorer{Sources: []reputation.Source{a}, AllowSpecial: true}
	rep, err := s.Score(t.Context(), mpp("192.0.2.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range rep.Listings {
		k := l.Address.String()
		if l.Prefix.IsValid() {
			k = l.Prefix.String()
		}
		got = append(got, fmt.Sprintf("%s %v %s", k, l.Codes, l.DelistURL))
	}
	want := []string{
		"192.0.2.4/30 [127.0.0.2] https://bl.example.org/?ip=192.0.2.4",
		"192.0.2.8/30 [127.0.0.2] https://bl.example.org/?ip=192.0.2.8",
		"192.0.2.13 [127.0.0.2] https://bl.example.org/?ip=192.0.2.13",
		"192.0.2.20/31 [127.0.0.3] https://bl.example.org/?ip=192.0.2.20",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listings (-want +got):\n%s", diff)
	}
	// Merging changes the listings' granularity, not what they say.
	if rep.Reasons[0].Listed != 11 || rep.Sources[0].Listed != 11 {
		t.Errorf("counts changed by merging: reason %d, source %d, want 11", rep.Reasons[0].Listed, rep.Sources[0].Listed)
	}
	n := 0
	for _, st := range rep.AddressStates() {
		if st.State == reputation.StateListed {
			n++
		}
	}
	if n != 11 {
		t.Errorf("AddressStates has %d listed addresses, want 11", n)
	}
}

func TestReport_maxListings(t *testing.T) {
	t.Parallel()
	var odd []int // every other address: nothing merges
	for o := 1; o < 256; o += 2 {
		odd = append(odd, o)
	}
	crit := &feed{name: "drop", entries: []reputation.Match{entry("192.0.2.0/30", "hijacked", reputation.SeverityCritical, reputation.ScopeRange, "")}}
	full := &reputation.Scorer{Sources: []reputation.Source{perAddr("bl", odd...), crit}, AllowSpecial: true, MaxListings: -1}
	capped := *full
	capped.MaxListings = 10
	r1, err := full.Score(t.Context(), mpp("192.0.2.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := capped.Score(t.Context(), mpp("192.0.2.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r1.Listings) != 129 || r1.Omitted != nil {
		t.Errorf("no limit: %d listings, omitted %v; want 129, none", len(r1.Listings), r1.Omitted)
	}
	if len(r2.Listings) != 10 || r2.Omitted["bl"] != 119 || r2.Listings[0].Source != "drop" {
		t.Errorf("capped: %d listings (first %+v), omitted %v; want 10 with the critical one first, 119 of bl omitted",
			len(r2.Listings), r2.Listings[0], r2.Omitted)
	}
	if r1.Score != r2.Score || r1.Verdict != r2.Verdict || !cmp.Equal(r1.Reasons, r2.Reasons) ||
		!cmp.Equal(r1.Sources, r2.Sources) {
		t.Errorf("the cap changed the score, verdict, reasons or counts")
	}
	// The default keeps 1000.
	if got := (&reputation.Scorer{}).MaxListings; got != 0 || reputation.DefaultMaxListings != 1000 {
		t.Errorf("default MaxListings")
	}
}

func TestDiff_mergedRangesCompareAsAddresses(t *testing.T) {
	t.Parallel()
	l := func(s string) reputation.ListingReport {
		r := reputation.ListingReport{Source: "bl", Categories: []string{"spam"}}
		if p, err := netip.ParsePrefix(s); err == nil {
			r.Prefix = p
		} else {
			r.Address = mpa(s)
		}
		return r
	}
	src := []reputation.SourceReport{{Name: "bl", Status: reputation.StatusOK}}
	prev := &reputation.Report{Prefix: mpp("192.0.2.0/24"), Sources: src,
		Listings: []reputation.ListingReport{l("192.0.2.0/31"), l("192.0.2.2"), l("192.0.2.64/28")}}
	cur := &reputation.Report{Prefix: mpp("192.0.2.0/24"), Sources: src,
		Listings: []reputation.ListingReport{l("192.0.2.0/30"), l("192.0.2.64/29")}}
	c := reputation.Diff(prev, cur)
	addrs := func(ls []reputation.ListingReport) []string {
		var out []string
		for _, x := range ls {
			if x.Prefix.IsValid() {
				out = append(out, x.Prefix.String())
			} else {
				out = append(out, x.Address.String())
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{"192.0.2.3"}, addrs(c.NewlyListed)); diff != "" {
		t.Errorf("NewlyListed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"192.0.2.72/29"}, addrs(c.Delisted)); diff != "" {
		t.Errorf("Delisted (-want +got):\n%s", diff)
	}
	// A report that left listings out cannot tell delisted from omitted.
	cur.Omitted = map[string]int{"bl": 3}
	c = reputation.Diff(prev, cur)
	if len(c.Delisted) != 0 || len(c.Unconfirmed) != 1 {
		t.Errorf("with omitted listings: delisted %v, unconfirmed %v; want none, one", c.Delisted, c.Unconfirmed)
	}
}

// TestReport_bigBlockIsCompact: a /16 against 10 whole-block sources with
// about 30% of the block listed, scattered, as the issue measured (26.7 MB of
// JSON before): under 1 MB with the default MaxListings, same score and
// verdict as with no limit.
func TestReport_bigBlockIsCompact(t *testing.T) {
	t.Parallel()
	var srcs []reputation.Source
	ev := []reputation.Evidence{{Category: "abuse", Severity: reputation.SeverityMedium}}
	for i := range 10 {
		// A local mirror answers a block with one /32 extent per listed
		// address; 30% of the addresses, scattered.
		var es []reputation.Match
		for j := range 65536 {
			if (j*7919+i*104729)%10 < 3 {
				p := netip.PrefixFrom(netip.AddrFrom4([4]byte{11, 0, byte(j >> 8), byte(j)}), 32)
				es = append(es, reputation.Match{Prefix: p, Listing: reputation.Listing{Listed: true, Evidence: ev,
					Reason: "listed by mirror: " + p.Addr().String()}})
			}
		}
		srcs = append(srcs, &feed{name: fmt.Sprint("mirror", i), entries: es})
	}
	full := &reputation.Scorer{Sources: srcs, MaxListings: -1}
	capped := &reputation.Scorer{Sources: srcs}
	r1, err := full.Score(t.Context(), mpp("11.0.0.0/16"))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := capped.Score(t.Context(), mpp("11.0.0.0/16"))
	if err != nil {
		t.Fatal(err)
	}
	j1, _ := json.Marshal(r1)
	j2, _ := json.Marshal(r2)
	t.Logf("JSON: %d bytes with no limit, %d with the default", len(j1), len(j2))
	if len(j2) >= 1<<20 || r1.Score != r2.Score || r1.Verdict != r2.Verdict {
		t.Errorf("default report is %d bytes (want < 1 MiB), score %v/%v, verdict %s/%s", len(j2), r1.Score, r2.Score, r1.Verdict, r2.Verdict)
	}
}

// TestAddressStates_sweepMatchesNaive compares AddressStates with the
// obvious per-address loop over every entry, on random reports.
func TestAddressStates_sweepMatchesNaive(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		rep := &reputation.Report{Prefix: mpp("192.0.2.0/24"), Interrupted: rng.IntN(10) == 0}
		for range rng.IntN(20) {
			a := netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.IntN(256))})
			l := reputation.ListingReport{Source: "s", Severity: reputation.Severity(rng.IntN(5))}
			if rng.IntN(2) == 0 {
				l.Prefix = netip.PrefixFrom(a, 22+rng.IntN(11)).Masked()
			} else {
				l.Address = a
			}
			rep.Listings = append(rep.Listings, l)
		}
		for range rng.IntN(5) {
			rep.Unknown = append(rep.Unknown, reputation.UnknownReport{Source: "s", Address: netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.IntN(256))})})
		}
		for _, st := range rep.AddressStates() {
			want := reputation.StateClean
			if rep.Interrupted {
				want = reputation.StateUnknown
			}
			for _, l := range rep.Listings {
				// Info evidence (who announces the block, its ROA) marks
				// no address.
				if l.Contains(st.Addr) && l.Severity >= reputation.SeverityLow {
					s := reputation.StateListed
					if l.Severity >= reputation.SeverityCritical {
						s = reputation.StateCritical
					}
					want = max(want, s)
				}
			}
			for _, u := range rep.Unknown {
				if u.Address == st.Addr {
					want = max(want, reputation.StateUnknown)
				}
			}
			if st.State != want {
				t.Fatalf("%v: state %v, want %v; listings %+v", st.Addr, st.State, want, rep.Listings)
			}
		}
	}
}
