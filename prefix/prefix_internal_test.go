package prefix

import (
	"math/big"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestSpecialTableSorted(t *testing.T) {
	t.Parallel()
	table := specialTable()
	for i, sp := range table {
		if !sp.Prefix.IsValid() || sp.Prefix != sp.Prefix.Masked() {
			t.Errorf("entry %d: %v is not a valid masked prefix", i, sp.Prefix)
		}
		if i == 0 {
			continue
		}
		prev := table[i-1].Prefix
		if c := prev.Addr().Compare(sp.Prefix.Addr()); c > 0 || (c == 0 && prev.Bits() >= sp.Prefix.Bits()) {
			t.Errorf("entry %d: %v does not sort after %v", i, sp.Prefix, prev)
		}
	}
}

func toBig(u u128) *big.Int {
	b := new(big.Int).SetUint64(u.hi)
	b.Lsh(b, 64)
	return b.Or(b, new(big.Int).SetUint64(u.lo))
}

// TestU128 compares the 128-bit helpers with math/big on random values.
func TestU128(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 42))
	mod := new(big.Int).Lsh(big.NewInt(1), 128)
	n := 10000
	if testing.Short() {
		n = 1000
	}
	for range n {
		a := u128{rng.Uint64(), rng.Uint64()}
		b := u128{rng.Uint64(), rng.Uint64()}
		if rng.IntN(4) == 0 {
			a.hi = 0
		}
		k := rng.IntN(128)
		sum := new(big.Int).Add(toBig(a), toBig(b))
		if got := toBig(a.add(b)); got.Cmp(sum.Mod(sum, mod)) != 0 {
			t.Fatalf("%v + %v = %v, want %v", a, b, got, sum)
		}
		diff := new(big.Int).Sub(toBig(a), toBig(b))
		if got := toBig(a.sub(b)); got.Cmp(diff.Mod(diff, mod)) != 0 {
			t.Fatalf("%v - %v = %v, want %v", a, b, got, diff)
		}
		if got, want := a.cmp(b), toBig(a).Cmp(toBig(b)); got != want {
			t.Fatalf("cmp(%v, %v) = %d, want %d", a, b, got, want)
		}
		shifted := new(big.Int).Lsh(toBig(a), uint(k))
		if got := toBig(shiftLeft(a, k)); got.Cmp(shifted.Mod(shifted, mod)) != 0 {
			t.Fatalf("%v << %d = %v, want %v", a, k, got, shifted)
		}
		if got, want := bitLen128(a), toBig(a).BitLen(); got != want {
			t.Fatalf("bitLen128(%v) = %d, want %d", a, got, want)
		}
		if got, want := toBig(lowMask(k)), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(k)), big.NewInt(1)); got.Cmp(want) != 0 {
			t.Fatalf("lowMask(%d) = %v, want %v", k, got, want)
		}
		// Round trip through netip.Addr for both families.
		if got := u128Of(a.addr(128)); got != a {
			t.Fatalf("u128Of(%v.addr(128)) = %v", a, got)
		}
		v4 := u128{lo: a.lo & 0xffffffff}
		if got := u128Of(v4.addr(32)); got != v4 || !v4.addr(32).Is4() {
			t.Fatalf("u128Of(%v.addr(32)) = %v", v4, got)
		}
	}
	if got := lowMask(128); got != (u128{^uint64(0), ^uint64(0)}) {
		t.Errorf("lowMask(128) = %v", got)
	}
	if got := u128Of(netip.MustParseAddr("::ffff:192.0.2.1")); got != (u128{0, 0xffff_c000_0201}) {
		t.Errorf("u128Of(::ffff:192.0.2.1) = %#x", got)
	}
}

// TestSampleIndicesDistinct covers both strategies of sampleIndices at their
// boundary and the all-indices case.
func TestSampleIndicesDistinct(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ k, n, want int }{
		{0, 1, 1}, {0, 5, 1}, {4, 8, 8}, {4, 9, 9}, {4, 16, 16}, {4, 17, 16}, {10, 1, 1}, {10, 600, 600}, {64, 100, 100}, {128, 100, 100},
	} {
		got := sampleIndices(rand.New(rand.NewPCG(42, 42)), tc.k, tc.n)
		if len(got) != tc.want {
			t.Errorf("sampleIndices(k=%d, n=%d) returned %d values, want %d", tc.k, tc.n, len(got), tc.want)
		}
		for i := range got {
			if tc.k < 128 && !got[i].less(shl1(tc.k)) {
				t.Errorf("sampleIndices(k=%d): %v out of range", tc.k, got[i])
			}
			if i > 0 && !got[i-1].less(got[i]) {
				t.Errorf("sampleIndices(k=%d, n=%d) not strictly ascending at %d", tc.k, tc.n, i)
			}
		}
	}
}
