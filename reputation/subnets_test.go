package reputation_test

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/reputation"
)

func TestReport_subnets(t *testing.T) {
	t.Parallel()
	listed := map[netip.Addr]reputation.Listing{}
	for i := range 5 { // a hot /24: 11.0.1.10-14
		listed[netip.AddrFrom4([4]byte{11, 0, 1, byte(10 + i)})] = spam("127.0.0.2", reputation.SeverityLow)
	}
	listed[mpa("11.0.2.7")] = spam("127.0.0.2", reputation.SeverityMedium)
	bl := &fake{name: "bl", listed: listed, errs: map[netip.Addr]error{mpa("11.0.3.1"): errFlaky}}
	drop := &feed{name: "drop", entries: []reputation.Match{
		entry("11.0.3.128/25", "hijacked", reputation.SeverityCritical, reputation.ScopeRange, "SBL1"),
		entry("11.0.3.0/26", "bogon", reputation.SeverityInfo, reputation.ScopeRange, ""), // info: not a listing here
	}}
	s := &reputation.Scorer{Sources: []reputation.Source{bl, drop}}
	rep, err := s.Score(t.Context(), mpp("11.0.0.0/22"))
	if err != nil {
		t.Fatal(err)
	}
	want := []reputation.SubnetReport{
		{Prefix: mpp("11.0.0.0/24"), Checked: 256},
		{Prefix: mpp("11.0.1.0/24"), Checked: 256, Listed: 5, Worst: reputation.SeverityLow, Hot: true},
		{Prefix: mpp("11.0.2.0/24"), Checked: 256, Listed: 1, Worst: reputation.SeverityMedium},
		{Prefix: mpp("11.0.3.0/24"), Checked: 255, Covered: 0.5, Worst: reputation.SeverityCritical},
	}
	if diff := cmp.Diff(want, rep.Subnets, reportOpts()...); diff != "" {
		t.Errorf("Subnets (-want +got):\n%s", diff)
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	i, j := strings.Index(text, "11.0.1.0/24 "), strings.Index(text, "11.0.3.0/24 ")
	if !strings.Contains(text, "Subnets (4, 3 with listings; worst first)") || i < 0 || j < 0 || i > j ||
		!strings.Contains(text, "5 of 256 checked listed, worst low HOT") {
		t.Errorf("text does not show the worst subnets, hot first:\n%s", text)
	}

	// Blocks of a /24 or smaller have no breakdown; a /16 has one entry
	// per /24 when a whole-block entry spans it.
	for _, tc := range []struct {
		block string
		n     int
	}{{"11.0.0.0/24", 0}, {"11.0.0.0/25", 0}, {"11.0.0.0/16", 256}} {
		s := &reputation.Scorer{Sources: []reputation.Source{&feed{name: "drop", entries: []reputation.Match{
			entry("11.0.0.0/8", "hijacked", reputation.SeverityCritical, reputation.ScopeRange, ""),
		}}}}
		rep, err := s.Score(t.Context(), mpp(tc.block))
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Subnets) != tc.n {
			t.Errorf("%s: %d subnets, want %d", tc.block, len(rep.Subnets), tc.n)
		}
		for _, sub := range rep.Subnets {
			if sub.Covered != 1 || sub.Worst != reputation.SeverityCritical || !rep.Prefix.Contains(sub.Prefix.Addr()) {
				t.Fatalf("%s: subnet %+v, want covered 1, critical, inside the block", tc.block, sub)
			}
		}
	}

	// A sampled IPv6 /40 breaks down per /48 of the checked addresses.
	v6 := &reputation.Scorer{Sources: []reputation.Source{&fake{name: "bl"}}, AllowSpecial: true, MaxAddrs: 64}
	rep, err = v6.Score(t.Context(), mpp("2001:db8::/40"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, sub := range rep.Subnets {
		if sub.Prefix.Bits() != 48 {
			t.Fatalf("IPv6 subnet %v is not a /48", sub.Prefix)
		}
		total += sub.Checked
	}
	if len(rep.Subnets) == 0 || total != rep.AddressesChecked {
		t.Errorf("IPv6 /40: %d subnets holding %d checked addresses, want all %d", len(rep.Subnets), total, rep.AddressesChecked)
	}
}
