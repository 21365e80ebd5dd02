package dnsclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Defaults for the zero fields of [Client].
const (
	// DefaultTimeout is the longest a single attempt waits for its answer.
	DefaultTimeout = 2 * time.Second
	// DefaultInitialTimeout is the timeout of a first attempt to a server
	// before any round trip to it has been measured.
	DefaultInitialTimeout = 500 * time.Millisecond
	// DefaultMinTimeout is the shortest timeout of a first attempt, however
	// fast the server has answered so far.
	DefaultMinTimeout = 20 * time.Millisecond
	// DefaultAttempts is how many times a query is sent (the first try and
	// the retries) before the exchange fails with [ErrTimeout].
	DefaultAttempts = 5
	// DefaultSockets is the number of long-lived UDP sockets per server.
	DefaultSockets = 4
	// DefaultMaxInFlight is the largest in-flight window per server. The
	// window starts at [DefaultInitialWindow], doubles each round trip up
	// to half of MaxInFlight, then grows by one per round trip.
	DefaultMaxInFlight = 256
	// DefaultInitialWindow is the in-flight window per server at the start.
	DefaultInitialWindow = 32
	// DefaultCacheSize is the number of answers the cache holds.
	DefaultCacheSize = 10000
	// DefaultMaxTTL caps how long an answer stays in the cache.
	DefaultMaxTTL = time.Hour
	// DefaultResolvConf is the file read for servers when [Client.Servers]
	// is empty.
	DefaultResolvConf = "/etc/resolv.conf"
)

// Errors returned by [Client.Exchange].
var (
	// ErrTimeout: no valid answer arrived after every attempt, or the
	// context's deadline passed. It matches os.ErrDeadlineExceeded too
	// (errors.Is), and has a Timeout method that reports true, like the
	// errors of package net.
	ErrTimeout error = timeoutError{}
	// ErrClosed: the client was closed. Every Exchange after Close returns
	// it, whatever else is wrong with the client.
	ErrClosed = errors.New("dnsclient: client closed")
	// ErrInvalidServer: a server in [Client.Servers] (or in resolv.conf)
	// is not an address a query can be sent to: a host name rather than an
	// IP literal, port 0, an unspecified or multicast address. It is
	// returned by the first Exchange (and by every later one), never
	// turned into a timeout.
	ErrInvalidServer = errors.New("dnsclient: invalid server address")
)

type timeoutError struct{}

func (timeoutError) Error() string        { return "dnsclient: query timed out" }
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Is(target error) bool { return target == os.ErrDeadlineExceeded }

// Client sends DNS queries to explicit servers, or to the system's.
//
// The zero Client is ready to use and asks the nameservers of
// /etc/resolv.conf; every field is optional. Fields must not change after
// first use, and a Client must not be copied after first use. Call
// [Client.Close] to release its sockets and stop its readers.
type Client struct {
	// Servers are the "ip:port" addresses of the servers to ask (an address
	// without a port means port 53), tried in order when one fails. Only IP
	// literals are accepted. Empty means the nameservers of
	// [DefaultResolvConf]; there is no built-in public resolver.
	Servers []string
	// Timeout caps the wait of a single attempt; 0 means [DefaultTimeout].
	Timeout time.Duration
	// InitialTimeout is the timeout of a first attempt to a server before
	// its round trip is known; 0 means [DefaultInitialTimeout].
	InitialTimeout time.Duration
	// MinTimeout is the floor of the adaptive first-attempt timeout
	// (smoothed round trip + 4 × its variation); 0 means [DefaultMinTimeout].
	// Each retry doubles the timeout, up to Timeout.
	MinTimeout time.Duration
	// Attempts is how many times a query is sent before the exchange fails;
	// 0 means [DefaultAttempts]. Attempts rotate over Servers.
	Attempts int
	// Sockets is the number of UDP sockets per server; 0 means
	// [DefaultSockets].
	Sockets int
	// MaxInFlight caps the in-flight window of each server; 0 means
	// [DefaultMaxInFlight]. The window itself adapts below this cap.
	MaxInFlight int
	// CacheSize is the number of answers kept; 0 means [DefaultCacheSize],
	// a negative value disables the cache.
	CacheSize int
	// MaxTTL caps the time an answer stays cached; 0 means [DefaultMaxTTL].
	MaxTTL time.Duration
	// Logger receives debug records about retries, timeouts and discarded
	// answers; nil means silent.
	Logger *slog.Logger

	_      [0]sync.Mutex // vet: must not be copied after first use
	closed atomic.Bool   // Close was called
	once   sync.Once
	st     *state
	err    error
	now    func() time.Time // for tests; nil means time.Now
}

