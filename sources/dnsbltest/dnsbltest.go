// Package dnsbltest runs a DNSBL zone on loopback for tests: an in-process
// DNS server that answers like a list (listed, not listed, refusal codes, a
// list that lists the world) and fails like a network (delays, dropped
// queries, SERVFAIL, REFUSED, truncation, spoofed answers), so that code
// using prefixvet's DNSBLs can be tested offline, the way net/http/httptest
// serves HTTP.
//
// # Usage
//
// Build the zone's data, start a server, and point a DNS client at
// [Server.Addr]:
//
//	recs := dnsbltest.Records{}
//	recs.AddTestPoints("bl.example.org")      // RFC 5782: the probe passes
//	recs.List("bl.example.org", netip.MustParseAddr("198.51.100.7"),
//		"listed for spam", netip.MustParseAddr("127.0.0.2"))
//	srv := dnsbltest.Start(t, recs)           // closed by t.Cleanup
//	client := &dnsclient.Client{Servers: []string{srv.Addr}}
//	defer client.Close()
//	bl := &sources.DNSBL{Zone: zone, Client: client}
//
// The server listens on 127.0.0.1 at a port chosen by the kernel (port 0),
// over UDP and over TCP on the same port (for truncation fallback), with its
// own handler (never miekg/dns's global mux), so any number of servers can
// run in parallel tests. [Start] registers Close with t.Cleanup; [New] is
// for callers without a testing.TB (examples, demos) and leaves Close to
// them. Close stops everything: the listeners, the serving goroutines and
// answers held back by a delay.
//
// # Answers
//
// A name in the table answers its A and TXT records (NOERROR); other types
// of a known name get NODATA (NOERROR, no answer, an SOA in the authority
// section); an unknown name gets NXDOMAIN with the same SOA: not listed. The
// SOA's owner is the last two labels of the question, its TTL and MINIMUM
// are [Server.SetNegativeTTL]'s (default [DefaultNegativeTTL]). [QueryName]
// builds the RFC 5782 names of the table.
//
// # Faults
//
// A [Fault] set with [Server.SetFault] applies to one name, or to every name
// without a fault of its own when the name is "". Faults cover what DNSBL
// code must survive: delays ([Fault.Delay]), dropped queries (the first N,
// or a fraction), SERVFAIL and REFUSED rcodes ([Fault.Rcode]), truncated
// UDP answers (forcing TCP), answers for the wrong name or with the wrong
// ID, and forged A answers ([Fault.Answer]): a list's refusal code such as
// [RefusedCode] (127.255.255.254), an address outside 127/8, or
// [ListedCode] (127.0.0.2) for every name -- a list that lists the world.
package dnsbltest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/prefix"
)

// Well-known answers, for [Fault.Answer] and [Records.List].

// ListedCode returns 127.0.0.2, the usual "listed" answer and the RFC 5782
// positive test point's code. As a [Fault.Answer] for every name, it makes
// the zone list the world.
func ListedCode() netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, 2}) }

// RefusedCode returns 127.255.255.254, Spamhaus' answer to a query from a
// public or unattributable resolver: a refusal, never a listing.
func RefusedCode() netip.Addr { return netip.AddrFrom4([4]byte{127, 255, 255, 254}) }

// RateLimitedCode returns 127.255.255.255, Spamhaus' "too many queries".
func RateLimitedCode() netip.Addr { return netip.AddrFrom4([4]byte{127, 255, 255, 255}) }

// QueryName returns the RFC 5782 query name of addr in zone, fully
// qualified and in lower case: "7.100.51.198.bl.example.org." for
// 198.51.100.7, nibbles for IPv6.
func QueryName(addr netip.Addr, zone string) string {
	return strings.ToLower(string(prefix.AppendQueryName(nil, addr.Unmap(), dns.Fqdn(zone))))
}

// List makes zone list addr with the given codes (127.0.0.2 when none) and
// TXT reason (none when empty), and returns r.
func (r Records) List(zone string, addr netip.Addr, reason string, codes ...netip.Addr) Records {
	if len(codes) == 0 {
		codes = []netip.Addr{ListedCode()}
	}
	rec := Record{A: codes}
	if reason != "" {
		rec.TXT = []string{reason}
	}
	r[QueryName(addr, zone)] = rec
	return r
}

// AddTestPoints lists zone's RFC 5782 positive test points (127.0.0.2, and
// ::ffff:127.0.0.2 as an IPv6 name) with 127.0.0.2, so that a health probe
// finds the zone alive; the negative test points stay unlisted. It returns
// r.
func (r Records) AddTestPoints(zone string) Records {
	r.List(zone, ListedCode(), "test point")
	r[QueryName(netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 2}), zone)] = Record{A: []netip.Addr{ListedCode()}}
	return r
}

// DefaultTTL is the TTL of answers whose [Record] has TTL 0.
const DefaultTTL = 300

