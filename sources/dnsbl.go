package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/semaphore"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

// Defaults and fixed periods used by [DNSBL].
const (
	// DefaultMaxInFlight is the in-flight cap of a DNSBL whose MaxInFlight
	// is 0: at most this many lookups of one zone wait for an answer at once.
	DefaultMaxInFlight = 64

	// RateLimitBackoff is how long a DNSBL stops querying its zone after the
	// list answered "rate limited" (such as Spamhaus 127.255.255.255). During
	// the back-off every lookup fails at once with [ErrRateLimited]. The
	// period is SpamAssassin's dns_block_time default.
	RateLimitBackoff = 300 * time.Second

	// ProbeCacheTTL is how long a DNSBL reuses the result of a completed
	// [DNSBL.Probe]. Probes cut short by their context are not cached.
	ProbeCacheTTL = 5 * time.Minute

	// ProbeSlow is the probe duration above which a zone that answered its
	// test points correctly is reported [reputation.StatusDegraded] rather
	// than [reputation.StatusOK].
	ProbeSlow = 2 * time.Second
)

// ErrNoClient is returned by [DNSBL.Lookup] (and reported by [DNSBL.Probe])
// when the DNSBL has no Client.
var ErrNoClient = errors.New("sources: DNSBL has no DNS client")

// DNSBL is a DNSBL zone queried over DNS. It implements [reputation.Source],
// [reputation.Prober], [reputation.Describer] and [reputation.Pacer].
//
// A DNSBL is configured by setting its exported fields before first use; Zone
// and Client are required. Every lookup ends in exactly one of three
// outcomes: listed (a [reputation.Listing] with Listed set and one
// [reputation.Evidence] per return code), not listed (the zero Listing and a
// nil error, for NXDOMAIN or NOERROR without an A record) or unknown (a nil
// Listing and an error wrapping one of the package's sentinel errors). An
// unknown outcome is never reported as listed or as not listed.
//
// A DNSBL holds internal state (a rate limiter, an in-flight cap, the
// rate-limit back-off and a probe cache), created on first use. It is safe for
// concurrent use by multiple goroutines once its fields are set, and must not
// be copied after first use.
type DNSBL struct {
	_ [0]sync.Mutex // no copying after first use (go vet copylocks)

	// Zone describes the zone: its name, return codes, error codes, rate
	// and address families. Zone.Zone is required. A zone with Dead set is
	// refused with [ErrDeadList].
	Zone ZoneInfo

	// Key is the access key of a keyed mirror (such as Spamhaus DQS). When
	// set, queries go to Zone.KeyedZone with "{key}" replaced by Key; a
	// zone without KeyedZone then fails with [ErrBadKey]. The key never
	// appears in an error, a log line, a [reputation.Health] or the
	// formatted DNSBL. Empty means the public zone.
	Key string

	// Client sends the DNS queries. Required: a nil Client makes every
	// lookup fail with [ErrNoClient]. If Client implements [fmt.Stringer]
	// (naming its resolver), probe reports use that name.
	Client Exchanger

	// MaxInFlight caps the lookups of this zone waiting for an answer at
	// once; 0 means [DefaultMaxInFlight]. The rate limit (Zone.Rate)
	// applies as well.
	MaxInFlight int

	// Logger receives debug records about probes and rate-limit back-offs;
	// nil means silent.
	Logger *slog.Logger

	once  sync.Once
	state *dnsblState
}

// dnsblState is the lazily created mutable state of a DNSBL.
type dnsblState struct {
	limiter  *bucket      // nil when the zone has no rate limit
	prepaid  atomic.Int64 // tokens taken by Wait and not yet spent by a query
	inflight *semaphore.Weighted

	mu           sync.Mutex
	backoffUntil time.Time // zero when not backing off

	probeMu   sync.Mutex
	probed    bool
	probeAt   time.Time
	probeDone reputation.Health
	probeWait chan struct{} // closed when the running probe ends; nil if none
}

