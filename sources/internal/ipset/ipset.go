// Package ipset is an immutable interval set over IP addresses with a payload
// per interval, built for the feeds and zone mirrors of package sources.
//
// A [Builder] collects spans (from, to, id). [Builder.Build] splits them at
// every boundary into elementary intervals, asks a resolver what each interval
// means given the ids of all spans that cover it, and keeps the result as
// sorted, non-overlapping intervals, merging neighbours whose payloads are
// equal. IPv4 intervals are stored as parallel []uint32 slices with a /16
// bucket index in front of the binary search; IPv6 intervals as
// [netip.Addr] pairs.
//
// A [Set] is immutable and safe for concurrent use.
package ipset

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"unsafe"
)

// MaxDepth is the most spans with distinct ids that may cover one address.
// Spans that share an id are merged before the sweep and count once.
const MaxDepth = 1024

// ErrTooDeep reports that more than [MaxDepth] spans overlap at one address.
var ErrTooDeep = errors.New("ipset: too many overlapping entries at one address")

// maxAddr6 is the last IPv6 address.
func maxAddr6() netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff, 8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff})
}

func u32Of(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func addr4(u uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], u)
	return netip.AddrFrom4(b)
}

type span[T any] struct {
	from, to T
	id       uint32
}

// Builder collects spans for a [Set]. The zero value is ready to use.
type Builder struct {
	v4 []span[uint32]
	v6 []span[netip.Addr]
}

// Add adds the inclusive span from..to with the given id. Both addresses
// must be valid, of the same family, not zoned, and from <= to. An
// IPv4-mapped IPv6 address is an IPv6 address here (rbldnsd's IPv6 datasets
// list and exclude them as such); callers that mean IPv4 unmap first.
func (b *Builder) Add(from, to netip.Addr, id uint32) error {
	switch {
	case !from.IsValid() || !to.IsValid():
		return errors.New("ipset: invalid address")
	case from.Is4() != to.Is4():
		return fmt.Errorf("ipset: %s and %s are of different families", from, to)
	case to.Less(from):
		return fmt.Errorf("ipset: %s is after %s", from, to)
	}
	if from.Is4() {
		b.v4 = append(b.v4, span[uint32]{u32Of(from), u32Of(to), id})
	} else {
		b.v6 = append(b.v6, span[netip.Addr]{from.WithZone(""), to.WithZone(""), id})
	}
	return nil
}

// Len returns the number of spans added.
func (b *Builder) Len() int { return len(b.v4) + len(b.v6) }

// Grow makes room for n4 more IPv4 and n6 more IPv6 spans, so that a caller
// who knows its count avoids regrowing (and touching) the span slices.
func (b *Builder) Grow(n4, n6 int) {
	b.v4 = slices.Grow(b.v4, n4)
	b.v6 = slices.Grow(b.v6, n6)
}

// Resolver maps the ids of the spans covering an elementary interval, in
// ascending order and without duplicates, to the interval's payload. It
// returns keep=false to leave the interval out of the set (for example when
// an exclusion wins). The ids slice is reused between calls.
type Resolver func(ids []uint32) (payload uint32, keep bool)

// Build returns the set. It may be called once; the Builder must not be used
// afterwards. It fails with [ErrTooDeep] when more than [MaxDepth] spans with
// distinct ids overlap at one address.
func (b *Builder) Build(resolve Resolver) (*Set, error) {
	s := &Set{}
	var err error
	if s.start4, s.end4, s.pay4, err = sweep(b.v4, cmp.Compare[uint32], func(x uint32) uint32 { return x + 1 }, func(x uint32) uint32 { return x - 1 }, ^uint32(0), resolve); err != nil {
		return nil, err
	}
	if s.start6, s.end6, s.pay6, err = sweep(b.v6, netip.Addr.Compare, netip.Addr.Next, netip.Addr.Prev, maxAddr6(), resolve); err != nil {
		return nil, err
	}
	b.v4, b.v6 = nil, nil
	s.buildIndex()
	return s, nil
}

