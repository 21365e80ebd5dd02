package reputation

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// DefaultCategory and DefaultSeverity describe a listing that carries no
// [Evidence] (a source that only says "listed").
const (
	DefaultCategory = "listed"
	DefaultSeverity = SeverityMedium
)

// agg accumulates what one source says in one category about one block.
type agg struct {
	category string
	sev      Severity
	scope    Scope
	listed   int     // per-address: addresses listed
	entries  int     // whole-block: entries matched
	covered  float64 // whole-block: share of the block covered
}

func (r *run) reports(d time.Duration) []*Report {
	out := make([]*Report, len(r.blocks))
	for bi := range r.blocks {
		out[bi] = r.tally(&r.blocks[bi], d)
	}
	return out
}

// tally turns the results of one block into its report. It reads only the
// results, in a fixed order, so the report does not depend on the order in
// which lookups finished.
func (r *run) tally(b *block, d time.Duration) *Report {
	rep := &Report{
		Prefix:         b.p,
		AddressesTotal: math.Ldexp(1, b.p.Addr().BitLen()-b.p.Bits()),
		Seed:           r.seed,
		Interrupted:    r.aborted,
		DurationMS:     d.Milliseconds(),
		PolicyVersion:  r.pol.version,
		Reasons:        []Reason{},
		Sources:        make([]SourceReport, len(r.srcs)),
		Listings:       []ListingReport{},
		Whitelist:      []ListingReport{},
		Unknown:        []UnknownReport{},
	}
	var planned, answeredAll int
	var forced bool
	var checked []bool // per address of b.addrs: some per-address source answered
	for j := range r.srcs {
		st := &r.srcs[j]
		sr := SourceReport{Name: st.name, Kind: st.info.Kind, Status: st.health.Status, Detail: st.health.Detail}
		if b.plans == nil || b.plans[j].skip != "" {
			// An unusable source keeps its probe's explanation; a usable
			// one that was not asked says why it was not.
			if b.plans != nil && (sr.Detail == "" || sr.Status.Usable()) {
				sr.Detail = b.plans[j].skip
			}
			rep.Sources[j] = sr
			continue
		}
		sp := &b.plans[j]
		perAddr := st.pl == nil
		if perAddr {
			if checked == nil {
				checked = make([]bool, len(b.addrs))
			}
			rep.Sampled = rep.Sampled || sp.sampled
		}
		var aggs []agg
		answered := 0
		for k, ti := range sp.tasks {
			t, res := &r.tasks[ti], &r.results[ti]
			sr.Planned++
			if res.state != stateDone {
				// Cut off by the caller: unknown, like a failed lookup,
				// but not the source's failure.
				rep.Interrupted = true
				sr.Interrupted++
				rep.Unknown = append(rep.Unknown, r.cutOff(st.name, t, b.p))
				continue
			}
			if res.err == nil && perAddr {
				if sp.sel != nil {
					checked[sp.sel[k]] = true
				} else {
					checked[k] = true
				}
			} else if res.err == nil {
				rep.BlockChecked = true
			}
			sr.Queried++
			if res.err != nil {
				sr.Errors++
				u := UnknownReport{Source: st.name, Error: res.err.Error(), Err: res.err}
				if se := (*SourceError)(nil); errors.As(res.err, &se) {
					u.Error = se.Err.Error()
				}
				if perAddr {
					u.Address = t.addr
				} else {
					u.Prefix = b.p
				}
				rep.Unknown = append(rep.Unknown, u)
				continue
			}
			answered++
			if perAddr {
				if res.listing.Listed {
					sr.Listed++
					addListing(rep, &aggs, st.name, t.addr, netip.Prefix{}, res.listing, 0)
				}
				continue
			}
			hit := false
			for _, m := range res.matches {
				share := shareOf(m.Prefix.Masked(), b.p)
				if share == 0 || !m.Listed {
					continue
				}
				hit = true
				addListing(rep, &aggs, st.name, netip.Addr{}, m.Prefix.Masked(), m.Listing, share)
			}
			if hit {
				sr.Listed++
			}
		}
		planned += sr.Planned
		answeredAll += answered
		rep.Sources[j] = sr

		w := r.pol.weight(st.name)
		for _, a := range aggs {
			rs := Reason{
				Source: st.name, Kind: st.info.Kind, Category: a.category,
				Severity: a.sev, Scope: a.scope, Entries: a.entries,
			}
			fb := 0.0
			if perAddr {
				rs.Listed, rs.Checked = a.listed, answered
				if answered > 0 {
					rs.Covered = float64(a.listed) / float64(answered)
				}
				fb = rs.Covered
				if sp.sampled {
					fb = wilsonUpper(a.listed, answered)
				}
			} else {
				rs.Covered = min(1, a.covered)
				fb = rs.Covered
			}
			rs.Breadth = round2(r.pol.minBreadth + (1-r.pol.minBreadth)*fb)
			rs.Points = round2(r.pol.pointsOf(a.sev) * w * (r.pol.minBreadth + (1-r.pol.minBreadth)*fb))
			rs.ForcesReject = a.sev == SeverityCritical && w > 0 && rs.Covered >= r.pol.critShare
			forced = forced || rs.ForcesReject
			rs.Covered = round4(rs.Covered)
			rs.Text = reasonText(rs, rep.AddressesTotal, perAddr && sp.sampled, perAddr, fb)
			rep.Reasons = append(rep.Reasons, rs)
		}
	}

	for _, ok := range checked {
		if ok {
			rep.AddressesChecked++
		}
	}
	slices.SortStableFunc(rep.Reasons, func(x, y Reason) int {
		if c := cmp.Compare(y.Points, x.Points); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Source, y.Source); c != 0 {
			return c
		}
		return cmp.Compare(x.Category, y.Category)
	})
	score := 100.0
	for _, rs := range rep.Reasons {
		score -= rs.Points
	}
	rep.Score = round2(min(100, max(0, score)))
	rep.LookupsPlanned, rep.LookupsAnswered = planned, answeredAll
	if answeredAll == 0 {
		// Nothing answered: 100 would read as clean.
		rep.Score, rep.NotScored = 0, true
	}
	if planned > 0 {
		rep.Coverage = round4(float64(answeredAll) / float64(planned))
	}
	slices.SortStableFunc(rep.Listings, compareListings)
	slices.SortStableFunc(rep.Whitelist, compareListings)

	switch {
	case rep.Interrupted:
		rep.Verdict = VerdictIncomplete
	case forced:
		rep.Verdict = VerdictReject
	case planned == 0 || float64(answeredAll) < r.pol.minCoverage*float64(planned):
		rep.Verdict = VerdictIncomplete
	case rep.Score < r.pol.rejectBelow:
		rep.Verdict = VerdictReject
	case rep.Score < r.pol.reviewBelow:
		rep.Verdict = VerdictReview
	default:
		rep.Verdict = VerdictClean
	}
	return rep
}