func (bl *DNSBL) init() *dnsblState {
	bl.once.Do(func() {
		n := bl.MaxInFlight
		if n <= 0 {
			n = DefaultMaxInFlight
		}
		st := &dnsblState{inflight: semaphore.NewWeighted(int64(n))}
		if r := bl.Zone.Rate; r > 0 && !math.IsInf(r, 0) && !math.IsNaN(r) {
			st.limiter = newBucket(r)
		}
		bl.state = st
	})
	return bl.state
}

// Name returns the zone name (Zone.Zone), never the keyed zone name.
func (bl *DNSBL) Name() string { return bl.Zone.Zone }

// Info reports the kind, the address families the zone answers for, its
// per-run query budget and its query rate, so the Scorer does not ask about
// an address family the zone does not serve and samples within the budget.
// The rate is descriptive: the DNSBL enforces it itself (see [DNSBL.Wait]).
func (bl *DNSBL) Info() reputation.Info {
	return reputation.Info{Kind: reputation.KindDNSBL, IPv4: bl.Zone.IPv4, IPv6: bl.Zone.IPv6, Budget: bl.Zone.Budget, Rate: bl.Zone.Rate}
}

// String returns "dnsbl(ZONE)", adding "keyed" when an access key is set. It
// never contains the key.
func (bl *DNSBL) String() string {
	if bl == nil {
		return "dnsbl(<nil>)"
	}
	if bl.Key != "" {
		return "dnsbl(" + bl.Zone.Zone + ", keyed)"
	}
	return "dnsbl(" + bl.Zone.Zone + ")"
}

// GoString returns the same text as String, so %#v does not print the key.
func (bl *DNSBL) GoString() string { return bl.String() }

// Format implements [fmt.Formatter]: every verb prints the String form, so no
// verb or flag (%v, %+v, %#v, %s, %q) can print the access key.
func (bl *DNSBL) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", bl.String())
	default:
		fmt.Fprint(f, bl.String())
	}
}

// Lookup reports whether the zone lists addr; see [DNSBL] for the three
// outcomes. Errors wrap a sentinel:
//
//   - [ErrUnsupported] for an address family the zone does not serve (an
//     IPv4-mapped IPv6 address is queried as IPv6, as RFC 5782 requires);
//   - [ErrRefused], [ErrRateLimited], [ErrBadKey], [ErrUnknownZone] for the
//     zone's error codes (ZoneInfo.Errors);
//   - [ErrResolverRefused] (which matches ErrRefused too) for the REFUSED
//     rcode: the resolver refused, not the list operator;
//   - the client's own error, not ErrTimeout, when the client cannot send
//     any query (such as dnsclient.ErrClosed after Close, or
//     dnsclient.ErrInvalidServer);
//   - [ErrServFail] for SERVFAIL and any other failure rcode (the error is a
//     [*RcodeError] recording it);
//   - [ErrBogusAnswer] for an A record outside 127.0.0.0/8 or for a name
//     other than the one asked (CNAME chains are followed within the answer);
//   - [ErrTimeout] when no answer was obtained, also wrapping
//     [context.DeadlineExceeded] when ctx's deadline ended the query;
//   - no sentinel of this package when ctx was cancelled: the error wraps
//     ctx.Err() and [context.Cause] of ctx, never ErrTimeout, since a
//     caller that gives up says nothing about the zone;
//   - [ErrDeadList] for a zone with Dead set, [ErrNoClient] without a Client.
//
// After an answer meaning "rate limited", lookups fail at once with
// [ErrRateLimited] for [RateLimitBackoff]. When Zone.TXT is set, a listed
// answer costs one more query for the TXT reason; a failed TXT query leaves
// Reason empty and does not change the outcome.
func (bl *DNSBL) Lookup(ctx context.Context, addr netip.Addr) (reputation.Listing, error) {
	if err := bl.usable(addr); err != nil {
		return reputation.Listing{}, err
	}
	st := bl.init()
	if err := st.checkBackoff(bl.Zone.Zone); err != nil {
		return reputation.Listing{}, err
	}
	if err := st.inflight.Acquire(ctx, 1); err != nil {
		return reputation.Listing{}, bl.waitFailed(ctx, "waiting to query "+addr.String(), err)
	}
	defer st.inflight.Release(1)
	return bl.lookup(ctx, st, addr, bl.Zone.TXT)
}

