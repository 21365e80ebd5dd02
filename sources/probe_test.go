package sources_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

func TestDNSBLProbe(t *testing.T) {
	t.Parallel()
	const zone = "bl.example.org"
	pos, neg := qname("127.0.0.2", zone), qname("127.0.0.1", zone)
	pos6, neg6 := qname("::ffff:7f00:2", zone), qname("::ffff:7f00:1", zone)
	rcode := func(rc int) func(context.Context, string, uint16) (*dns.Msg, error) {
		return func(_ context.Context, n string, qt uint16) (*dns.Msg, error) { return reply(n, qt, rc), nil }
	}
	tests := []struct {
		name       string
		zone       func(*sources.ZoneInfo)
		handle     func(context.Context, string, uint16) (*dns.Msg, error)
		want       reputation.Status
		wantErr    []error
		wantDetail []string // substrings of Detail
		wantAsked  []string // exact queries, when set
	}{
		{
			name:       "ok_several_codes",
			handle:     zoneData{pos: {codes: []string{"127.0.0.2", "127.0.0.4", "127.0.0.10"}}}.handler(),
			want:       reputation.StatusOK,
			wantDetail: []string{"127.0.0.2, 127.0.0.4, 127.0.0.10"},
			wantAsked:  []string{"A " + pos, "A " + neg},
		},
		{
			name:   "ok_non_standard_code",
			handle: zoneData{pos: {codes: []string{"127.0.0.15"}}}.handler(),
			want:   reputation.StatusOK,
		},
		{
			name:   "ok_nodata_negative",
			handle: zoneData{pos: {codes: []string{"127.0.0.2"}}, neg: {txt: "exists without A"}}.handler(),
			want:   reputation.StatusOK,
		},
		{
			name:      "ok_ipv6_only_zone",
			zone:      func(z *sources.ZoneInfo) { z.IPv4 = false },
			handle:    zoneData{pos6: {codes: []string{"127.0.0.2"}}}.handler(),
			want:      reputation.StatusOK,
			wantAsked: []string{"A " + pos6, "A " + neg6},
		},
		{
			name:   "ok_hostkarma_loopback_listed",
			zone:   func(z *sources.ZoneInfo) { z.LoopbackListed = true },
			handle: zoneData{pos: {codes: []string{"127.0.0.2"}}, neg: {codes: []string{"127.0.0.1"}}}.handler(),
			want:   reputation.StatusOK,
		},
		{
			name: "dead_lists_the_world",
			handle: func(_ context.Context, n string, qt uint16) (*dns.Msg, error) {
				return reply(n, qt, 0, rrA(n, "127.0.0.2", 60)), nil
			},
			want:       reputation.StatusDead,
			wantErr:    []error{sources.ErrBrokenList},
			wantDetail: []string{"lists the world", "127.0.0.1"},
		},
		{
			name:    "dead_loopback_listed_without_exception",
			handle:  zoneData{pos: {codes: []string{"127.0.0.2"}}, neg: {codes: []string{"127.0.0.1"}}}.handler(),
			want:    reputation.StatusDead,
			wantErr: []error{sources.ErrBrokenList},
		},
		{
			name:       "dead_positive_nxdomain",
			handle:     zoneData{}.handler(),
			want:       reputation.StatusDead,
			wantErr:    []error{sources.ErrBrokenList},
			wantDetail: []string{"silently blocked", "resolver 127.0.0.1:53"},
			wantAsked:  []string{"A " + pos},
		},
		{
			name:    "dead_ipv6_positive_nxdomain",
			zone:    func(z *sources.ZoneInfo) { z.IPv4 = false },
			handle:  zoneData{pos: {codes: []string{"127.0.0.2"}}}.handler(),
			want:    reputation.StatusDead,
			wantErr: []error{sources.ErrBrokenList},
		},
		{
			name:    "dead_bogus_answer",
			handle:  zoneData{pos: {codes: []string{"198.51.100.1"}}}.handler(),
			want:    reputation.StatusDead,
			wantErr: []error{sources.ErrBrokenList, sources.ErrBogusAnswer},
		},
		{
			name:    "dead_zone_marked_dead",
			zone:    func(z *sources.ZoneInfo) { z.Dead = "shut down 2015-01-01" },
			handle:  zoneData{}.handler(),
			want:    reputation.StatusDead,
			wantErr: []error{sources.ErrDeadList},
		},
		{
			name:       "refused_open_resolver_code",
			handle:     zoneData{pos: {codes: []string{"127.255.255.254"}}}.handler(),
			want:       reputation.StatusRefused,
			wantErr:    []error{sources.ErrRefused},
			wantDetail: []string{"resolver 127.0.0.1:53", "127.255.255.254", "open resolver"},
		},
		{
			name:    "refused_rate_limited_code",
			handle:  zoneData{pos: {codes: []string{"127.255.255.255"}}}.handler(),
			want:    reputation.StatusRefused,
			wantErr: []error{sources.ErrRateLimited},
		},
		{
			name:    "refused_typo_zone",
			handle:  zoneData{pos: {codes: []string{"127.255.255.252"}}}.handler(),
			want:    reputation.StatusRefused,
			wantErr: []error{sources.ErrUnknownZone},
		},
		{
			name:    "refused_bad_key",
			handle:  zoneData{pos: {codes: []string{"127.255.255.251"}}}.handler(),
			want:    reputation.StatusRefused,
			wantErr: []error{sources.ErrBadKey},
		},
		{
			name:    "refused_on_negative_point",
			handle:  zoneData{pos: {codes: []string{"127.0.0.2"}}, neg: {codes: []string{"127.255.255.254"}}}.handler(),
			want:    reputation.StatusRefused,
			wantErr: []error{sources.ErrRefused},
		},
		{
			name:       "refused_rcode",
			handle:     rcode(dns.RcodeRefused),
			want:       reputation.StatusRefused,
			wantErr:    []error{sources.ErrRefused},
			wantDetail: []string{"REFUSED"},
		},
		{
			name:    "unreachable_servfail",
			handle:  rcode(dns.RcodeServerFailure),
			want:    reputation.StatusUnreachable,
			wantErr: []error{sources.ErrServFail},
		},
		{
			name:    "unreachable_timeout",
			handle:  func(context.Context, string, uint16) (*dns.Msg, error) { return nil, errors.New("i/o timeout") },
			want:    reputation.StatusUnreachable,
			wantErr: []error{sources.ErrTimeout},
		},
		{
			name: "unreachable_negative_point_servfail",
			handle: func(ctx context.Context, n string, qt uint16) (*dns.Msg, error) {
				if n == neg {
					return reply(n, qt, dns.RcodeServerFailure), nil
				}
				return zoneData{pos: {codes: []string{"127.0.0.2"}}}.handler()(ctx, n, qt)
			},
			want:    reputation.StatusUnreachable,
			wantErr: []error{sources.ErrServFail},
		},
		{
			name:    "unreachable_no_client",
			want:    reputation.StatusUnreachable,
			wantErr: []error{sources.ErrNoClient},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			z := testZone()
			if tc.zone != nil {
				tc.zone(&z)
			}
			fake := &fakeDNS{handle: tc.handle, resolver: "127.0.0.1:53"}
			bl := &sources.DNSBL{Zone: z, Client: fake}
			if tc.handle == nil {
				bl.Client = nil
			}
			h := bl.Probe(t.Context())
			if h.Status != tc.want {
				t.Errorf("Probe().Status = %q (%s), want %q", h.Status, h.Detail, tc.want)
			}
			for _, want := range tc.wantErr {
				if !errors.Is(h.Err, want) {
					t.Errorf("Probe().Err = %v, want errors.Is %v", h.Err, want)
				}
			}
			if len(tc.wantErr) == 0 && h.Err != nil {
				t.Errorf("Probe().Err = %v, want nil", h.Err)
			}
			if h.Detail == "" {
				t.Errorf("Probe().Detail is empty")
			}
			for _, want := range tc.wantDetail {
				if !strings.Contains(h.Detail, want) {
					t.Errorf("Probe().Detail = %q, want it to contain %q", h.Detail, want)
				}
			}
			if tc.wantAsked != nil {
				if got := fake.asked(); strings.Join(got, "|") != strings.Join(tc.wantAsked, "|") {
					t.Errorf("Probe asked %q, want %q", got, tc.wantAsked)
				}
			}
		})
	}
}

