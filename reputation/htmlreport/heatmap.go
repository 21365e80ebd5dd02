package htmlreport

import (
	"fmt"
	"html/template"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
)

// cellState is the state of one heat map cell, in increasing precedence.
type cellState uint8

const (
	stateUnchecked cellState = iota // no source examined it
	stateClean                      // examined, nothing lists it
	stateUnknown                    // some lookup got no answer, nothing lists it
	stateListed                     // listed by some source
	stateCritical                   // listed with critical severity
	numStates
)

// name returns the data-state value of s.
func (s cellState) name() string {
	return [numStates]string{"unchecked", "clean", "unknown", "listed", "critical"}[s]
}

// words describes s in the legend.
func (s cellState) words() string {
	return [numStates]string{
		"not checked",
		"checked, not listed",
		"no answer from some source",
		"listed",
		"listed, critical (DROP and the like)",
	}[s]
}

// maxAddressHostBits: blocks of up to a /16 are drawn one cell per address.
const maxAddressHostBits = 16

// heatMap is the computed map of one block.
type heatMap struct {
	units  []netip.Prefix // one per cell, ascending, not overlapping
	state  []cellState
	lists  [][]int32 // per cell: indices into Report.Listings
	fails  []int32   // per cell: index into Report.Unknown of one failure, or -1
	subs   []int32   // per cell of a subnet map: index into Report.Subnets, or -1
	cols   int
	unit   string // "address", "/24", "/64"
	counts [numStates]int
	notes  []string // what the map cannot show, in words
}

