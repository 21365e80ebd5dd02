package dnsclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/dnsbltest"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

var _ sources.Exchanger = (*dnsclient.Client)(nil)

const (
	listed   = "2.0.0.127.bl.example.org."
	aOnly    = "3.0.0.127.bl.example.org."
	unlisted = "1.0.0.127.bl.example.org."
)

func records() dnsbltest.Records {
	return dnsbltest.Records{
		listed: {A: []netip.Addr{netip.MustParseAddr("127.0.0.2")}, TXT: []string{"test point"}, TTL: 60},
		aOnly:  {A: []netip.Addr{netip.MustParseAddr("127.0.0.3")}, TTL: 60},
	}
}

// newClient returns a client of srvs with short timeouts, closed at cleanup.
func newClient(t *testing.T, c *dnsclient.Client, srvs ...*dnsbltest.Server) *dnsclient.Client {
	t.Helper()
	for _, s := range srvs {
		c.Servers = append(c.Servers, s.Addr)
	}
	if c.InitialTimeout == 0 {
		c.InitialTimeout = 100 * time.Millisecond
	}
	if c.Timeout == 0 {
		c.Timeout = 200 * time.Millisecond
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

func aAddrs(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

func TestExchange_rcodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		qname    string
		qtype    uint16
		fault    dnsbltest.Fault
		rcode    int
		answers  int
		wantSOA  bool
		wantAddr string
	}{
		{name: "answer", qname: listed, qtype: dns.TypeA, rcode: dns.RcodeSuccess, answers: 1, wantAddr: "127.0.0.2"},
		{name: "answer_txt", qname: listed, qtype: dns.TypeTXT, rcode: dns.RcodeSuccess, answers: 1},
		{name: "answer_mixed_case", qname: "2.0.0.127.BL.Example.ORG.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, answers: 1, wantAddr: "127.0.0.2"},
		{name: "nxdomain", qname: unlisted, qtype: dns.TypeA, rcode: dns.RcodeNameError, wantSOA: true},
		{name: "nodata", qname: aOnly, qtype: dns.TypeTXT, rcode: dns.RcodeSuccess, wantSOA: true},
		{name: "servfail", qname: listed, qtype: dns.TypeA, fault: dnsbltest.Fault{Rcode: dns.RcodeServerFailure}, rcode: dns.RcodeServerFailure},
		{name: "refused", qname: listed, qtype: dns.TypeA, fault: dnsbltest.Fault{Rcode: dns.RcodeRefused}, rcode: dns.RcodeRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := dnsbltest.Start(t, records())
			srv.SetFault("", tt.fault)
			c := newClient(t, &dnsclient.Client{}, srv)
			m, err := c.Exchange(t.Context(), tt.qname, tt.qtype)
			if err != nil {
				t.Fatalf("Exchange(%s) error %v, want a message", tt.qname, err)
			}
			if m.Rcode != tt.rcode {
				t.Errorf("rcode = %s, want %s", dns.RcodeToString[m.Rcode], dns.RcodeToString[tt.rcode])
			}
			if len(m.Answer) != tt.answers {
				t.Errorf("answers = %v, want %d records", m.Answer, tt.answers)
			}
			if tt.wantAddr != "" {
				if got := aAddrs(m); len(got) != 1 || got[0] != tt.wantAddr {
					t.Errorf("A = %v, want [%s]", got, tt.wantAddr)
				}
			}
			if hasSOA := len(m.Ns) > 0; hasSOA != tt.wantSOA {
				t.Errorf("authority = %v, want SOA: %v", m.Ns, tt.wantSOA)
			}
		})
	}
}

func TestExchange_timeout(t *testing.T) {
	t.Parallel()
	srv := dnsbltest.Start(t, records())
	srv.SetFault("", dnsbltest.Fault{DropRate: 1})
	c := newClient(t, &dnsclient.Client{Attempts: 3, InitialTimeout: 30 * time.Millisecond, Timeout: 60 * time.Millisecond}, srv)
	m, err := c.Exchange(t.Context(), listed, dns.TypeA)
	if m != nil || !errors.Is(err, dnsclient.ErrTimeout) {
		t.Fatalf("Exchange = %v, %v; want nil, ErrTimeout", m, err)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("errors.Is(%v, os.ErrDeadlineExceeded) = false", err)
	}
	var te interface{ Timeout() bool }
	if !errors.As(err, &te) || !te.Timeout() {
		t.Errorf("error %v has no Timeout() true", err)
	}
	if got := srv.Queries(listed); got != 3 {
		t.Errorf("server saw %d queries, want 3 (one per attempt)", got)
	}
	if s := c.Stats(); s.Timeouts != 3 || s.Retries != 2 || s.Errors != 1 {
		t.Errorf("Stats = %+v, want Timeouts 3, Retries 2, Errors 1", s)
	}
}

func TestExchange_contextDeadline(t *testing.T) {
	t.Parallel()
	srv := dnsbltest.Start(t, records())
	srv.SetFault("", dnsbltest.Fault{Delay: 2 * time.Second})
	c := newClient(t, &dnsclient.Client{Timeout: 5 * time.Second, InitialTimeout: 5 * time.Second}, srv)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Exchange(ctx, listed, dns.TypeA)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, dnsclient.ErrTimeout) {
		t.Errorf("Exchange error = %v, want context.DeadlineExceeded and ErrTimeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Exchange returned after %v, want about 50ms", d)
	}
}

