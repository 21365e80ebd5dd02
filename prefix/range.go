package prefix

import (
	"iter"
	"net/netip"
)

// Range is an inclusive range of IP addresses of one family, from [Range.From]
// to [Range.To]. It is a small comparable value type like [netip.Prefix]: it is
// immutable, safe for concurrent use, and usable as a map key.
//
// The zero Range is invalid; see [Range.IsValid]. A Range never holds
// addresses with an IPv6 zone. An IPv4-mapped IPv6 range such as
// ::ffff:192.0.2.0/120 stays an IPv6 range: it is never unmapped.
type Range struct {
	from, to netip.Addr
}

// RangeOf returns the Range of the addresses in p, after masking p's host bits
// (so 203.0.113.5/24 gives the range of 203.0.113.0/24). It returns the zero,
// invalid Range if p is invalid.
func RangeOf(p netip.Prefix) Range {
	if !p.IsValid() {
		return Range{}
	}
	p = p.Masked()
	bitLen := p.Addr().BitLen()
	lo := u128Of(p.Addr())
	hi := lo.or(lowMask(bitLen - p.Bits()))
	return Range{from: p.Addr(), to: hi.addr(bitLen)}
}

// Unmap returns p with an IPv4-mapped IPv6 prefix turned into the IPv4
// prefix it stands for: ::ffff:192.0.2.0/120 becomes 192.0.2.0/24, as
// [netip.Addr.Unmap] does for an address. Only a prefix that lies wholly in
// ::ffff:0:0/96 (length 96 or more) is unmapped; any other prefix, an
// invalid one included, is returned unchanged. Host bits are kept: call
// [netip.Prefix.Masked] on the result to drop them.
func Unmap(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// RangeFrom returns the Range from from to to, inclusive. Zones are removed
// from both addresses. It returns the zero, invalid Range if either address
// is invalid, if they are of different families (an IPv4-mapped IPv6 address
// counts as IPv6), or if to precedes from.
func RangeFrom(from, to netip.Addr) Range {
	if !from.IsValid() || !to.IsValid() || from.BitLen() != to.BitLen() {
		return Range{}
	}
	from, to = from.WithZone(""), to.WithZone("")
	if to.Less(from) {
		return Range{}
	}
	return Range{from: from, to: to}
}

// From returns the first address of r, or the zero [netip.Addr] if r is
// invalid.
func (r Range) From() netip.Addr { return r.from }

// To returns the last address of r, or the zero [netip.Addr] if r is invalid.
func (r Range) To() netip.Addr { return r.to }

// IsValid reports whether r is a valid, non-empty range. The zero Range is
// not valid.
func (r Range) IsValid() bool { return r.from.IsValid() }

// Contains reports whether a lies within r. An address of the other family
// is never contained (192.0.2.1 is not in ::ffff:192.0.2.0/120), and, as in
// [netip.Prefix.Contains], neither is an address with an IPv6 zone. An
// invalid Range contains nothing.
func (r Range) Contains(a netip.Addr) bool {
	if !r.IsValid() || a.BitLen() != r.from.BitLen() || a.Zone() != "" {
		return false
	}
	return r.from.Compare(a) <= 0 && a.Compare(r.to) <= 0
}

// Len returns the number of addresses in r. ok is false, and n is 0, when the
// count does not fit in a uint64: only IPv6 ranges of more than 2^64-1
// addresses, such as ::/0 with its 2^128 addresses. An invalid Range has
// length 0.
func (r Range) Len() (n uint64, ok bool) {
	if !r.IsValid() {
		return 0, true
	}
	d := u128Of(r.to).sub(u128Of(r.from))
	if d.hi != 0 || d.lo == ^uint64(0) {
		return 0, false
	}
	return d.lo + 1, true
}

// All returns an iterator over the addresses of r in ascending order. It
// does not allocate per address; iterating a huge range simply takes long,
// so callers bound it with [Range.Len] or stop early. An invalid Range yields
// nothing.
func (r Range) All() iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		if !r.IsValid() {
			return
		}
		for a := r.from; ; a = a.Next() {
			if !yield(a) || a == r.to {
				return
			}
		}
	}
}