// DefaultNegativeTTL is the TTL and MINIMUM of the SOA record in negative
// answers until [Server.SetNegativeTTL] changes them.
const DefaultNegativeTTL = 60

// Records is the table a [Server] serves, keyed by fully qualified name in
// lower case ("2.0.0.127.bl.example.org.").
type Records map[string]Record

// Record is what one name answers.
type Record struct {
	// A are the IPv4 addresses answered for type A.
	A []netip.Addr
	// TXT are the strings answered for type TXT, one record each.
	TXT []string
	// TTL is the TTL of the answers; 0 means [DefaultTTL].
	TTL uint32
}

// Fault changes how the server answers. The zero Fault answers normally.
type Fault struct {
	// Delay holds the answer back this long.
	Delay time.Duration
	// DropFirst drops the first DropFirst queries (each a UDP or TCP query
	// for a name this fault applies to) without answering.
	DropFirst int
	// DropRate drops this fraction (0..1) of the queries after the first
	// DropFirst, chosen by a seeded random source; 1 drops every query.
	DropRate float64
	// Rcode, when not 0 (NOERROR), is answered instead of the data, for
	// example dns.RcodeServerFailure or dns.RcodeRefused.
	Rcode int
	// Truncate answers UDP queries with the TC bit set and no records;
	// TCP queries get the full answer.
	Truncate bool
	// WrongName answers with a question name different from the query's.
	WrongName bool
	// WrongID answers with a message ID different from the query's.
	WrongID bool
	// WrongAnswerName keeps the question but gives the A and TXT records
	// an owner name different from the question's.
	WrongAnswerName bool
	// Answer, when not empty, replaces the A records of every A query (known
	// name or not) with these addresses: an address outside 127/8, a
	// refusal code such as 127.255.255.254, or 127.0.0.2 everywhere (a list
	// that lists the world).
	Answer []netip.Addr
}

// Server is a running test DNS server. Its methods are safe for concurrent
// use.
type Server struct {
	// Addr is the "127.0.0.1:port" address the server listens on, over UDP
	// and TCP.
	Addr string

	udp, tcp *dns.Server
	closing  chan struct{}  // closed by Close: held answers are dropped
	serving  sync.WaitGroup // the UDP and TCP serving goroutines
	close    sync.Once
	closeErr error

	hmu     sync.Mutex
	hdone   *sync.Cond // signalled when active drops to 0
	active  int        // queries being answered
	stopped bool       // no query is answered any more

	mu      sync.Mutex
	records Records
	faults  map[string]Fault
	seen    map[string]int // queries per name
	drops   map[string]int // queries per fault key, for DropFirst
	total   int
	negTTL  uint32
	negMin  uint32
	rng     *rand.Rand
}

// Start starts a server over records on 127.0.0.1 and registers its shutdown
// with t.Cleanup. It fails the test if the server cannot start.
func Start(t testing.TB, records Records) *Server {
	t.Helper()
	s, err := New(records)
	if err != nil {
		t.Fatalf("dnsbltest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("dnsbltest: close: %v", err)
		}
	})
	return s
}

// New starts a server over records on 127.0.0.1 for callers without a
// testing.TB (examples, demos). The caller must call [Server.Close].
// Keys of records are lower-cased and made fully qualified.
func New(records Records) (*Server, error) {
	s := &Server{
		records: make(Records, len(records)),
		faults:  make(map[string]Fault),
		seen:    make(map[string]int),
		drops:   make(map[string]int),
		negTTL:  DefaultNegativeTTL,
		negMin:  DefaultNegativeTTL,
		rng:     rand.New(rand.NewPCG(1, 2)),
		closing: make(chan struct{}),
	}
	s.hdone = sync.NewCond(&s.hmu)
	for name, r := range records {
		s.records[canonical(name)] = r
	}
	// Bind UDP first on port 0, then TCP on the same port; retry if the
	// TCP port happens to be taken.
	var lastErr error
	for range 10 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			lastErr = err
			continue
		}
		s.Addr = pc.LocalAddr().String()
		h := dns.HandlerFunc(s.serve)
		s.udp = &dns.Server{PacketConn: pc, Handler: h}
		s.tcp = &dns.Server{Listener: l, Handler: h}
		started := make(chan struct{}, 2)
		s.udp.NotifyStartedFunc = func() { started <- struct{}{} }
		s.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
		errc := make(chan error, 2)
		s.serving.Add(2)
		go func() { defer s.serving.Done(); errc <- s.udp.ActivateAndServe() }()
		go func() { defer s.serving.Done(); errc <- s.tcp.ActivateAndServe() }()
		for range 2 {
			select {
			case <-started:
			case err := <-errc:
				s.Close()
				return nil, fmt.Errorf("serve: %w", err)
			}
		}
		return s, nil
	}
	return nil, fmt.Errorf("no free UDP+TCP port pair: %w", lastErr)
}