func TestExchange_cancel(t *testing.T) {
	t.Parallel()
	srv := dnsbltest.Start(t, records())
	srv.SetFault("", dnsbltest.Fault{DropRate: 1})
	c := newClient(t, &dnsclient.Client{Timeout: 5 * time.Second, InitialTimeout: 5 * time.Second}, srv)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(30*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Exchange(ctx, listed, dns.TypeA)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Exchange error = %v, want context.Canceled", err)
	}
	if errors.Is(err, dnsclient.ErrTimeout) {
		t.Errorf("cancelled Exchange error %v wraps ErrTimeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Exchange returned after %v, want about 30ms", d)
	}
}

func TestExchange_retriesAfterDrops(t *testing.T) {
	t.Parallel()
	srv := dnsbltest.Start(t, records())
	srv.SetFault(listed, dnsbltest.Fault{DropFirst: 2})
	c := newClient(t, &dnsclient.Client{InitialTimeout: 30 * time.Millisecond}, srv)
	m, err := c.Exchange(t.Context(), listed, dns.TypeA)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if got := aAddrs(m); len(got) != 1 || got[0] != "127.0.0.2" {
		t.Errorf("A = %v, want [127.0.0.2]", got)
	}
	if got := srv.Queries(listed); got != 3 {
		t.Errorf("server saw %d queries, want 3", got)
	}
	if s := c.Stats(); s.Retries != 2 || s.Timeouts != 2 {
		t.Errorf("Stats = %+v, want Retries 2, Timeouts 2", s)
	}
}

func TestExchange_failover(t *testing.T) {
	t.Parallel()
	dead := dnsbltest.Start(t, records())
	dead.SetFault("", dnsbltest.Fault{DropRate: 1})
	alive := dnsbltest.Start(t, records())
	c := newClient(t, &dnsclient.Client{InitialTimeout: 30 * time.Millisecond}, dead, alive)
	if !strings.Contains(c.String(), dead.Addr) || !strings.Contains(c.String(), alive.Addr) {
		t.Errorf("String() = %q, want both servers named", c.String())
	}
	for _, name := range []string{listed, aOnly} {
		m, err := c.Exchange(t.Context(), name, dns.TypeA)
		if err != nil {
			t.Fatalf("Exchange(%s): %v", name, err)
		}
		if len(m.Answer) != 1 {
			t.Errorf("Exchange(%s) answers %v, want 1", name, m.Answer)
		}
	}
	// The second question starts at the live server.
	if got := dead.Total(); got != 1 {
		t.Errorf("dead server saw %d queries, want 1", got)
	}
}

