package reputation

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// textWidth is the width WriteText fits its lines into.
const textWidth = 80

// textMaxListings caps the listings WriteText prints per source; the JSON
// form has all.
const textMaxListings = 8

// WriteText writes r as plain text for a terminal of 80 columns: the
// verdict and score, the reasons, a table of the sources (with the reason a
// source was not used or not asked), the listings (at most 8 per source; the
// JSON form has all), the whitelist evidence and the lookups that got no
// answer (failed or cut off) grouped by source (a count, the distinct errors
// and the addresses as ranges). A report with NotScored reads "not scored"
// instead of a score. It
// returns the first write error.
func (r *Report) WriteText(w io.Writer) error {
	tw := &textWriter{w: w}
	score := "score " + num(r.Score)
	if r.NotScored {
		score = "not scored"
	}
	tw.line("%s: %s, %s (policy %s)", r.Prefix, strings.ToUpper(string(r.Verdict)), score, r.PolicyVersion)
	checked := fmt.Sprintf("checked %d of %s addresses", r.AddressesChecked, count(r.AddressesTotal))
	if r.Sampled {
		checked += fmt.Sprintf(" (sampled, seed %d)", r.Seed)
	}
	if r.BlockChecked && r.AddressesChecked == 0 {
		// Only feeds or mirrors answered: for every address at once.
		checked = fmt.Sprintf("checked all %s addresses at once (whole-block sources)", count(r.AddressesTotal))
	}
	tw.line("%s", checked)
	tw.line("coverage %s (%d of %d lookups answered), %d ms", floorPercent(r.Coverage),
		r.LookupsAnswered, r.LookupsPlanned, r.DurationMS)
	if r.Interrupted {
		tw.line("interrupted: not every lookup finished")
	}

	tw.section("Reasons")
	if len(r.Reasons) == 0 {
		tw.line("  none")
	}
	for _, rs := range r.Reasons {
		// "!" marks a reason that forces reject, ">" one that forces review.
		mark := "- "
		switch rs.Forces {
		case VerdictReject:
			mark = "! "
		case VerdictReview:
			mark = "> "
		}
		tw.wrap("  "+mark, "    ", rs.Text)
	}

	if len(r.Subnets) > 0 {
		tw.subnets(r.Subnets)
	}

	tw.section("Sources")
	tw.line("  %-22s %-6s %-11s %7s %7s %6s %6s", "NAME", "KIND", "STATUS", "PLANNED", "QUERIED", "LISTED", "ERRORS")
	for _, s := range r.Sources {
		tw.line("  %-22s %-6s %-11s %7d %7d %6d %6d", fit(s.Name, 22), fit(string(s.Kind), 6), s.Status,
			s.Planned, s.Queried, s.Listed, s.Errors)
		// A usable source that was asked needs no explanation; its probe
		// detail would repeat for every block.
		if s.Detail != "" && (!s.Status.Usable() || s.Planned == 0 || s.Errors > 0) {
			tw.wrap("    ", "    ", s.Detail)
		}
	}

	if len(r.Listings) > 0 {
		tw.section("Listings")
		shown, more := map[string]int{}, map[string]int{}
		var order []string
		for _, l := range r.Listings {
			if shown[l.Source] == textMaxListings {
				if more[l.Source] == 0 {
					order = append(order, l.Source)
				}
				more[l.Source]++
				continue
			}
			shown[l.Source]++
			tw.listing(l)
		}
		for _, src := range order {
			tw.wrap("  ", "    ", fmt.Sprintf("... and %d more listed by %s", more[src], src))
		}
		for _, src := range slices.Sorted(maps.Keys(r.Omitted)) {
			tw.wrap("  ", "    ", fmt.Sprintf("... and %d more entries of %s left out of the report (Scorer.MaxListings)", r.Omitted[src], src))
		}
	}
	if len(r.Whitelist) > 0 {
		tw.section("Whitelist evidence (not scored)")
		for _, l := range r.Whitelist {
			tw.listing(l)
		}
	}
	if len(r.Unknown) > 0 {
		tw.section("No answer")
		for _, g := range groupUnknown(r.Unknown) {
			tw.wrap("  ", "    ", fmt.Sprintf("%s: %d not answered: %s", g.source, g.n, strings.Join(g.spans, ", ")))
			for _, e := range g.errs {
				tw.wrap("    ", "      ", e)
			}
		}
	}
	return tw.err
}