// okZone answers the IPv4 test points correctly after delay.
func okZone(delay time.Duration) func(context.Context, string, uint16) (*dns.Msg, error) {
	h := zoneData{qname("127.0.0.2", "bl.example.org"): {codes: []string{"127.0.0.2"}}}.handler()
	return func(ctx context.Context, n string, qt uint16) (*dns.Msg, error) {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return h(ctx, n, qt)
	}
}

func TestDNSBLProbeCache(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDNS{handle: okZone(0)}
		bl := &sources.DNSBL{Zone: testZone(), Client: fake}
		for range 3 {
			if h := bl.Probe(t.Context()); h.Status != reputation.StatusOK {
				t.Fatalf("Probe = %+v, want ok", h)
			}
		}
		if n := fake.calls.Load(); n != 2 {
			t.Errorf("3 probes within ProbeCacheTTL sent %d queries, want 2", n)
		}
		time.Sleep(sources.ProbeCacheTTL)
		bl.Probe(t.Context())
		if n := fake.calls.Load(); n != 4 {
			t.Errorf("a probe after ProbeCacheTTL: %d queries in all, want 4", n)
		}
	})
}

func TestDNSBLProbeConcurrentShared(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDNS{handle: okZone(100 * time.Millisecond)}
		bl := &sources.DNSBL{Zone: testZone(), Client: fake}
		var wg sync.WaitGroup
		got := make([]reputation.Health, 8)
		for i := range got {
			wg.Go(func() { got[i] = bl.Probe(t.Context()) })
		}
		wg.Wait()
		for i, h := range got {
			if h.Status != reputation.StatusOK {
				t.Errorf("Probe #%d = %+v, want ok", i, h)
			}
		}
		if n := fake.calls.Load(); n != 2 {
			t.Errorf("8 concurrent probes sent %d queries, want 2 (one shared probe)", n)
		}
	})
}