func TestExchange_failoverOnRefused(t *testing.T) {
	t.Parallel()
	refusing := dnsbltest.Start(t, records())
	refusing.SetFault("", dnsbltest.Fault{Rcode: dns.RcodeRefused})
	alive := dnsbltest.Start(t, records())
	c := newClient(t, &dnsclient.Client{}, refusing, alive)
	m, err := c.Exchange(t.Context(), listed, dns.TypeA)
	if err != nil || m.Rcode != dns.RcodeSuccess {
		t.Fatalf("Exchange = %v, %v; want the second server's answer", m, err)
	}
}

func TestExchange_tcpFallback(t *testing.T) {
	t.Parallel()
	srv := dnsbltest.Start(t, records())
	srv.SetFault("", dnsbltest.Fault{Truncate: true})
	c := newClient(t, &dnsclient.Client{}, srv)
	m, err := c.Exchange(t.Context(), listed, dns.TypeTXT)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if m.Truncated || len(m.Answer) != 1 {
		t.Errorf("answer %v (TC %v), want the full TCP answer", m.Answer, m.Truncated)
	}
	if got := srv.Queries(listed); got != 2 {
		t.Errorf("server saw %d queries, want 2 (UDP, then TCP)", got)
	}
	if s := c.Stats(); s.TCP != 1 {
		t.Errorf("Stats.TCP = %d, want 1", s.TCP)
	}
}

func TestExchange_discardsForgedAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault dnsbltest.Fault
		stat  func(dnsclient.Stats) uint64
	}{
		{name: "wrong_id", fault: dnsbltest.Fault{WrongID: true}, stat: func(s dnsclient.Stats) uint64 { return s.Unmatched }},
		{name: "wrong_name", fault: dnsbltest.Fault{WrongName: true}, stat: func(s dnsclient.Stats) uint64 { return s.Mismatches }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := dnsbltest.Start(t, records())
			srv.SetFault("", tt.fault)
			c := newClient(t, &dnsclient.Client{Attempts: 2, InitialTimeout: 30 * time.Millisecond, Timeout: 60 * time.Millisecond}, srv)
			m, err := c.Exchange(t.Context(), listed, dns.TypeA)
			if m != nil || !errors.Is(err, dnsclient.ErrTimeout) {
				t.Fatalf("Exchange = %v, %v; want nil, ErrTimeout (forged answers discarded)", m, err)
			}
			if got := tt.stat(c.Stats()); got != 2 {
				t.Errorf("discarded counter = %d, want 2; Stats %+v", got, c.Stats())
			}
		})
	}
}

