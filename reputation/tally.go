package reputation

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
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
	var checked []bool // per address of b.addrs: some per-address source answered
	sub := newSubnetTally(b.p)
	var hot []netip.Addr // addresses listed by address-scope evidence, low or worse
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
		w := r.pol.weight(st.name)
		if perAddr {
			if checked == nil {
				checked = make([]bool, len(b.addrs))
			}
			rep.Sampled = rep.Sampled || sp.sampled
		}
		var aggs []agg
		answered := 0
		badListed := 0      // per-address: addresses listed low or worse
		badCovered := 0.0   // whole-block: share covered by entries low or worse
		var firstErr string // the first failure, for the source's detail
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
				if firstErr == "" {
					firstErr = u.Error
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
				sub.checked(t.addr)
				if res.listing.Listed {
					sr.Listed++
					worst, addrScope := addListing(rep, &aggs, st.name, t.addr, netip.Prefix{}, res.listing, 0)
					if worst >= SeverityLow {
						badListed++
						sub.listed(t.addr, worst)
						if addrScope && w > 0 {
							hot = append(hot, t.addr)
						}
					}
				}
				continue
			}
			hit := false
			for _, m := range res.matches {
				ext := m.Prefix.Masked()
				share := shareOf(ext, b.p)
				if share == 0 || !m.Listed {
					continue
				}
				hit = true
				if worst, _ := addListing(rep, &aggs, st.name, netip.Addr{}, ext, m.Listing, share); worst >= SeverityLow {
					badCovered += share
					sub.covered(ext, worst)
				}
			}
			if hit {
				sr.Listed++
			}
		}
		planned += sr.Planned
		answeredAll += answered
		if sr.Errors > 0 && sr.Status.Usable() {
			// Failures during the run (a list that began to rate-limit or
			// refuse) are said next to the source, not only counted.
			sr.Detail = fmt.Sprintf("%d of %d lookups failed, first: %s", sr.Errors, sr.Queried, firstErr)
		}
		rep.Sources[j] = sr

		first := len(rep.Reasons)
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
			// The dense rule must hold for the whole block, so a sample
			// uses the lower bound of the listed share.
			low := rs.Covered
			if perAddr && sp.sampled {
				low = wilsonLower(a.listed, answered)
			}
			var rules []string
			if w > 0 {
				rules = r.pol.categoryRules(&rs, low, perAddr && sp.sampled)
			}
			rs.Covered = round4(rs.Covered)
			rs.Text = reasonText(rs, rep.AddressesTotal, perAddr && sp.sampled, perAddr, fb)
			for _, rt := range rules {
				rs.Text += "; " + rt
			}
			rep.Reasons = append(rep.Reasons, rs)
		}
		// One source listing much of the block, whatever its severity:
		// shown on that source's broadest reason.
		if share := sourceShare(perAddr, badListed, answered, badCovered); w > 0 && r.pol.reviewShare > 0 &&
			share >= r.pol.reviewShare && len(rep.Reasons) > first &&
			!slices.ContainsFunc(rep.Reasons[first:], func(x Reason) bool { return x.Forces != "" }) {
			rs := slices.MaxFunc(rep.Reasons[first:], func(x, y Reason) int { return cmp.Compare(x.Covered, y.Covered) })
			i := first + slices.IndexFunc(rep.Reasons[first:], func(x Reason) bool { return x.Category == rs.Category })
			forceReason(&rep.Reasons[i], RuleReviewShare, VerdictReview)
			rep.Reasons[i].Text += "; " + fmt.Sprintf("rule %s: %s lists %s of the block (%s or more, any severity), forces review",
				RuleReviewShare, st.name, percent(share), percent(r.pol.reviewShare))
		}
	}
	if rs, ok := r.pol.hotReason(b.p, hot); ok {
		rep.Reasons = append(rep.Reasons, rs)
	}
	rep.Subnets = sub.reports(r.pol.hotThreshold(24), hot)

	for _, ok := range checked {
		if ok {
			rep.AddressesChecked++
		}
	}
	slices.SortStableFunc(rep.Reasons, func(x, y Reason) int {
		if c := cmp.Compare(verdictRank(y.Forces), verdictRank(x.Forces)); c != 0 {
			return c
		}
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
	sortListings(rep.Listings)
	sortListings(rep.Whitelist)
	rep.Listings, rep.Whitelist = mergeListings(rep.Listings), mergeListings(rep.Whitelist)
	rep.Listings, rep.Omitted = capListings(rep.Listings, r.s.maxListings())

	forced := VerdictClean
	for _, rs := range rep.Reasons {
		if verdictRank(rs.Forces) > verdictRank(forced) {
			forced = rs.Forces
		}
	}
	switch {
	case rep.Interrupted:
		rep.Verdict = VerdictIncomplete
	case forced == VerdictReject:
		rep.Verdict = VerdictReject
	case planned == 0 || float64(answeredAll) < r.pol.minCoverage*float64(planned):
		rep.Verdict = VerdictIncomplete
	case rep.Score < r.pol.rejectBelow:
		rep.Verdict = VerdictReject
	case rep.Score < r.pol.reviewBelow || forced == VerdictReview:
		rep.Verdict = VerdictReview
	default:
		rep.Verdict = VerdictClean
	}
	return rep
}

// verdictRank orders the verdicts a rule can force: none, review, reject.
func verdictRank(v Verdict) int {
	switch v {
	case VerdictReject:
		return 2
	case VerdictReview:
		return 1
	}
	return 0
}

// forceReason records on rs that rule fired, keeping the strongest rule.
func forceReason(rs *Reason, rule string, v Verdict) {
	if verdictRank(v) > verdictRank(rs.Forces) {
		rs.Rule, rs.Forces = rule, v
	}
	rs.ForcesReject = rs.Forces == VerdictReject
}

// categoryRules applies the rules that look at one (source, category) to
// rs and returns the text of each that fired. low is the share used by the
// dense rule (the Wilson lower bound for a sample).
//
// Only the rules of the strongest verdict are told: a review rule adds
// nothing to a reason that already rejects.
func (p *policy) categoryRules(rs *Reason, low float64, sampled bool) []string {
	var out []string
	fire := func(rule string, v Verdict, text string) {
		if verdictRank(v) < verdictRank(rs.Forces) {
			return
		}
		if verdictRank(v) > verdictRank(rs.Forces) {
			out = out[:0]
		}
		forceReason(rs, rule, v)
		out = append(out, "rule "+rule+": "+text+", forces "+string(v))
	}
	critical := rs.Severity == SeverityCritical && rs.Covered >= p.critShare
	if critical {
		fire(RuleCriticalShare, VerdictReject, fmt.Sprintf("critical listing covers %s of the block (%s or more)",
			percent(rs.Covered), percent(p.critShare)))
	}
	if p.rejects(rs.Category) {
		fire(RuleRejectCategory, VerdictReject, fmt.Sprintf("%q anywhere in the block rejects it", rs.Category))
	}
	if !critical && rs.Severity >= SeverityHigh && p.denseShare > 0 && low >= p.denseShare {
		what := "lists " + percent(rs.Covered) + " of the checked addresses"
		switch {
		case sampled:
			what = fmt.Sprintf("lists at least %s of the block (95%% lower bound of the sample)", percent(low))
		case rs.Entries > 0:
			what = "covers " + percent(rs.Covered) + " of the block"
		}
		fire(RuleDense, VerdictReject, fmt.Sprintf("%s %s, %s or more", rs.Severity, what, percent(p.denseShare)))
	}
	if rs.Severity >= p.reviewSev && rs.Severity >= SeverityLow {
		fire(RuleReviewSeverity, VerdictReview, fmt.Sprintf("a %s listing anywhere in the block", rs.Severity))
	}
	return out
}

// sourceShare is the share of the block one source lists (low severity or
// worse): of the addresses that got an answer, or covered by its entries.
func sourceShare(perAddr bool, listed, answered int, covered float64) float64 {
	if perAddr {
		if answered == 0 {
			return 0
		}
		return float64(listed) / float64(answered)
	}
	return min(1, covered)
}

// hotReason returns the reason for the hot-/24 rule if the block holds a
// /24 with at least the policy's threshold of addresses listed by
// address-scope evidence (IPv4 only: the /24 is IPv4's unit of blocking).
func (p *policy) hotReason(block netip.Prefix, listed []netip.Addr) (Reason, bool) {
	need := p.hotThreshold(block.Bits())
	if need == 0 || !block.Addr().Is4() || len(listed) < need {
		return Reason{}, false
	}
	hot := hotSubnets(listed, need)
	if len(hot) == 0 {
		return Reason{}, false
	}
	rs := Reason{Category: RuleHot24, Scope: ScopeAddress, Severity: SeverityLow, Entries: len(hot)}
	var names []string
	for i, h := range hot {
		rs.Listed += h.n
		if i < 3 {
			names = append(names, fmt.Sprintf("%s (%d listed)", h.p, h.n))
		}
	}
	list := strings.Join(names, ", ")
	if len(hot) > 3 {
		list += fmt.Sprintf(" and %d more", len(hot)-3)
	}
	unit := "/24"
	if block.Bits() > 24 {
		unit = "block"
	}
	rs.Text = fmt.Sprintf("rule %s: %s hot (%d or more addresses listed by per-address lists, as UCEPROTECT Level 2 counts): %s, forces review",
		RuleHot24, plural(len(hot), unit, unit+"s"), need, list)
	forceReason(&rs, RuleHot24, VerdictReview)
	return rs, true
}

// hotCount is a /24 and how many listed addresses it holds.
type hotCount struct {
	p netip.Prefix
	n int
}

// hotSubnets groups listed IPv4 addresses by /24 and returns the /24s with
// at least need of them, densest first.
func hotSubnets(listed []netip.Addr, need int) []hotCount {
	addrs := slices.Clone(listed)
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	var out []hotCount
	for i := 0; i < len(addrs); {
		p, _ := addrs[i].Prefix(24)
		j := i
		for j < len(addrs) && p.Contains(addrs[j]) {
			j++
		}
		if j-i >= need {
			out = append(out, hotCount{p, j - i})
		}
		i = j
	}
	slices.SortStableFunc(out, func(x, y hotCount) int { return cmp.Compare(y.n, x.n) })
	return out
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
// It returns the worst severity of the listing's evidence other than allow
// (SeverityAllow if it has none) and whether that evidence includes
// address-scope evidence of low severity or worse.
func addListing(rep *Report, aggs *[]agg, source string, addr netip.Addr, ext netip.Prefix, l Listing, share float64) (worst Severity, addrScope bool) {
	worst = SeverityAllow
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
		worst = max(worst, e.Severity)
		addrScope = addrScope || (e.Scope == ScopeAddress && e.Severity >= SeverityLow)
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
	return worst, addrScope
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

// sortListings sorts ls by address or extent (first address, then prefix
// length; an address counts as a full-length prefix), keeping the order of
// equal entries as a stable sort would. It sorts small keys and then
// moves each listing once: a ListingReport is some 200 bytes, which a stable
// sort of the listings themselves copies O(n log² n) times, a cost a block
// with thousands of listings feels.
func sortListings(ls []ListingReport) {
	if len(ls) < 2 {
		return
	}
	type key struct {
		addr netip.Addr
		bits int
		i    int
	}
	keys := make([]key, len(ls))
	byExtent := func(x, y key) int {
		if c := x.addr.Compare(y.addr); c != 0 {
			return c
		}
		return cmp.Compare(x.bits, y.bits)
	}
	for i := range ls {
		a, bits := listingKey(ls[i])
		keys[i] = key{a, bits, i}
	}
	if slices.IsSortedFunc(keys, byExtent) {
		return
	}
	slices.SortFunc(keys, func(x, y key) int {
		if c := byExtent(x, y); c != 0 {
			return c
		}
		return cmp.Compare(x.i, y.i) // stable
	})
	out := make([]ListingReport, len(ls))
	for j, k := range keys {
		out[j] = ls[k.i]
	}
	copy(ls, out)
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