// cutOff is the unknown entry of a lookup the caller's ctx cut off.
func (r *run) cutOff(source string, t *task, p netip.Prefix) UnknownReport {
	err := r.cause
	if err == nil { // not reached: only the caller's ctx leaves a lookup pending
		err = errors.New("not answered: reputation: scoring interrupted")
	}
	se := &SourceError{Source: source, Err: err}
	if t.block >= 0 {
		se.Prefix = p
	} else {
		se.Addr = t.addr
	}
	return UnknownReport{Address: se.Addr, Prefix: se.Prefix, Source: source, Error: err.Error(), Err: se}
}

// addListing records a listed answer (about addr, or about the extent ext
// covering share of the block) in rep and in the aggregates.
func addListing(rep *Report, aggs *[]agg, source string, addr netip.Addr, ext netip.Prefix, l Listing, share float64) {
	lr := ListingReport{Address: addr, Prefix: ext, Source: source, Reason: l.Reason, DelistURL: l.DelistURL}
	wl := lr
	wl.Severity = SeverityAllow
	ev := l.Evidence
	if len(ev) == 0 {
		ev = []Evidence{{Category: DefaultCategory, Severity: DefaultSeverity}}
	}
	bad := false
	for _, e := range ev {
		cat := e.Category
		if cat == "" {
			cat = DefaultCategory
		}
		if e.Severity == SeverityAllow {
			addEvidence(&wl, e, cat)
			continue
		}
		first := !slices.Contains(lr.Categories, cat)
		bad = true
		addEvidence(&lr, e, cat)
		i := slices.IndexFunc(*aggs, func(a agg) bool { return a.category == cat })
		if i < 0 {
			*aggs = append(*aggs, agg{category: cat, sev: e.Severity, scope: e.Scope})
			i = len(*aggs) - 1
		}
		a := &(*aggs)[i]
		a.sev, a.scope = max(a.sev, e.Severity), max(a.scope, e.Scope)
		if first {
			if ext.IsValid() {
				a.entries++
				a.covered += share
			} else {
				a.listed++
			}
		}
	}
	if bad {
		rep.Listings = append(rep.Listings, lr)
	}
	if len(wl.Categories) > 0 {
		rep.Whitelist = append(rep.Whitelist, wl)
	}
}

