package htmlreport_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"testing"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/reputation/htmlreport"
)

// fixture selects a /16 report of slash16.
type fixture struct {
	asFeeds bool // whole-block sources (extents per listed address, like local zone mirrors)
	all     bool // every listing kept (Scorer.MaxListings -1), so the map is drawn per address
}

// slash16 scores 198.18.0.0/16 walked in full against 10 sources, 30% of
// its addresses listed, each by about 8 of them: the report that issue 13
// measured at 26.7 MB of JSON before listings were merged and capped.
var slash16 = sync.OnceValue(func() map[fixture]*reputation.Report {
	out := map[fixture]*reputation.Report{}
	for _, fx := range []fixture{{false, false}, {true, false}, {false, true}} {
		asFeeds := fx.asFeeds
		bad := share(0.3, 7, reputation.Evidence{})
		var srcs []reputation.Source
		for i := range 10 {
			mine := share(0.8, uint64(100+i), spam("127.0.0.2"))
			s := &src{name: fmt.Sprintf("bl%d.example.org", i), listed: func(a netip.Addr) (reputation.Evidence, bool) {
				if _, ok := bad(a); !ok {
					return reputation.Evidence{}, false
				}
				return mine(a)
			}}
			if asFeeds {
				s.kind = reputation.KindZone
				srcs = append(srcs, feed{s})
			} else {
				srcs = append(srcs, s)
			}
		}
		sc := &reputation.Scorer{Sources: srcs, AllowSpecial: true, MaxAddrs: 1 << 16}
		if fx.all {
			sc.MaxListings = -1
		}
		rep, err := sc.Score(bgCtx(), mpp("198.18.0.0/16"))
		if err != nil {
			panic(err)
		}
		out[fx] = rep
	}
	return out
})

// counter counts the bytes written.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkWrite_slash16 renders the /16 of slash16; the page size is
// reported as the metric page-MB (without-JSON-MB: less the embedded
// report). With listings capped the map has one cell per /24 (from the
// report's exact subnets); with every listing kept, one per address.
func BenchmarkWrite_slash16(b *testing.B) {
	for _, bc := range []struct {
		name string
		fx   fixture
	}{
		{"v4_16_per_address_sources", fixture{false, false}},
		{"v4_16_zone_mirrors", fixture{true, false}},
		{"v4_16_every_listing_kept", fixture{false, true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rep := slash16()[bc.fx]
			reps := []*reputation.Report{rep}
			var c counter
			if err := htmlreport.Write(&c, reps, htmlreport.Options{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := htmlreport.Write(io.Discard, reps, htmlreport.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			js, err := json.Marshal(rep)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(c.n)/1e6, "page-MB")
			b.ReportMetric(float64(c.n-int64(len(js)))/1e6, "without-JSON-MB")
			b.ReportMetric(float64(len(rep.Listings)), "listings")
		})
	}
}
