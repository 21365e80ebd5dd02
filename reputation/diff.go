package reputation

import (
	"net/netip"
	"slices"

	"github.com/prefixvet/prefixvet/prefix"
)

// Changes is what changed between two reports of the same block: what a
// re-scoring job alerts on. Its JSON form is stable.
type Changes struct {
	// Prefix is the block of the current report.
	Prefix netip.Prefix `json:"prefix"`
	// VerdictBefore and VerdictAfter are the verdicts of the previous and
	// the current report; VerdictBefore is empty when there was none.
	VerdictBefore Verdict `json:"verdict_before"`
	VerdictAfter  Verdict `json:"verdict_after"`
	// ScoreBefore and ScoreAfter are the scores; ScoreBefore is 0 when
	// there was no previous report.
	ScoreBefore float64 `json:"score_before"`
	ScoreAfter  float64 `json:"score_after"`
	// NewlyListed holds the listings of the current report that the
	// previous one did not have (keyed by source and address or extent).
	NewlyListed []ListingReport `json:"newly_listed"`
	// Delisted holds the listings of the previous report that the current
	// one no longer has although it asked: the source was usable and its
	// lookup got a definite answer.
	Delisted []ListingReport `json:"delisted"`
	// Unconfirmed holds the listings of the previous report that the current
	// one could not re-check: the source was missing or not usable (refused,
	// dead, unreachable), or its lookup got no answer. They are neither
	// delisted nor still listed; a job should keep them in view.
	Unconfirmed []ListingReport `json:"unconfirmed"`
	// NewlyUnknown holds the lookups that failed now but not before.
	NewlyUnknown []UnknownReport `json:"newly_unknown"`
	// Resolved holds the lookups that failed before but not now.
	Resolved []UnknownReport `json:"resolved"`
}

// VerdictChanged reports whether the verdict changed.
func (c *Changes) VerdictChanged() bool { return c.VerdictBefore != c.VerdictAfter }

// ScoreDelta returns ScoreAfter − ScoreBefore.
func (c *Changes) ScoreDelta() float64 { return c.ScoreAfter - c.ScoreBefore }

// IsZero reports whether nothing changed.
func (c *Changes) IsZero() bool {
	return !c.VerdictChanged() && c.ScoreBefore == c.ScoreAfter && len(c.NewlyListed) == 0 &&
		len(c.Delisted) == 0 && len(c.Unconfirmed) == 0 && len(c.NewlyUnknown) == 0 && len(c.Resolved) == 0
}

// entryKey identifies a listing or an unknown lookup across reports.
type entryKey struct {
	source string
	addr   netip.Addr
	prefix netip.Prefix
}

// Diff returns what changed from prev to cur. A nil prev means "no previous
// report": everything in cur is new. Listings are compared as the addresses
// each source lists, so a range merged differently in the two reports (a
// /30 then, a /31 and two addresses now) is no change: a listing of cur
// that prev's listings of the same source do not cover is newly listed
// (only its uncovered part, as addresses or CIDR prefixes within cur's
// block, when prev covered some of it), and the other way round for
// delisted. Unknown lookups are matched by source and address (or block).
// Diff works on reports that went through JSON. A listing whose codes or
// categories changed is neither newly listed nor delisted. Listings that a
// report left out ([Report.Omitted]) are not known to Diff: a source with
// omitted listings in cur has its missing listings Unconfirmed, not
// Delisted; a re-scoring job that needs exact changes sets
// [Scorer.MaxListings] to no limit. Diff does not
// check that both reports are of the same block. The lists keep the order of
// the reports.
//
// A listing that cur lacks is delisted only when cur got an answer for it;
// when its source was missing or unusable in cur, or the lookup failed, it is
// Unconfirmed: a refused resolver never reads as "delisted". When a block is
// sampled, Diff assumes both reports checked the same addresses (the same
// seed and limits give the same sample).
func Diff(prev, cur *Report) Changes {
	if prev == nil {
		prev = &Report{}
	}
	if cur == nil {
		cur = &Report{}
	}
	c := Changes{
		Prefix:        cur.Prefix,
		VerdictBefore: prev.Verdict,
		VerdictAfter:  cur.Verdict,
		ScoreBefore:   prev.Score,
		ScoreAfter:    cur.Score,
		NewlyListed:   uncovered(cur.Listings, prev.Listings, cur.Prefix),
		Delisted:      []ListingReport{},
		Unconfirmed:   []ListingReport{},
		NewlyUnknown:  missing(cur.Unknown, prev.Unknown, unknownKeyOf),
		Resolved:      missing(prev.Unknown, cur.Unknown, unknownKeyOf),
	}
	for _, l := range uncovered(prev.Listings, cur.Listings, cur.Prefix) {
		if answered(cur, l) {
			c.Delisted = append(c.Delisted, l)
		} else {
			c.Unconfirmed = append(c.Unconfirmed, l)
		}
	}
	return c
}

