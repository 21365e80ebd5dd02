package prefix

import (
	"math/bits"
	"net/netip"
)

// u128 is an unsigned 128-bit integer used for address arithmetic. An IPv4
// address occupies the low 32 bits of lo.
type u128 struct{ hi, lo uint64 }

func u128Of(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var u u128
	for i := range 8 {
		u.hi = u.hi<<8 | uint64(b[i])
		u.lo = u.lo<<8 | uint64(b[i+8])
	}
	return u
}

// addr converts u back to an address of the family given by bitLen (32 or 128).
func (u u128) addr(bitLen int) netip.Addr {
	if bitLen == 32 {
		v := uint32(u.lo)
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var b [16]byte
	for i := range 8 {
		b[i] = byte(u.hi >> (56 - 8*i))
		b[i+8] = byte(u.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

func (u u128) isZero() bool       { return u.hi == 0 && u.lo == 0 }
func (u u128) and(v u128) u128    { return u128{u.hi & v.hi, u.lo & v.lo} }
func (u u128) or(v u128) u128     { return u128{u.hi | v.hi, u.lo | v.lo} }
func (u u128) andNot(v u128) u128 { return u128{u.hi &^ v.hi, u.lo &^ v.lo} }
func (u u128) xor(v u128) u128    { return u128{u.hi ^ v.hi, u.lo ^ v.lo} }
func (u u128) less(v u128) bool   { return u.cmp(v) < 0 }
func (u u128) addOne() u128       { return u.add(u128{lo: 1}) }
func (u u128) isPow2Minus1() bool { return u.and(u.addOne()).isZero() }
func (u u128) onesCount() int     { return bits.OnesCount64(u.hi) + bits.OnesCount64(u.lo) }
func u128From64(v uint64) u128    { return u128{lo: v} }

func (u u128) cmp(v u128) int {
	switch {
	case u.hi != v.hi:
		if u.hi < v.hi {
			return -1
		}
		return 1
	case u.lo < v.lo:
		return -1
	case u.lo > v.lo:
		return 1
	}
	return 0
}

func (u u128) trailingZeros() int {
	if u.lo != 0 {
		return bits.TrailingZeros64(u.lo)
	}
	return 64 + bits.TrailingZeros64(u.hi)
}

func (u u128) add(v u128) u128 {
	lo, c := bits.Add64(u.lo, v.lo, 0)
	hi, _ := bits.Add64(u.hi, v.hi, c)
	return u128{hi, lo}
}

func (u u128) sub(v u128) u128 {
	lo, b := bits.Sub64(u.lo, v.lo, 0)
	hi, _ := bits.Sub64(u.hi, v.hi, b)
	return u128{hi, lo}
}

// lowMask returns a value with the n low bits set, 0 <= n <= 128.
func lowMask(n int) u128 {
	switch {
	case n <= 0:
		return u128{}
	case n < 64:
		return u128{lo: 1<<uint(n) - 1}
	case n < 128:
		return u128{hi: 1<<uint(n-64) - 1, lo: ^uint64(0)}
	}
	return u128{^uint64(0), ^uint64(0)}
}

// shl1 returns 1<<n for 0 <= n < 128.
func shl1(n int) u128 {
	if n < 64 {
		return u128{lo: 1 << uint(n)}
	}
	return u128{hi: 1 << uint(n-64)}
}

// bitLen128 returns the number of bits needed to represent u.
func bitLen128(u u128) int {
	if u.hi != 0 {
		return 64 + bits.Len64(u.hi)
	}
	return bits.Len64(u.lo)
}