// premerge sorts spans by (id, from) and merges overlapping or adjacent spans
// that share an id, so that spans with one id never overlap.
func premerge[T any](sp []span[T], c func(T, T) int, inc func(T) T, maxv T) []span[T] {
	slices.SortFunc(sp, func(x, y span[T]) int {
		if x.id != y.id {
			return cmp.Compare(x.id, y.id)
		}
		return c(x.from, y.from)
	})
	out := sp[:0]
	for _, s := range sp {
		if n := len(out); n > 0 && out[n-1].id == s.id &&
			(c(out[n-1].to, maxv) == 0 || c(inc(out[n-1].to), s.from) >= 0) {
			if c(s.to, out[n-1].to) > 0 {
				out[n-1].to = s.to
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

type activeHeap[T any] struct {
	s []span[T]
	c func(T, T) int
}

func (h *activeHeap[T]) Len() int           { return len(h.s) }
func (h *activeHeap[T]) Less(i, j int) bool { return h.c(h.s[i].to, h.s[j].to) < 0 }
func (h *activeHeap[T]) Swap(i, j int)      { h.s[i], h.s[j] = h.s[j], h.s[i] }
func (h *activeHeap[T]) Push(x any)         { h.s = append(h.s, x.(span[T])) }
func (h *activeHeap[T]) Pop() any {
	x := h.s[len(h.s)-1]
	h.s = h.s[:len(h.s)-1]
	return x
}

func sweep[T comparable](sp []span[T], c func(T, T) int, inc, dec func(T) T, maxv T, resolve Resolver) (starts, ends []T, pays []uint32, err error) {
	if len(sp) == 0 {
		return nil, nil, nil, nil
	}
	sp = premerge(sp, c, inc, maxv)
	slices.SortFunc(sp, func(x, y span[T]) int { return c(x.from, y.from) })

	// Fast path: no two spans overlap.
	disjoint := true
	for i := 1; i < len(sp); i++ {
		if c(sp[i].from, sp[i-1].to) <= 0 {
			disjoint = false
			break
		}
	}
	ids := make([]uint32, 0, 8)
	emit := func(from, to T, pay uint32) {
		if n := len(starts); n > 0 && pays[n-1] == pay && c(ends[n-1], maxv) != 0 && inc(ends[n-1]) == from {
			ends[n-1] = to
			return
		}
		starts = append(starts, from)
		ends = append(ends, to)
		pays = append(pays, pay)
	}
	if disjoint {
		starts = make([]T, 0, len(sp))
		ends = make([]T, 0, len(sp))
		pays = make([]uint32, 0, len(sp))
		for _, s := range sp {
			ids = append(ids[:0], s.id)
			if p, keep := resolve(ids); keep {
				emit(s.from, s.to, p)
			}
		}
		return clip(starts), clip(ends), clip(pays), nil
	}

	// Overlapping spans make at most 2n-1 elementary intervals. Allocating
	// that once and trimming at the end touches less memory than growing
	// the slices a quarter at a time (which dominated loading a 1M-route
	// table).
	starts = make([]T, 0, 2*len(sp))
	ends = make([]T, 0, 2*len(sp))
	pays = make([]uint32, 0, 2*len(sp))
	h := &activeHeap[T]{c: c}
	i := 0
	var cur T
	for i < len(sp) || h.Len() > 0 {
		if h.Len() == 0 {
			cur = sp[i].from
		}
		for i < len(sp) && sp[i].from == cur {
			heap.Push(h, sp[i])
			i++
		}
		if h.Len() > MaxDepth {
			return nil, nil, nil, fmt.Errorf("%w (more than %d)", ErrTooDeep, MaxDepth)
		}
		end := h.s[0].to
		if i < len(sp) && c(dec(sp[i].from), end) < 0 {
			end = dec(sp[i].from)
		}
		ids = ids[:0]
		for _, a := range h.s {
			ids = append(ids, a.id)
		}
		slices.Sort(ids)
		if p, keep := resolve(ids); keep {
			emit(cur, end, p)
		}
		for h.Len() > 0 && h.s[0].to == end {
			heap.Pop(h)
		}
		if end == maxv {
			break
		}
		cur = inc(end)
	}
	return trim(starts), trim(ends), trim(pays), nil
}

func clip[T any](s []T) []T { return s[:len(s):len(s)] }

// trim returns s with its capacity cut to its length, copying when more
// than a quarter of the capacity would be wasted.
func trim[T any](s []T) []T {
	if cap(s)-len(s) > cap(s)/4 {
		return slices.Clone(s)
	}
	return clip(s)
}

// Set is an immutable set of non-overlapping address intervals, each with a
// payload. The zero value is an empty set. A Set is safe for concurrent use.
type Set struct {
	start4, end4 []uint32
	pay4         []uint32
	// idx4[k] is the number of IPv4 intervals starting before k<<16; nil
	// for small sets.
	idx4         []uint32
	start6, end6 []netip.Addr
	pay6         []uint32
}

const indexMin = 256

func (s *Set) buildIndex() {
	if len(s.start4) < indexMin {
		return
	}
	s.idx4 = make([]uint32, 1<<16+1)
	j := 0
	for k := 0; k <= 1<<16; k++ {
		base := uint64(k) << 16
		for j < len(s.start4) && uint64(s.start4[j]) < base {
			j++
		}
		s.idx4[k] = uint32(j)
	}
}

// Len returns the number of intervals in the set.
func (s *Set) Len() int { return len(s.start4) + len(s.start6) }

// Has4 and Has6 report whether the set holds IPv4 or IPv6 intervals.
func (s *Set) Has4() bool { return len(s.start4) > 0 }

// Has6 reports whether the set holds IPv6 intervals.
func (s *Set) Has6() bool { return len(s.start6) > 0 }

// Bytes returns the approximate heap size of the set's slices.
func (s *Set) Bytes() int {
	return 4*(cap(s.start4)+cap(s.end4)+cap(s.pay4)+cap(s.idx4)) + int(unsafe.Sizeof(netip.Addr{}))*(cap(s.start6)+cap(s.end6)) + 4*cap(s.pay6)
}

// find4 returns the index of the last interval starting at or before u, or -1.
func (s *Set) find4(u uint32) int {
	lo, hi := 0, len(s.start4)
	if s.idx4 != nil {
		k := u >> 16
		lo, hi = int(s.idx4[k]), int(s.idx4[k+1])
		if lo == hi || s.start4[lo] > u {
			return lo - 1
		}
	}
	// Find the first interval starting after u within [lo, hi).
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.start4[m] <= u {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

func (s *Set) find6(a netip.Addr) int {
	lo, hi := 0, len(s.start6)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.start6[m].Compare(a) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// Lookup returns the payload of the interval containing a. An IPv4-mapped
// IPv6 address is looked up among the IPv6 intervals as written; callers that
// mean the IPv4 address unmap it first.
func (s *Set) Lookup(a netip.Addr) (payload uint32, ok bool) {
	if a.Is4() {
		u := u32Of(a)
		if i := s.find4(u); i >= 0 && s.end4[i] >= u {
			return s.pay4[i], true
		}
		return 0, false
	}
	if !a.IsValid() {
		return 0, false
	}
	a = a.WithZone("")
	if i := s.find6(a); i >= 0 && s.end6[i].Compare(a) >= 0 {
		return s.pay6[i], true
	}
	return 0, false
}

// Interval is one interval of a [Set].
type Interval struct {
	From, To netip.Addr
	Payload  uint32
}

// AppendOverlapping appends to dst the intervals that overlap from..to (same
// family, from <= to), unclipped, in ascending order, and returns dst.
func (s *Set) AppendOverlapping(dst []Interval, from, to netip.Addr) []Interval {
	if from.Is4() {
		f, t := u32Of(from), u32Of(to)
		i := s.find4(f)
		if i < 0 || s.end4[i] < f {
			i++
		}
		for ; i < len(s.start4) && s.start4[i] <= t; i++ {
			dst = append(dst, Interval{addr4(s.start4[i]), addr4(s.end4[i]), s.pay4[i]})
		}
		return dst
	}
	if !from.IsValid() || !to.IsValid() {
		return dst
	}
	from, to = from.WithZone(""), to.WithZone("")
	i := s.find6(from)
	if i < 0 || s.end6[i].Compare(from) < 0 {
		i++
	}
	for ; i < len(s.start6) && s.start6[i].Compare(to) <= 0; i++ {
		dst = append(dst, Interval{s.start6[i], s.end6[i], s.pay6[i]})
	}
	return dst
}

// All calls yield for every interval, IPv4 first, in ascending order, until
// yield returns false.
func (s *Set) All(yield func(Interval) bool) {
	for i := range s.start4 {
		if !yield(Interval{addr4(s.start4[i]), addr4(s.end4[i]), s.pay4[i]}) {
			return
		}
	}
	for i := range s.start6 {
		if !yield(Interval{s.start6[i], s.end6[i], s.pay6[i]}) {
			return
		}
	}
}
