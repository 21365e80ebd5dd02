// TODO(lead): delete at merge; use package prefix
//
// This file holds minimal unexported stand-ins for the parts of package
// prefix that the Scorer needs, with the semantics agreed in PREFIX_API.md.
// The swap is mechanical:
//
//	prefixRangeOf(        -> prefix.RangeOf(
//	prefixSample(         -> prefix.Sample(
//	prefixSampleSubnets(  -> prefix.SampleSubnets(
//	prefixCheckVettable(  -> prefix.CheckVettable(
//	prefixErrSpecialPurpose -> prefix.ErrSpecialPurpose

package reputation

import (
	"errors"
	"fmt"
	"iter"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
)

// prefixErrSpecialPurpose stands in for prefix.ErrSpecialPurpose.
var prefixErrSpecialPurpose = errors.New("prefix: special-purpose address space")

// prefixRange stands in for prefix.Range (only what the Scorer uses).
type prefixRange struct{ p netip.Prefix }

// prefixRangeOf stands in for prefix.RangeOf: it masks p.
func prefixRangeOf(p netip.Prefix) prefixRange { return prefixRange{p.Masked()} }

// All returns an iterator over the addresses of r, ascending.
func (r prefixRange) All() iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		if !r.p.IsValid() {
			return
		}
		for a := r.p.Addr(); a.IsValid() && r.p.Contains(a); a = a.Next() {
			if !yield(a) {
				return
			}
		}
	}
}

// u128 is an unsigned 128-bit integer.
type u128 struct{ hi, lo uint64 }

func (u u128) add(v u128) u128 {
	lo, c := bits.Add64(u.lo, v.lo, 0)
	hi, _ := bits.Add64(u.hi, v.hi, c)
	return u128{hi, lo}
}

func (u u128) shl(n int) u128 {
	switch {
	case n == 0:
		return u
	case n >= 128:
		return u128{}
	case n >= 64:
		return u128{u.lo << (n - 64), 0}
	}
	return u128{u.hi<<n | u.lo>>(64-n), u.lo << n}
}

func (u u128) less(v u128) bool { return u.hi < v.hi || u.hi == v.hi && u.lo < v.lo }

// randBits returns a uniform value below 2^n.
func randBits(rng *rand.Rand, n int) u128 {
	switch {
	case n <= 0:
		return u128{}
	case n <= 64:
		if n == 64 {
			return u128{0, rng.Uint64()}
		}
		return u128{0, rng.Uint64() & (1<<n - 1)}
	case n < 128:
		return u128{rng.Uint64() & (1<<(n-64) - 1), rng.Uint64()}
	}
	return u128{rng.Uint64(), rng.Uint64()}
}

// pickOffsets returns n distinct uniform values below 2^width, ascending;
// all of them when n >= 2^width.
func pickOffsets(rng *rand.Rand, width, n int) []u128 {
	if width < 63 && uint64(n) >= 1<<width {
		out := make([]u128, 1<<width)
		for i := range out {
			out[i] = u128{0, uint64(i)}
		}
		return out
	}
	seen := make(map[u128]struct{}, n)
	out := make([]u128, 0, n)
	if width < 63 {
		// Floyd's algorithm: exactly n draws.
		size := uint64(1) << width
		for j := size - uint64(n); j < size; j++ {
			v := u128{0, rng.Uint64N(j + 1)}
			if _, dup := seen[v]; dup {
				v = u128{0, j}
			}
			seen[v] = struct{}{}
			out = append(out, v)
		}
	} else {
		for len(out) < n {
			v := randBits(rng, width)
			if _, dup := seen[v]; dup {
				continue
			}
			seen[v] = struct{}{}
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b u128) int {
		if a == b {
			return 0
		}
		if a.less(b) {
			return -1
		}
		return 1
	})
	return out
}

func addrU128(a netip.Addr) u128 {
	b := a.As16()
	var u u128
	for i := range 8 {
		u.hi = u.hi<<8 | uint64(b[i])
		u.lo = u.lo<<8 | uint64(b[8+i])
	}
	return u
}

func u128Addr(u u128, is4 bool) netip.Addr {
	var b [16]byte
	for i := range 8 {
		b[7-i] = byte(u.hi >> (8 * i))
		b[15-i] = byte(u.lo >> (8 * i))
	}
	a := netip.AddrFrom16(b)
	if is4 {
		return a.Unmap()
	}
	return a
}