// count formats an address count: exact up to 2^53, else as a power of two.
func count(n float64) string {
	if n <= 1<<53 {
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	_, exp := math.Frexp(n) // n = 0.5 × 2^exp
	return "2^" + strconv.Itoa(exp-1)
}

type unknownGroup struct {
	source string
	n      int
	spans  []string // addresses as ranges, or "whole block"
	errs   []string // distinct errors with counts
}

// groupUnknown groups failed lookups by source, keeping the order of
// first appearance.
func groupUnknown(us []UnknownReport) []unknownGroup {
	const maxSpans, maxErrs = 4, 3
	var gs []unknownGroup
	idx := map[string]int{}
	type span struct{ from, to netip.Addr }
	spans := map[string][]span{}
	errs := map[string]map[string]int{}
	var errOrder = map[string][]string{}
	for _, u := range us {
		i, ok := idx[u.Source]
		if !ok {
			i = len(gs)
			idx[u.Source] = i
			gs = append(gs, unknownGroup{source: u.Source})
			errs[u.Source] = map[string]int{}
		}
		gs[i].n++
		if u.Address.IsValid() {
			ss := spans[u.Source]
			if n := len(ss); n > 0 && ss[n-1].to.Next() == u.Address {
				ss[n-1].to = u.Address
			} else {
				ss = append(ss, span{u.Address, u.Address})
			}
			spans[u.Source] = ss
		} else {
			gs[i].spans = append(gs[i].spans, "whole block "+u.Prefix.String())
		}
		// The same failure for many addresses is one line: the address in
		// the error text is replaced by a placeholder.
		e := u.Error
		if u.Address.IsValid() {
			e = strings.ReplaceAll(e, u.Address.String(), "<address>")
		}
		if errs[u.Source][e] == 0 {
			errOrder[u.Source] = append(errOrder[u.Source], e)
		}
		errs[u.Source][e]++
	}
	for i := range gs {
		g := &gs[i]
		ss := spans[g.source]
		for k, s := range ss {
			if k == maxSpans {
				g.spans = append(g.spans, fmt.Sprintf("and %d more ranges", len(ss)-k))
				break
			}
			if s.from == s.to {
				g.spans = append(g.spans, s.from.String())
			} else {
				g.spans = append(g.spans, s.from.String()+"-"+s.to.String())
			}
		}
		for k, e := range errOrder[g.source] {
			if k == maxErrs {
				g.errs = append(g.errs, fmt.Sprintf("and %d other errors", len(errOrder[g.source])-k))
				break
			}
			g.errs = append(g.errs, fmt.Sprintf("%dx %s", errs[g.source][e], e))
		}
	}
	return gs
}

type textWriter struct {
	w   io.Writer
	err error
}

func (tw *textWriter) line(format string, args ...any) {
	if tw.err != nil {
		return
	}
	s := fmt.Sprintf(format, args...)
	_, tw.err = io.WriteString(tw.w, fit(strings.TrimRight(s, " "), textWidth)+"\n")
}

func (tw *textWriter) section(title string) { tw.line("\n%s:", title) }

// wrap writes s word-wrapped to textWidth, the first line after first and
// the others after indent; words longer than a line are cut.
func (tw *textWriter) wrap(first, indent, s string) {
	cur := first
	empty := true
	for _, word := range strings.Fields(s) {
		if !empty && len(cur)+1+len(word) > textWidth {
			tw.line("%s", cur)
			cur, empty = indent, true
		}
		if !empty {
			cur += " "
		}
		cur += word
		empty = false
	}
	tw.line("%s", cur)
}

func (tw *textWriter) listing(l ListingReport) {
	what := l.Address.String()
	if l.Prefix.IsValid() {
		what = l.Prefix.String()
	}
	var codes []string
	for _, c := range l.Codes {
		codes = append(codes, c.String())
	}
	head := fmt.Sprintf("%s %s %s", what, l.Source, strings.Join(l.Categories, ","))
	if len(codes) > 0 {
		head += " " + strings.Join(codes, ",")
	}
	if len(l.IDs) > 0 {
		head += " " + strings.Join(l.IDs, ",")
	}
	head += " (" + l.Severity.String() + ")"
	tw.wrap("  ", "      ", head)
	if l.Reason != "" {
		tw.wrap("      ", "      ", strconv.Quote(l.Reason))
	}
	if l.DelistURL != "" {
		tw.wrap("      ", "      ", "delist: "+l.DelistURL)
	}
}

// fit cuts s to n bytes, marking the cut with "...".
func fit(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 3 {
		return s[:n]
	}
	return s[:n-3] + "..."
}

// floorPercent formats f as a percentage with one decimal, rounded down so
// that only a complete coverage reads 100%.
func floorPercent(f float64) string {
	return strconv.FormatFloat(math.Floor(f*1000)/10, 'f', -1, 64) + "%"
}

// textMaxSubnets caps the subnets WriteText prints; the JSON form has all.
const textMaxSubnets = 6

// subnets prints the worst subnets: hot first, then by severity and listed
// addresses, then in address order.
func (tw *textWriter) subnets(subs []SubnetReport) {
	var bad []SubnetReport
	for _, s := range subs {
		if s.Listed > 0 || s.Covered > 0 {
			bad = append(bad, s)
		}
	}
	tw.section(fmt.Sprintf("Subnets (%d, %d with listings; worst first)", len(subs), len(bad)))
	if len(bad) == 0 {
		tw.line("  none listed")
		return
	}
	slices.SortStableFunc(bad, func(x, y SubnetReport) int {
		if x.Hot != y.Hot {
			if x.Hot {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(y.Worst, x.Worst); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Listed, x.Listed); c != 0 {
			return c
		}
		return cmp.Compare(y.Covered, x.Covered)
	})
	for i, s := range bad {
		if i == textMaxSubnets {
			tw.line("  ... and %d more with listings", len(bad)-i)
			break
		}
		hot := ""
		if s.Hot {
			hot = " HOT"
		}
		what := fmt.Sprintf("%d of %d checked listed", s.Listed, s.Checked)
		if s.Covered > 0 {
			what += ", " + percent(s.Covered) + " covered by entries"
		}
		tw.line("  %-20s %s, worst %s%s", s.Prefix, what, s.Worst, hot)
	}
}