func addEvidence(lr *ListingReport, e Evidence, cat string) {
	if e.Code.IsValid() && !slices.Contains(lr.Codes, e.Code) {
		lr.Codes = append(lr.Codes, e.Code)
	}
	if !slices.Contains(lr.Categories, cat) {
		lr.Categories = append(lr.Categories, cat)
	}
	if e.ID != "" && !slices.Contains(lr.IDs, e.ID) {
		lr.IDs = append(lr.IDs, e.ID)
	}
	if e.Severity != SeverityAllow {
		lr.Severity, lr.Scope = max(lr.Severity, e.Severity), max(lr.Scope, e.Scope)
	}
}

// shareOf returns the share of block b covered by the extent m.
func shareOf(m, b netip.Prefix) float64 {
	if !m.IsValid() || m.Addr().Is4() != b.Addr().Is4() {
		return 0
	}
	if m.Bits() <= b.Bits() {
		if m.Contains(b.Addr()) {
			return 1
		}
		return 0
	}
	if b.Contains(m.Addr()) {
		return math.Ldexp(1, b.Bits()-m.Bits())
	}
	return 0
}

func compareListings(x, y ListingReport) int {
	xa, xb := listingKey(x)
	ya, yb := listingKey(y)
	if c := xa.Compare(ya); c != 0 {
		return c
	}
	return cmp.Compare(xb, yb)
}

func listingKey(l ListingReport) (netip.Addr, int) {
	if l.Prefix.IsValid() {
		return l.Prefix.Addr(), l.Prefix.Bits()
	}
	return l.Address, l.Address.BitLen()
}

// reasonText writes a reason for people:
// "SpamCop (spam): 12 of 256 addresses listed, -5.7".
func reasonText(rs Reason, total float64, sampled, perAddr bool, bound float64) string {
	s := rs.Source + " (" + rs.Category + "): "
	switch {
	case perAddr && sampled:
		s += fmt.Sprintf("%d of %d sampled addresses listed (up to %s of the block)",
			rs.Listed, rs.Checked, percent(bound))
	case perAddr:
		s += fmt.Sprintf("%d of %d addresses listed", rs.Listed, rs.Checked)
	case rs.Covered >= 1 && rs.Entries == 1:
		s += "an entry covers the whole block"
	case rs.Covered >= 1:
		s += fmt.Sprintf("%d entries cover the whole block", rs.Entries)
	case total <= 1<<24:
		s += fmt.Sprintf("%s cover%s %s of %s addresses", plural(rs.Entries, "entry", "entries"),
			map[bool]string{true: "s", false: ""}[rs.Entries == 1],
			num(math.Round(rs.Covered*total)), num(total))
	default:
		s += fmt.Sprintf("%s cover%s %s of the block", plural(rs.Entries, "entry", "entries"),
			map[bool]string{true: "s", false: ""}[rs.Entries == 1], percent(rs.Covered))
	}
	if perAddr && rs.Scope != ScopeAddress {
		s += " by " + rs.Scope.String() + " listings"
	}
	if rs.Points == 0 {
		return s + ", no points (" + rs.Severity.String() + ")"
	}
	return s + ", -" + num(math.Round(rs.Points*10)/10)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func percent(f float64) string {
	p := f * 100
	switch {
	case p >= 10 || p == 0:
		return strconv.FormatFloat(math.Round(p), 'f', -1, 64) + "%"
	case p >= 0.1:
		return strconv.FormatFloat(math.Round(p*10)/10, 'f', -1, 64) + "%"
	}
	return strconv.FormatFloat(p, 'g', 2, 64) + "%"
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }
