package sources

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"github.com/prefixvet/prefixvet/prefix"
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
			r := prefix.RangeOf(n.groupKey(g).prefix())
			if err := b.Add(r.From(), r.To(), uint32(g)); err != nil {
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

// FuzzFastParsers checks that the allocation-free parsers of the loaders
// agree with the standard ones they stand in for, results and errors.
func FuzzFastParsers(f *testing.F) {
	for _, s := range []string{
		"192.0.2.0/24", "0.0.0.0/0", "255.255.255.255/32", "1.2.3.4/33", "01.2.3.4/8",
		"1.2.3.4/08", "1.2.3.4/", "1.2.3/8", "1.2.3.4.5/8", "256.0.0.0/8", "2001:db8::/32",
		"::ffff:1.2.3.4/120", "1.2.3.4/+8", "AS64500", "as0", "4294967296", "0004294967295",
		" AS1", "AS", "1.2.3.4", "1..2.3", "", "999", "1000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		gp, gerr := parsePrefixBytes(b)
		wp, werr := netip.ParsePrefix(s)
		if gp != wp || (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Errorf("parsePrefixBytes(%q) = %v, %v; netip.ParsePrefix: %v, %v", s, gp, gerr, wp, werr)
		}
		if a, ok := parseAddr4(b); ok {
			if w, err := netip.ParseAddr(s); err != nil || w != a {
				t.Errorf("parseAddr4(%q) = %v; netip.ParseAddr: %v, %v", s, a, w, err)
			}
		}
		ga, gerr := parseASNBytes(b)
		wa, werr := ParseASN(s)
		if ga != wa || (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Errorf("parseASNBytes(%q) = %v, %v; ParseASN: %v, %v", s, ga, gerr, wa, werr)
		}
		if n, ok := parseSmallInt(b); ok {
			if w, err := strconv.Atoi(s); err != nil || w != n {
				t.Errorf("parseSmallInt(%q) = %d; strconv.Atoi: %d, %v", s, n, w, err)
			}
		}
	})
}
