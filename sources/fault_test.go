package sources_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/dnsbltest"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

// TestDNSBL_faultServer drives the whole path a real lookup takes -- DNSBL,
// the production DNS client, a real DNS server on loopback -- through every
// outcome issue #3 names, with the fault-injecting server. Each lookup ends
// listed, not listed, or unknown with an errors.Is-able reason, and unknown
// is never folded into the other two.
func TestDNSBL_faultServer(t *testing.T) {
	t.Parallel()
	const listedName = "7.100.51.198.bl.example.org."
	records := dnsbltest.Records{
		listedName: {A: []netip.Addr{mpa("127.0.0.2"), mpa("127.0.0.4")}, TXT: []string{"listed for spam"}},
	}
	tests := []struct {
		name       string
		fault      dnsbltest.Fault
		attempts   int
		wantListed bool
		wantCodes  int
		wantErr    error // nil: a definite answer
	}{
		{name: "listed_two_codes", wantListed: true, wantCodes: 2},
		{name: "not_listed_nxdomain_for_other_address"}, // a different address, below
		{name: "slow_answer_within_timeout", fault: dnsbltest.Fault{Delay: 50 * time.Millisecond}, wantListed: true, wantCodes: 2},
		{name: "first_packets_dropped_then_answered", fault: dnsbltest.Fault{DropFirst: 2}, attempts: 4, wantListed: true, wantCodes: 2},
		{name: "every_packet_dropped", fault: dnsbltest.Fault{DropRate: 1}, wantErr: sources.ErrTimeout},
		{name: "truncated_udp_falls_back_to_tcp", fault: dnsbltest.Fault{Truncate: true}, wantListed: true, wantCodes: 2},
		{name: "servfail", fault: dnsbltest.Fault{Rcode: dns.RcodeServerFailure}, wantErr: sources.ErrServFail},
		{name: "refused_rcode", fault: dnsbltest.Fault{Rcode: dns.RcodeRefused}, wantErr: sources.ErrRefused},
		{name: "refused_by_list_code", fault: dnsbltest.Fault{Answer: []netip.Addr{mpa("127.255.255.254")}}, wantErr: sources.ErrRefused},
		{name: "rate_limited_code", fault: dnsbltest.Fault{Answer: []netip.Addr{mpa("127.255.255.255")}}, wantErr: sources.ErrRateLimited},
		{name: "bad_key_code", fault: dnsbltest.Fault{Answer: []netip.Addr{mpa("127.255.255.251")}}, wantErr: sources.ErrBadKey},
		{name: "typo_zone_code", fault: dnsbltest.Fault{Answer: []netip.Addr{mpa("127.255.255.252")}}, wantErr: sources.ErrUnknownZone},
		{name: "answer_outside_loopback", fault: dnsbltest.Fault{Answer: []netip.Addr{mpa("192.0.2.1")}}, wantErr: sources.ErrBogusAnswer},
		{name: "records_for_another_name", fault: dnsbltest.Fault{WrongAnswerName: true}, wantErr: sources.ErrBogusAnswer},
		// Answers whose question or ID do not match are discarded by the
		// client as spoofed; with nothing else arriving the lookup times out.
		{name: "question_for_another_name", fault: dnsbltest.Fault{WrongName: true}, wantErr: sources.ErrTimeout},
		{name: "wrong_message_id", fault: dnsbltest.Fault{WrongID: true}, wantErr: sources.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := dnsbltest.Start(t, records)
			srv.SetFault("", tt.fault)
			attempts := tt.attempts
			if attempts == 0 {
				attempts = 2
			}
			c := &dnsclient.Client{Servers: []string{srv.Addr}, CacheSize: -1, Attempts: attempts,
				Timeout: 300 * time.Millisecond, InitialTimeout: 200 * time.Millisecond}
			t.Cleanup(func() { c.Close() })
			bl := &sources.DNSBL{Zone: testZone(), Client: c}
			addr := mpa("198.51.100.7")
			if tt.name == "not_listed_nxdomain_for_other_address" {
				addr = mpa("198.51.100.8")
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			l, err := bl.Lookup(ctx, addr)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Lookup = %+v, %v; want an error wrapping %v", l, err, tt.wantErr)
				}
				if l.Listed || len(l.Evidence) != 0 {
					t.Errorf("an unknown outcome carries a listing: %+v", l)
				}
			case err != nil:
				t.Fatalf("Lookup: %v, want a definite answer", err)
			case l.Listed != tt.wantListed || len(l.Evidence) != tt.wantCodes:
				t.Errorf("Lookup = %+v, want listed=%v with %d codes", l, tt.wantListed, tt.wantCodes)
			case tt.wantListed && l.Reason != "listed for spam":
				t.Errorf("TXT reason %q, want %q", l.Reason, "listed for spam")
			}
		})
	}
}

