package htmlreport

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
)

//go:embed page.html.tmpl style.css script.js
var assets embed.FS

// DefaultMaxListings is the number of listings shown per block when
// [Options.MaxListings] is 0.
const DefaultMaxListings = 500

// maxUnknownPerSource caps the failed lookups shown per source and block;
// the sources table has the exact counts.
const maxUnknownPerSource = 20

// Options adjust a page. The zero value is ready to use.
type Options struct {
	// Title heads the page; "" means "prefixvet report".
	Title string
	// Time is when the reports were made, shown in each verdict banner;
	// the zero Time means the time of the call.
	Time time.Time
	// MaxListings caps the listings shown per block (the embedded JSON
	// keeps all of them, and the page says how many it left out); 0 means
	// DefaultMaxListings and a negative value means no limit.
	MaxListings int
}

// IndexEntry is one block on an index page: its latest report, a label,
// the address of its own page and what changed in the last run.
type IndexEntry struct {
	Report  *reputation.Report // nil: no report (the page says so)
	Label   string             // optional, such as the inventory's label
	Href    string             // address of the block's page; "" means no link
	Changes []string           // what changed, one sentence each
}

// Write renders reps as one self-contained HTML page and writes it to w.
//
// The page needs no network and no script: styles are inline, the heat
// maps are inline SVG, and a small optional script adds tooltips-as-you-go
// and filtering. A Content-Security-Policy forbids every external load.
// With several reports the page starts with a summary table linking to each
// block's section. The reports' JSON is embedded as
// <script type="application/json" id="prefixvet-report">: the
// [encoding/json] form of the single report, or an array when reps holds
// zero or several, byte for byte what json.Marshal gives (which escapes
// '<', '>' and '&', so no string in a report can end the script element).
//
// Nil reports and reports that say little (nothing checked, interrupted,
// sampled) render without error, with a plain statement of what is missing.
// Write returns the first error of w or of encoding.
func Write(w io.Writer, reps []*reputation.Report, opts Options) error {
	var raw []byte
	var err error
	if len(reps) == 1 {
		raw, err = json.Marshal(reps[0])
	} else {
		if reps == nil {
			reps = []*reputation.Report{}
		}
		raw, err = json.Marshal(reps)
	}
	if err != nil {
		return fmt.Errorf("htmlreport: encoding the reports: %w", err)
	}
	pg, err := newPage(opts)
	if err != nil {
		return err
	}
	pg.json = raw
	pg.HasJSON = true
	for i, r := range reps {
		b := pg.block(i, r, opts)
		pg.Blocks = append(pg.Blocks, b)
		if len(reps) > 1 {
			pg.Index = append(pg.Index, indexRow(r, "", "#"+b.ID, nil))
		}
	}
	if len(reps) == 0 {
		pg.Notes = append(pg.Notes, "This page holds no report: no block was vetted.")
	}
	return pg.execute(w)
}

// WriteIndex renders an index page: one row per entry with the block's
// verdict, score and coverage, a link to its page and what changed. It is
// self-contained like the pages of [Write] and embeds no JSON.
func WriteIndex(w io.Writer, entries []IndexEntry, opts Options) error {
	pg, err := newPage(opts)
	if err != nil {
		return err
	}
	pg.IsIndex = true
	for _, e := range entries {
		pg.Index = append(pg.Index, indexRow(e.Report, e.Label, e.Href, e.Changes))
	}
	if len(entries) == 0 {
		pg.Notes = append(pg.Notes, "The inventory holds no block.")
	}
	return pg.execute(w)
}

// page is what the template renders.
type page struct {
	Title      string
	Generated  string
	CSS        template.CSS
	Script     template.JS
	CSP        string
	IsIndex    bool
	HasJSON    bool
	json       []byte // written between the templates "head" and "tail"
	Index      []indexEntry
	HasChanges bool
	HasLabels  bool
	Blocks     []*blockView
	Notes      []string
	tmpl       *template.Template
	when       time.Time
}

func newPage(opts Options) (*page, error) {
	css, err := assets.ReadFile("style.css")
	if err != nil {
		return nil, err
	}
	js, err := assets.ReadFile("script.js")
	if err != nil {
		return nil, err
	}
	t, err := template.New("page.html.tmpl").Funcs(template.FuncMap{
		"num":     num,
		"percent": percent,
		"join":    strings.Join,
		"count":   count,
	}).ParseFS(assets, "page.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("htmlreport: %w", err)
	}
	when := opts.Time
	if when.IsZero() {
		when = time.Now()
	}
	title := opts.Title
	if title == "" {
		title = "prefixvet report"
	}
	return &page{
		Title:     title,
		Generated: when.UTC().Format("2006-01-02 15:04 UTC"),
		CSS:       template.CSS(css),
		Script:    template.JS(js), //nolint:gosec // our own embedded file
		CSP:       "default-src 'none'; img-src data:; style-src " + hashSource(css) + "; script-src " + hashSource(js),
		tmpl:      t,
		when:      when,
	}, nil
}