// Stats are counters of a [Client] since it was first used.
type Stats struct {
	Queries    uint64 // calls to Exchange
	CacheHits  uint64 // answered from the cache
	Shared     uint64 // answered by joining an identical query in flight
	Sent       uint64 // UDP packets sent
	Retries    uint64 // UDP packets sent after a first attempt
	Timeouts   uint64 // attempts that got no answer in time
	Mismatches uint64 // answers discarded: known ID, different question
	Unmatched  uint64 // answers discarded: unknown ID (late, or forged)
	Malformed  uint64 // answers discarded: could not be parsed
	TCP        uint64 // truncated answers asked again over TCP
	Errors     uint64 // exchanges that ended with an error
	Window     int    // current in-flight window, summed over servers
}

type counters struct {
	queries, cacheHits, shared, sent, retries, timeouts atomic.Uint64
	mismatches, unmatched, malformed, tcp, errors       atomic.Uint64
}

// state is what a Client builds on first use.
type state struct {
	ups         []*upstream
	addrs       []string // of the servers, in the order asked
	servers     string   // addrs joined with ", ", for messages
	timeout     time.Duration
	initTimeout time.Duration
	minTimeout  time.Duration
	attempts    int
	nsocks      int
	cache       *cache
	log         *slog.Logger
	now         func() time.Time
	fmu         sync.Mutex
	flights     map[cacheKey]*flight
	queries     sync.Pool // of *query, closed
	stats       counters

	epoch     time.Time     // origin of clock
	tick      time.Duration // period of the sweeper
	smu       sync.Mutex
	socks     []*udpSock // every socket, for the sweeper
	sweepIdle atomic.Bool
	kick      chan struct{} // wakes an idle sweeper; buffered

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	mu      sync.RWMutex
	closed  bool
	isDone  atomic.Bool    // closed, readable without mu
	work    sync.WaitGroup // exchanges on the wire
	readers sync.WaitGroup
}

func (c *Client) state() (*state, error) {
	c.once.Do(c.init)
	return c.st, c.err
}

func (c *Client) init() {
	servers := c.Servers
	if len(servers) == 0 {
		conf, err := dns.ClientConfigFromFile(DefaultResolvConf)
		if err != nil {
			c.err = fmt.Errorf("dnsclient: no servers given and none from %s: %w", DefaultResolvConf, err)
			return
		}
		for _, s := range conf.Servers {
			servers = append(servers, net.JoinHostPort(s, conf.Port))
		}
		if len(servers) == 0 {
			c.err = fmt.Errorf("dnsclient: no servers given and none in %s", DefaultResolvConf)
			return
		}
	}
	st := &state{
		timeout:     orDefault(c.Timeout, DefaultTimeout),
		initTimeout: orDefault(c.InitialTimeout, DefaultInitialTimeout),
		minTimeout:  orDefault(c.MinTimeout, DefaultMinTimeout),
		attempts:    orDefault(c.Attempts, DefaultAttempts),
		nsocks:      orDefault(c.Sockets, DefaultSockets),
		log:         c.Logger,
		now:         c.now,
		flights:     make(map[cacheKey]*flight),
		epoch:       time.Now(),
		kick:        make(chan struct{}, 1),
	}
	st.sweepIdle.Store(true)
	// A timeout fires up to one tick late: a quarter of the shortest
	// first-attempt timeout, within [1ms, 10ms].
	st.tick = min(max(min(st.minTimeout, st.initTimeout)/4, time.Millisecond), 10*time.Millisecond)
	if st.now == nil {
		st.now = time.Now
	}
	if c.CacheSize >= 0 {
		st.cache = newCache(orDefault(c.CacheSize, DefaultCacheSize), orDefault(c.MaxTTL, DefaultMaxTTL))
	}
	maxWin := float64(orDefault(c.MaxInFlight, DefaultMaxInFlight))
	names := make([]string, 0, len(servers))
	for _, s := range servers {
		ap, err := parseServer(s)
		if err != nil {
			c.err = err
			return
		}
		u := &upstream{
			st:       st,
			addr:     ap.String(),
			raddr:    net.UDPAddrFromAddrPort(ap),
			maxWin:   maxWin,
			cwnd:     min(DefaultInitialWindow, maxWin),
			ssthresh: max(maxWin/2, minWindow),
			lastCut:  -1,
		}
		st.ups = append(st.ups, u)
		names = append(names, u.addr)
	}
	st.addrs = names
	st.servers = strings.Join(names, ", ")
	st.ctx, st.cancel = context.WithCancel(context.Background())
	c.st = st
}

