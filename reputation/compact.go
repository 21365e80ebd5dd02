package reputation

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/prefixvet/prefixvet/prefix"
)

// DefaultMaxListings is the most listing entries a report holds when
// [Scorer.MaxListings] is 0.
const DefaultMaxListings = 1000

// mergeListings merges listings of one source that cover consecutive
// addresses and carry the same answer (codes, categories, severity, scope,
// IDs, and a reason and delisting URL that differ only by the address they
// name) into entries covering the range, as CIDR prefixes; a lone address
// stays an address. Each entry keeps the fields of the listing its first
// address came from. ls is sorted by address or extent, then source; so is
// the result.
func mergeListings(ls []ListingReport) []ListingReport {
	if len(ls) < 2 {
		return ls
	}
	bySource := map[string][]int{}
	var order []string
	for i, l := range ls {
		if _, ok := bySource[l.Source]; !ok {
			order = append(order, l.Source)
		}
		bySource[l.Source] = append(bySource[l.Source], i)
	}
	out := make([]ListingReport, 0, len(ls))
	for _, src := range order {
		idx := bySource[src]
		for i := 0; i < len(idx); {
			first := ls[idx[i]]
			last := listingRange(first).To()
			j := i + 1
			for j < len(idx) {
				next := ls[idx[j]]
				if listingRange(next).From() != last.Next() || !sameAnswer(first, next) {
					break
				}
				last = listingRange(next).To()
				j++
			}
			if j-i == 1 {
				out = append(out, first)
				i = j
				continue
			}
			// Each piece keeps the fields of the listing that holds its
			// first address.
			k := i
			for p := range prefix.RangeFrom(listingRange(first).From(), last).Prefixes() {
				for !listingRange(ls[idx[k]]).Contains(p.Addr()) {
					k++
				}
				m := ls[idx[k]]
				m.Address, m.Prefix = netip.Addr{}, p
				if p.Bits() == p.Addr().BitLen() {
					m.Address, m.Prefix = p.Addr(), netip.Prefix{}
				}
				out = append(out, m)
			}
			i = j
		}
	}
	sortListings(out)
	return out
}

// sameAnswer reports whether a and b (listings of one source about two
// ranges) say the same thing.
func sameAnswer(a, b ListingReport) bool {
	fa, fb := listingRange(a).From(), listingRange(b).From()
	return a.Severity == b.Severity && a.Scope == b.Scope &&
		slices.Equal(a.Codes, b.Codes) && slices.Equal(a.Categories, b.Categories) && slices.Equal(a.IDs, b.IDs) &&
		sameText(a.Reason, fa, b.Reason, fb) && sameText(a.DelistURL, fa, b.DelistURL, fb)
}

// sameText reports whether s and t are equal once each has its own address
// replaced by a placeholder ("listed: 192.0.2.7" and "listed: 192.0.2.8").
func sameText(s string, a netip.Addr, t string, b netip.Addr) bool {
	if s == t {
		return true
	}
	return strings.ReplaceAll(s, a.String(), "\x00") == strings.ReplaceAll(t, b.String(), "\x00")
}

// capListings keeps at most limit listing entries, worst first (severity,
// then scope) and in address order among equals, and returns the entries
// kept, in address order, and the number omitted per source (nil if none).
func capListings(ls []ListingReport, limit int) ([]ListingReport, map[string]int) {
	if limit <= 0 || len(ls) <= limit {
		return ls, nil
	}
	idx := make([]int, len(ls))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int {
		a, b := ls[x], ls[y]
		if a.Severity != b.Severity {
			return int(b.Severity) - int(a.Severity)
		}
		return int(b.Scope) - int(a.Scope)
	})
	keep := make([]bool, len(ls))
	for _, i := range idx[:limit] {
		keep[i] = true
	}
	omitted := map[string]int{}
	out := make([]ListingReport, 0, limit)
	for i, l := range ls {
		if keep[i] {
			out = append(out, l)
		} else {
			omitted[l.Source]++
		}
	}
	return out, omitted
}