// hashSource is the CSP source expression allowing exactly the inline
// element with content b.
func hashSource(b []byte) string {
	sum := sha256.Sum256(b)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func (pg *page) execute(w io.Writer) error {
	for _, e := range pg.Index {
		pg.HasChanges = pg.HasChanges || len(e.Changes) > 0
		pg.HasLabels = pg.HasLabels || e.Label != ""
	}
	if err := pg.tmpl.ExecuteTemplate(w, "head", pg); err != nil {
		return fmt.Errorf("htmlreport: %w", err)
	}
	if pg.HasJSON {
		// Written as is: json.Marshal escapes '<', '>' and '&' (and U+2028,
		// U+2029), so the JSON cannot end the element or open a comment.
		// Writing it here rather than through the template saves copying
		// reports of many megabytes.
		for _, part := range [][]byte{[]byte(`<script type="application/json" id="prefixvet-report">`), pg.json, []byte("</script>\n")} {
			if _, err := w.Write(part); err != nil {
				return fmt.Errorf("htmlreport: %w", err)
			}
		}
	}
	if err := pg.tmpl.ExecuteTemplate(w, "tail", pg); err != nil {
		return fmt.Errorf("htmlreport: %w", err)
	}
	return nil
}

// indexEntry is one row of a summary table.
type indexEntry struct {
	Prefix, Label, Href  string
	Verdict              string
	Score, Coverage      string
	Checked              string
	Changes              []string
	Interrupted, Sampled bool
}

func indexRow(r *reputation.Report, label, href string, changes []string) indexEntry {
	e := indexEntry{Label: label, Href: href, Changes: changes}
	if r == nil {
		e.Prefix, e.Verdict = "(no report)", "none"
		return e
	}
	e.Prefix = r.Prefix.String()
	e.Verdict = string(r.Verdict)
	e.Score = num(r.Score)
	e.Coverage = percent(r.Coverage)
	e.Checked = fmt.Sprintf("%d of %s", r.AddressesChecked, count(r.AddressesTotal))
	e.Interrupted, e.Sampled = r.Interrupted, r.Sampled
	return e
}

// blockView is one block's section.
type blockView struct {
	ID       string
	N        int
	R        *reputation.Report
	Prefix   string
	Verdict  string
	Score    string
	Policy   string
	When     string
	Missing  []string // what the report cannot tell, in plain words
	Checked  string
	Sampling string
	Coverage string

	Map      template.HTML
	MapNotes []string
	Caption  string
	Legend   []legendItem
	Unit     string

	Reasons   []reasonRow
	Sources   []sourceRow
	Listings  []listingRow
	Omitted   []string
	Whitelist []listingRow
	Unknown   []unknownRow
	UnknownOm []string
	Subnets   []subnetRow
	SubnetsOm string
	SubnetOf  string // "/24" or "/48"
}

type legendItem struct {
	State, Words string
	Count        int
}

type reasonRow struct {
	Text   string
	Points string
	Rule   string // the escalation rule that fired, if any
	Forces string // the verdict it forces at least
}

type subnetRow struct {
	Prefix          string
	Checked, Listed int
	Covered, Worst  string
	Hot             bool
}

// maxSubnetRows caps the subnets shown per block; subnets where something
// is listed (or hot) come first.
const maxSubnetRows = 256

type sourceRow struct {
	Name, Kind, Status, Detail     string
	Planned, Queried, Listed, Errs int
	Unusable, Degraded, NotAsked   bool
}

type listingRow struct {
	What, Source, Categories, Codes, IDs, Severity, Reason, DelistURL string
	Critical                                                          bool
}

type unknownRow struct {
	What, Source, Error string
}

func (pg *page) block(i int, r *reputation.Report, opts Options) *blockView {
	b := &blockView{ID: "block-" + strconv.Itoa(i+1), N: i + 1, R: r, When: pg.Generated}
	if r == nil {
		b.Prefix, b.Verdict = "(no report)", "none"
		b.Missing = []string{"There is no report for this block: scoring failed before anything was asked. Nothing is known about it."}
		return b
	}
	b.Prefix = r.Prefix.String()
	b.Verdict = string(r.Verdict)
	if b.Verdict == "" {
		b.Verdict = "none"
	}
	b.Score = num(r.Score)
	b.Policy = r.PolicyVersion
	b.Coverage = fmt.Sprintf("%s of the planned lookups answered (%d of %d)", percent(r.Coverage), r.LookupsAnswered, r.LookupsPlanned)
	b.Missing = missing(r)
	b.Checked, b.Sampling = checkedText(r)

	m := buildHeatMap(r)
	b.Map = m.svg(r, b.ID+"-map")
	b.MapNotes = m.notes
	b.Unit = m.unit
	if len(m.units) > 0 {
		b.Caption = "Heat map, " + m.caption(r) + "."
		for st := numStates - 1; ; st-- {
			b.Legend = append(b.Legend, legendItem{State: st.name(), Words: st.words(), Count: m.counts[st]})
			if st == 0 {
				break
			}
		}
	} else if len(b.MapNotes) == 0 {
		b.MapNotes = append(b.MapNotes, "No cell to draw: no address of this block was checked, listed or failed.")
	}

	for _, rs := range r.Reasons {
		row := reasonRow{Text: rs.Text, Points: "-" + num(rs.Points), Rule: rs.Rule, Forces: string(rs.Forces)}
		if row.Forces == "" && rs.ForcesReject {
			row.Forces = string(reputation.VerdictReject)
		}
		b.Reasons = append(b.Reasons, row)
	}
	b.Subnets, b.SubnetsOm = subnetRows(r.Subnets)
	if len(r.Subnets) > 0 {
		b.SubnetOf = "/" + strconv.Itoa(r.Subnets[0].Prefix.Bits())
	}
	for _, s := range r.Sources {
		row := sourceRow{Name: s.Name, Kind: string(s.Kind), Status: string(s.Status), Detail: s.Detail,
			Planned: s.Planned, Queried: s.Queried, Listed: s.Listed, Errs: s.Errors}
		row.Unusable = !s.Status.Usable()
		row.Degraded = s.Status == reputation.StatusDegraded
		row.NotAsked = s.Planned == 0
		if row.Status == "" {
			row.Status = "unknown"
		}
		b.Sources = append(b.Sources, row)
	}

	limit := opts.MaxListings
	if limit == 0 {
		limit = DefaultMaxListings
	}
	left := map[string]int{}
	var order []string
	for k, l := range r.Listings {
		if limit > 0 && k >= limit {
			if left[l.Source] == 0 {
				order = append(order, l.Source)
			}
			left[l.Source]++
			continue
		}
		b.Listings = append(b.Listings, listingOf(l))
	}
	for _, src := range order {
		b.Omitted = append(b.Omitted, fmt.Sprintf("%d more listings by %s are not shown here (they are in the embedded JSON).", left[src], src))
	}
	srcs := make([]string, 0, len(r.Omitted))
	for src := range r.Omitted {
		srcs = append(srcs, src)
	}
	slices.Sort(srcs)
	for _, src := range srcs {
		b.Omitted = append(b.Omitted, fmt.Sprintf("%d more listing entries by %s were left out of the report itself (it keeps at most Scorer.MaxListings, the most severe first); the reasons, the sources table and the subnets count them.", r.Omitted[src], src))
	}
	for _, l := range r.Whitelist {
		b.Whitelist = append(b.Whitelist, listingOf(l))
	}
	perSource := map[string]int{}
	for _, u := range r.Unknown {
		perSource[u.Source]++
		if perSource[u.Source] > maxUnknownPerSource {
			continue
		}
		what := "whole block"
		switch {
		case u.Address.IsValid():
			what = u.Address.String()
		case u.Prefix.IsValid():
			what = "whole block " + u.Prefix.String()
		}
		b.Unknown = append(b.Unknown, unknownRow{What: what, Source: u.Source, Error: u.Error})
	}
	for _, s := range r.Sources {
		if n := perSource[s.Name]; n > maxUnknownPerSource {
			b.UnknownOm = append(b.UnknownOm, fmt.Sprintf("%d more failed lookups of %s are not shown here (they are in the embedded JSON).", n-maxUnknownPerSource, s.Name))
		}
	}
	return b
}

// subnetRows returns the subnets to show: those where something is listed
// or that are hot, in address order, then the others, at most
// maxSubnetRows; and what it left out, in words.
func subnetRows(subs []reputation.SubnetReport) ([]subnetRow, string) {
	var rows, quiet []subnetRow
	for _, s := range subs {
		row := subnetRow{Prefix: s.Prefix.String(), Checked: s.Checked, Listed: s.Listed, Hot: s.Hot}
		if s.Covered > 0 {
			row.Covered = percent(s.Covered)
		}
		if s.Listed > 0 || s.Covered > 0 {
			row.Worst = s.Worst.String()
			rows = append(rows, row)
		} else if s.Hot {
			rows = append(rows, row)
		} else {
			quiet = append(quiet, row)
		}
	}
	rows = append(rows, quiet...)
	if len(rows) <= maxSubnetRows {
		return rows, ""
	}
	return rows[:maxSubnetRows], fmt.Sprintf("%d more subnets are not shown here (they are in the embedded JSON).", len(rows)-maxSubnetRows)
}

func listingOf(l reputation.ListingReport) listingRow {
	row := listingRow{Source: l.Source, Categories: strings.Join(l.Categories, ", "), IDs: strings.Join(l.IDs, ", "),
		Severity: l.Severity.String(), Reason: l.Reason, DelistURL: l.DelistURL,
		Critical: l.Severity >= reputation.SeverityCritical}
	if l.Prefix.IsValid() {
		row.What = l.Prefix.String()
	} else {
		row.What = l.Address.String()
	}
	codes := make([]string, len(l.Codes))
	for i, c := range l.Codes {
		codes[i] = c.String()
	}
	row.Codes = strings.Join(codes, ", ")
	return row
}

// missing says in plain words what r cannot tell.
func missing(r *reputation.Report) []string {
	var out []string
	if !r.Prefix.IsValid() {
		out = append(out, "The report names no valid block.")
	}
	switch {
	case r.LookupsPlanned == 0:
		out = append(out, "Nothing was asked about this block: no source was usable for it (the sources table says why). The score is not evidence of anything.")
	case r.LookupsAnswered == 0:
		out = append(out, fmt.Sprintf("None of the %d planned lookups got an answer. The score is not evidence of anything.", r.LookupsPlanned))
	case r.AddressesChecked == 0:
		out = append(out, "No address was checked one by one: no per-address source (DNSBL zone) was usable or asked. Only whole-block sources (feeds, zone mirrors) answered.")
	}
	if r.Interrupted {
		out = append(out, fmt.Sprintf("The run was interrupted: only %d of the %d planned lookups got an answer. Addresses without an answer are shown as unknown, and the verdict is incomplete.", r.LookupsAnswered, r.LookupsPlanned))
	} else if r.LookupsPlanned > 0 && r.LookupsAnswered < r.LookupsPlanned && r.LookupsAnswered > 0 {
		out = append(out, fmt.Sprintf("%d of the %d planned lookups got no answer (listed under \"No answer\").", r.LookupsPlanned-r.LookupsAnswered, r.LookupsPlanned))
	}
	if r.Sampled && r.AddressesChecked > 0 {
		unit, total := "addresses", r.AddressesTotal
		if per64(r) {
			unit, total = "/64s", math.Ldexp(1, 64-r.Prefix.Bits())
		}
		if float64(r.AddressesChecked) < total {
			out = append(out, fmt.Sprintf("Only a sample was checked: %d of the block's %s %s. A listing outside the sample would not show.", r.AddressesChecked, count(total), unit))
		}
	}
	return out
}

// checkedText describes what was checked and how it was sampled.
func checkedText(r *reputation.Report) (checked, sampling string) {
	checked = fmt.Sprintf("%d of %s addresses checked one by one", r.AddressesChecked, count(r.AddressesTotal))
	switch {
	case r.Sampled && per64(r) && float64(r.AddressesChecked) >= math.Ldexp(1, 64-r.Prefix.Bits()):
		sampling = fmt.Sprintf("One address in each of the block's %d /64s was checked (IPv6 is listed per /64), drawn with seed %d.", r.AddressesChecked, r.Seed)
	case r.Sampled && per64(r):
		sampling = fmt.Sprintf("Sampled one address in each of %d /64s drawn uniformly from %s (IPv6 is listed per /64), with seed %d; the same seed asks about the same addresses.", r.AddressesChecked, r.Prefix, r.Seed)
	case r.Sampled:
		sampling = fmt.Sprintf("Sampled %d addresses drawn uniformly from %s, with seed %d; the same seed asks about the same addresses.", r.AddressesChecked, r.Prefix, r.Seed)
	default:
		sampling = fmt.Sprintf("Not sampled: every address was asked of each per-address source (seed %d unused).", r.Seed)
	}
	return checked, sampling
}

// per64 reports whether r's block is IPv6 checked one address per /64.
func per64(r *reputation.Report) bool { return r.Prefix.Addr().Is6() && r.Prefix.Bits() <= 64 }

// num formats a score or points with at most two decimals.
func num(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }

// percent formats a share as a percentage, rounded down so that only a
// complete share reads 100%.
func percent(f float64) string {
	return strconv.FormatFloat(math.Floor(f*1000)/10, 'f', -1, 64) + "%"
}

// count formats an address count: exact up to 2^53, else as a power of two.
func count(n float64) string {
	if n <= 1<<53 {
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	_, exp := math.Frexp(n)
	return "2^" + strconv.Itoa(exp-1)
}
