package sources_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

// opts returns the options every comparison uses.
func opts() []cmp.Option {
	return []cmp.Option{cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}), cmpopts.EquateEmpty(), cmpopts.EquateErrors()}
}

// fakeDNS is an in-memory sources.Exchanger: handle answers every query. It
// records the names asked, counts calls and tracks the high-water mark of
// concurrent exchanges.
type fakeDNS struct {
	handle   func(ctx context.Context, name string, qtype uint16) (*dns.Msg, error)
	resolver string // returned by String when non-empty

	calls    atomic.Int64
	inflight atomic.Int64
	maxSeen  atomic.Int64
	mu       sync.Mutex
	names    []string
}

func (f *fakeDNS) Exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	f.calls.Add(1)
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	f.mu.Lock()
	f.names = append(f.names, dns.TypeToString[qtype]+" "+name)
	f.mu.Unlock()
	return f.handle(ctx, name, qtype)
}

func (f *fakeDNS) String() string { return f.resolver }

func (f *fakeDNS) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.names...)
}

// zoneData is a fake zone: query name (lower case, fully qualified) to the A
// codes listed and the TXT text; unknown names are NXDOMAIN.
type zoneData map[string]entry

type entry struct {
	codes []string
	txt   string
	ttl   uint32
}

func (z zoneData) handler() func(context.Context, string, uint16) (*dns.Msg, error) {
	return func(_ context.Context, name string, qtype uint16) (*dns.Msg, error) {
		e, ok := z[strings.ToLower(name)]
		if !ok {
			return reply(name, qtype, dns.RcodeNameError), nil
		}
		ttl := e.ttl
		if ttl == 0 {
			ttl = 300
		}
		var rrs []dns.RR
		switch qtype {
		case dns.TypeA:
			for _, c := range e.codes {
				rrs = append(rrs, rrA(name, c, ttl))
			}
		case dns.TypeTXT:
			if e.txt != "" {
				rrs = append(rrs, rrTXT(name, e.txt))
			}
		}
		return reply(name, qtype, dns.RcodeSuccess, rrs...), nil
	}
}

func reply(name string, qtype uint16, rcode int, rrs ...dns.RR) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Response = true
	m.Rcode = rcode
	m.Answer = rrs
	return m
}

func rrA(name, ip string, ttl uint32) dns.RR {
	return &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: net.ParseIP(ip).To4()}
}

func rrTXT(name, txt string) dns.RR {
	return &dns.TXT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: []string{txt}}
}

func rrCNAME(name, target string) dns.RR {
	return &dns.CNAME{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 120}, Target: target}
}

// qname returns the RFC 5782 query name of addr in zone, written out
// independently of the code under test.
func qname(addr, zone string) string {
	a := netip.MustParseAddr(addr)
	var labels []string
	if a.Is4() {
		b := a.As4()
		for i := 3; i >= 0; i-- {
			labels = append(labels, fmt.Sprint(b[i]))
		}
	} else {
		b := a.As16()
		for i := 15; i >= 0; i-- {
			labels = append(labels, fmt.Sprintf("%x", b[i]&0xf), fmt.Sprintf("%x", b[i]>>4))
		}
	}
	return strings.Join(labels, ".") + "." + zone + "."
}

// testZone is the zone definition most tests use.
func testZone() sources.ZoneInfo {
	return sources.ZoneInfo{
		Zone: "bl.example.org", IPv4: true, IPv6: true, TXT: true,
		Codes: []sources.Code{
			{Addr: mpa("127.0.0.2"), Category: "spam", Severity: reputation.SeverityHigh},
			{Addr: mpa("127.0.0.3"), Category: "exploited", Severity: reputation.SeverityMedium},
			{Addr: mpa("127.0.0.4"), Category: "exploited", Severity: reputation.SeverityMedium},
			{Addr: mpa("127.0.0.9"), Category: "hijacked", Severity: reputation.SeverityCritical, Scope: reputation.ScopeRange},
		},
		Errors: []sources.ErrorCode{
			{Prefix: mpp("127.255.255.0/24"), Kind: sources.ErrorRefused},
			{Prefix: mpp("127.255.255.250/31"), Kind: sources.ErrorBadKey},
			{Prefix: mpp("127.255.255.252/32"), Kind: sources.ErrorUnknownZone, Description: "typo in the zone name"},
			{Prefix: mpp("127.255.255.254/32"), Kind: sources.ErrorRefused, Description: "open resolver"},
			{Prefix: mpp("127.255.255.255/32"), Kind: sources.ErrorRateLimited},
		},
		KeyedZone: "{key}.bl.dq.example.org",
		DelistURL: "https://bl.example.org/lookup?ip={ip}",
	}
}

func mpa(s string) netip.Addr   { return netip.MustParseAddr(s) }
func mpp(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// newClient returns the production DNS client pointed at one loopback
// server, without a cache so that every lookup reaches the server; it is
// closed when the test ends.
func newClient(t *testing.T, server string) *dnsclient.Client {
	t.Helper()
	c := &dnsclient.Client{Servers: []string{server}, CacheSize: -1}
	t.Cleanup(func() { c.Close() })
	return c
}

// startServer starts an in-process DNS server on 127.0.0.1:0 (UDP) with its
// own handler and returns its address; it is shut down when the test ends.
func startServer(t *testing.T, h dns.HandlerFunc) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { close(started) }}
	done := make(chan error, 1)
	go func() { done <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("DNS server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-done
	})
	return pc.LocalAddr().String()
}