// clock returns the monotonic time since the client started, always
// positive (0 marks "not yet" in registrations): one clock read, where
// time.Now makes two.
func (st *state) clock() time.Duration { return max(time.Since(st.epoch), 1) }

// parseServer accepts "ip:port", "[ipv6]:port" or a bare IP (port 53), for
// an address a query can be sent to. Host names are refused rather than
// looked up: resolving them would need a resolver, the very thing being
// configured.
func parseServer(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		a, err2 := netip.ParseAddr(strings.Trim(s, "[]"))
		if err2 != nil {
			if host, port, err := net.SplitHostPort(s); err == nil && host != "" && !isIP(host) && isPort(port) {
				return netip.AddrPort{}, fmt.Errorf("%w: %q: %q is a host name, not an IP address (write 127.0.0.1:%s or [::1]:%s for a resolver on this machine)",
					ErrInvalidServer, s, host, port, port)
			}
			return netip.AddrPort{}, fmt.Errorf("%w: %q is not ip:port, [ipv6]:port or an IP address", ErrInvalidServer, s)
		}
		ap = netip.AddrPortFrom(a, 53)
	}
	switch a := ap.Addr(); {
	case ap.Port() == 0:
		return netip.AddrPort{}, fmt.Errorf("%w: %q: port 0", ErrInvalidServer, s)
	case a.IsUnspecified(), a.IsMulticast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return netip.AddrPort{}, fmt.Errorf("%w: %q: %s cannot be sent a query", ErrInvalidServer, s, a)
	}
	return ap, nil
}

func isIP(s string) bool { _, err := netip.ParseAddr(s); return err == nil }

func isPort(s string) bool { _, err := strconv.ParseUint(s, 10, 16); return err == nil }

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// String names the servers, as in "dns via 127.0.0.1:5353, 127.0.0.1:5354".
func (c *Client) String() string {
	st, err := c.state()
	if err != nil {
		return "dns (" + err.Error() + ")"
	}
	return "dns via " + st.servers
}

// ServerAddrs returns the addresses of the servers c asks ("ip:port"), in
// order: [Client.Servers] in canonical form, or those of
// [DefaultResolvConf] when Servers is empty. It returns nil when c cannot
// be used (see [Client.String] for why).
func (c *Client) ServerAddrs() []string {
	st, err := c.state()
	if err != nil {
		return nil
	}
	return slices.Clone(st.addrs)
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	st, err := c.state()
	if err != nil {
		return Stats{}
	}
	s := &st.stats
	out := Stats{
		Queries: s.queries.Load(), CacheHits: s.cacheHits.Load(), Shared: s.shared.Load(),
		Sent: s.sent.Load(), Retries: s.retries.Load(), Timeouts: s.timeouts.Load(),
		Mismatches: s.mismatches.Load(), Unmatched: s.unmatched.Load(), Malformed: s.malformed.Load(),
		TCP: s.tcp.Load(), Errors: s.errors.Load(),
	}
	for _, u := range st.ups {
		out.Window += u.window()
	}
	return out
}

// Close stops the client: exchanges in progress end with [ErrClosed], the
// sockets are closed and their reader goroutines have returned when Close
// returns. Later exchanges fail with [ErrClosed]. Close is idempotent.
func (c *Client) Close() error {
	c.closed.Store(true)
	st, err := c.state()
	if err != nil {
		return nil
	}
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return nil
	}
	st.closed = true
	st.isDone.Store(true)
	st.mu.Unlock()
	st.cancel()
	// Wake the queries on the wire until they have all returned: a query
	// registers on a socket before it waits, and checks isDone before it
	// sends, so each one that waits is told.
	done := make(chan struct{})
	go func() {
		st.work.Wait()
		close(done)
	}()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for waiting := true; waiting; {
		st.wakeWaiters()
		select {
		case <-done:
			waiting = false
		case <-tick.C:
		}
	}
	for _, u := range st.ups {
		u.closeSocks()
	}
	st.readers.Wait()
	return nil
}

