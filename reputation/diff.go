package reputation

import "net/netip"

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
// report": everything in cur is new. Listings are matched by source and
// address (or extent), unknown lookups by source and address (or block), so
// Diff works on reports that went through JSON. A listing whose codes or
// categories changed is neither newly listed nor delisted. Diff does not
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
		NewlyListed:   missing(cur.Listings, prev.Listings, listingKeyOf),
		Delisted:      []ListingReport{},
		Unconfirmed:   []ListingReport{},
		NewlyUnknown:  missing(cur.Unknown, prev.Unknown, unknownKeyOf),
		Resolved:      missing(prev.Unknown, cur.Unknown, unknownKeyOf),
	}
	for _, l := range missing(prev.Listings, cur.Listings, listingKeyOf) {
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

func listingKeyOf(l ListingReport) entryKey { return entryKey{l.Source, l.Address, l.Prefix} }
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
