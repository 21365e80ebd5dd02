package prefix

import (
	"math/rand/v2"
	"net/netip"
	"slices"
)

// Sample returns n distinct addresses drawn uniformly at random from p, in
// ascending order. p is masked first. The draw is reproducible: the same
// (p, n, seed) gives the same addresses with the same version of this
// package (the generator is math/rand/v2's PCG seeded from seed).
//
// If n is at least the number of addresses in p, Sample returns every
// address of p. It returns nil if n <= 0 or p is invalid. Any prefix size
// works, IPv6 ::/0 included; the cost grows with n, not with the size of p.
func Sample(p netip.Prefix, n int, seed uint64) []netip.Addr {
	if !p.IsValid() || n <= 0 {
		return nil
	}
	p = p.Masked()
	bitLen := p.Addr().BitLen()
	base := u128Of(p.Addr())
	rng := newRand(seed)
	idx := sampleIndices(rng, bitLen-p.Bits(), n)
	out := make([]netip.Addr, len(idx))
	for i, x := range idx {
		out[i] = base.or(x).addr(bitLen)
	}
	return out
}

// SampleSubnets returns one uniformly chosen address in each of n distinct
// sub-prefixes of length bits, the sub-prefixes drawn uniformly from p; the
// addresses are in ascending order. It serves IPv6, where DNSBLs list per /64:
// SampleSubnets(p, 64, n, seed) touches n different /64s of p. p is masked
// first, and bits is clamped to p's address length.
//
// If p.Bits() >= bits it is the same as [Sample](p, n, seed). If n is at
// least the number of sub-prefixes, every sub-prefix gets one address. It is
// reproducible for (p, bits, n, seed) like [Sample], and returns nil if
// n <= 0 or p is invalid.
func SampleSubnets(p netip.Prefix, bits, n int, seed uint64) []netip.Addr {
	if !p.IsValid() || n <= 0 {
		return nil
	}
	p = p.Masked()
	bitLen := p.Addr().BitLen()
	bits = min(bits, bitLen)
	if p.Bits() >= bits {
		return Sample(p, n, seed)
	}
	base := u128Of(p.Addr())
	hostBits := bitLen - bits
	rng := newRand(seed)
	subnets := sampleIndices(rng, bits-p.Bits(), n)
	out := make([]netip.Addr, len(subnets))
	for i, s := range subnets {
		host := randBits(rng, hostBits)
		out[i] = base.or(shiftLeft(s, hostBits)).or(host).addr(bitLen)
	}
	return out
}

// newRand returns the generator for a seed. The second PCG word is derived
// from the seed so that nearby seeds give unrelated streams.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// randBits returns a uniform random value below 2^k, 0 <= k <= 128.
func randBits(rng *rand.Rand, k int) u128 {
	if k <= 0 {
		return u128{}
	}
	return u128{hi: rng.Uint64(), lo: rng.Uint64()}.and(lowMask(k))
}

// sampleIndices returns min(n, 2^k) distinct values drawn uniformly from
// [0, 2^k), ascending. When n is small next to the space it draws with
// rejection against a set (expected draws below 2n); when n is at least half
// the space (which then has at most 2n elements) it runs a partial
// Fisher-Yates shuffle over the indices.
func sampleIndices(rng *rand.Rand, k, n int) []u128 {
	var out []u128
	switch {
	case k < 63 && uint64(n) >= uint64(1)<<k:
		size := uint64(1) << k
		out = make([]u128, 0, size)
		for i := range size {
			out = append(out, u128From64(i))
		}
		return out
	case k < 63 && uint64(n) > (uint64(1)<<k)/2:
		size := uint64(1) << k
		idx := make([]uint64, size)
		for i := range idx {
			idx[i] = uint64(i)
		}
		for i := range uint64(n) {
			j := i + rng.Uint64N(size-i)
			idx[i], idx[j] = idx[j], idx[i]
		}
		out = make([]u128, n)
		for i := range out {
			out[i] = u128From64(idx[i])
		}
	default:
		seen := make(map[u128]struct{}, n)
		out = make([]u128, 0, n)
		for len(out) < n {
			x := randBits(rng, k)
			if _, dup := seen[x]; dup {
				continue
			}
			seen[x] = struct{}{}
			out = append(out, x)
		}
	}
	slices.SortFunc(out, u128.cmp)
	return out
}

// shiftLeft returns u<<k for 0 <= k < 128.
func shiftLeft(u u128, k int) u128 {
	switch {
	case k == 0:
		return u
	case k >= 64:
		return u128{hi: u.lo << uint(k-64)}
	}
	return u128{hi: u.hi<<uint(k) | u.lo>>uint(64-k), lo: u.lo << uint(k)}
}