// waitFailed returns the error of a query whose wait (for an in-flight slot,
// the rate or the answer) ended with err because ctx was done. A caller
// that cancels is not a timeout: the error wraps ctx.Err() and
// [context.Cause] of ctx, and not [ErrTimeout], so no one reads a client
// hanging up as a list or resolver outage. A deadline is a timeout: the
// Scorer's per-lookup limit arrives as one.
func (bl *DNSBL) waitFailed(ctx context.Context, doing string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
		if cause := context.Cause(ctx); !errors.Is(cause, cerr) {
			return fmt.Errorf("sources: %s: %s: %w: %w", bl.Zone.Zone, doing, cerr, cause)
		}
		return fmt.Errorf("sources: %s: %s: %w", bl.Zone.Zone, doing, cerr)
	}
	return fmt.Errorf("%w: %s: %s: %w", ErrTimeout, bl.Zone.Zone, doing, err)
}

// usable checks the configuration and the address family.
func (bl *DNSBL) usable(addr netip.Addr) error {
	z := &bl.Zone
	switch {
	case z.Zone == "":
		return errors.New("sources: DNSBL has no zone")
	case z.Dead != "":
		return fmt.Errorf("%w: %s: %s", ErrDeadList, z.Zone, z.Dead)
	case bl.Client == nil:
		return fmt.Errorf("%w (zone %s)", ErrNoClient, z.Zone)
	case !addr.IsValid():
		return fmt.Errorf("sources: %s: invalid address", z.Zone)
	case addr.Is4() && !z.IPv4:
		return fmt.Errorf("%w: %s does not answer for IPv4 (%s)", ErrUnsupported, z.Zone, addr)
	case addr.Is6() && !z.IPv6:
		return fmt.Errorf("%w: %s does not answer for IPv6 (%s)", ErrUnsupported, z.Zone, addr)
	}
	return nil
}

// queryZone returns the zone to query: the public zone, or the keyed mirror
// with the key substituted.
func (bl *DNSBL) queryZone() (string, error) {
	z := &bl.Zone
	if bl.Key == "" {
		return z.Zone, nil
	}
	if z.KeyedZone == "" || !strings.Contains(z.KeyedZone, "{key}") {
		return "", fmt.Errorf("%w: %s: an access key is set but the zone defines no keyed mirror", ErrBadKey, z.Zone)
	}
	if !validLabel(bl.Key) {
		return "", fmt.Errorf("%w: %s: the access key is not a valid DNS label (letters, digits and '-', at most 63)", ErrBadKey, z.Zone)
	}
	return strings.ReplaceAll(z.KeyedZone, "{key}", bl.Key), nil
}

func validLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// redact removes the access key from s.
func (bl *DNSBL) redact(s string) string {
	if bl.Key == "" {
		return s
	}
	return strings.ReplaceAll(s, bl.Key, "<key>")
}

// lookup queries and interprets; the caller holds an in-flight slot.
func (bl *DNSBL) lookup(ctx context.Context, st *dnsblState, addr netip.Addr, wantTXT bool) (reputation.Listing, error) {
	zone, err := bl.queryZone()
	if err != nil {
		return reputation.Listing{}, err
	}
	// The name is built on the stack (a DNS name has at most 255 bytes), so
	// the string is the lookup's only allocation for it.
	var buf [256]byte
	qname := string(append(prefix.AppendQueryName(buf[:0], addr, zone), '.'))
	codes, ttl, err := bl.queryA(ctx, st, qname, addr)
	if (err != nil || len(codes) == 0) && wantTXT && st.limiter != nil {
		st.refund() // no TXT query follows
	}
	if err != nil {
		return reputation.Listing{}, err
	}
	if len(codes) == 0 {
		return reputation.Listing{}, nil
	}
	ev, err := bl.Zone.Decode(codes)
	if err != nil {
		if wantTXT && st.limiter != nil {
			st.refund() // no TXT query follows
		}
		if errors.Is(err, ErrRateLimited) {
			st.startBackoff(bl)
		}
		return reputation.Listing{}, fmt.Errorf("%w (query for %s)", err, addr)
	}
	l := reputation.Listing{Listed: true, Evidence: ev, TTL: ttl, DelistURL: bl.Zone.Delist(addr)}
	if wantTXT {
		l.Reason = bl.queryTXT(ctx, st, qname)
	}
	return l, nil
}

