package prefix_test

// Differential tests: Range.All, Range.Prefixes, Range.Len and Split against
// ipaddress-go's own iteration and spanning, on seeded random inputs.

import (
	"math/big"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seancfoley/ipaddress-go/ipaddr"

	"github.com/prefixvet/prefixvet/prefix"
)

// rounds scales the number of random cases with testing.Short.
func rounds() int {
	if testing.Short() {
		return 200
	}
	return 2000
}

// randAddr returns a random IPv4 or IPv6 address; one IPv6 address in eight
// is IPv4-mapped, and one in eight sits at the very top of the space.
func randAddr(rng *rand.Rand, v6 bool) netip.Addr {
	if !v6 {
		var b [4]byte
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		if rng.IntN(8) == 0 {
			b = [4]byte{255, 255, 255, byte(rng.UintN(256))}
		}
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	switch rng.IntN(8) {
	case 0:
		return netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: b[12], 13: b[13], 14: b[14], 15: b[15]})
	case 1:
		for i := range 15 {
			b[i] = 0xff
		}
	}
	return netip.AddrFrom16(b)
}

// randRange returns a random range starting at a random address and spanning
// at most maxSpan addresses (fewer at the top of the space).
func randRange(rng *rand.Rand, maxSpan int) prefix.Range {
	from := randAddr(rng, rng.IntN(2) == 0)
	to := from
	for range rng.IntN(maxSpan) {
		next := to.Next()
		if !next.IsValid() {
			break
		}
		to = next
	}
	return prefix.RangeFrom(from, to)
}

// wideRange returns a random range with independent random ends, so spans
// of any size up to the whole family occur; half the time the start is
// rounded down to a random boundary, which makes large aligned blocks common.
func wideRange(rng *rand.Rand) prefix.Range {
	v6 := rng.IntN(2) == 0
	a, b := randAddr(rng, v6), randAddr(rng, v6)
	if b.Less(a) {
		a, b = b, a
	}
	if rng.IntN(2) == 0 {
		a = netip.PrefixFrom(a, rng.IntN(a.BitLen()+1)).Masked().Addr()
	}
	return prefix.RangeFrom(a, b)
}

func seqRange(r prefix.Range) *ipaddr.SequentialRange[*ipaddr.IPAddress] {
	return ipaddr.NewIPSeqRange(ipaddr.NewIPAddressFromNetNetIPAddr(r.From()), ipaddr.NewIPAddressFromNetNetIPAddr(r.To()))
}

func blockPrefix(t *testing.T, b *ipaddr.IPAddress) netip.Prefix {
	t.Helper()
	bits := b.GetBitCount()
	if pl := b.GetNetworkPrefixLen(); pl != nil {
		bits = pl.Len()
	}
	p := netip.PrefixFrom(b.GetNetNetIPAddr(), bits)
	if !b.IsSinglePrefixBlock() && b.IsMultiple() {
		t.Fatalf("ipaddress-go returned %v, which is not a prefix block", b)
	}
	return p
}

func TestAllAgainstIPAddress(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 42))
	for range rounds() {
		r := randRange(rng, 300)
		var want []netip.Addr
		for it := seqRange(r).Iterator(); it.HasNext(); {
			want = append(want, it.Next().GetNetNetIPAddr())
		}
		got := slices.Collect(r.All())
		if diff := cmp.Diff(want, got, equateNetip); diff != "" {
			t.Fatalf("%v.All() mismatch with ipaddress-go (-want +got):\n%s", r, diff)
		}
		if n, ok := r.Len(); !ok || n != uint64(len(want)) {
			t.Fatalf("%v.Len() = %d, %v; want %d", r, n, ok, len(want))
		}
	}
}

func TestPrefixesAgainstIPAddress(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 42))
	maxUint64 := new(big.Int).SetUint64(^uint64(0))
	for i := range rounds() {
		r := wideRange(rng)
		if i%2 == 0 {
			r = randRange(rng, 5000)
		}
		var want []netip.Prefix
		for _, b := range seqRange(r).SpanWithPrefixBlocks() {
			want = append(want, blockPrefix(t, b))
		}
		got := slices.Collect(r.Prefixes())
		if diff := cmp.Diff(want, got, equateNetip); diff != "" {
			t.Fatalf("%v.Prefixes() mismatch with ipaddress-go (-want +got):\n%s", r, diff)
		}
		if diff := cmp.Diff(want, r.AppendPrefixes(nil), equateNetip); diff != "" {
			t.Fatalf("%v.AppendPrefixes(nil) mismatch with ipaddress-go (-want +got):\n%s", r, diff)
		}
		// The widest prefix at an address of r is the block of the cover
		// that holds it: the cover's ends, and a random address.
		for _, a := range []netip.Addr{r.From(), r.To(), randIn(rng, r)} {
			i := slices.IndexFunc(want, func(p netip.Prefix) bool { return p.Contains(a) })
			if got, ok := r.WidestPrefix(a); !ok || got != want[i] {
				t.Fatalf("%v.WidestPrefix(%v) = %v, %v; ipaddress-go's cover holds it in %v", r, a, got, ok, want[i])
			}
		}
		// Prefix agrees with a one-block cover.
		p, ok := r.Prefix()
		if ok != (len(want) == 1) || (ok && p != want[0]) {
			t.Fatalf("%v.Prefix() = %v, %v; cover is %v", r, p, ok, want)
		}
		// Len agrees with ipaddress-go's big count.
		count := seqRange(r).GetCount()
		n, ok := r.Len()
		if fits := count.Cmp(maxUint64) <= 0; ok != fits || (ok && n != count.Uint64()) {
			t.Fatalf("%v.Len() = %d, %v; ipaddress-go counts %v", r, n, ok, count)
		}
		// String round-trips through Parse.
		if back, err := prefix.Parse(r.String()); err != nil || back != r {
			t.Fatalf("Parse(%q) = %v, %v; want %v", r.String(), back, err, r)
		}
	}
}

