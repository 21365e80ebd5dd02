package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// zoneMode says how the demo server misbehaves for a zone, so that the demo
// shows what prefixvet does with lists that refuse, lie or fail.
type zoneMode int

const (
	modeNormal  zoneMode = iota // answer from the zone data
	modeRefused                 // answer 127.255.255.254 to everything (resolver refused)
	modeWorld                   // answer 127.0.0.2 to everything (dead list)
	modeFlaky                   // SERVFAIL for addresses inside flaky, data otherwise
)

// demoZone is one zone served by the demo DNS server.
type demoZone struct {
	name  string   // zone name, fully qualified
	data  answerer // where the answers come from; nil for synthetic zones
	mode  zoneMode
	flaky netip.Prefix // for modeFlaky
}

// answerer gives the A and TXT records of a DNSBL query, as
// [sources.Mirror.Answer] does: exactly what rbldnsd would serve from the
// same zone file.
type answerer interface {
	Answer(addr netip.Addr) (as []netip.Addr, txts []string)
}

// demoServer is an authoritative DNS server on loopback that answers DNSBL
// queries for the demo zones from in-memory zone data.
type demoServer struct {
	zones []demoZone
	udp   *dns.Server
	tcp   *dns.Server
	addr  string
}

// startDemoServer listens on 127.0.0.1 (an ephemeral port, UDP and TCP) and
// serves zones until Close.
func startDemoServer(zones []demoZone) (*demoServer, error) {
	s := &demoServer{zones: zones}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo DNS server: %w", err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("demo DNS server: %w", err)
	}
	s.addr = pc.LocalAddr().String()
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &dns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: notify}
	s.tcp = &dns.Server{Listener: ln, Handler: s, NotifyStartedFunc: notify}
	go s.udp.ActivateAndServe() //nolint:errcheck // stopped by Close
	go s.tcp.ActivateAndServe() //nolint:errcheck // stopped by Close
	for range 2 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			s.Close()
			return nil, errors.New("demo DNS server: did not start within 5s")
		}
	}
	return s, nil
}

// Addr returns the server's "host:port".
func (s *demoServer) Addr() string { return s.addr }

// Close stops the server.
func (s *demoServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.udp.ShutdownContext(ctx) //nolint:errcheck // best effort at exit
	s.tcp.ShutdownContext(ctx) //nolint:errcheck // best effort at exit
}

// ServeDNS implements dns.Handler.
func (s *demoServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	defer w.WriteMsg(m) //nolint:errcheck // nothing to do about a lost reply
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return
	}
	q := req.Question[0]
	z, addr, ok := s.match(q.Name)
	if !ok {
		m.Rcode = dns.RcodeRefused // not our zone
		return
	}
	soa := &dns.SOA{
		Hdr:     dns.RR_Header{Name: z.name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 300},
		Ns:      "ns.demo.example.org.",
		Mbox:    "hostmaster.demo.example.org.",
		Serial:  1,
		Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 300,
	}
	var codes []netip.Addr
	var txt string
	switch {
	case !addr.IsValid():
		m.Rcode = dns.RcodeNameError
	case z.mode == modeRefused:
		codes, txt = []netip.Addr{netip.AddrFrom4([4]byte{127, 255, 255, 254})}, "Error: open resolver (demo)"
	case z.mode == modeWorld:
		codes, txt = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 2})}, "listed (this demo list lists the world)"
	case z.mode == modeFlaky && z.flaky.Contains(addr):
		m.Rcode = dns.RcodeServerFailure
		return
	default:
		var txts []string
		codes, txts = z.data.Answer(addr)
		txt = strings.Join(txts, "; ")
	}
	if len(codes) == 0 {
		if m.Rcode == dns.RcodeSuccess {
			m.Rcode = dns.RcodeNameError
		}
		m.Ns = append(m.Ns, soa)
		return
	}
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 300}
	switch q.Qtype {
	case dns.TypeA:
		for _, c := range codes {
			hdr.Rrtype = dns.TypeA
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: net.IP(c.AsSlice())})
		}
	case dns.TypeTXT:
		if txt != "" {
			hdr.Rrtype = dns.TypeTXT
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: splitTXT(txt)})
		}
	}
	if len(m.Answer) == 0 {
		m.Ns = append(m.Ns, soa) // NODATA
	}
}

// match finds the zone of name and decodes the address queried. addr is the
// zero Addr when name is inside a zone but is not a valid DNSBL query.
func (s *demoServer) match(name string) (demoZone, netip.Addr, bool) {
	name = strings.ToLower(dns.Fqdn(name))
	for _, z := range s.zones {
		if !dns.IsSubDomain(z.name, name) {
			continue
		}
		rest := strings.TrimSuffix(strings.TrimSuffix(name, z.name), ".")
		return z, parseQueryName(rest), true
	}
	return demoZone{}, netip.Addr{}, false
}

// parseQueryName decodes the reversed labels of an RFC 5782 query: four
// decimal octets for IPv4, 32 hex nibbles for IPv6. It returns the zero Addr
// for anything else.
func parseQueryName(rev string) netip.Addr {
	labels := strings.Split(rev, ".")
	switch len(labels) {
	case 4:
		var b [4]byte
		for i, l := range labels {
			n, err := strconv.ParseUint(l, 10, 8)
			if err != nil || (len(l) > 1 && l[0] == '0') {
				return netip.Addr{}
			}
			b[3-i] = byte(n)
		}
		return netip.AddrFrom4(b)
	case 32:
		var b [16]byte
		for i, l := range labels {
			n, err := strconv.ParseUint(l, 16, 8)
			if err != nil || len(l) != 1 {
				return netip.Addr{}
			}
			j := 31 - i // nibble index from the most significant end
			if j%2 == 0 {
				b[j/2] |= byte(n) << 4
			} else {
				b[j/2] |= byte(n)
			}
		}
		return netip.AddrFrom16(b)
	}
	return netip.Addr{}
}

// splitTXT cuts s into DNS character-strings of at most 255 bytes.
func splitTXT(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}