// Wait implements [reputation.Pacer]: it blocks until the zone's rate
// (Zone.Rate) allows one more lookup, or until ctx is done, and returns
// ctx's error then. The Scorer calls it before it starts a lookup's timeout,
// so waiting for the rate never counts against the lookup (a slow zone makes
// a run long, never incomplete). It takes the queries of one lookup from the
// zone's one rate limiter, the one Lookup and Probe use too, so every
// query -- A, TXT, probes, concurrent Score calls sharing the DNSBL -- is
// counted once against the rate: one token, and a second one for the TXT
// query of a zone with Zone.TXT, given back when the lookup needs none. A
// zone without a rate returns at once.
func (bl *DNSBL) Wait(ctx context.Context) error {
	st := bl.init()
	if st.limiter == nil {
		return nil
	}
	n := 1
	if bl.Zone.TXT {
		n = 2
	}
	if err := st.limiter.waitN(ctx, n, false); err != nil {
		return fmt.Errorf("sources: %s: rate limit wait: %w", bl.Zone.Zone, err)
	}
	st.prepaid.Add(int64(n))
	return nil
}

// token takes a token for one query: one paid in advance by Wait if any,
// else from the limiter.
func (st *dnsblState) token(ctx context.Context) error {
	for {
		p := st.prepaid.Load()
		if p <= 0 {
			return st.limiter.waitN(ctx, 1, true)
		}
		if st.prepaid.CompareAndSwap(p, p-1) {
			return nil
		}
	}
}

// refund gives back a token paid in advance for a TXT query that is not
// sent (the address is not listed), so it does not cost the zone's rate.
func (st *dnsblState) refund() {
	for {
		p := st.prepaid.Load()
		if p <= 0 {
			return
		}
		if st.prepaid.CompareAndSwap(p, p-1) {
			st.limiter.give(1)
			return
		}
	}
}

// exchange sends one query through the rate limiter, mapping transport
// failures to ErrTimeout and failure rcodes to *RcodeError.
func (bl *DNSBL) exchange(ctx context.Context, st *dnsblState, qname string, qtype uint16, addr netip.Addr) (*dns.Msg, error) {
	if st.limiter != nil {
		if err := st.token(ctx); err != nil {
			return nil, bl.waitFailed(ctx, "rate limit wait for "+addr.String(), err)
		}
	}
	m, err := bl.Client.Exchange(ctx, qname, qtype)
	if err != nil && ctx.Err() == nil && unusableClient(err) {
		// Not a timeout: no query was sent, and none will be.
		return nil, fmt.Errorf("sources: %s: cannot query for %s: %w", bl.Zone.Zone, addr, bl.scrub(err))
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", err, cerr)
		}
		return nil, bl.waitFailed(ctx, "no answer for "+addr.String(), bl.scrub(err))
	}
	if m == nil {
		return nil, &queryError{err: ErrTimeout, zone: bl.Zone.Zone, what: ": no answer for " + addr.String()}
	}
	switch m.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
		return m, nil
	}
	return nil, &RcodeError{Zone: bl.Zone.Zone, Addr: addr, Rcode: m.Rcode}
}

// unusableClient reports whether err says the DNS client cannot send any
// query (closed, or configured with a server it cannot use).
func unusableClient(err error) bool {
	return errors.Is(err, dnsclient.ErrClosed) || errors.Is(err, dnsclient.ErrInvalidServer)
}

// scrub returns err, or when a key is set a wrapper whose text has the key
// removed; errors.Is still sees the wrapped chain.
func (bl *DNSBL) scrub(err error) error {
	if bl.Key == "" {
		return err
	}
	return &redactedError{msg: bl.redact(err.Error()), err: err}
}