func TestSplitAgainstIPAddress(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 42))
	for range rounds() {
		a := randAddr(rng, rng.IntN(2) == 0)
		p := netip.PrefixFrom(a, rng.IntN(a.BitLen()+1)).Masked()
		bits := p.Bits() + rng.IntN(min(9, a.BitLen()-p.Bits()+1))
		// SequentialRange.PrefixBlockIterator panics for a /0 in v1.7.1, so
		// iterate the prefix block itself.
		block, aerr := ipaddr.NewIPAddressFromNetNetIPPrefix(p)
		if aerr != nil {
			t.Fatal(aerr)
		}
		var want []netip.Prefix
		for it := block.ToPrefixBlock().SetPrefixLen(bits).PrefixBlockIterator(); it.HasNext(); {
			want = append(want, blockPrefix(t, it.Next()))
		}
		seq, err := prefix.Split(p, bits)
		if err != nil {
			t.Fatalf("Split(%v, %d): %v", p, bits, err)
		}
		if diff := cmp.Diff(want, slices.Collect(seq), equateNetip); diff != "" {
			t.Fatalf("Split(%v, %d) mismatch with ipaddress-go (-want +got):\n%s", p, bits, diff)
		}
	}
}

// randIn returns a random address of r.
func randIn(rng *rand.Rand, r prefix.Range) netip.Addr {
	a, b := r.From().AsSlice(), r.To().AsSlice()
	// Walk from the top byte down: keep a's bytes while a and b agree, then
	// pick a random byte between them and random bytes after it as long as
	// the result stays within a..b.
	out := make([]byte, len(a))
	loTight, hiTight := true, true
	for i := range out {
		lo, hi := 0, 255
		if loTight {
			lo = int(a[i])
		}
		if hiTight {
			hi = int(b[i])
		}
		out[i] = byte(lo + rng.IntN(hi-lo+1))
		loTight = loTight && out[i] == a[i]
		hiTight = hiTight && out[i] == b[i]
	}
	addr, _ := netip.AddrFromSlice(out)
	return addr
}

// TestUnmapAgainstIPAddress checks prefix.Unmap against ipaddress-go's own
// test for IPv4-mapped blocks and its embedded IPv4 address, on random
// IPv6 prefixes, half of them in or around ::ffff:0:0/96.
func TestUnmapAgainstIPAddress(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 42))
	unmapped := 0
	for range rounds() {
		a, bits := randAddr(rng, true), rng.IntN(129)
		if rng.IntN(2) == 0 {
			// Mapped, with lengths around the /96 boundary.
			b := a.As16()
			a = netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: b[12], 13: b[13], 14: b[14], 15: b[15]})
			bits = 90 + rng.IntN(39)
		}
		p := netip.PrefixFrom(a, bits).Masked()
		got := prefix.Unmap(p)
		block, err := ipaddr.NewIPAddressFromNetNetIPPrefix(p)
		if err != nil {
			t.Fatal(err)
		}
		v6 := block.ToPrefixBlock().ToIPv6()
		if !v6.IsIPv4Mapped() {
			if got != p {
				t.Fatalf("Unmap(%v) = %v; ipaddress-go says it is not IPv4-mapped", p, got)
			}
			continue
		}
		unmapped++
		v4, err := v6.GetEmbeddedIPv4Address()
		if err != nil {
			t.Fatal(err)
		}
		want := prefix.RangeFrom(v4.GetNetNetIPAddr(), v4.GetUpperNetNetIPAddr())
		if !got.Addr().Is4() || prefix.RangeOf(got) != want {
			t.Fatalf("Unmap(%v) = %v; ipaddress-go maps it to %v", p, got, want)
		}
	}
	// Was exercised: both branches ran often.
	if n := rounds(); unmapped < n/4 || unmapped > n*3/4 {
		t.Fatalf("%d of %d random prefixes were IPv4-mapped; want between a quarter and three quarters", unmapped, n)
	}
}

// TestParseAgainstNetip checks that Parse reads the canonical CIDR strings
// of random prefixes as netip and ipaddress-go do.
func TestParseAgainstNetip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 42))
	for range rounds() {
		a := randAddr(rng, rng.IntN(2) == 0)
		p := netip.PrefixFrom(a, rng.IntN(a.BitLen()+1)).Masked()
		r, err := prefix.Parse(p.String())
		if err != nil || r != prefix.RangeOf(p) {
			t.Fatalf("Parse(%q) = %v, %v; want %v", p.String(), r, err, prefix.RangeOf(p))
		}
		lower := ipaddr.NewIPAddressString(p.String()).GetAddress()
		if lower.GetNetNetIPAddr() != r.From() || lower.GetUpperNetNetIPAddr() != r.To() {
			t.Fatalf("Parse(%q) = %v..%v; ipaddress-go reads %v", p.String(), r.From(), r.To(), lower)
		}
	}
}