// answered reports whether cur got a definite answer from l's source for
// l's address or extent.
func answered(cur *Report, l ListingReport) bool {
	if cur.Omitted[l.Source] > 0 {
		return false
	}
	usable := false
	for _, s := range cur.Sources {
		if s.Name == l.Source {
			usable = s.Status.Usable()
			break
		}
	}
	if !usable {
		return false
	}
	for _, u := range cur.Unknown {
		if u.Covers(l) {
			return false
		}
	}
	return true
}

// Covers reports whether the failed lookup u concerns the listing l: the
// same source, and u's address inside l or u's block overlapping it.
func (u UnknownReport) Covers(l ListingReport) bool {
	if u.Source != l.Source {
		return false
	}
	switch {
	case u.Address.IsValid():
		return l.Contains(u.Address)
	case u.Prefix.IsValid() && l.Prefix.IsValid():
		return u.Prefix.Overlaps(l.Prefix)
	case u.Prefix.IsValid() && l.Address.IsValid():
		return u.Prefix.Contains(l.Address)
	}
	return false
}

// uncovered returns the parts of the listings xs that no listing of ys from
// the same source covers: each x whole when nothing of ys overlaps it,
// otherwise its uncovered addresses within block as addresses and CIDR
// prefixes, with x's other fields. Never nil.
func uncovered(xs, ys []ListingReport, block netip.Prefix) []ListingReport {
	cover := map[string][]prefix.Range{}
	for _, y := range ys {
		cover[y.Source] = append(cover[y.Source], listingRange(y))
	}
	for _, rs := range cover {
		slices.SortFunc(rs, func(a, b prefix.Range) int { return a.From().Compare(b.From()) })
	}
	out := []ListingReport{}
	for _, x := range xs {
		xr := listingRange(x)
		rs := cover[x.Source]
		overlaps := false
		for _, r := range rs {
			if r.From().Compare(xr.To()) <= 0 && xr.From().Compare(r.To()) <= 0 {
				overlaps = true
				break
			}
		}
		if !overlaps {
			out = append(out, x)
			continue
		}
		// Clip x to the block: outside it, neither report says anything.
		if block.IsValid() {
			br := prefix.RangeOf(block)
			if xr.From().Compare(br.From()) < 0 {
				xr = prefix.RangeFrom(br.From(), xr.To())
			}
			if xr.To().Compare(br.To()) > 0 {
				xr = prefix.RangeFrom(xr.From(), br.To())
			}
		}
		for _, part := range subtract(xr, rs) {
			for p := range part.Prefixes() {
				l := x
				l.Address, l.Prefix = netip.Addr{}, p
				if p.Bits() == p.Addr().BitLen() {
					l.Address, l.Prefix = p.Addr(), netip.Prefix{}
				}
				out = append(out, l)
			}
		}
	}
	return out
}

// listingRange returns the addresses a listing covers.
func listingRange(l ListingReport) prefix.Range {
	if l.Prefix.IsValid() {
		return prefix.RangeOf(l.Prefix)
	}
	return prefix.RangeFrom(l.Address, l.Address)
}

// subtract returns the parts of r that no range of rs (sorted by start)
// covers, in order.
func subtract(r prefix.Range, rs []prefix.Range) []prefix.Range {
	var out []prefix.Range
	from := r.From()
	for _, c := range rs {
		if c.To().Compare(from) < 0 || c.From().Compare(r.To()) > 0 {
			continue
		}
		if c.From().Compare(from) > 0 {
			out = append(out, prefix.RangeFrom(from, c.From().Prev()))
		}
		if c.To().Compare(r.To()) >= 0 {
			return out
		}
		if n := c.To().Next(); n.Compare(from) > 0 {
			from = n
		}
	}
	return append(out, prefix.RangeFrom(from, r.To()))
}
func unknownKeyOf(u UnknownReport) entryKey { return entryKey{u.Source, u.Address, u.Prefix} }

// missing returns the elements of xs whose key is not among the keys of ys;
// never nil.
func missing[T any](xs, ys []T, key func(T) entryKey) []T {
	have := make(map[entryKey]bool, len(ys))
	for _, y := range ys {
		have[key(y)] = true
	}
	out := []T{}
	for _, x := range xs {
		if !have[key(x)] {
			out = append(out, x)
		}
	}
	return out
}