// TestDNSBL_probeFaultServer checks the health probe against the same server:
// a list that lists the world is dead, one that refuses is refused, one that
// does not answer is unreachable, and a silently blocked resolver (NXDOMAIN
// for the positive test point) is dead, never ok.
func TestDNSBL_probeFaultServer(t *testing.T) {
	t.Parallel()
	healthy := dnsbltest.Records{"2.0.0.127.bl.example.org.": {A: []netip.Addr{mpa("127.0.0.2")}}}
	tests := []struct {
		name    string
		records dnsbltest.Records
		fault   dnsbltest.Fault
		want    string
		wantErr error
	}{
		{"healthy", healthy, dnsbltest.Fault{}, "ok", nil},
		{"lists_the_world", healthy, dnsbltest.Fault{Answer: []netip.Addr{mpa("127.0.0.2")}}, "dead", sources.ErrBrokenList},
		{"blocked_resolver_nxdomain", dnsbltest.Records{}, dnsbltest.Fault{}, "dead", sources.ErrBrokenList},
		{"refused_code", healthy, dnsbltest.Fault{Answer: []netip.Addr{mpa("127.255.255.254")}}, "refused", sources.ErrRefused},
		{"refused_rcode", healthy, dnsbltest.Fault{Rcode: dns.RcodeRefused}, "refused", sources.ErrRefused},
		{"no_answer", healthy, dnsbltest.Fault{DropRate: 1}, "unreachable", sources.ErrTimeout},
		{"servfail", healthy, dnsbltest.Fault{Rcode: dns.RcodeServerFailure}, "unreachable", sources.ErrServFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := dnsbltest.Start(t, tt.records)
			srv.SetFault("", tt.fault)
			c := &dnsclient.Client{Servers: []string{srv.Addr}, CacheSize: -1, Attempts: 2,
				Timeout: 300 * time.Millisecond, InitialTimeout: 200 * time.Millisecond}
			t.Cleanup(func() { c.Close() })
			z := testZone()
			z.IPv6 = false
			h := (&sources.DNSBL{Zone: z, Client: c}).Probe(t.Context())
			if string(h.Status) != tt.want {
				t.Fatalf("Probe = %s (%s), want %s", h.Status, h.Detail, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(h.Err, tt.wantErr) {
				t.Errorf("Probe error %v, want one wrapping %v", h.Err, tt.wantErr)
			}
			if tt.want != "ok" && h.Detail == "" {
				t.Error("an unhealthy probe must say why")
			}
		})
	}
}

// TestScorer_rateLimitedMidRun: SpamCop (whose catalog entry has no error
// table) passes its probe, then answers 127.255.255.255 for everything, as a
// list does when it rate-limits a resolver. No address may be listed; the
// zone stops for the rest of the run; its lookups are unknown, the coverage
// shows it, and the source says why.
func TestScorer_rateLimitedMidRun(t *testing.T) {
	t.Parallel()
	zone, err := sources.LookupZone("spamcop")
	if err != nil {
		t.Fatal(err)
	}
	records := dnsbltest.Records{
		"2.0.0.127.bl.spamcop.net.": {A: []netip.Addr{mpa("127.0.0.2")}},
	}
	for i := range 228 { // what the list said before it began to refuse
		records[fmt.Sprintf("%d.0.0.11.bl.spamcop.net.", i)] = dnsbltest.Record{A: []netip.Addr{mpa("127.0.0.2")}}
	}
	srv := dnsbltest.Start(t, records)
	c := &dnsclient.Client{Servers: []string{srv.Addr}, CacheSize: -1, Timeout: time.Second}
	t.Cleanup(func() { c.Close() })
	bl := &sources.DNSBL{Zone: zone, Client: c}
	if h := bl.Probe(t.Context()); h.Status != reputation.StatusOK {
		t.Fatalf("probe: %+v", h)
	}
	srv.SetFault("", dnsbltest.Fault{Answer: []netip.Addr{mpa("127.255.255.255")}})
	s := &reputation.Scorer{Sources: []reputation.Source{bl}, Concurrency: 4}
	rep, err := s.Score(t.Context(), netip.MustParsePrefix("11.0.0.0/24"))
	if err != nil {
		t.Fatalf("Score: %v", err)
	}
	if len(rep.Listings) != 0 || len(rep.Reasons) != 0 {
		t.Errorf("rate-limit answers became listings: %+v", rep.Reasons)
	}
	sr := rep.Sources[0]
	if rep.Verdict != reputation.VerdictIncomplete || rep.Coverage >= 0.95 || sr.Errors != 256 || len(rep.Unknown) != 256 {
		t.Errorf("verdict %s, coverage %v, %d errors, %d unknown; want incomplete, < 0.95, 256, 256",
			rep.Verdict, rep.Coverage, sr.Errors, len(rep.Unknown))
	}
	if !strings.Contains(sr.Detail, "rate limited") {
		t.Errorf("source detail %q does not say it was rate limited", sr.Detail)
	}
	for _, u := range rep.Unknown {
		if !errors.Is(u.Err, sources.ErrRateLimited) {
			t.Fatalf("unknown %+v does not wrap ErrRateLimited", u)
		}
	}
	// The back-off stopped the zone: a handful of queries reached the list
	// (those in flight when the first refusal came back), not 256.
	if n := srv.Total(); n > 2+2*s.Concurrency {
		t.Errorf("%d queries reached the list after it rate-limited, want the zone stopped", n)
	}
}