// Close shuts the server down and returns once everything it started has
// stopped: the listeners are closed, answers held back by a delay are
// dropped, and the serving goroutines have returned. Close is idempotent.
func (s *Server) Close() error {
	s.close.Do(func() {
		close(s.closing)
		s.hmu.Lock()
		s.stopped = true
		for s.active > 0 {
			s.hdone.Wait()
		}
		s.hmu.Unlock()
		err1 := s.udp.Shutdown()
		err2 := s.tcp.Shutdown()
		s.serving.Wait()
		s.closeErr = errors.Join(err1, err2)
	})
	return s.closeErr
}

// SetFault sets the fault for name ("" for every name without a fault of its
// own); the zero Fault removes it. Drop counters restart.
func (s *Server) SetFault(name string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := ""
	if name != "" {
		key = canonical(name)
	}
	if f.isZero() {
		delete(s.faults, key)
	} else {
		s.faults[key] = f
	}
	s.drops[key] = 0
}

func (f Fault) isZero() bool {
	if len(f.Answer) > 0 {
		return false
	}
	f.Answer = nil
	return reflect.ValueOf(f).IsZero()
}

// SetRecord adds or replaces the record of name.
func (s *Server) SetRecord(name string, r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[canonical(name)] = r
}

// SetNegativeTTL sets the TTL and the MINIMUM field of the SOA record sent in
// negative answers.
func (s *Server) SetNegativeTTL(ttl, minimum uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.negTTL, s.negMin = ttl, minimum
}

// Queries reports how many queries for name the server received (over UDP
// and TCP, dropped ones included) since it started.
func (s *Server) Queries(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[canonical(name)]
}

// Total reports how many queries the server received in all.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

func canonical(name string) string {
	return strings.ToLower(dns.Fqdn(name))
}

// fault returns the fault for name and whether this query is dropped.
func (s *Server) fault(name string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.seen[name]++
	f, ok := s.faults[name]
	key := name
	if !ok {
		f, ok = s.faults[""]
		key = ""
		if !ok {
			return Fault{}, false
		}
	}
	s.drops[key]++
	n := s.drops[key]
	if n <= f.DropFirst {
		return f, true
	}
	if f.DropRate > 0 && s.rng.Float64() < f.DropRate {
		return f, true
	}
	return f, false
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	s.hmu.Lock()
	if s.stopped {
		s.hmu.Unlock()
		return
	}
	s.active++
	s.hmu.Unlock()
	defer func() {
		s.hmu.Lock()
		if s.active--; s.active == 0 {
			s.hdone.Broadcast()
		}
		s.hmu.Unlock()
	}()
	if len(req.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	f, drop := s.fault(name)
	if drop {
		return
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.closing:
			return // Close does not wait for a held answer
		}
	}
	_, tcp := w.RemoteAddr().(*net.TCPAddr)

	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	switch {
	case f.Rcode != dns.RcodeSuccess:
		m.Rcode = f.Rcode
	case f.Truncate && !tcp:
		m.Truncated = true
	default:
		s.answer(m, q, name, f)
	}
	if f.WrongName {
		m.Question[0].Name = "wrong." + q.Name
	}
	if f.WrongID {
		m.Id = req.Id + 1
	}
	_ = w.WriteMsg(m)
}

func (s *Server) answer(m *dns.Msg, q dns.Question, name string, f Fault) {
	s.mu.Lock()
	r, known := s.records[name]
	negTTL, negMin := s.negTTL, s.negMin
	s.mu.Unlock()
	ttl := r.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	owner := q.Name
	if f.WrongAnswerName {
		owner = "other." + q.Name
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: owner, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	if q.Qtype == dns.TypeA && len(f.Answer) > 0 {
		for _, a := range f.Answer {
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: a.AsSlice()})
		}
		return
	}
	if known {
		switch q.Qtype {
		case dns.TypeA:
			for _, a := range r.A {
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: a.AsSlice()})
			}
		case dns.TypeTXT:
			for _, t := range r.TXT {
				m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: splitTXT(t)})
			}
		}
	} else {
		m.Rcode = dns.RcodeNameError
	}
	if len(m.Answer) == 0 {
		m.Ns = append(m.Ns, &dns.SOA{
			Hdr:     dns.RR_Header{Name: apex(q.Name), Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: negTTL},
			Ns:      "ns." + apex(q.Name),
			Mbox:    "hostmaster." + apex(q.Name),
			Serial:  1,
			Refresh: 3600,
			Retry:   600,
			Expire:  86400,
			Minttl:  negMin,
		})
	}
}

// apex returns the last two labels of name ("example.org.").
func apex(name string) string {
	labels := dns.SplitDomainName(name)
	if len(labels) <= 2 {
		return dns.Fqdn(name)
	}
	return dns.Fqdn(strings.Join(labels[len(labels)-2:], "."))
}

// splitTXT cuts s into character-strings of at most 255 bytes.
func splitTXT(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}