// redactedError hides the text of an error that may contain an access key.
// It answers errors.Is for the hidden chain but does not expose it through
// Unwrap, so no caller can print the original text by unwrapping.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

// queryA asks for the A records of qname and returns the answers owned by
// qname or by the CNAME chain starting at it, with the smallest TTL seen.
func (bl *DNSBL) queryA(ctx context.Context, st *dnsblState, qname string, addr netip.Addr) ([]netip.Addr, time.Duration, error) {
	m, err := bl.exchange(ctx, st, qname, dns.TypeA, addr)
	if err != nil {
		return nil, 0, err
	}
	if m.Rcode == dns.RcodeNameError {
		return nil, 0, nil
	}
	chain, minTTL := cnameChain(m.Answer, qname)
	var codes []netip.Addr
	for _, rr := range m.Answer {
		a, ok := rr.(*dns.A)
		if !ok {
			continue
		}
		if !chain[strings.ToLower(a.Hdr.Name)] {
			return nil, 0, &queryError{err: ErrBogusAnswer, zone: bl.Zone.Zone, what: ": A record for " + strconv.Quote(bl.redact(a.Hdr.Name)) + " in the answer for " + addr.String()}
		}
		ip, ok := netip.AddrFromSlice(a.A)
		if !ok {
			return nil, 0, &queryError{err: ErrBogusAnswer, zone: bl.Zone.Zone, what: ": malformed A record for " + addr.String()}
		}
		codes = append(codes, ip.Unmap())
		minTTL = min(minTTL, a.Hdr.Ttl)
	}
	if len(codes) == 0 {
		return nil, 0, nil
	}
	return codes, time.Duration(minTTL) * time.Second, nil
}

// cnameChain returns the lower-cased names reachable from qname through the
// CNAME records of answer, and the smallest TTL of those CNAMEs (MaxUint32 if
// none).
func cnameChain(answer []dns.RR, qname string) (map[string]bool, uint32) {
	name := strings.ToLower(qname)
	chain := map[string]bool{name: true}
	minTTL := uint32(math.MaxUint32)
	for range answer { // a chain cannot be longer than the answer
		next := ""
		for _, rr := range answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.ToLower(c.Hdr.Name) == name {
				next = strings.ToLower(c.Target)
				minTTL = min(minTTL, c.Hdr.Ttl)
				break
			}
		}
		if next == "" || chain[next] {
			break
		}
		chain[next] = true
		name = next
	}
	return chain, minTTL
}

// queryTXT returns the TXT reason for qname, or "" if none could be had.
func (bl *DNSBL) queryTXT(ctx context.Context, st *dnsblState, qname string) string {
	m, err := bl.exchange(ctx, st, qname, dns.TypeTXT, netip.Addr{})
	if err != nil || m.Rcode != dns.RcodeSuccess {
		if err != nil && bl.Logger != nil {
			bl.Logger.DebugContext(ctx, "dnsbl: TXT query failed", "zone", bl.Zone.Zone, "err", err)
		}
		return ""
	}
	chain, _ := cnameChain(m.Answer, qname)
	var parts []string
	for _, rr := range m.Answer {
		if t, ok := rr.(*dns.TXT); ok && chain[strings.ToLower(t.Hdr.Name)] {
			parts = append(parts, strings.Join(t.Txt, ""))
		}
	}
	return bl.redact(strings.Join(parts, "; "))
}

// RcodeError reports a DNS answer whose rcode is a failure. It wraps
// [ErrResolverRefused] (which matches [ErrRefused] too) for REFUSED and
// [ErrServFail] for SERVFAIL and every other failure rcode.
type RcodeError struct {
	Zone  string     // the zone queried (never the keyed name)
	Addr  netip.Addr // the address looked up; invalid for a probe's TXT query
	Rcode int        // the rcode, such as dns.RcodeServerFailure
}

