package sources_test

import (
	"context"
	"math"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

// TestDNSBL_oneRateLimiter: a zone with a rate limit, shared by two
// concurrent Score calls whose listed answers each cost a TXT query, never
// sees more queries than its rate allows (the bucket's burst plus rate × the
// time elapsed, counting every query: probes, A and TXT), and waiting for the
// rate never turns a lookup into unknown, although each lookup may take only
// 1 s and the run takes several (issue #10: one limiter, owned by the
// source, waited for before the lookup's timeout starts).
func TestDNSBL_oneRateLimiter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const rate = 5
		data := zoneData{qname("127.0.0.2", "bl.example.org"): {codes: []string{"127.0.0.2"}}}
		listed := []string{"198.51.100.1", "198.51.100.5", "198.51.100.9", "198.51.100.17", "198.51.100.20", "198.51.100.30"}
		for _, a := range listed {
			data[qname(a, "bl.example.org")] = entry{codes: []string{"127.0.0.2"}, txt: "listed: " + a}
		}
		var mu sync.Mutex
		var sent []time.Time
		handle := data.handler()
		fake := &fakeDNS{handle: func(ctx context.Context, n string, qt uint16) (*dns.Msg, error) {
			mu.Lock()
			sent = append(sent, time.Now())
			mu.Unlock()
			return handle(ctx, n, qt)
		}}
		z := testZone()
		z.Rate = rate
		bl := &sources.DNSBL{Zone: z, Client: fake}
		s := &reputation.Scorer{Sources: []reputation.Source{bl}, AllowSpecial: true, Timeout: time.Second}

		start := time.Now()
		var wg sync.WaitGroup
		reps := make([]*reputation.Report, 2)
		for i, p := range []netip.Prefix{mpp("198.51.100.0/28"), mpp("198.51.100.16/28")} {
			wg.Go(func() {
				rep, err := s.Score(t.Context(), p)
				if err != nil {
					t.Errorf("Score(%s): %v", p, err)
				}
				reps[i] = rep
			})
		}
		wg.Wait()

		for _, rep := range reps {
			if rep == nil {
				t.Fatal("no report")
			}
			if rep.Coverage != 1 || len(rep.Unknown) != 0 || len(rep.Listings) != 3 {
				t.Errorf("%s: coverage %v, %d unknown, %d listings; want 1, 0, 3 (waiting is not a failure): %+v",
					rep.Prefix, rep.Coverage, len(rep.Unknown), len(rep.Listings), rep.Unknown)
			}
			for _, l := range rep.Listings {
				if l.Reason != "listed: "+l.Address.String() {
					t.Errorf("%s: TXT reason %q, want it fetched", l.Address, l.Reason)
				}
			}
		}
		// 2 probe queries, 32 A queries, 6 TXT queries.
		if len(sent) != 40 {
			t.Errorf("%d queries sent, want 40", len(sent))
		}
		burst := math.Floor(rate)
		for k, at := range sent {
			if allowed := burst + rate*at.Sub(start).Seconds(); float64(k+1) > allowed+1e-9 {
				t.Fatalf("query %d sent at %v, but the rate allows only %.1f by then", k+1, at.Sub(start), allowed)
			}
		}
		if d := time.Since(start); d < 7*time.Second {
			t.Errorf("40 queries at %d/s with a burst of %v took %v, want at least 7s", rate, burst, d)
		}
	})
}