// clock is a settable fake time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestExchange_cache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		fault  dnsbltest.Fault
		hitAt  time.Duration // still cached this long after
		missAt time.Duration // gone this long after
	}{
		// TTL 60 from records().
		{name: "positive_by_ttl", qname: listed, qtype: dns.TypeA, hitAt: 59 * time.Second, missAt: 60 * time.Second},
		// SOA TTL 100, MINIMUM 5: the smaller wins.
		{name: "nxdomain_by_soa_minimum", qname: unlisted, qtype: dns.TypeA, hitAt: 4 * time.Second, missAt: 5 * time.Second},
		{name: "nodata_by_soa_minimum", qname: aOnly, qtype: dns.TypeTXT, hitAt: 4 * time.Second, missAt: 5 * time.Second},
		{name: "servfail_not_cached", qname: listed, qtype: dns.TypeA, fault: dnsbltest.Fault{Rcode: dns.RcodeServerFailure}, missAt: 0},
		{name: "refused_not_cached", qname: listed, qtype: dns.TypeA, fault: dnsbltest.Fault{Rcode: dns.RcodeRefused}, missAt: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := dnsbltest.Start(t, records())
			srv.SetNegativeTTL(100, 5)
			srv.SetFault("", tt.fault)
			clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
			c := &dnsclient.Client{}
			dnsclient.SetNow(c, clk.now)
			c = newClient(t, c, srv)
			ask := func() *dns.Msg {
				t.Helper()
				m, err := c.Exchange(t.Context(), tt.qname, tt.qtype)
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				return m
			}
			first := ask()
			// A busy machine can make the client retry (100 ms first
			// timeout), so count the queries each ask adds.
			sent := srv.Queries(tt.qname)
			if tt.hitAt > 0 {
				clk.add(tt.hitAt)
				m := ask()
				if got := srv.Queries(tt.qname); got != sent {
					t.Errorf("after %v server saw %d more queries, want none (cached)", tt.hitAt, got-sent)
				}
				if m.Rcode != first.Rcode || len(m.Answer) != len(first.Answer) {
					t.Errorf("cached answer %v differs from first %v", m, first)
				}
				if len(m.Answer) > 0 && m.Answer[0].Header().Ttl != 60-uint32(tt.hitAt/time.Second) {
					t.Errorf("cached TTL = %d, want %d", m.Answer[0].Header().Ttl, 60-uint32(tt.hitAt/time.Second))
				}
				clk.add(tt.missAt - tt.hitAt)
			}
			ask()
			if got := srv.Queries(tt.qname); got == sent {
				t.Errorf("after %v server saw no new query, want one (expired or not cached)", tt.missAt)
			}
			wantHits := uint64(0)
			if tt.hitAt > 0 {
				wantHits = 1
			}
			if s := c.Stats(); s.CacheHits != wantHits {
				t.Errorf("CacheHits = %d, want %d", s.CacheHits, wantHits)
			}
		})
	}
}

func TestExchange_cacheMaxTTL(t *testing.T) {
	t.Parallel()
	srv := dnsbltest.Start(t, records())
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := &dnsclient.Client{MaxTTL: 10 * time.Second}
	dnsclient.SetNow(c, clk.now)
	c = newClient(t, c, srv)
	for _, step := range []time.Duration{0, 9 * time.Second, time.Second} {
		clk.add(step)
		if _, err := c.Exchange(t.Context(), listed, dns.TypeA); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Queries(listed); got != 2 {
		t.Errorf("server saw %d queries, want 2 (TTL 60 capped at 10s)", got)
	}
}

func TestExchange_singleflight(t *testing.T) {
	t.Parallel()
	srv := dnsbltest.Start(t, records())
	srv.SetFault("", dnsbltest.Fault{Delay: 200 * time.Millisecond})
	c := newClient(t, &dnsclient.Client{InitialTimeout: time.Second, Timeout: time.Second}, srv)
	const n = 20
	var wg sync.WaitGroup
	var ok atomic.Int32
	msgs := make([]*dns.Msg, n)
	for i := range n {
		wg.Go(func() {
			m, err := c.Exchange(t.Context(), listed, dns.TypeA)
			if err != nil {
				t.Errorf("Exchange: %v", err)
				return
			}
			msgs[i] = m
			ok.Add(1)
		})
	}
	wg.Wait()
	if ok.Load() != n {
		t.Fatalf("%d of %d exchanges succeeded", ok.Load(), n)
	}
	if got := srv.Queries(listed); got != 1 {
		t.Errorf("server saw %d queries for %d identical questions, want 1", got, n)
	}
	// Each caller owns its message.
	msgs[0].Answer = nil
	if len(msgs[1].Answer) != 1 {
		t.Errorf("callers share one message: changing one changed another")
	}
}

// TestExchange_lossyServer checks that under heavy loss and concurrency every
// answer is either right or an error, never a wrong or empty answer.
func TestExchange_lossyServer(t *testing.T) {
	t.Parallel()
	recs := dnsbltest.Records{}
	const n = 400
	for i := range n {
		if i%3 == 0 {
			recs[fmt.Sprintf("%d.0.0.127.bl.example.org.", i%256)+fmt.Sprintf("x%d.", i)] = dnsbltest.Record{A: []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i%5)})}}
		}
	}
	srv := dnsbltest.Start(t, recs)
	srv.SetFault("", dnsbltest.Fault{DropRate: 0.3})
	c := newClient(t, &dnsclient.Client{InitialTimeout: 20 * time.Millisecond, MinTimeout: 10 * time.Millisecond, Timeout: 100 * time.Millisecond, Attempts: 8, CacheSize: -1}, srv)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var errs atomic.Int32
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			name := fmt.Sprintf("%d.0.0.127.bl.example.org.x%d.", i%256, i)
			m, err := c.Exchange(t.Context(), name, dns.TypeA)
			if err != nil {
				if !errors.Is(err, dnsclient.ErrTimeout) {
					t.Errorf("Exchange(%s) error %v, want ErrTimeout or an answer", name, err)
				}
				errs.Add(1)
				return
			}
			want := []string(nil)
			rcode := dns.RcodeNameError
			if i%3 == 0 {
				want, rcode = []string{fmt.Sprintf("127.0.0.%d", 2+i%5)}, dns.RcodeSuccess
			}
			if got := aAddrs(m); m.Rcode != rcode || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Exchange(%s) = %s %v, want %s %v", name, dns.RcodeToString[m.Rcode], got, dns.RcodeToString[rcode], want)
			}
		})
	}
	wg.Wait()
	s := c.Stats()
	if s.Retries == 0 {
		t.Errorf("no retries with 30%% loss: %+v", s)
	}
	// 8 attempts at 30% loss: a lost question has probability 0.3^8.
	if errs.Load() > 1 {
		t.Errorf("%d of %d exchanges failed, want at most 1", errs.Load(), n)
	}
}