func TestDNSBLProbeCancelledNotCached(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDNS{handle: okZone(time.Second)}
		bl := &sources.DNSBL{Zone: testZone(), Client: fake}
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		h := bl.Probe(ctx)
		if h.Status != reputation.StatusUnreachable || !errors.Is(h.Err, context.DeadlineExceeded) {
			t.Errorf("Probe with a short deadline = %+v, want unreachable wrapping DeadlineExceeded", h)
		}
		if h := bl.Probe(t.Context()); h.Status != reputation.StatusDegraded && h.Status != reputation.StatusOK {
			t.Errorf("Probe after a cancelled one = %+v, want a fresh probe", h)
		}
		if n := fake.calls.Load(); n != 3 {
			t.Errorf("sent %d queries, want 3 (1 cut short, then 2)", n)
		}
	})
}

func TestDNSBLProbeWaiterCancelled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDNS{handle: okZone(time.Second)}
		bl := &sources.DNSBL{Zone: testZone(), Client: fake}
		leader := make(chan reputation.Health)
		go func() { leader <- bl.Probe(t.Context()) }()
		synctest.Wait() // the leader's probe is now in flight
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if h := bl.Probe(ctx); h.Status != reputation.StatusUnreachable || !errors.Is(h.Err, context.DeadlineExceeded) {
			t.Errorf("waiting Probe with a short deadline = %+v, want unreachable", h)
		}
		if h := <-leader; h.Status != reputation.StatusOK {
			t.Errorf("leader Probe = %+v, want ok", h)
		}
	})
}

func TestDNSBLProbeSlowIsDegraded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		bl := &sources.DNSBL{Zone: testZone(), Client: &fakeDNS{handle: okZone(sources.ProbeSlow)}}
		h := bl.Probe(t.Context())
		if h.Status != reputation.StatusDegraded || h.Err != nil {
			t.Errorf("slow Probe = %+v, want degraded", h)
		}
		if !h.Status.Usable() {
			t.Errorf("degraded must stay usable")
		}
	})
}
