package ipset

import "net/netip"

// LastAddr returns the last address of p (p need not be masked).
func LastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	if a.Is4() {
		u := u32Of(a)
		if p.Bits() < 32 {
			u |= ^uint32(0) >> p.Bits()
		}
		return addr4(u)
	}
	u := u128Of(a)
	b := p.Bits()
	switch {
	case b == 0:
		u = max128
	case b < 64:
		u.Hi |= ^uint64(0) >> b
		u.Lo = ^uint64(0)
	case b < 128:
		u.Lo |= ^uint64(0) >> (b - 64)
	}
	return u.addr().WithZone(a.Zone())
}

// AppendPrefixes appends the minimal list of CIDR prefixes that exactly
// covers from..to (same family, from <= to) and returns dst.
func AppendPrefixes(dst []netip.Prefix, from, to netip.Addr) []netip.Prefix {
	for {
		// Widest prefix starting at from that ends at or before to.
		bits := from.BitLen()
		for bits > 0 {
			p := netip.PrefixFrom(from, bits-1)
			if p.Masked().Addr() != from || to.Less(LastAddr(p)) {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(from, bits)
		dst = append(dst, p)
		last := LastAddr(p)
		if last == to {
			return dst
		}
		from = last.Next()
	}
}

// Widest returns the widest prefix that contains p and lies within
// from..to, which must contain p.
func Widest(p netip.Prefix, from, to netip.Addr) netip.Prefix {
	p = p.Masked()
	for b := p.Bits() - 1; b >= 0; b-- {
		q, _ := p.Addr().Prefix(b)
		if q.Addr().Less(from) || to.Less(LastAddr(q)) {
			break
		}
		p = q
	}
	return p
}
