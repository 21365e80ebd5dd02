package main

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/reputation"
)

func TestBlockEventsTellsDelistedFromUnanswered(t *testing.T) {
	t.Parallel()
	blk := block{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Label: "mail"}
	addr := netip.MustParseAddr("198.51.100.7")
	listed := reputation.ListingReport{Address: addr, Source: "bl.example.org", Categories: []string{"spam"}, Severity: reputation.SeverityMedium}
	okSource := []reputation.SourceReport{{Name: "bl.example.org", Status: reputation.StatusOK}}
	prev := &reputation.Report{Prefix: blk.Prefix, Verdict: reputation.VerdictClean, Score: 97.41, Sources: okSource, Listings: []reputation.ListingReport{listed}}
	failed := reputation.UnknownReport{Address: addr, Source: "bl.example.org", Error: "sources: timeout"}

	tests := []struct {
		name string
		prev *reputation.Report
		cur  *reputation.Report
		want []string // kind: text
	}{
		{
			name: "answered_not_listed",
			prev: prev,
			cur:  &reputation.Report{Prefix: blk.Prefix, Verdict: reputation.VerdictClean, Score: 100, Sources: okSource},
			want: []string{
				"score: score 97.41 -> 100.00 (+2.59), verdict still clean",
				"delisted: delisted: 198.51.100.7 by bl.example.org (spam, medium)",
			},
		},
		{
			name: "source_refused",
			prev: prev,
			cur: &reputation.Report{Prefix: blk.Prefix, Verdict: reputation.VerdictIncomplete, Score: 100,
				Sources: []reputation.SourceReport{{Name: "bl.example.org", Status: reputation.StatusRefused, Detail: "resolver refused"}}},
			want: []string{
				"verdict: verdict clean -> incomplete, score 97.41 -> 100.00",
				"unconfirmed: listing not re-checked (source refused: resolver refused): 198.51.100.7 by bl.example.org (spam, medium)",
			},
		},
		{
			name: "lookup_failed",
			prev: prev,
			cur: &reputation.Report{Prefix: blk.Prefix, Verdict: reputation.VerdictClean, Score: 100, Sources: okSource,
				Unknown: []reputation.UnknownReport{failed}},
			want: []string{
				"score: score 97.41 -> 100.00 (+2.59), verdict still clean",
				"unconfirmed: listing not re-checked (lookup failed: sources: timeout): 198.51.100.7 by bl.example.org (spam, medium)",
				"unknown: newly unknown: bl.example.org: 1 lookups got no answer (sources: timeout): 198.51.100.7",
			},
		},
		{
			name: "answered_again",
			prev: &reputation.Report{Prefix: blk.Prefix, Verdict: reputation.VerdictClean, Score: 100, Sources: okSource, Unknown: []reputation.UnknownReport{failed}},
			cur:  prev,
			want: []string{
				"score: score 100.00 -> 97.41 (-2.59), verdict still clean",
				"listed: newly listed: 198.51.100.7 by bl.example.org (spam, medium)",
				"resolved: resolved: bl.example.org: 1 lookups answered again: 198.51.100.7",
			},
		},
		{
			name: "first_sighting",
			cur:  prev,
			want: []string{"new: new block: clean, score 97.41"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := []string{}
			for _, e := range blockEvents(blk, tt.prev, tt.cur) {
				if e.Block != blk.Prefix || e.Label != "mail" || e.Verdict != tt.cur.Verdict {
					t.Errorf("event %+v does not carry the block, label and current verdict", e)
				}
				got = append(got, e.Kind+": "+e.Text)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}
