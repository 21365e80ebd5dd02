package sources_test

import (
	"bytes"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

// TestScorerEndToEnd scores blocks with the real pieces: DNSBL zones over the
// production DNS client through unbound to rbldnsd, a DROP feed and the same
// zone loaded as a local mirror. The DNS path and the file path must agree on
// every address, the broken zones must be set aside for the right reason, and
// the verdicts must follow.
func TestScorerEndToEnd(t *testing.T) {
	t.Parallel()
	resolver := startUnbound(t, startRbldnsd(t))
	client := newClient(t, resolver)

	bl := &sources.DNSBL{Zone: integrationZone("bl.example.org", true, false), Client: client}
	refuse := &sources.DNSBL{Zone: integrationZone("refuse.example.org", true, false), Client: client}
	world := &sources.DNSBL{Zone: integrationZone("world.example.org", true, false), Client: client}
	drop, err := sources.ReadList(strings.NewReader(`{"cidr":"203.0.113.0/24","sblid":"SBL000042","rir":"example"}`), sources.FeedConfig{Name: "drop"})
	if err != nil {
		t.Fatal(err)
	}
	// bl.example.org is served from two datasets; the mirror holds the
	// ip4set one, which is all that lists anything in these blocks.
	data, err := os.ReadFile("testdata/rbldnsd/bl.ip4set")
	if err != nil {
		t.Fatal(err)
	}
	mirror, err := sources.ReadMirror(bytes.NewReader(data), sources.MirrorConfig{Type: sources.DatasetIP4Set, Zone: integrationZone("bl.example.org", true, false), Name: "bl-mirror"})
	if err != nil {
		t.Fatal(err)
	}

	s := &reputation.Scorer{Sources: []reputation.Source{bl, refuse, world, drop, mirror}, AllowSpecial: true, Concurrency: 32}
	blocks := []netip.Prefix{mpp("198.51.100.0/24"), mpp("203.0.113.0/24"), mpp("198.51.100.0/25")}
	reps, err := s.ScoreAll(t.Context(), blocks)
	if err != nil {
		t.Fatal(err)
	}

	for _, rep := range reps {
		st := map[string]reputation.SourceReport{}
		for _, sr := range rep.Sources {
			st[sr.Name] = sr
		}
		if st["refuse.example.org"].Status != reputation.StatusRefused || st["world.example.org"].Status != reputation.StatusDead {
			t.Errorf("%s: refuse %q, world %q; want refused and dead", rep.Prefix, st["refuse.example.org"].Status, st["world.example.org"].Status)
		}
		if st["bl.example.org"].Status != reputation.StatusOK || rep.Coverage != 1 {
			t.Errorf("%s: bl.example.org %q, coverage %v; want ok and 1", rep.Prefix, st["bl.example.org"].Status, rep.Coverage)
		}
		// Per address, the answers over DNS equal the mirror's (listings of
		// consecutive addresses with the same answer come merged).
		fromDNS := map[netip.Addr][]netip.Addr{}
		for _, l := range rep.Listings {
			if l.Source == "bl.example.org" {
				for a := range prefix.RangeOf(rep.Prefix).All() {
					if l.Contains(a) {
						fromDNS[a] = l.Codes
					}
				}
			}
			if l.Source == "refuse.example.org" || l.Source == "world.example.org" {
				t.Errorf("%s: listing from an unusable zone: %+v", rep.Prefix, l)
			}
		}
		for a := range prefix.RangeOf(rep.Prefix).All() {
			want, _ := mirror.Answer(a)
			if got := fromDNS[a]; !slices.Equal(got, want) {
				t.Errorf("%s: DNS says %v, the mirror %v", a, got, want)
			}
		}
	}
	want := []reputation.Verdict{reputation.VerdictReview, reputation.VerdictReject, reputation.VerdictReview}
	for i, rep := range reps {
		if rep.Verdict != want[i] {
			t.Errorf("%s: verdict %s (score %v), want %s", rep.Prefix, rep.Verdict, rep.Score, want[i])
		}
	}
}
