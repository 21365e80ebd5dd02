package sources_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

// Interface checks.
var (
	_ reputation.Source    = (*sources.DNSBL)(nil)
	_ reputation.Prober    = (*sources.DNSBL)(nil)
	_ reputation.Describer = (*sources.DNSBL)(nil)
)

func TestDNSBLLookup(t *testing.T) {
	t.Parallel()
	const zone = "bl.example.org"
	name := qname("192.0.2.1", zone)
	ev := func(code, cat string, sev reputation.Severity, sc reputation.Scope) reputation.Evidence {
		return reputation.Evidence{Code: mpa(code), Category: cat, Severity: sev, Scope: sc}
	}
	answer := func(rcode int, rrs ...dns.RR) func(context.Context, string, uint16) (*dns.Msg, error) {
		return func(_ context.Context, n string, qt uint16) (*dns.Msg, error) {
			if qt == dns.TypeTXT {
				return reply(n, qt, dns.RcodeSuccess, rrTXT(n, "listed: see https://bl.example.org/")), nil
			}
			return reply(n, qt, rcode, rrs...), nil
		}
	}
	tests := []struct {
		name      string
		addr      string
		zone      func(*sources.ZoneInfo)
		handle    func(context.Context, string, uint16) (*dns.Msg, error)
		want      reputation.Listing
		wantErr   []error // every one must match with errors.Is
		wantCalls int64
	}{
		{
			name:   "listed_one_code_with_txt",
			handle: zoneData{name: {codes: []string{"127.0.0.2"}, txt: "listed: see https://bl.example.org/", ttl: 60}}.handler(),
			want: reputation.Listing{Listed: true, Evidence: []reputation.Evidence{ev("127.0.0.2", "spam", reputation.SeverityHigh, reputation.ScopeAddress)},
				Reason: "listed: see https://bl.example.org/", TTL: time.Minute, DelistURL: "https://bl.example.org/lookup?ip=192.0.2.1"},
			wantCalls: 2,
		},
		{
			name:   "listed_several_codes_deduplicated",
			handle: answer(dns.RcodeSuccess, rrA(name, "127.0.0.2", 600), rrA(name, "127.0.0.9", 300), rrA(name, "127.0.0.2", 600)),
			want: reputation.Listing{Listed: true, Evidence: []reputation.Evidence{
				ev("127.0.0.2", "spam", reputation.SeverityHigh, reputation.ScopeAddress),
				ev("127.0.0.9", "hijacked", reputation.SeverityCritical, reputation.ScopeRange),
			}, Reason: "listed: see https://bl.example.org/", TTL: 300 * time.Second, DelistURL: "https://bl.example.org/lookup?ip=192.0.2.1"},
			wantCalls: 2,
		},
		{
			name:   "listed_undocumented_code_uses_default",
			zone:   func(z *sources.ZoneInfo) { z.TXT = false },
			handle: answer(dns.RcodeSuccess, rrA(name, "127.0.0.77", 30)),
			want: reputation.Listing{Listed: true, Evidence: []reputation.Evidence{ev("127.0.0.77", "listed", reputation.SeverityMedium, reputation.ScopeAddress)},
				TTL: 30 * time.Second, DelistURL: "https://bl.example.org/lookup?ip=192.0.2.1"},
			wantCalls: 1,
		},
		{
			name: "listed_txt_servfail_leaves_reason_empty",
			handle: func(_ context.Context, n string, qt uint16) (*dns.Msg, error) {
				if qt == dns.TypeTXT {
					return reply(n, qt, dns.RcodeServerFailure), nil
				}
				return reply(n, qt, dns.RcodeSuccess, rrA(n, "127.0.0.3", 300)), nil
			},
			want: reputation.Listing{Listed: true, Evidence: []reputation.Evidence{ev("127.0.0.3", "exploited", reputation.SeverityMedium, reputation.ScopeAddress)},
				TTL: 300 * time.Second, DelistURL: "https://bl.example.org/lookup?ip=192.0.2.1"},
			wantCalls: 2,
		},
		{
			name: "listed_txt_timeout_leaves_reason_empty",
			handle: func(_ context.Context, n string, qt uint16) (*dns.Msg, error) {
				if qt == dns.TypeTXT {
					return nil, errors.New("i/o timeout")
				}
				return reply(n, qt, dns.RcodeSuccess, rrA(n, "127.0.0.3", 300)), nil
			},
			want: reputation.Listing{Listed: true, Evidence: []reputation.Evidence{ev("127.0.0.3", "exploited", reputation.SeverityMedium, reputation.ScopeAddress)},
				TTL: 300 * time.Second, DelistURL: "https://bl.example.org/lookup?ip=192.0.2.1"},
			wantCalls: 2,
		},
		{
			name: "cname_chain_followed_within_answer",
			zone: func(z *sources.ZoneInfo) { z.TXT = false; z.DelistURL = "" },
			handle: answer(dns.RcodeSuccess,
				rrCNAME(name, "alias.bl.example.org."), rrCNAME("ALIAS.bl.example.org.", "final.bl.example.org."), rrA("final.bl.example.org.", "127.0.0.4", 900)),
			want:      reputation.Listing{Listed: true, Evidence: []reputation.Evidence{ev("127.0.0.4", "exploited", reputation.SeverityMedium, reputation.ScopeAddress)}, TTL: 120 * time.Second},
			wantCalls: 1,
		},
		{name: "nxdomain", handle: zoneData{}.handler(), wantCalls: 1},
		{name: "nodata", handle: answer(dns.RcodeSuccess), wantCalls: 1},
		{name: "nodata_txt_only", handle: answer(dns.RcodeSuccess, rrTXT(name, "only TXT")), wantCalls: 1},
		{name: "cname_without_target_record", handle: answer(dns.RcodeSuccess, rrCNAME(name, "gone.example.org.")), wantCalls: 1},
		{name: "nxdomain_with_cname", handle: answer(dns.RcodeNameError, rrCNAME(name, "gone.example.org.")), wantCalls: 1},
		{name: "servfail", handle: answer(dns.RcodeServerFailure), wantErr: []error{sources.ErrServFail}, wantCalls: 1},
		{name: "refused_rcode", handle: answer(dns.RcodeRefused), wantErr: []error{sources.ErrRefused}, wantCalls: 1},
		{name: "notimp_rcode", handle: answer(dns.RcodeNotImplemented), wantErr: []error{sources.ErrServFail}, wantCalls: 1},
		{name: "formerr_rcode", handle: answer(dns.RcodeFormatError), wantErr: []error{sources.ErrServFail}, wantCalls: 1},
		{name: "code_open_resolver", handle: answer(dns.RcodeSuccess, rrA(name, "127.255.255.254", 60)), wantErr: []error{sources.ErrRefused}, wantCalls: 1},
		{name: "code_other_in_error_range", handle: answer(dns.RcodeSuccess, rrA(name, "127.255.255.1", 60)), wantErr: []error{sources.ErrRefused}, wantCalls: 1},
		{name: "code_rate_limited", handle: answer(dns.RcodeSuccess, rrA(name, "127.255.255.255", 60)), wantErr: []error{sources.ErrRateLimited}, wantCalls: 1},
		{name: "code_typo_zone", handle: answer(dns.RcodeSuccess, rrA(name, "127.255.255.252", 60)), wantErr: []error{sources.ErrUnknownZone}, wantCalls: 1},
		{name: "code_bad_key_250", handle: answer(dns.RcodeSuccess, rrA(name, "127.255.255.250", 60)), wantErr: []error{sources.ErrBadKey}, wantCalls: 1},
		{name: "code_bad_key_251", handle: answer(dns.RcodeSuccess, rrA(name, "127.255.255.251", 60)), wantErr: []error{sources.ErrBadKey}, wantCalls: 1},
		{
			name:    "listing_mixed_with_error_code",
			handle:  answer(dns.RcodeSuccess, rrA(name, "127.0.0.2", 60), rrA(name, "127.255.255.254", 60)),
			wantErr: []error{sources.ErrRefused}, wantCalls: 1,
		},
		{name: "answer_outside_127_8", handle: answer(dns.RcodeSuccess, rrA(name, "192.0.2.80", 60)), wantErr: []error{sources.ErrBogusAnswer}, wantCalls: 1},
		{
			name:    "answer_for_other_name",
			handle:  answer(dns.RcodeSuccess, rrA(qname("192.0.2.2", zone), "127.0.0.2", 60)),
			wantErr: []error{sources.ErrBogusAnswer}, wantCalls: 1,
		},
		{
			name:    "cname_to_other_chain",
			handle:  answer(dns.RcodeSuccess, rrCNAME(name, "a.example.org."), rrA("b.example.org.", "127.0.0.2", 60)),
			wantErr: []error{sources.ErrBogusAnswer}, wantCalls: 1,
		},
		{
			name: "transport_error",
			handle: func(context.Context, string, uint16) (*dns.Msg, error) {
				return nil, errors.New("read udp 127.0.0.1:5353: i/o timeout")
			},
			wantErr: []error{sources.ErrTimeout}, wantCalls: 1,
		},
		{
			name:    "nil_message",
			handle:  func(context.Context, string, uint16) (*dns.Msg, error) { return nil, nil },
			wantErr: []error{sources.ErrTimeout}, wantCalls: 1,
		},
		{name: "ipv4_on_ipv6_only_zone", zone: func(z *sources.ZoneInfo) { z.IPv4 = false }, handle: zoneData{}.handler(), wantErr: []error{sources.ErrUnsupported}},
		{name: "ipv6_on_ipv4_only_zone", addr: "2001:db8::1", zone: func(z *sources.ZoneInfo) { z.IPv6 = false }, handle: zoneData{}.handler(), wantErr: []error{sources.ErrUnsupported}},
		{name: "mapped_ipv4_is_ipv6_query", addr: "::ffff:192.0.2.1", zone: func(z *sources.ZoneInfo) { z.IPv6 = false }, handle: zoneData{}.handler(), wantErr: []error{sources.ErrUnsupported}},
		{name: "dead_zone", zone: func(z *sources.ZoneInfo) { z.Dead = "shut down" }, handle: zoneData{}.handler(), wantErr: []error{sources.ErrDeadList}},
		{name: "no_client", handle: nil, wantErr: []error{sources.ErrNoClient}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			z := testZone()
			if tc.zone != nil {
				tc.zone(&z)
			}
			addr := "192.0.2.1"
			if tc.addr != "" {
				addr = tc.addr
			}
			fake := &fakeDNS{handle: tc.handle}
			bl := &sources.DNSBL{Zone: z, Client: fake}
			if tc.handle == nil {
				bl.Client = nil
			}
			got, err := bl.Lookup(t.Context(), mpa(addr))
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("Lookup(%s) error = %v, want errors.Is %v", addr, err, want)
				}
			}
			if len(tc.wantErr) == 0 && err != nil {
				t.Errorf("Lookup(%s) error = %v, want nil", addr, err)
			}
			if diff := cmp.Diff(tc.want, got, opts()...); diff != "" {
				t.Errorf("Lookup(%s) mismatch (-want +got):\n%s", addr, diff)
			}
			if n := fake.calls.Load(); n != tc.wantCalls {
				t.Errorf("Lookup(%s) sent %d queries, want %d: %v", addr, n, tc.wantCalls, fake.asked())
			}
		})
	}
}

func TestDNSBLLookupQueryNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, addr, key, want string
	}{
		{name: "ipv4", addr: "192.0.2.99", want: "99.2.0.192.bl.example.org."},
		{name: "ipv6_rfc5782_example", addr: "2001:db8:1:2:3:4:567:89ab", want: "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example.org."},
		{name: "mapped_ipv4_stays_ipv6", addr: "::ffff:127.0.0.2", want: "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example.org."},
		{name: "keyed_mirror", addr: "192.0.2.99", key: "abc123", want: "99.2.0.192.abc123.bl.dq.example.org."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeDNS{handle: zoneData{}.handler()}
			bl := &sources.DNSBL{Zone: testZone(), Key: tc.key, Client: fake}
			if _, err := bl.Lookup(t.Context(), mpa(tc.addr)); err != nil {
				t.Fatalf("Lookup(%s): %v", tc.addr, err)
			}
			if diff := cmp.Diff([]string{"A " + tc.want}, fake.asked()); diff != "" {
				t.Errorf("query names (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDNSBLLookupKeyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		zone func(*sources.ZoneInfo)
	}{
		{name: "zone_without_keyed_mirror", key: "abc", zone: func(z *sources.ZoneInfo) { z.KeyedZone = "" }},
		{name: "key_not_a_label", key: "ab.cd", zone: func(*sources.ZoneInfo) {}},
		{name: "key_too_long", key: string(make([]byte, 64)), zone: func(*sources.ZoneInfo) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			z := testZone()
			tc.zone(&z)
			fake := &fakeDNS{handle: zoneData{}.handler()}
			bl := &sources.DNSBL{Zone: z, Key: tc.key, Client: fake}
			_, err := bl.Lookup(t.Context(), mpa("192.0.2.1"))
			if !errors.Is(err, sources.ErrBadKey) {
				t.Errorf("Lookup error = %v, want ErrBadKey", err)
			}
			if fake.calls.Load() != 0 {
				t.Errorf("sent %d queries with an unusable key, want 0", fake.calls.Load())
			}
		})
	}
}

func TestDNSBLRcodeError(t *testing.T) {
	t.Parallel()
	fake := &fakeDNS{handle: func(_ context.Context, n string, qt uint16) (*dns.Msg, error) {
		return reply(n, qt, dns.RcodeNotImplemented), nil
	}}
	bl := &sources.DNSBL{Zone: testZone(), Client: fake}
	_, err := bl.Lookup(t.Context(), mpa("192.0.2.1"))
	var re *sources.RcodeError
	if !errors.As(err, &re) {
		t.Fatalf("Lookup error = %v, want a *RcodeError", err)
	}
	want := &sources.RcodeError{Zone: "bl.example.org", Addr: mpa("192.0.2.1"), Rcode: dns.RcodeNotImplemented}
	if diff := cmp.Diff(*want, *re, opts()...); diff != "" {
		t.Errorf("RcodeError (-want +got):\n%s", diff)
	}
	if got, want := err.Error(), "sources: server failure: bl.example.org: NOTIMP for 192.0.2.1"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestDNSBLInfoAndName(t *testing.T) {
	t.Parallel()
	z := testZone()
	z.IPv6 = false
	z.Budget = 1000
	bl := &sources.DNSBL{Zone: z, Key: "secret"}
	if got := bl.Name(); got != "bl.example.org" {
		t.Errorf("Name() = %q, want bl.example.org", got)
	}
	want := reputation.Info{Kind: reputation.KindDNSBL, IPv4: true, Budget: 1000}
	if got := bl.Info(); got != want {
		t.Errorf("Info() = %+v, want %+v", got, want)
	}
}

// TestDNSBLContext checks that a query cut short by its context is unknown
// and wraps the context's error, and ErrTimeout for a deadline.
func TestDNSBLContext(t *testing.T) {
	t.Parallel()
	blocking := func(ctx context.Context, _ string, _ uint16) (*dns.Msg, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("exchange: %w", ctx.Err())
	}
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		bl := &sources.DNSBL{Zone: testZone(), Client: &fakeDNS{handle: blocking}}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		l, err := bl.Lookup(ctx, mpa("192.0.2.1"))
		if !errors.Is(err, sources.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Lookup error = %v, want ErrTimeout and DeadlineExceeded", err)
		}
		if l.Listed {
			t.Errorf("Lookup = %+v, want the zero Listing", l)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		bl := &sources.DNSBL{Zone: testZone(), Client: &fakeDNS{handle: blocking}}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(10*time.Millisecond, cancel)
		_, err := bl.Lookup(ctx, mpa("192.0.2.1"))
		// Issue #11: the caller's cancellation is not a timeout.
		if errors.Is(err, sources.ErrTimeout) || !errors.Is(err, context.Canceled) {
			t.Errorf("Lookup error = %v, want Canceled and not ErrTimeout", err)
		}
	})
	t.Run("transport_error_without_ctx_cause", func(t *testing.T) {
		t.Parallel()
		// An exchanger that forgets to wrap ctx.Err(): Lookup adds it.
		fake := &fakeDNS{handle: func(ctx context.Context, _ string, _ uint16) (*dns.Msg, error) {
			<-ctx.Done()
			return nil, errors.New("gave up")
		}}
		bl := &sources.DNSBL{Zone: testZone(), Client: fake}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		_, err := bl.Lookup(ctx, mpa("192.0.2.1"))
		if !errors.Is(err, sources.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Lookup error = %v, want ErrTimeout and DeadlineExceeded", err)
		}
	})
}

// TestDNSBLRealServer runs lookups and a probe over a real miekg/dns client
// against an in-process server on loopback.
func TestDNSBLRealServer(t *testing.T) {
	t.Parallel()
	const zone = "bl.example.org"
	data := zoneData{
		qname("127.0.0.2", zone):     {codes: []string{"127.0.0.2", "127.0.0.4"}, txt: "test point"},
		qname("192.0.2.1", zone):     {codes: []string{"127.0.0.2"}, txt: "Listed: spam", ttl: 90},
		qname("192.0.2.254", zone):   {codes: []string{"127.255.255.254"}},
		qname("2001:db8::1", zone):   {codes: []string{"127.0.0.3"}},
		qname("2001:db8::bad", zone): {codes: []string{"203.0.113.9"}},
	}
	handle := data.handler()
	addr := startServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		q := r.Question[0]
		a, _ := handle(context.Background(), q.Name, q.Qtype)
		m := new(dns.Msg)
		m.SetReply(r)
		m.Rcode, m.Answer = a.Rcode, a.Answer
		if q.Name == qname("192.0.2.200", zone) {
			m.Rcode, m.Answer = dns.RcodeServerFailure, nil
		}
		_ = w.WriteMsg(m)
	})
	bl := &sources.DNSBL{Zone: testZone(), Client: newClient(t, addr)}

	tests := []struct {
		name    string
		addr    string
		want    reputation.Listing
		wantErr error
	}{
		{name: "listed", addr: "192.0.2.1", want: reputation.Listing{Listed: true,
			Evidence: []reputation.Evidence{{Code: mpa("127.0.0.2"), Category: "spam", Severity: reputation.SeverityHigh}},
			Reason:   "Listed: spam", TTL: 90 * time.Second, DelistURL: "https://bl.example.org/lookup?ip=192.0.2.1"}},
		{name: "listed_ipv6", addr: "2001:db8::1", want: reputation.Listing{Listed: true,
			Evidence:  []reputation.Evidence{{Code: mpa("127.0.0.3"), Category: "exploited", Severity: reputation.SeverityMedium}},
			TTL:       300 * time.Second,
			DelistURL: "https://bl.example.org/lookup?ip=2001:db8::1"}},
		{name: "not_listed", addr: "192.0.2.2"},
		{name: "refused_code", addr: "192.0.2.254", wantErr: sources.ErrRefused},
		{name: "servfail", addr: "192.0.2.200", wantErr: sources.ErrServFail},
		{name: "bogus", addr: "2001:db8::bad", wantErr: sources.ErrBogusAnswer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := bl.Lookup(t.Context(), mpa(tc.addr))
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Lookup(%s) error = %v, want %v", tc.addr, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, opts()...); diff != "" {
				t.Errorf("Lookup(%s) mismatch (-want +got):\n%s", tc.addr, diff)
			}
		})
	}
	t.Run("probe", func(t *testing.T) {
		t.Parallel()
		h := (&sources.DNSBL{Zone: testZone(), Client: newClient(t, addr)}).Probe(t.Context())
		if h.Status != reputation.StatusOK || h.Err != nil {
			t.Errorf("Probe = %+v, want ok", h)
		}
	})
}