// TestClose is not parallel: its leak check must not see the goroutines of
// other tests' clients.
func TestClose(t *testing.T) {
	srv := dnsbltest.Start(t, records())
	srv.SetFault(unlisted, dnsbltest.Fault{DropRate: 1})
	before := clientGoroutines()
	c := &dnsclient.Client{Servers: []string{srv.Addr}, Sockets: 3, InitialTimeout: 10 * time.Second, Timeout: 10 * time.Second}
	if _, err := c.Exchange(t.Context(), listed, dns.TypeA); err != nil {
		t.Fatal(err)
	}
	// A query in flight when Close is called ends with ErrClosed. The
	// server has seen it and dropped it, so it waits for an answer that
	// cannot come before Close (its retry is 10 s away).
	errc := make(chan error, 1)
	go func() {
		_, err := c.Exchange(t.Context(), unlisted, dns.TypeA)
		errc <- err
	}()
	waitFor(t, "the server to see the query", func() bool { return srv.Queries(unlisted) == 1 })
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errc; !errors.Is(err, dnsclient.ErrClosed) {
		t.Errorf("in-flight Exchange error = %v, want ErrClosed", err)
	}
	if _, err := c.Exchange(t.Context(), listed, dns.TypeA); !errors.Is(err, dnsclient.ErrClosed) {
		t.Errorf("Exchange after Close error = %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checkNoLeak(t, before)
}

func TestClient_zeroValueReadsResolvConf(t *testing.T) {
	t.Parallel()
	var c dnsclient.Client
	defer c.Close()
	// No query is sent: String only reads the configuration.
	if s := c.String(); !strings.HasPrefix(s, "dns") {
		t.Errorf("String() = %q", s)
	}
}

func TestClient_ServerAddrs(t *testing.T) {
	t.Parallel()
	c := &dnsclient.Client{Servers: []string{"127.0.0.1:5353", "::1"}}
	defer c.Close()
	// No query is sent: the addresses come from the configuration.
	if got, want := c.ServerAddrs(), []string{"127.0.0.1:5353", "[::1]:53"}; !slices.Equal(got, want) {
		t.Errorf("ServerAddrs() = %q, want %q", got, want)
	}
	if got, want := c.String(), "dns via 127.0.0.1:5353, [::1]:53"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	bad := &dnsclient.Client{Servers: []string{"resolver.example.org:53"}}
	defer bad.Close()
	if got := bad.ServerAddrs(); got != nil {
		t.Errorf("ServerAddrs() of a client with a host name as server = %q, want nil", got)
	}
}

func TestClient_badServer(t *testing.T) {
	t.Parallel()
	c := &dnsclient.Client{Servers: []string{"resolver.example.org:53"}}
	defer c.Close()
	if _, err := c.Exchange(t.Context(), listed, dns.TypeA); err == nil {
		t.Error("Exchange with a host name as server: no error, want one (only IP literals)")
	}
}

// TestExchange_leaderCanceled checks that when the first caller of a shared
// question gives up, it returns at once and the question goes on for the
// callers still waiting.
//
// The order is forced by events: the server drops every query until the
// leader has returned, so the leader cannot have been answered; the
// follower has joined the question (Stats.Shared) before the leader is
// cancelled; and the question is answered only after that.
func TestExchange_leaderCanceled(t *testing.T) {
	t.Parallel()
	srv := dnsbltest.Start(t, records())
	srv.SetFault("", dnsbltest.Fault{DropRate: 1})
	// Retries every 50 to 200 ms, for at least 10 s: the question outlives
	// the steps below on a busy machine.
	c := newClient(t, &dnsclient.Client{InitialTimeout: 50 * time.Millisecond, Timeout: 200 * time.Millisecond, Attempts: 60}, srv)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	leader := make(chan error, 1)
	go func() {
		_, err := c.Exchange(ctx, listed, dns.TypeA)
		leader <- err
	}()
	waitFor(t, "the leader's query to reach the server", func() bool { return srv.Queries(listed) >= 1 })
	type result struct {
		m   *dns.Msg
		err error
	}
	follower := make(chan result, 1)
	go func() {
		m, err := c.Exchange(t.Context(), listed, dns.TypeA)
		follower <- result{m, err}
	}()
	waitFor(t, "the follower to join the question", func() bool { return c.Stats().Shared == 1 })
	cancel()
	if err := <-leader; !errors.Is(err, context.Canceled) {
		t.Errorf("leader error = %v, want context.Canceled", err)
	}
	select {
	case r := <-follower:
		t.Fatalf("follower returned (%v, %v) before the server answered anything", r.m, r.err)
	default:
	}
	srv.SetFault("", dnsbltest.Fault{})
	r := <-follower
	if r.err != nil {
		t.Fatalf("follower Exchange: %v", r.err)
	}
	if got := aAddrs(r.m); len(got) != 1 || got[0] != "127.0.0.2" {
		t.Errorf("follower A = %v, want [127.0.0.2]", got)
	}
	// One question: the follower's wait started none of its own.
	if s := c.Stats(); s.Shared != 1 || s.Queries != 2 || s.Sent != uint64(srv.Queries(listed)) {
		t.Errorf("Stats = %+v; want Shared 1, Queries 2, and Sent %d, all the server saw", s, srv.Queries(listed))
	}
}

// TestExchange_queuedWindow drives many more questions than the in-flight
// window (MaxInFlight 4) against a lossy server, so that most attempts wait
// in line and are sent by the goroutine that frees a slot; a third of the
// callers give up early, many while still in line. Every answer must be
// right, every error a timeout or the caller's own, and Close, called while
// attempts still wait in line, must leave no goroutine behind. It is not
// parallel, for its leak check.
func TestExchange_queuedWindow(t *testing.T) {
	recs := dnsbltest.Records{}
	const n = 300
	name := func(i int) string { return fmt.Sprintf("%d.0.0.127.q.example.org.", i) }
	for i := range n {
		if i%4 == 0 {
			recs[name(i)] = dnsbltest.Record{A: []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i%5)})}}
		}
	}
	srv := dnsbltest.Start(t, recs)
	srv.SetFault("", dnsbltest.Fault{DropRate: 0.2})
	before := clientGoroutines()
	c := &dnsclient.Client{
		Servers: []string{srv.Addr}, MaxInFlight: 4, InitialTimeout: 20 * time.Millisecond,
		MinTimeout: 10 * time.Millisecond, Timeout: 80 * time.Millisecond, Attempts: 8, CacheSize: -1,
	}
	var wg sync.WaitGroup
	var answered atomic.Int32
	for i := range n {
		wg.Go(func() {
			ctx := t.Context()
			if i%3 == 1 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(i%7)*time.Millisecond)
				defer cancel()
			}
			m, err := c.Exchange(ctx, name(i), dns.TypeA)
			if err != nil {
				if !errors.Is(err, dnsclient.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Exchange(%s) error %v, want a timeout", name(i), err)
				}
				return
			}
			answered.Add(1)
			want, rcode := []string(nil), dns.RcodeNameError
			if i%4 == 0 {
				want, rcode = []string{fmt.Sprintf("127.0.0.%d", 2+i%5)}, dns.RcodeSuccess
			}
			if got := aAddrs(m); m.Rcode != rcode || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Exchange(%s) = %s %v, want %s %v", name(i), dns.RcodeToString[m.Rcode], got, dns.RcodeToString[rcode], want)
			}
		})
	}
	wg.Wait()
	if answered.Load() < n/2 {
		t.Errorf("%d of %d answered, want most", answered.Load(), n)
	}
	if s := c.Stats(); s.Retries == 0 || s.Window > 4 {
		t.Errorf("stats %+v: want retries, window <= 4", s)
	}

	// Close while attempts wait in line.
	srv.SetFault("", dnsbltest.Fault{DropRate: 1})
	errc := make(chan error, 40)
	for i := range 40 {
		go func() {
			_, err := c.Exchange(t.Context(), name(i), dns.TypeA)
			errc <- err
		}()
	}
	// 40 questions, a window of 4 and every packet dropped: at least 36
	// wait in line once all have started; each needs 8 timeouts of at
	// least 10 ms to give up.
	waitFor(t, "attempts to wait in line", func() bool { return dnsclient.Queued(c) >= 20 })
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed := 0
	for range 40 {
		err := <-errc
		switch {
		case errors.Is(err, dnsclient.ErrClosed):
			closed++
		case !errors.Is(err, dnsclient.ErrTimeout):
			t.Errorf("Exchange during Close: %v, want ErrClosed or ErrTimeout", err)
		}
	}
	if closed < 20 {
		t.Errorf("%d of 40 exchanges ended with ErrClosed, want at least the 20 seen in line", closed)
	}
	checkNoLeak(t, before)
}

