package sources

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/prefixvet/prefixvet/sources/internal/ipset"
)

// TestBuildNestedMatchesBuilder checks the stack walk of buildNested
// against an ipset.Builder with a "deepest group wins" resolver (what the
// index computed before the walk replaced it), on random nested and
// disjoint prefixes of both families, including the whole spaces and
// duplicate prefixes.
func TestBuildNestedMatchesBuilder(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 12))
	for round := range 200 {
		var keys []pkey
		if round%5 == 0 {
			keys = append(keys, pkeyOf(netip.MustParsePrefix("0.0.0.0/0")), pkeyOf(netip.MustParsePrefix("::/0")))
		}
		for range 1 + rng.IntN(60) {
			var p netip.Prefix
			if rng.IntN(2) == 0 {
				// A small IPv4 space, so that prefixes nest often; now and
				// then the top of the space.
				b := [4]byte{192, 0, byte(rng.IntN(4)), byte(rng.IntN(256))}
				if rng.IntN(8) == 0 {
					b = [4]byte{255, 255, 255, byte(rng.IntN(256))}
				}
				p = netip.PrefixFrom(netip.AddrFrom4(b), 14+rng.IntN(19)).Masked()
			} else {
				var b [16]byte
				b[0], b[1], b[15] = 0x20, 0x01, byte(rng.IntN(256))
				if rng.IntN(8) == 0 {
					b = [16]byte{0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff, 8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff}
				}
				p = netip.PrefixFrom(netip.AddrFrom16(b), []int{1, 16, 64, 65, 100, 120, 124, 128}[rng.IntN(8)]).Masked()
			}
			keys = append(keys, pkeyOf(p))
			if rng.IntN(6) == 0 {
				keys = append(keys, pkeyOf(p)) // a duplicate: same group
			}
		}
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		n, err := buildNested(keys, func(k pkey) pkey { return k })
		if err != nil {
			t.Fatal(err)
		}
		// The reference: every group's span into a Builder, deepest wins.
		var b ipset.Builder
		for g := range int32(len(n.first) - 1) {
			if err := b.AddPrefix(n.groupKey(g).prefix(), uint32(g)); err != nil {
				t.Fatal(err)
			}
			// Parents: the nearest wider group that contains g.
			want := int32(-1)
			for h := g - 1; h >= 0; h-- {
				if n.groupKey(h).contains(n.groupKey(g)) {
					want = h
					break
				}
			}
			if n.parent[g] != want {
				t.Fatalf("round %d: parent of %v = %d, want %d", round, n.groupKey(g).prefix(), n.parent[g], want)
			}
		}
		ref, err := b.Build(func(ids []uint32) (uint32, bool) { return ids[len(ids)-1], true })
		if err != nil {
			t.Fatal(err)
		}
		got, want := slices.Collect(n.set.All), slices.Collect(ref.All)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: intervals\n%v\nwant\n%v", round, got, want)
		}
	}
}