// buildHeatMap computes the cells of r's map:
//
//   - blocks of at most 2^16 addresses: one cell per address, in rows of a
//     power of two (a /24 is 16×16, a /16 256×256);
//   - larger IPv4 blocks: one cell per /24;
//   - IPv6 blocks sampled per /64: one cell per checked /64, in address
//     order (and IPv6 blocks sampled per address: one cell per checked
//     address).
//
// Which addresses a sampled block checked is not in the report; it is the
// reproducible draw of package prefix for (prefix, addresses checked, seed),
// which the Scorer uses. The draw is accepted only if every address the report
// names lies in it; otherwise the map shows only the named addresses and says
// so.
func buildHeatMap(r *reputation.Report) *heatMap {
	m := &heatMap{}
	p := r.Prefix
	if !p.IsValid() {
		m.notes = append(m.notes, "The report names no valid prefix, so there is no map.")
		return m
	}
	omitted := 0
	for _, n := range r.Omitted {
		omitted += n
	}
	if omitted > 0 && len(r.Subnets) > 0 {
		return buildSubnetMap(r, omitted)
	}
	if omitted > 0 {
		m.notes = append(m.notes, fmt.Sprintf("%d listing entries were left out of this report (Scorer.MaxListings), so an address listed only by them shows as not listed here; the reasons and the sources table count every listing.", omitted))
	}
	host := p.Addr().BitLen() - p.Bits()
	var checked []netip.Addr // per-address sample, when sampled
	sampleOK := true
	if r.Sampled {
		checked, sampleOK = sample(r)
	}
	switch {
	case p.Addr().Is6() && p.Bits() <= 64 && r.Sampled:
		m.unit = "/64"
		if !sampleOK {
			checked = namedAddrs(r)
		}
		for _, a := range checked {
			u := netip.PrefixFrom(a, 64).Masked()
			if n := len(m.units); n == 0 || m.units[n-1] != u {
				m.units = append(m.units, u)
			}
		}
	case host <= maxAddressHostBits:
		m.unit = "address"
		for a := range prefix.RangeOf(p).All() {
			m.units = append(m.units, netip.PrefixFrom(a, a.BitLen()))
		}
	case p.Addr().Is4():
		m.unit = "/24"
		subs, _ := prefix.Split(p, 24) // p is valid and wider than a /24
		for s := range subs {
			m.units = append(m.units, s)
		}
	default: // IPv6 longer than a /64 with more than 2^16 addresses: sampled per address
		m.unit = "address"
		if !sampleOK || !r.Sampled {
			checked = namedAddrs(r)
			m.notes = append(m.notes, "The block is too large to draw every address: the map shows only addresses that were listed or got no answer.")
			sampleOK = false
		}
		for _, a := range checked {
			m.units = append(m.units, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	m.cols = columns(len(m.units))
	m.state = make([]cellState, len(m.units))
	m.lists = make([][]int32, len(m.units))
	m.fails = make([]int32, len(m.units))
	for i := range m.fails {
		m.fails[i] = -1
	}

	// Checked cells. Per-address sources checked the addresses of the
	// sample (or all of them); whole-block sources examine every address.
	switch {
	case r.AddressesChecked == 0 && r.LookupsAnswered == 0:
		// Nothing answered: every cell stays unchecked (failures below
		// still mark cells unknown).
	case r.AddressesChecked == 0, !r.Sampled:
		for i := range m.state {
			m.state[i] = stateClean
		}
	case m.unit == "/24" && len(r.Subnets) > 0:
		// The report's breakdown says which /24s were checked.
		for _, s := range r.Subnets {
			if i := m.find(s.Prefix.Addr()); i >= 0 && s.Checked > 0 {
				m.state[i] = stateClean
			}
		}
		sampleOK = true
	case sampleOK:
		for _, a := range checked {
			if i := m.find(a); i >= 0 {
				m.state[i] = stateClean
			}
		}
	default:
		// The sample is unknown: only the named addresses are known to
		// have been checked; they are marked below.
		for _, a := range namedAddrs(r) {
			if i := m.find(a); i >= 0 {
				m.state[i] = stateClean
			}
		}
	}
	if r.Sampled && !sampleOK {
		m.notes = append(m.notes, "The report does not say which addresses its sample held (the draw for its seed does not match the listed and failed addresses), so the map shows only addresses that were listed or got no answer.")
	}

	// Listings raise a cell to listed or critical.
	for li, l := range r.Listings {
		pl := l.Prefix
		if !pl.IsValid() {
			if !l.Address.IsValid() {
				continue
			}
			pl = netip.PrefixFrom(l.Address, l.Address.BitLen())
		}
		st := stateListed
		if l.Severity >= reputation.SeverityCritical {
			st = stateCritical
		}
		for i := range m.overlapping(pl) {
			m.state[i] = max(m.state[i], st)
			m.lists[i] = append(m.lists[i], int32(li))
		}
	}
	// Failures make a cell unknown unless something lists it.
	m.markUnknown(r)
	return m
}

// buildSubnetMap draws a report whose listings were cut short from its
// per-subnet breakdown, whose counts are exact: one cell per /24 of an IPv4
// block, one per /48 of an IPv6 block that the breakdown names.
func buildSubnetMap(r *reputation.Report, omitted int) *heatMap {
	m := &heatMap{}
	p := r.Prefix
	bits := r.Subnets[0].Prefix.Bits()
	m.unit = "/" + strconv.Itoa(bits)
	if p.Addr().Is4() && bits == 24 && p.Bits() >= 8 {
		subs, _ := prefix.Split(p, 24)
		for s := range subs {
			m.units = append(m.units, s)
		}
	} else {
		for _, s := range r.Subnets {
			m.units = append(m.units, s.Prefix)
		}
	}
	m.cols = columns(len(m.units))
	m.state = make([]cellState, len(m.units))
	m.lists = make([][]int32, len(m.units))
	m.fails = make([]int32, len(m.units))
	m.subs = make([]int32, len(m.units))
	for i := range m.units {
		m.fails[i], m.subs[i] = -1, -1
	}
	for si, s := range r.Subnets {
		i := m.find(s.Prefix.Addr())
		if i < 0 {
			continue
		}
		m.subs[i] = int32(si)
		switch {
		case (s.Listed > 0 || s.Covered > 0) && s.Worst >= reputation.SeverityCritical:
			m.state[i] = stateCritical
		case s.Listed > 0 || s.Covered > 0:
			m.state[i] = stateListed
		case s.Checked > 0:
			m.state[i] = stateClean
		}
	}
	m.markUnknown(r)
	m.notes = append(m.notes, fmt.Sprintf("%d listing entries were left out of this report (Scorer.MaxListings), so the map shows each %s subnet from the report's exact per-subnet counts rather than each address.", omitted, m.unit))
	return m
}

// markUnknown makes cells with a failed lookup unknown unless something
// lists them, and counts the cells per state.
func (m *heatMap) markUnknown(r *reputation.Report) {
	blockUnknown := r.Interrupted
	for ui, u := range r.Unknown {
		if !u.Address.IsValid() {
			blockUnknown = true
			for i := range m.fails {
				if m.fails[i] < 0 {
					m.fails[i] = int32(ui)
				}
			}
			continue
		}
		if i := m.find(u.Address); i >= 0 {
			m.state[i] = max(m.state[i], stateUnknown)
			if m.fails[i] < 0 {
				m.fails[i] = int32(ui)
			}
		}
	}
	if blockUnknown {
		for i := range m.state {
			m.state[i] = max(m.state[i], stateUnknown)
		}
	}
	for _, st := range m.state {
		m.counts[st]++
	}
}

// sample returns the addresses a sampled report checked, drawn again as the
// Scorer drew them, and whether the draw agrees with the report.
func sample(r *reputation.Report) ([]netip.Addr, bool) {
	p, n := r.Prefix, r.AddressesChecked
	if n == 0 {
		return nil, true
	}
	var addrs []netip.Addr
	switch {
	case p.Addr().Is6() && p.Bits() == 64:
		addrs = prefix.Sample(p, 1, r.Seed)
	case p.Addr().Is6() && p.Bits() < 64:
		addrs = prefix.SampleSubnets(p, 64, n, r.Seed)
	default:
		addrs = prefix.Sample(p, n, r.Seed)
	}
	if len(addrs) != n {
		return nil, false
	}
	in := func(a netip.Addr) bool {
		if p.Addr().Is6() && p.Bits() <= 64 {
			a = netip.PrefixFrom(a, 64).Masked().Addr()
			i, _ := slices.BinarySearchFunc(addrs, a, netip.Addr.Compare)
			return i < len(addrs) && netip.PrefixFrom(addrs[i], 64).Masked().Addr() == a
		}
		_, ok := slices.BinarySearchFunc(addrs, a, netip.Addr.Compare)
		return ok
	}
	for _, a := range namedAddrs(r) {
		if !in(a) {
			return nil, false
		}
	}
	return addrs, true
}

// namedAddrs returns the addresses named by per-address listings and
// failures, ascending and distinct.
func namedAddrs(r *reputation.Report) []netip.Addr {
	var addrs []netip.Addr
	for _, l := range r.Listings {
		if l.Address.IsValid() {
			addrs = append(addrs, l.Address)
		}
	}
	for _, u := range r.Unknown {
		if u.Address.IsValid() {
			addrs = append(addrs, u.Address)
		}
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	return slices.Compact(addrs)
}

// columns returns the width of a map of n cells: 2^ceil(bits/2) for
// n ≤ 2^bits, so that a /24 is 16×16 and a /25 16×8; at most 256.
func columns(n int) int {
	bits := 0
	for 1<<bits < n {
		bits++
	}
	return min(1<<((bits+1)/2), 256)
}

// find returns the index of the cell holding a, or -1.
func (m *heatMap) find(a netip.Addr) int {
	i, _ := slices.BinarySearchFunc(m.units, a, func(u netip.Prefix, a netip.Addr) int {
		return u.Addr().Compare(a)
	})
	// i is the first unit starting at or after a; a lies in it or in the
	// one before.
	if i < len(m.units) && m.units[i].Contains(a) {
		return i
	}
	if i > 0 && m.units[i-1].Contains(a) {
		return i - 1
	}
	return -1
}

// overlapping yields the indices of the cells that overlap p.
func (m *heatMap) overlapping(p netip.Prefix) func(func(int) bool) {
	return func(yield func(int) bool) {
		first, last := p.Masked().Addr(), prefix.RangeOf(p).To()
		i := m.find(first)
		if i < 0 {
			i, _ = slices.BinarySearchFunc(m.units, first, func(u netip.Prefix, a netip.Addr) int {
				return u.Addr().Compare(a)
			})
		}
		for ; i < len(m.units) && m.units[i].Addr().Compare(last) <= 0; i++ {
			if m.units[i].Overlaps(p) && !yield(i) {
				return
			}
		}
	}
}

// svg writes the map as inline SVG: one <rect> per cell, with data-state,
// data-prefix and a <title> naming the cell and its listings. It is built
// by hand rather than by html/template because a /16 has 65,536 cells;
// every text from the report is escaped with template.HTMLEscapeString.
func (m *heatMap) svg(r *reputation.Report, id string) template.HTML {
	if len(m.units) == 0 {
		return ""
	}
	rows := (len(m.units) + m.cols - 1) / m.cols
	px := max(2, min(18, 576/m.cols))
	var b strings.Builder
	b.Grow(len(m.units) * 100)
	b.WriteString(`<svg class="map`)
	if m.cols <= 64 {
		b.WriteString(` small`)
	}
	b.WriteString(`" id="`)
	b.WriteString(id)
	b.WriteString(`" viewBox="0 0 `)
	b.WriteString(strconv.Itoa(m.cols))
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(rows))
	b.WriteString(`" width="`)
	b.WriteString(strconv.Itoa(m.cols * px))
	b.WriteString(`" height="`)
	b.WriteString(strconv.Itoa(rows * px))
	b.WriteString(`" role="img" aria-label="`)
	b.WriteString(template.HTMLEscapeString(m.caption(r)))
	b.WriteString(`">`)
	for i, u := range m.units {
		// A row is a group shifted down, so that cells need no y.
		if i%m.cols == 0 {
			b.WriteString(`<g transform="translate(0 `)
			b.WriteString(strconv.Itoa(i / m.cols))
			b.WriteString(`)">`)
		}
		b.WriteString(`<rect x="`)
		b.WriteString(strconv.Itoa(i % m.cols))
		b.WriteString(`" data-state="`)
		b.WriteString(m.state[i].name())
		b.WriteString(`" data-prefix="`)
		b.WriteString(u.String())
		b.WriteString(`"><title>`)
		m.title(&b, r, i)
		b.WriteString(`</title></rect>`)
		if i%m.cols == m.cols-1 || i == len(m.units)-1 {
			b.WriteString("</g>\n")
		}
	}
	b.WriteString("</svg>\n")
	return template.HTML(b.String()) //nolint:gosec // built above; every report text is escaped
}

// title writes the tooltip of cell i: what the cell is and who lists it.
func (m *heatMap) title(b *strings.Builder, r *reputation.Report, i int) {
	u := m.units[i]
	if m.subs != nil {
		m.subnetTitle(b, r, i)
		return
	}
	if u.Bits() == u.Addr().BitLen() {
		b.WriteString(u.Addr().String())
	} else {
		b.WriteString(u.String())
	}
	switch m.state[i] {
	case stateUnchecked:
		b.WriteString(": not checked")
		return
	case stateClean:
		b.WriteString(": not listed")
		return
	}
	if ls := m.lists[i]; len(ls) > 0 {
		b.WriteString(": listed by ")
		const maxNamed = 3
		for k, li := range ls {
			if k == maxNamed {
				b.WriteString(", and ")
				b.WriteString(strconv.Itoa(len(ls) - k))
				b.WriteString(" more")
				break
			}
			if k > 0 {
				b.WriteString(", ")
			}
			l := &r.Listings[li]
			b.WriteString(template.HTMLEscapeString(l.Source))
			if len(l.Categories) > 0 {
				b.WriteString(" (")
				b.WriteString(template.HTMLEscapeString(strings.Join(l.Categories, ", ")))
				b.WriteString(")")
			}
			if l.Prefix.IsValid() && l.Prefix != u {
				b.WriteString(" as part of ")
				b.WriteString(l.Prefix.String())
			}
		}
	}
	if m.state[i] == stateUnknown {
		b.WriteString(": no answer")
		if fi := m.fails[i]; fi >= 0 {
			f := &r.Unknown[fi]
			b.WriteString(" from ")
			b.WriteString(template.HTMLEscapeString(f.Source))
			b.WriteString(" (")
			b.WriteString(template.HTMLEscapeString(f.Error))
			b.WriteString(")")
		} else if r.Interrupted {
			b.WriteString(" (the run was interrupted)")
		}
	}
}

// subnetTitle writes the tooltip of a cell of a subnet map.
func (m *heatMap) subnetTitle(b *strings.Builder, r *reputation.Report, i int) {
	b.WriteString(m.units[i].String())
	si := m.subs[i]
	if si < 0 {
		b.WriteString(": not checked")
		return
	}
	s := &r.Subnets[si]
	fmt.Fprintf(b, ": %d checked, %d listed", s.Checked, s.Listed)
	if s.Covered > 0 {
		fmt.Fprintf(b, ", %s covered by feeds", percent(s.Covered))
	}
	if s.Listed > 0 || s.Covered > 0 {
		b.WriteString(", worst ")
		b.WriteString(s.Worst.String())
	}
	if s.Hot {
		b.WriteString(", hot")
	}
	if m.state[i] == stateUnknown {
		b.WriteString("; some lookups got no answer")
	}
}

// caption describes the map in words.
func (m *heatMap) caption(r *reputation.Report) string {
	var s string
	switch m.unit {
	case "address":
		s = "one cell per address"
	case "/24":
		s = "one cell per /24"
	case "/64":
		s = "one cell per checked /64"
	case "/48":
		s = "one cell per checked /48"
	}
	s += ", " + strconv.Itoa(m.cols) + " to a row, from " + r.Prefix.Addr().String() + " top left, in address order"
	return s
}