// Error returns text such as "sources: server failure: zen.example.org:
// SERVFAIL for 192.0.2.1".
func (e *RcodeError) Error() string {
	name, ok := dns.RcodeToString[e.Rcode]
	if !ok {
		name = fmt.Sprintf("rcode %d", e.Rcode)
	}
	what := ""
	if e.Addr.IsValid() {
		what = " for " + e.Addr.String()
	}
	return e.Unwrap().Error() + ": " + e.Zone + ": " + name + what
}

// Unwrap returns [ErrResolverRefused] or [ErrServFail].
func (e *RcodeError) Unwrap() error {
	if e.Rcode == dns.RcodeRefused {
		return ErrResolverRefused
	}
	return ErrServFail
}

func (st *dnsblState) checkBackoff(zone string) error {
	st.mu.Lock()
	until := st.backoffUntil
	st.mu.Unlock()
	if until.IsZero() {
		return nil
	}
	if now := time.Now(); now.Before(until) {
		return &queryError{err: ErrRateLimited, zone: zone, what: ": backing off for " + until.Sub(now).Round(time.Second).String() + " after a rate-limit answer"}
	}
	return nil
}

func (st *dnsblState) startBackoff(bl *DNSBL) {
	st.mu.Lock()
	st.backoffUntil = time.Now().Add(RateLimitBackoff)
	st.mu.Unlock()
	if bl.Logger != nil {
		bl.Logger.Debug("dnsbl: rate limited by list operator, backing off", "zone", bl.Zone.Zone, "for", RateLimitBackoff)
	}
}

// DNSBLStats are counters of a [DNSBL] since its first use.
type DNSBLStats struct {
	// RateLimitWaits counts the queries that had to wait for the zone's
	// rate limit (Zone.Rate) before they were sent.
	RateLimitWaits uint64
	// RateLimitWait is the total time those queries waited.
	RateLimitWait time.Duration
}

// Stats returns the DNSBL's counters. It is safe to call at any time, also
// concurrently with lookups; a DNSBL without a rate limit has none to count.
func (bl *DNSBL) Stats() DNSBLStats {
	st := bl.init()
	if st.limiter == nil {
		return DNSBLStats{}
	}
	return DNSBLStats{RateLimitWaits: st.limiter.waits.Load(), RateLimitWait: time.Duration(st.limiter.waited.Load())}
}

// bucket is a token bucket: rate tokens per second, holding at most burst.
// Waiters reserve a token (the count may go negative) and sleep until it is
// theirs; a waiter whose context ends first returns its token.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time

	waits  atomic.Uint64 // waiters that slept
	waited atomic.Int64  // nanoseconds they slept in total
}

// newBucket returns a full bucket for rate queries per second; the burst is
// one second's worth, at least one query.
func newBucket(rate float64) *bucket {
	burst := max(1, math.Floor(rate))
	return &bucket{rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

// waitN takes n tokens, sleeping until they are available or ctx ends;
// a wait that ends early gives the tokens back. With early set it returns
// at once, without taking a token, when ctx's deadline would pass first.
func (b *bucket) waitN(ctx context.Context, n int, early bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	now := time.Now()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
	}
	b.last = now
	b.tokens -= float64(n)
	var d time.Duration
	if b.tokens < 0 {
		d = time.Duration(math.Ceil(-b.tokens / b.rate * float64(time.Second)))
	}
	if dl, ok := ctx.Deadline(); early && ok && d > 0 && dl.Before(now.Add(d)) {
		b.tokens += float64(n)
		b.mu.Unlock()
		return fmt.Errorf("next query allowed in %s, after the deadline: %w", d, context.DeadlineExceeded)
	}
	b.mu.Unlock()
	if d == 0 {
		return nil
	}
	b.waits.Add(1)
	start := time.Now()
	defer func() { b.waited.Add(int64(time.Since(start))) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		b.give(n)
		return context.Cause(ctx)
	}
}

// give returns n tokens that were taken and will not be used.
func (b *bucket) give(n int) {
	b.mu.Lock()
	b.tokens = min(b.burst, b.tokens+float64(n))
	b.mu.Unlock()
}