// prefixSample stands in for prefix.Sample: n distinct addresses drawn
// uniformly from p, reproducible for (p, n, seed), ascending; every address
// of p when n >= its size.
func prefixSample(p netip.Prefix, n int, seed uint64) []netip.Addr {
	p = p.Masked()
	if !p.IsValid() || n <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, uint64(p.Bits())))
	base := addrU128(p.Addr())
	out := make([]netip.Addr, 0, n)
	for _, off := range pickOffsets(rng, p.Addr().BitLen()-p.Bits(), n) {
		out = append(out, u128Addr(base.add(off), p.Addr().Is4()))
	}
	return out
}

// prefixSampleSubnets stands in for prefix.SampleSubnets: n distinct
// sub-prefixes of length bits drawn uniformly from p, one uniformly chosen
// address in each, ascending. If p.Bits() >= bits, same as prefixSample.
func prefixSampleSubnets(p netip.Prefix, bits, n int, seed uint64) []netip.Addr {
	p = p.Masked()
	if !p.IsValid() || p.Bits() >= bits || bits > p.Addr().BitLen() {
		return prefixSample(p, n, seed)
	}
	if n <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, uint64(p.Bits())<<8|uint64(bits)))
	base := addrU128(p.Addr())
	host := p.Addr().BitLen() - bits
	out := make([]netip.Addr, 0, n)
	for _, idx := range pickOffsets(rng, bits-p.Bits(), n) {
		off := idx.shl(host).add(randBits(rng, host))
		out = append(out, u128Addr(base.add(off), p.Addr().Is4()))
	}
	return out
}

// special is one entry of the IANA special-purpose registries.
type special struct {
	prefix    netip.Prefix
	name, rfc string
}

// specialPurpose lists the main IANA special-purpose entries (RFC 6890 et al.).
func specialPurpose() []special {
	m := netip.MustParsePrefix
	return []special{
		{m("0.0.0.0/8"), "This network", "RFC 791"},
		{m("10.0.0.0/8"), "Private-Use", "RFC 1918"},
		{m("100.64.0.0/10"), "Shared Address Space", "RFC 6598"},
		{m("127.0.0.0/8"), "Loopback", "RFC 1122"},
		{m("169.254.0.0/16"), "Link Local", "RFC 3927"},
		{m("172.16.0.0/12"), "Private-Use", "RFC 1918"},
		{m("192.0.0.0/24"), "IETF Protocol Assignments", "RFC 6890"},
		{m("192.0.2.0/24"), "Documentation (TEST-NET-1)", "RFC 5737"},
		{m("192.88.99.0/24"), "Deprecated 6to4 Relay Anycast", "RFC 7526"},
		{m("192.168.0.0/16"), "Private-Use", "RFC 1918"},
		{m("198.18.0.0/15"), "Benchmarking", "RFC 2544"},
		{m("198.51.100.0/24"), "Documentation (TEST-NET-2)", "RFC 5737"},
		{m("203.0.113.0/24"), "Documentation (TEST-NET-3)", "RFC 5737"},
		{m("224.0.0.0/4"), "Multicast", "RFC 5771"},
		{m("240.0.0.0/4"), "Reserved", "RFC 1112"},
		{m("::/128"), "Unspecified Address", "RFC 4291"},
		{m("::1/128"), "Loopback Address", "RFC 4291"},
		{m("::ffff:0:0/96"), "IPv4-mapped Address", "RFC 4291"},
		{m("64:ff9b:1::/48"), "IPv4-IPv6 Translation", "RFC 8215"},
		{m("100::/64"), "Discard-Only Address Block", "RFC 6666"},
		{m("2001::/23"), "IETF Protocol Assignments", "RFC 2928"},
		{m("2001:db8::/32"), "Documentation", "RFC 3849"},
		{m("2002::/16"), "6to4", "RFC 3056"},
		{m("3fff::/20"), "Documentation", "RFC 9637"},
		{m("fc00::/7"), "Unique-Local", "RFC 4193"},
		{m("fe80::/10"), "Link-Local Unicast", "RFC 4291"},
		{m("ff00::/8"), "Multicast", "RFC 4291"},
	}
}

// prefixCheckVettable stands in for prefix.CheckVettable: nil, or an error
// wrapping prefixErrSpecialPurpose naming the block and the registry entries.
func prefixCheckVettable(p netip.Prefix) error {
	var hits []string
	for _, s := range specialPurpose() {
		if s.prefix.Overlaps(p) {
			hits = append(hits, fmt.Sprintf("%s %s, %s", s.prefix, s.name, s.rfc))
		}
	}
	if hits == nil {
		return nil
	}
	return fmt.Errorf("%s is special-purpose space: %s: %w", p, strings.Join(hits, "; "), prefixErrSpecialPurpose)
}
