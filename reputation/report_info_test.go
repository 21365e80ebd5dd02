package reputation_test

import (
	"net/netip"
	"testing"

	"github.com/prefixvet/prefixvet/reputation"
)

// Info evidence over a whole block (who announces it, its ROA) leaves its
// addresses clean in AddressStates; a low listing inside it does not.
func TestAddressStates_infoIsNotListed(t *testing.T) {
	t.Parallel()
	r := &reputation.Report{
		Prefix:           netip.MustParsePrefix("192.0.2.0/30"),
		AddressesTotal:   4,
		AddressesChecked: 4,
		Listings: []reputation.ListingReport{
			{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Source: "origins", Severity: reputation.SeverityInfo},
			{Address: netip.MustParseAddr("192.0.2.2"), Source: "zone", Severity: reputation.SeverityLow},
		},
	}
	want := []reputation.AddressState{reputation.StateClean, reputation.StateClean, reputation.StateListed, reputation.StateClean}
	for i, st := range r.AddressStates() {
		if st.State != want[i] {
			t.Errorf("%s: %s, want %s", st.Addr, st.State, want[i])
		}
	}
}
