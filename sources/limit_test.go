package sources_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

func TestDNSBLRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		rate       float64
		lookups    int
		concurrent bool
		want       time.Duration
		// waits and waited are what Stats reports: the lookups that
		// waited for a token and their total wait.
		waits  uint64
		waited time.Duration
	}{
		// The bucket starts full with one second's worth of queries (at
		// least one), then refills at rate.
		{name: "sequential_10qps", rate: 10, lookups: 30, want: 2 * time.Second, waits: 20, waited: 2 * time.Second},
		{name: "concurrent_5qps", rate: 5, lookups: 20, concurrent: true, want: 3 * time.Second, waits: 15, waited: 24 * time.Second}, // 0.2 s × (1+...+15)
		{name: "fractional_half_qps", rate: 0.5, lookups: 3, want: 4 * time.Second, waits: 2, waited: 4 * time.Second},
		{name: "unlimited", rate: 0, lookups: 50, concurrent: true, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				z := testZone()
				z.Rate = tc.rate
				fake := &fakeDNS{handle: zoneData{}.handler()}
				bl := &sources.DNSBL{Zone: z, Client: fake}
				start := time.Now()
				var wg sync.WaitGroup
				for range tc.lookups {
					f := func() {
						if _, err := bl.Lookup(t.Context(), mpa("192.0.2.1")); err != nil {
							t.Errorf("Lookup: %v", err)
						}
					}
					if tc.concurrent {
						wg.Go(f)
					} else {
						f()
					}
				}
				wg.Wait()
				if got := time.Since(start); got != tc.want {
					t.Errorf("%d lookups at %v q/s took %v, want %v", tc.lookups, tc.rate, got, tc.want)
				}
				if n := fake.calls.Load(); n != int64(tc.lookups) {
					t.Errorf("sent %d queries, want %d", n, tc.lookups)
				}
				if st := bl.Stats(); st.RateLimitWaits != tc.waits || st.RateLimitWait != tc.waited {
					t.Errorf("Stats() = %+v, want %d waits, %v waited", st, tc.waits, tc.waited)
				}
			})
		})
	}
}

func TestDNSBLRateLimitDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		z := testZone()
		z.Rate = 1
		fake := &fakeDNS{handle: zoneData{}.handler()}
		bl := &sources.DNSBL{Zone: z, Client: fake}
		if _, err := bl.Lookup(t.Context(), mpa("192.0.2.1")); err != nil {
			t.Fatal(err)
		}
		// The next token is 1 s away: a lookup with a 100 ms deadline fails
		// at once rather than sleep into its deadline.
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := bl.Lookup(ctx, mpa("192.0.2.1"))
		if !errors.Is(err, sources.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Lookup error = %v, want ErrTimeout wrapping DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Lookup waited %v before failing, want 0", d)
		}
		// The token was given back: the next lookup waits the 1 s only.
		start = time.Now()
		if _, err := bl.Lookup(t.Context(), mpa("192.0.2.1")); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("next Lookup waited %v, want 1s", d)
		}
		// Cancellation while waiting returns the context's error.
		ctx, cancel2 := context.WithCancel(t.Context())
		time.AfterFunc(300*time.Millisecond, cancel2)
		if _, err := bl.Lookup(ctx, mpa("192.0.2.1")); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Lookup error = %v, want Canceled", err)
		}
		if n := fake.calls.Load(); n != 2 {
			t.Errorf("sent %d queries, want 2", n)
		}
	})
}

func TestDNSBLMaxInFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDNS{handle: func(ctx context.Context, n string, qt uint16) (*dns.Msg, error) {
			time.Sleep(100 * time.Millisecond)
			return reply(n, qt, dns.RcodeNameError), nil
		}}
		bl := &sources.DNSBL{Zone: testZone(), Client: fake, MaxInFlight: 3}
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := bl.Lookup(t.Context(), mpa("192.0.2.1")); err != nil {
					t.Errorf("Lookup: %v", err)
				}
			})
		}
		wg.Wait()
		if got := fake.maxSeen.Load(); got != 3 {
			t.Errorf("at most %d lookups in flight, want 3", got)
		}
		// A waiter whose context ends gives up.
		block := make(chan struct{})
		fake.handle = func(ctx context.Context, n string, qt uint16) (*dns.Msg, error) {
			<-block
			return reply(n, qt, dns.RcodeNameError), nil
		}
		for range 3 {
			wg.Go(func() { _, _ = bl.Lookup(t.Context(), mpa("192.0.2.1")) })
		}
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := bl.Lookup(ctx, mpa("192.0.2.1")); !errors.Is(err, sources.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Lookup waiting for a slot = %v, want ErrTimeout and DeadlineExceeded", err)
		}
		close(block)
		wg.Wait()
	})
}

func TestDNSBLRateLimitedBackoff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		limited := true
		var mu sync.Mutex
		fake := &fakeDNS{handle: func(_ context.Context, n string, qt uint16) (*dns.Msg, error) {
			mu.Lock()
			defer mu.Unlock()
			if limited {
				return reply(n, qt, dns.RcodeSuccess, rrA(n, "127.255.255.255", 60)), nil
			}
			return reply(n, qt, dns.RcodeNameError), nil
		}}
		var logs bytes.Buffer
		bl := &sources.DNSBL{Zone: testZone(), Client: fake, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
		if _, err := bl.Lookup(t.Context(), mpa("192.0.2.1")); !errors.Is(err, sources.ErrRateLimited) {
			t.Fatalf("Lookup = %v, want ErrRateLimited", err)
		}
		mu.Lock()
		limited = false
		mu.Unlock()
		time.Sleep(sources.RateLimitBackoff - time.Second)
		_, err := bl.Lookup(t.Context(), mpa("192.0.2.1"))
		if !errors.Is(err, sources.ErrRateLimited) {
			t.Errorf("Lookup during back-off = %v, want ErrRateLimited", err)
		}
		if n := fake.calls.Load(); n != 1 {
			t.Errorf("sent %d queries during back-off, want 1 (none after the rate-limit answer)", n)
		}
		time.Sleep(time.Second)
		if l, err := bl.Lookup(t.Context(), mpa("192.0.2.1")); err != nil || l.Listed {
			t.Errorf("Lookup after back-off = %+v, %v, want not listed", l, err)
		}
		if !strings.Contains(logs.String(), "backing off") {
			t.Errorf("log = %q, want a back-off record", logs.String())
		}
	})
}

