package prefix

import (
	"fmt"
	"iter"
	"net/netip"
)

// Split returns an iterator over the sub-prefixes of length bits that make up
// p, in ascending order: the /24s of a /20, the /64s of a /48. p is masked
// first. bits equal to p.Bits() yields p itself.
//
// Split returns an error if p is invalid or bits is outside
// p.Bits()..p.Addr().BitLen(). The iterator is lazy, so splitting an IPv6 /0
// into /128s is legal; bound the loop yourself (there are 2^(bits-p.Bits())
// sub-prefixes).
func Split(p netip.Prefix, bits int) (iter.Seq[netip.Prefix], error) {
	if !p.IsValid() {
		return nil, fmt.Errorf("prefix.Split(%s, %d): invalid prefix", p, bits)
	}
	bitLen := p.Addr().BitLen()
	if bits < p.Bits() || bits > bitLen {
		return nil, fmt.Errorf("prefix.Split(%s, %d): bits must be between %d and %d", p, bits, p.Bits(), bitLen)
	}
	p = p.Masked()
	return func(yield func(netip.Prefix) bool) {
		cur := u128Of(p.Addr())
		last := cur.or(lowMask(bitLen - p.Bits()))
		step := shl1(bitLen - bits) // bitLen-bits <= 128; 128 only when p.Bits()==0 && bits==0
		for {
			if !yield(netip.PrefixFrom(cur.addr(bitLen), bits)) {
				return
			}
			if cur.or(lowMask(bitLen-bits)) == last {
				return
			}
			cur = cur.add(step)
		}
	}, nil
}
