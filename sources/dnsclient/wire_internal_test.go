package dnsclient

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func packMsg(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMatchResponse(t *testing.T) {
	t.Parallel()
	const name = "2.0.0.127.bl.example.org."
	pkt, err := newQuery(name, dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	q := pkt[headerLen:]
	reply := func(edit func(*dns.Msg)) []byte {
		req := new(dns.Msg)
		req.SetQuestion(name, dns.TypeA)
		m := new(dns.Msg)
		m.SetReply(req)
		edit(m)
		return packMsg(t, m)
	}
	tests := []struct {
		name string
		resp []byte
		want bool
	}{
		{name: "same", resp: reply(func(*dns.Msg) {}), want: true},
		{name: "case_differs", resp: reply(func(m *dns.Msg) { m.Question[0].Name = strings.ToUpper(name) }), want: true},
		{name: "nxdomain", resp: reply(func(m *dns.Msg) { m.Rcode = dns.RcodeNameError }), want: true},
		{name: "other_name", resp: reply(func(m *dns.Msg) { m.Question[0].Name = "3.0.0.127.bl.example.org." }), want: false},
		{name: "longer_name", resp: reply(func(m *dns.Msg) { m.Question[0].Name = "x." + name }), want: false},
		{name: "suffix_name", resp: reply(func(m *dns.Msg) { m.Question[0].Name = "0.0.127.bl.example.org." }), want: false},
		{name: "other_type", resp: reply(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeTXT }), want: false},
		{name: "type_differs_by_case_bit", resp: reply(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeA | 0x20 }), want: false},
		{name: "other_class", resp: reply(func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }), want: false},
		{name: "not_a_response", resp: reply(func(m *dns.Msg) { m.Response = false }), want: false},
		{name: "other_opcode", resp: reply(func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }), want: false},
		{name: "no_question", resp: reply(func(m *dns.Msg) { m.Question = nil }), want: false},
		{name: "two_questions", resp: reply(func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) }), want: false},
		{name: "short", resp: []byte{0, 0, 0x80}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := matchResponse(q, tt.resp); got != tt.want {
				t.Errorf("matchResponse = %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzMatchResponse checks matchResponse against miekg/dns: whenever it
// accepts a packet that miekg/dns can parse, the parsed message is a
// response with exactly the query's question (name equal ignoring case).
func FuzzMatchResponse(f *testing.F) {
	const name = "2.0.0.127.bl.example.org."
	req := new(dns.Msg)
	req.SetQuestion(name, dns.TypeA)
	m := new(dns.Msg)
	m.SetReply(req)
	b, _ := m.Pack()
	f.Add(name, uint16(dns.TypeA), b)
	m.Question[0].Name = "2.0.0.127.BL.example.org."
	m.Rcode = dns.RcodeNameError
	b, _ = m.Pack()
	f.Add(name, uint16(dns.TypeA), b)
	m.Question[0].Name = "x.example.org."
	b, _ = m.Pack()
	f.Add(name, uint16(dns.TypeTXT), b)
	f.Fuzz(func(t *testing.T, qname string, qtype uint16, resp []byte) {
		query, err := newQuery(dns.Fqdn(qname), qtype)
		if err != nil {
			return
		}
		q := query[headerLen:]
		if !matchResponse(q, resp) {
			return
		}
		var m dns.Msg
		if err := m.Unpack(resp); err != nil {
			return // the caller discards packets that do not parse
		}
		var want dns.Msg
		if err := want.Unpack(query); err != nil {
			t.Fatalf("own query does not parse: %v", err)
		}
		wq := want.Question[0]
		if !m.Response || len(m.Question) != 1 || !strings.EqualFold(m.Question[0].Name, wq.Name) ||
			m.Question[0].Qtype != wq.Qtype || m.Question[0].Qclass != wq.Qclass {
			t.Fatalf("matchResponse accepted %v for question %v", m.Question, wq)
		}
	})
}

func TestCacheTTL(t *testing.T) {
	t.Parallel()
	a := func(ttl uint32) dns.RR {
		return &dns.A{Hdr: dns.RR_Header{Name: "x.example.org.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: []byte{127, 0, 0, 2}}
	}
	soa := func(ttl, minimum uint32) dns.RR {
		return &dns.SOA{Hdr: dns.RR_Header{Name: "example.org.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl}, Minttl: minimum}
	}
	tests := []struct {
		name   string
		msg    *dns.Msg
		want   time.Duration
		cached bool
	}{
		{name: "min_of_answers", msg: &dns.Msg{Answer: []dns.RR{a(300), a(30), a(100)}}, want: 30 * time.Second, cached: true},
		{name: "capped", msg: &dns.Msg{Answer: []dns.RR{a(86400)}}, want: time.Hour, cached: true},
		{name: "zero_ttl", msg: &dns.Msg{Answer: []dns.RR{a(0)}}},
		{name: "nxdomain_soa_minimum", msg: &dns.Msg{MsgHdr: dns.MsgHdr{Rcode: dns.RcodeNameError}, Ns: []dns.RR{soa(600, 60)}}, want: time.Minute, cached: true},
		{name: "nxdomain_soa_ttl", msg: &dns.Msg{MsgHdr: dns.MsgHdr{Rcode: dns.RcodeNameError}, Ns: []dns.RR{soa(10, 60)}}, want: 10 * time.Second, cached: true},
		{name: "nodata_soa", msg: &dns.Msg{Ns: []dns.RR{soa(600, 60)}}, want: time.Minute, cached: true},
		{name: "nxdomain_without_soa", msg: &dns.Msg{MsgHdr: dns.MsgHdr{Rcode: dns.RcodeNameError}}},
		{name: "servfail", msg: &dns.Msg{MsgHdr: dns.MsgHdr{Rcode: dns.RcodeServerFailure}, Ns: []dns.RR{soa(600, 60)}}},
		{name: "refused", msg: &dns.Msg{MsgHdr: dns.MsgHdr{Rcode: dns.RcodeRefused}}},
		{name: "truncated", msg: &dns.Msg{MsgHdr: dns.MsgHdr{Truncated: true}, Answer: []dns.RR{a(300)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := cacheTTL(tt.msg, time.Hour)
			if ok != tt.cached || got != tt.want {
				t.Errorf("cacheTTL = %v, %v; want %v, %v", got, ok, tt.want, tt.cached)
			}
		})
	}
}

func TestCache_bounded(t *testing.T) {
	t.Parallel()
	c := newCache(4, time.Hour)
	now := time.Unix(1e9, 0)
	m := &dns.Msg{Answer: []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "x.example.org.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{127, 0, 0, 2}}}}
	pkt := packMsg(t, m)
	for i := range 100 {
		c.put(cacheKey{name: strings.Repeat("x", i), qtype: dns.TypeA}, m, pkt, now)
		if n := len(c.m); n > 4 {
			t.Fatalf("cache holds %d entries, want at most 4", n)
		}
	}
}