// TestDNSBLKeyNeverLeaks drives a keyed DNSBL through every path that builds
// text (errors, health, logs, formatting) and checks the key is never in it.
func TestDNSBLKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	const key = "k3yS3cr3tABCDEFGHIJKLMNOPQ"
	var texts []string
	add := func(s ...string) { texts = append(texts, s...) }
	addErr := func(err error) {
		for e := err; e != nil; e = errors.Unwrap(e) {
			add(e.Error(), fmt.Sprintf("%v", e), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e))
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				add(e.Error())
			}
		}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// Each handler fails in a way that could echo the query name (which
	// holds the key) back into an error or a detail.
	handlers := map[string]func(context.Context, string, uint16) (*dns.Msg, error){
		"transport_error": func(_ context.Context, n string, _ uint16) (*dns.Msg, error) {
			return nil, fmt.Errorf("read udp: %s: i/o timeout", n)
		},
		"ctx_error": func(ctx context.Context, n string, _ uint16) (*dns.Msg, error) {
			<-ctx.Done()
			return nil, fmt.Errorf("exchange %s: %w", n, ctx.Err())
		},
		"other_name": func(_ context.Context, n string, qt uint16) (*dns.Msg, error) {
			return reply(n, qt, 0, rrA("x."+n, "127.0.0.2", 60)), nil
		},
		"bad_key": func(_ context.Context, n string, qt uint16) (*dns.Msg, error) {
			return reply(n, qt, 0, rrA(n, "127.255.255.251", 60)), nil
		},
		"servfail": func(_ context.Context, n string, qt uint16) (*dns.Msg, error) {
			return reply(n, qt, dns.RcodeServerFailure), nil
		},
		"listed_txt_echo": func(_ context.Context, n string, qt uint16) (*dns.Msg, error) {
			if qt == dns.TypeTXT {
				return reply(n, qt, 0, rrTXT(n, "listed, query was "+n)), nil
			}
			return reply(n, qt, 0, rrA(n, "127.0.0.2", 60)), nil
		},
		"txt_error_echo": func(_ context.Context, n string, qt uint16) (*dns.Msg, error) {
			if qt == dns.TypeTXT {
				return nil, fmt.Errorf("TXT %s failed", n)
			}
			return reply(n, qt, 0, rrA(n, "127.0.0.2", 60)), nil
		},
		"rate_limited": func(_ context.Context, n string, qt uint16) (*dns.Msg, error) {
			return reply(n, qt, 0, rrA(n, "127.255.255.255", 60)), nil
		},
	}
	for name, h := range handlers {
		fake := &fakeDNS{handle: h, resolver: "resolver-for-" + key}
		bl := &sources.DNSBL{Zone: testZone(), Key: key, Client: fake, Logger: logger}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		l, err := bl.Lookup(ctx, mpa("192.0.2.1"))
		addErr(err)
		add(l.Reason, fmt.Sprintf("%+v", l))
		_, err = bl.Lookup(ctx, mpa("2001:db8::1")) // a second lookup (back-off path for rate_limited)
		addErr(err)
		hl := bl.Probe(ctx)
		cancel()
		add(hl.Detail, fmt.Sprintf("%v", hl), fmt.Sprintf("%+v", hl), fmt.Sprintf("%#v", hl))
		addErr(hl.Err)
		if !strings.Contains(strings.Join(fake.asked(), " "), key) {
			t.Errorf("%s: the key was not used in the queries %q", name, fake.asked())
		}
	}
	// Configuration errors about the key.
	for _, z := range []func(*sources.ZoneInfo){func(z *sources.ZoneInfo) { z.KeyedZone = "" }, func(*sources.ZoneInfo) {}} {
		zi := testZone()
		z(&zi)
		bl := &sources.DNSBL{Zone: zi, Key: key + ".bad", Client: &fakeDNS{handle: zoneData{}.handler()}}
		_, err := bl.Lookup(t.Context(), mpa("192.0.2.1"))
		addErr(err)
		addErr(bl.Probe(t.Context()).Err)
	}
	// Formatting the DNSBL itself, directly and nested.
	bl := &sources.DNSBL{Zone: testZone(), Key: key, Client: &fakeDNS{handle: zoneData{}.handler()}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		add(fmt.Sprintf(verb, bl))
		add(fmt.Sprintf(verb, []reputation.Source{bl}))
		add(fmt.Sprintf(verb, struct{ S *sources.DNSBL }{bl}))
		add(fmt.Sprintf(verb, map[string]reputation.Source{"a": bl}))
	}
	add(bl.String(), bl.GoString(), logs.String())

	for _, s := range texts {
		if strings.Contains(s, key) {
			t.Errorf("key leaked in %q", s)
		}
	}
	if len(texts) < 100 {
		t.Errorf("only %d texts checked; the test lost its coverage", len(texts))
	}
	if !strings.Contains(fmt.Sprint(bl), "keyed") {
		t.Errorf("fmt.Sprint(bl) = %q, want it to say the DNSBL is keyed", fmt.Sprint(bl))
	}
}
