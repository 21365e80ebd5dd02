package reputation

import (
	"cmp"
	"math"
	"net/netip"
	"slices"

	"github.com/prefixvet/prefixvet/prefix"
)

// SubnetReport is what was found in one subnet of a large block: one /24 of
// an IPv4 block larger than a /24, one /48 of an IPv6 block larger than a
// /48 (see [Report.Subnets]).
type SubnetReport struct {
	Prefix netip.Prefix `json:"prefix"`
	// Checked counts the addresses of the subnet that got a definite answer
	// from at least one per-address source.
	Checked int `json:"checked"`
	// Listed counts the checked addresses listed, with low severity or
	// worse, by at least one per-address source.
	Listed int `json:"listed"`
	// Covered is the share of the subnet covered by entries of whole-block
	// sources (feeds, mirrors) of low severity or worse.
	Covered float64 `json:"covered,omitempty"`
	// Worst is the highest severity listed in the subnet; it means nothing
	// when Listed and Covered are 0.
	Worst Severity `json:"worst_severity"`
	// Hot reports whether the subnet is a hot /24 (see [Policy]).
	Hot bool `json:"hot,omitempty"`
}

// subnetTally collects the per-subnet breakdown of one block.
type subnetTally struct {
	block netip.Prefix
	bits  int // subnet length; 0 when the block gets no breakdown
	subs  map[netip.Prefix]*subnetAcc
	seen  map[netip.Addr]bool // every checked address, and whether it is listed
}

type subnetAcc struct {
	SubnetReport
	extents []netip.Prefix // whole-block entries clipped to the subnet
}

func newSubnetTally(block netip.Prefix) *subnetTally {
	bits := 24
	if block.Addr().Is6() {
		bits = 48
	}
	if block.Bits() >= bits {
		return &subnetTally{}
	}
	return &subnetTally{block: block, bits: bits, subs: make(map[netip.Prefix]*subnetAcc), seen: make(map[netip.Addr]bool)}
}

func (t *subnetTally) sub(p netip.Prefix) *subnetAcc {
	s := t.subs[p]
	if s == nil {
		s = &subnetAcc{SubnetReport: SubnetReport{Prefix: p}}
		t.subs[p] = s
	}
	return s
}

// checked records a definite answer about a.
func (t *subnetTally) checked(a netip.Addr) {
	if t.bits == 0 {
		return
	}
	if _, ok := t.seen[a]; !ok {
		t.seen[a] = false
		p, _ := a.Prefix(t.bits)
		t.sub(p).Checked++
	}
}

// listed records a listing of a (already recorded as checked).
func (t *subnetTally) listed(a netip.Addr, sev Severity) {
	if t.bits == 0 {
		return
	}
	p, _ := a.Prefix(t.bits)
	s := t.sub(p)
	if !t.seen[a] {
		t.seen[a] = true
		s.Listed++
	}
	s.Worst = max(s.Worst, sev)
}

// covered records a whole-block entry ext of severity sev overlapping the
// block.
func (t *subnetTally) covered(ext netip.Prefix, sev Severity) {
	if t.bits == 0 {
		return
	}
	add := func(p netip.Prefix) {
		s := t.sub(p)
		clip := ext
		if ext.Bits() < t.bits {
			clip = p
		}
		s.extents = append(s.extents, clip)
		s.Worst = max(s.Worst, sev)
	}
	if ext.Bits() >= t.bits {
		p, _ := ext.Addr().Prefix(t.bits)
		add(p)
		return
	}
	// The entry is wider than a subnet: the subnets it shares with the
	// block (two CIDR blocks that overlap share the narrower one).
	shared := ext
	if ext.Bits() < t.block.Bits() {
		shared = t.block
	}
	if t.bits-shared.Bits() > 16 {
		// More than 2^16 subnets (every /24 of an IPv4 /8, every /48 of
		// an IPv6 /32): only those that have checked addresses.
		for p := range t.subs {
			if ext.Overlaps(p) {
				add(p)
			}
		}
		return
	}
	r := prefix.RangeOf(shared)
	for a := r.From(); a.IsValid() && r.Contains(a); {
		p, _ := a.Prefix(t.bits)
		add(p)
		a = prefix.RangeOf(p).To().Next()
	}
}

// reports returns the breakdown in address order; hotNeed is the hot-/24
// threshold (0: rule off) and hot the addresses that count for it.
func (t *subnetTally) reports(hotNeed int, hot []netip.Addr) []SubnetReport {
	if t.bits == 0 || len(t.subs) == 0 {
		return nil
	}
	hotSet := map[netip.Prefix]bool{}
	if hotNeed > 0 && t.bits == 24 {
		for _, h := range hotSubnets(hot, hotNeed) {
			hotSet[h.p] = true
		}
	}
	out := make([]SubnetReport, 0, len(t.subs))
	for _, s := range t.subs {
		r := s.SubnetReport
		r.Covered = round4(unionShare(s.extents, r.Prefix))
		r.Hot = hotSet[r.Prefix]
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y SubnetReport) int { return x.Prefix.Addr().Compare(y.Prefix.Addr()) })
	return out
}

// unionShare returns the share of p covered by the union of ps, which all
// lie inside p.
func unionShare(ps []netip.Prefix, p netip.Prefix) float64 {
	if len(ps) == 0 {
		return 0
	}
	slices.SortFunc(ps, func(x, y netip.Prefix) int {
		if c := x.Addr().Compare(y.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(x.Bits(), y.Bits())
	})
	share := 0.0
	var last netip.Prefix
	for _, q := range ps {
		if last.IsValid() && last.Contains(q.Addr()) && last.Bits() <= q.Bits() {
			continue // inside the previous one (CIDR blocks nest or are disjoint)
		}
		share += math.Ldexp(1, p.Bits()-q.Bits())
		last = q
	}
	return min(1, share)
}
