package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
)

// Event kinds.
const (
	kindNew         = "new"         // first sighting of a block
	kindRemoved     = "removed"     // the block left the inventory
	kindVerdict     = "verdict"     // the verdict changed
	kindScore       = "score"       // the score changed, the verdict did not
	kindListed      = "listed"      // newly listed
	kindDelisted    = "delisted"    // listed before, answered "not listed" now
	kindUnconfirmed = "unconfirmed" // listed before, no answer now (source down, lookup failed)
	kindUnknown     = "unknown"     // lookups of a source newly got no answer
	kindResolved    = "resolved"    // lookups of a source that failed before got an answer
)

// event is one change of one block, as printed and as stored.
type event struct {
	Run   uint64       `json:"run"`
	Seq   int          `json:"seq"`
	Time  time.Time    `json:"time"`
	Block netip.Prefix `json:"block"`
	Label string       `json:"label,omitempty"`
	Kind  string       `json:"kind"`
	// Verdict and Score are the block's current ones (the last known ones
	// for a removed block).
	Verdict reputation.Verdict `json:"verdict"`
	Score   float64            `json:"score"`
	// Details depend on Kind: verdictChange, scoreChange, listingChange or
	// lookupChange; none for new and removed.
	Details any `json:"details,omitempty"`
	// Text is the event for people.
	Text string `json:"text"`
}

type verdictChange struct {
	Before      reputation.Verdict `json:"before"`
	After       reputation.Verdict `json:"after"`
	ScoreBefore float64            `json:"score_before"`
	ScoreAfter  float64            `json:"score_after"`
}

type scoreChange struct {
	Before float64 `json:"before"`
	After  float64 `json:"after"`
	Delta  float64 `json:"delta"`
}

type listingChange struct {
	reputation.ListingReport
	// Why says why an unconfirmed listing got no answer.
	Why string `json:"why,omitempty"`
}

// lookupChange groups the lookups of one source that newly failed (or
// were answered again) in one block.
type lookupChange struct {
	Source  string   `json:"source"`
	Count   int      `json:"count"`
	Targets []string `json:"targets"`          // addresses or blocks
	Errors  []string `json:"errors,omitempty"` // distinct errors (unknown only)
}

// blockEvents returns the events of one block, given its previous report
// (nil on first sighting) and its current one, without Run and Seq.
func blockEvents(b block, prev, cur *reputation.Report) []event {
	base := event{Block: b.Prefix, Label: b.Label, Verdict: cur.Verdict, Score: cur.Score}
	mk := func(kind string, details any, format string, a ...any) event {
		e := base
		e.Kind, e.Details, e.Text = kind, details, fmt.Sprintf(format, a...)
		return e
	}
	if prev == nil {
		return []event{mk(kindNew, nil, "new block: %s, score %.2f", cur.Verdict, cur.Score)}
	}
	c := reputation.Diff(prev, cur)
	var out []event
	if c.VerdictChanged() {
		out = append(out, mk(kindVerdict, verdictChange{c.VerdictBefore, c.VerdictAfter, c.ScoreBefore, c.ScoreAfter},
			"verdict %s -> %s, score %.2f -> %.2f", c.VerdictBefore, c.VerdictAfter, c.ScoreBefore, c.ScoreAfter))
	} else if d := c.ScoreDelta(); d != 0 {
		out = append(out, mk(kindScore, scoreChange{c.ScoreBefore, c.ScoreAfter, d},
			"score %.2f -> %.2f (%+.2f), verdict still %s", c.ScoreBefore, c.ScoreAfter, d, c.VerdictAfter))
	}
	for _, l := range c.NewlyListed {
		out = append(out, mk(kindListed, listingChange{ListingReport: l}, "newly listed: %s", describeListing(l)))
	}
	for _, l := range c.Delisted {
		out = append(out, mk(kindDelisted, listingChange{ListingReport: l}, "delisted: %s", describeListing(l)))
	}
	for _, l := range c.Unconfirmed {
		why := unanswered(cur, l)
		out = append(out, mk(kindUnconfirmed, listingChange{ListingReport: l, Why: why},
			"listing not re-checked (%s): %s", why, describeListing(l)))
	}
	for _, g := range groupLookups(c.NewlyUnknown, true) {
		out = append(out, mk(kindUnknown, g, "newly unknown: %s: %d lookups got no answer (%s): %s",
			g.Source, g.Count, strings.Join(g.Errors, "; "), abbreviate(g.Targets)))
	}
	for _, g := range groupLookups(c.Resolved, false) {
		out = append(out, mk(kindResolved, g, "resolved: %s: %d lookups answered again: %s",
			g.Source, g.Count, abbreviate(g.Targets)))
	}
	return out
}

// removedEvent is the event of a block that left the inventory.
func removedEvent(p netip.Prefix, sb storedBlock) event {
	e := event{Block: p, Label: sb.Label, Kind: kindRemoved}
	if sb.Report != nil {
		e.Verdict, e.Score = sb.Report.Verdict, sb.Report.Score
	}
	e.Text = fmt.Sprintf("removed from the inventory (last verdict %s, score %.2f); its history is dropped", e.Verdict, e.Score)
	return e
}

// unanswered says why cur has no answer for the listing l, which
// reputation.Diff found unconfirmed: its source was not usable or not
// asked, or the lookup failed.
func unanswered(cur *reputation.Report, l reputation.ListingReport) string {
	for _, s := range cur.Sources {
		if s.Name == l.Source && !s.Status.Usable() {
			why := "source " + string(s.Status)
			if s.Detail != "" {
				why += ": " + s.Detail
			}
			return why
		}
	}
	for _, u := range cur.Unknown {
		if u.Covers(l) {
			return "lookup failed: " + u.Error
		}
	}
	return "source no longer asked"
}

func describeListing(l reputation.ListingReport) string {
	var b strings.Builder
	if l.Address.IsValid() {
		b.WriteString(l.Address.String())
	} else {
		b.WriteString(l.Prefix.String())
	}
	fmt.Fprintf(&b, " by %s (%s, %s", l.Source, strings.Join(l.Categories, ","), l.Severity)
	for _, c := range l.Codes {
		fmt.Fprintf(&b, ", %s", c)
	}
	b.WriteString(")")
	if l.Reason != "" {
		fmt.Fprintf(&b, ": %q", l.Reason)
	}
	return b.String()
}

// groupLookups groups lookup reports by source, in order of first
// appearance.
func groupLookups(us []reputation.UnknownReport, withErrors bool) []lookupChange {
	var out []lookupChange
	idx := map[string]int{}
	for _, u := range us {
		i, ok := idx[u.Source]
		if !ok {
			i = len(out)
			idx[u.Source] = i
			out = append(out, lookupChange{Source: u.Source, Targets: []string{}})
		}
		g := &out[i]
		g.Count++
		if u.Address.IsValid() {
			g.Targets = append(g.Targets, u.Address.String())
		} else {
			g.Targets = append(g.Targets, u.Prefix.String())
		}
		if withErrors && !slices.Contains(g.Errors, u.Error) && len(g.Errors) < 5 {
			g.Errors = append(g.Errors, u.Error)
		}
	}
	return out
}

// abbreviate lists at most five targets.
func abbreviate(ts []string) string {
	if len(ts) <= 5 {
		return strings.Join(ts, " ")
	}
	return fmt.Sprintf("%s ... (%d more)", strings.Join(ts[:5], " "), len(ts)-5)
}