// Prefixes returns an iterator over the minimal list of CIDR prefixes that
// together cover exactly r, in ascending order. For a Range that is a single
// CIDR block, it yields that one prefix. An invalid Range yields nothing.
func (r Range) Prefixes() iter.Seq[netip.Prefix] {
	return func(yield func(netip.Prefix) bool) {
		for s := r.spanner(); ; {
			p, ok := s.next()
			if !ok || !yield(p) {
				return
			}
		}
	}
}

// AppendPrefixes appends the prefixes [Range.Prefixes] yields to dst and
// returns the extended slice. It allocates only when dst must grow, so a
// caller with a stack buffer spans ranges without allocating. An invalid
// Range appends nothing.
func (r Range) AppendPrefixes(dst []netip.Prefix) []netip.Prefix {
	for s := r.spanner(); ; {
		p, ok := s.next()
		if !ok {
			return dst
		}
		dst = append(dst, p)
	}
}

// spanner walks the minimal CIDR cover of a range, block by block.
type spanner struct {
	lo, hi u128
	bitLen int // 0 once the cover is exhausted
}

func (r Range) spanner() spanner {
	if !r.IsValid() {
		return spanner{}
	}
	return spanner{lo: u128Of(r.from), hi: u128Of(r.to), bitLen: r.from.BitLen()}
}

// next returns the next block of the cover, or false when there is none.
func (s *spanner) next() (netip.Prefix, bool) {
	if s.bitLen == 0 {
		return netip.Prefix{}, false
	}
	// The largest block starting at lo is limited by lo's alignment and by
	// the number of addresses left, hi-lo+1.
	host := s.bitLen
	if !s.lo.isZero() {
		host = min(host, s.lo.trailingZeros())
	}
	left := s.hi.sub(s.lo) // count-1, never overflows
	if n := bitLen128(left.addOne()) - 1; !left.addOne().isZero() && n < host {
		host = n
	}
	p := netip.PrefixFrom(s.lo.addr(s.bitLen), s.bitLen-host)
	if last := s.lo.or(lowMask(host)); last == s.hi {
		s.bitLen = 0
	} else {
		s.lo = last.addOne()
	}
	return p, true
}

// WidestPrefix returns the widest CIDR prefix that contains a and lies
// within r, and true; or the zero [netip.Prefix] and false if r does not
// contain a (see [Range.Contains]). It is the block of [Range.Prefixes] that
// holds a, found without walking the cover. Since CIDR blocks nest, it is
// also the widest prefix within r that contains any given prefix q within r:
// pass q.Addr().
func (r Range) WidestPrefix(a netip.Addr) (netip.Prefix, bool) {
	if !r.Contains(a) {
		return netip.Prefix{}, false
	}
	bitLen := a.BitLen()
	u, lo, hi := u128Of(a), u128Of(r.from), u128Of(r.to)
	host := 0
	for host < bitLen {
		m := lowMask(host + 1)
		if u.andNot(m).less(lo) || hi.less(u.or(m)) {
			break
		}
		host++
	}
	return netip.PrefixFrom(u.andNot(lowMask(host)).addr(bitLen), bitLen-host), true
}

// Prefix returns the single CIDR prefix whose addresses are exactly those of
// r, and true; or the zero [netip.Prefix] and false if r is not one CIDR block
// or is invalid. A single address is the full-length prefix (/32 or /128).
func (r Range) Prefix() (netip.Prefix, bool) {
	if !r.IsValid() {
		return netip.Prefix{}, false
	}
	lo, hi := u128Of(r.from), u128Of(r.to)
	x := lo.xor(hi)
	if !x.isPow2Minus1() || !lo.and(x).isZero() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(r.from, r.from.BitLen()-x.onesCount()), true
}

// String returns r in the form [Parse] reads back: the CIDR notation of
// [Range.Prefix] when r is one CIDR block ("203.0.113.0/24", "192.0.2.7/32"),
// otherwise "from-to" ("203.0.113.10-203.0.113.20"). Addresses are in
// [netip.Addr.String] form. The zero Range gives "invalid Range".
func (r Range) String() string {
	if !r.IsValid() {
		return "invalid Range"
	}
	if p, ok := r.Prefix(); ok {
		return p.String()
	}
	return r.from.String() + "-" + r.to.String()
}