// waitFor waits until cond holds: the condition is an observable effect of
// the goroutines under test (a counter, a server's log), checked every
// millisecond. It fails the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10s waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// clientGoroutines returns the stacks of the goroutines that run code of
// package dnsclient (its readers and sweepers, hand-offs, and callers
// blocked in Exchange), keyed by goroutine ID. Goroutines of the tests
// themselves and of the test DNS server do not count.
func clientGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		// "goroutine 42 [select]:" then frames; a frame of the package
		// reads "github.com/prefixvet/prefixvet/sources/dnsclient.(*state).sweep(...)"
		// (the tests' frames are in package dnsclient_test).
		header, _, _ := strings.Cut(g, "\n")
		if f := strings.Fields(header); len(f) > 1 && strings.Contains(g, "/sources/dnsclient.") {
			out[f[1]] = g
		}
	}
	return out
}

// checkNoLeak fails the test if goroutines running dnsclient code that did
// not exist in before are still alive: Close has returned, so the only ones
// left may be finishing their last statements, and get a second to do it.
func checkNoLeak(t *testing.T, before map[string]string) {
	t.Helper()
	var leaked []string
	for deadline := time.Now().Add(time.Second); ; time.Sleep(time.Millisecond) {
		leaked = leaked[:0]
		for id, stack := range clientGoroutines() {
			if _, old := before[id]; !old {
				leaked = append(leaked, stack)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(leaked) > 0 {
		t.Errorf("%d goroutines of the client outlive Close:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
	}
}