// enter registers an exchange on the wire; false once the client is closed.
func (st *state) enter() bool {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.closed {
		return false
	}
	st.work.Add(1)
	return true
}

// Exchange asks the question (name, qtype, class IN) and returns the answer,
// implementing the sources.Exchanger contract.
//
// The answer's ID, question name (case-insensitively), type and class have
// been checked; answers that fail the check are discarded and the wait goes
// on, so an answer for another name is never returned. Any rcode is an
// answer: NXDOMAIN, SERVFAIL and REFUSED come back as a *dns.Msg with a nil
// error (SERVFAIL and REFUSED are first asked of the other servers, if any).
// A truncated answer is asked again over TCP.
//
// A non-nil error means no valid answer: it wraps [ErrTimeout] when every
// attempt timed out, ctx.Err() when ctx ended the wait (and [ErrTimeout]
// too when that was ctx's deadline), [ErrClosed] after Close,
// [ErrInvalidServer] for a server that cannot be used, or the network or
// TCP error met. Exchange returns promptly once ctx is done;
// the query itself may go on in the background for other callers asking
// the same question, bounded by Attempts × Timeout.
//
// Identical questions in flight are sent once and their answer shared; a
// name not ending in a dot is made fully qualified.
func (c *Client) Exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	st, err := c.state()
	if err != nil {
		return nil, err
	}
	st.stats.queries.Add(1)
	if st.isDone.Load() {
		st.stats.errors.Add(1)
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		st.stats.errors.Add(1)
		return nil, ctxError(name, qtype, err)
	}
	name = dns.Fqdn(name)
	key := cacheKey{name: strings.ToLower(name), qtype: qtype}
	if st.cache != nil {
		if m := st.cache.get(key, st.now()); m != nil {
			st.stats.cacheHits.Add(1)
			return m, nil
		}
	}
	return st.exchange(ctx, key, name, qtype)
}

func ctxError(name string, qtype uint16, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("dnsclient: %s %s: %w: %w", name, dns.TypeToString[qtype], ErrTimeout, err)
	}
	return fmt.Errorf("dnsclient: %s %s: %w", name, dns.TypeToString[qtype], err)
}

func findAttempt(atts []attempt, s *udpSock, id uint16) int {
	for i := range atts {
		if atts[i].sock == s && atts[i].id == id {
			return i
		}
	}
	return -1
}

// pickStart returns the index of the server to ask first: the first with
// the fewest consecutive timeouts.
func (st *state) pickStart() int {
	best, bestFails := 0, int32(1<<30)
	for i, u := range st.ups {
		if f := u.fails.Load(); f < bestFails {
			best, bestFails = i, f
		}
	}
	return best
}

// tcp asks the question again over TCP after a truncated UDP answer.
func (st *state) tcp(name string, qtype uint16, u *upstream) (*dns.Msg, []byte, error) {
	st.stats.tcp.Add(1)
	ctx, cancel := context.WithTimeout(st.ctx, st.timeout)
	defer cancel()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	c := &dns.Client{Net: "tcp", Timeout: st.timeout}
	m, _, err := c.ExchangeContext(ctx, q, u.addr)
	if err != nil {
		if st.ctx.Err() != nil {
			return nil, nil, ErrClosed
		}
		return nil, nil, fmt.Errorf("dnsclient: %s %s via %s over tcp: %w", name, dns.TypeToString[qtype], u.addr, err)
	}
	if len(m.Question) != 1 || !strings.EqualFold(m.Question[0].Name, name) ||
		m.Question[0].Qtype != qtype || m.Question[0].Qclass != dns.ClassINET || !m.Response {
		st.stats.mismatches.Add(1)
		return nil, nil, fmt.Errorf("dnsclient: %s %s via %s over tcp: answer for another question", name, dns.TypeToString[qtype], u.addr)
	}
	pkt, err := m.Pack()
	if err != nil {
		pkt = nil
	}
	return m, pkt, nil
}
