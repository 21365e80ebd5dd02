package dnsbltest_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/sources/dnsbltest"
)

const name = "2.0.0.127.bl.example.org."

func ask(t *testing.T, srv *dnsbltest.Server, net string, qname string, qtype uint16) (*dns.Msg, error) {
	t.Helper()
	c := &dns.Client{Net: net, Timeout: 200 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion(qname, qtype)
	m, _, err := c.ExchangeContext(t.Context(), q, srv.Addr)
	return m, err
}

func TestServer(t *testing.T) {
	t.Parallel()
	recs := dnsbltest.Records{name: {A: []netip.Addr{netip.MustParseAddr("127.0.0.2")}, TXT: []string{"why"}}}
	tests := []struct {
		name    string
		fault   dnsbltest.Fault
		net     string
		qname   string
		qtype   uint16
		wantErr bool
		check   func(*testing.T, *dns.Msg)
	}{
		{name: "a", qname: name, qtype: dns.TypeA, check: func(t *testing.T, m *dns.Msg) {
			if len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "127.0.0.2" {
				t.Errorf("answer %v", m.Answer)
			}
		}},
		{name: "txt_over_tcp", net: "tcp", qname: name, qtype: dns.TypeTXT, check: func(t *testing.T, m *dns.Msg) {
			if len(m.Answer) != 1 || m.Answer[0].(*dns.TXT).Txt[0] != "why" {
				t.Errorf("answer %v", m.Answer)
			}
		}},
		{name: "nxdomain_with_soa", qname: "9." + name, qtype: dns.TypeA, check: func(t *testing.T, m *dns.Msg) {
			if m.Rcode != dns.RcodeNameError || len(m.Ns) != 1 || m.Ns[0].Header().Rrtype != dns.TypeSOA {
				t.Errorf("got %v", m)
			}
		}},
		{name: "nodata", qname: name, qtype: dns.TypeAAAA, check: func(t *testing.T, m *dns.Msg) {
			if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 || len(m.Ns) != 1 {
				t.Errorf("got %v", m)
			}
		}},
		{name: "drop", fault: dnsbltest.Fault{DropFirst: 1}, qname: name, qtype: dns.TypeA, wantErr: true},
		{name: "servfail", fault: dnsbltest.Fault{Rcode: dns.RcodeServerFailure}, qname: name, qtype: dns.TypeA, check: func(t *testing.T, m *dns.Msg) {
			if m.Rcode != dns.RcodeServerFailure {
				t.Errorf("rcode %d", m.Rcode)
			}
		}},
		{name: "truncate_udp", fault: dnsbltest.Fault{Truncate: true}, qname: name, qtype: dns.TypeA, check: func(t *testing.T, m *dns.Msg) {
			if !m.Truncated || len(m.Answer) != 0 {
				t.Errorf("got %v", m)
			}
		}},
		{name: "truncate_not_tcp", net: "tcp", fault: dnsbltest.Fault{Truncate: true}, qname: name, qtype: dns.TypeA, check: func(t *testing.T, m *dns.Msg) {
			if m.Truncated || len(m.Answer) != 1 {
				t.Errorf("got %v", m)
			}
		}},
		{name: "wrong_id", fault: dnsbltest.Fault{WrongID: true}, qname: name, qtype: dns.TypeA, wantErr: true},
		{name: "wrong_name", fault: dnsbltest.Fault{WrongName: true}, qname: name, qtype: dns.TypeA, check: func(t *testing.T, m *dns.Msg) {
			if m.Question[0].Name == name {
				t.Errorf("question %v not changed", m.Question)
			}
		}},
		{name: "wrong_answer_name", fault: dnsbltest.Fault{WrongAnswerName: true}, qname: name, qtype: dns.TypeA, check: func(t *testing.T, m *dns.Msg) {
			if m.Question[0].Name != name || m.Answer[0].Header().Name == name {
				t.Errorf("got %v", m)
			}
		}},
		{name: "list_the_world", fault: dnsbltest.Fault{Answer: []netip.Addr{netip.MustParseAddr("127.0.0.2")}}, qname: "1.0.0.127.bl.example.org.", qtype: dns.TypeA, check: func(t *testing.T, m *dns.Msg) {
			if len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "127.0.0.2" {
				t.Errorf("answer %v", m.Answer)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := dnsbltest.Start(t, recs)
			srv.SetFault("", tt.fault)
			m, err := ask(t, srv, tt.net, tt.qname, tt.qtype)
			if tt.wantErr {
				if err == nil {
					t.Errorf("got answer %v, want an error", m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, m)
			if got := srv.Queries(tt.qname); got != 1 {
				t.Errorf("Queries = %d, want 1", got)
			}
		})
	}
}

func TestRecords_helpers(t *testing.T) {
	t.Parallel()
	a := netip.MustParseAddr("198.51.100.7")
	recs := dnsbltest.Records{}.AddTestPoints("BL.example.org").List("bl.example.org", a, "why", netip.MustParseAddr("127.0.0.4"))
	if got := dnsbltest.QueryName(a, "bl.example.org"); got != "7.100.51.198.bl.example.org." {
		t.Errorf("QueryName = %q", got)
	}
	if got := dnsbltest.QueryName(netip.MustParseAddr("2001:db8::1"), "bl.example.org"); got != "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example.org." {
		t.Errorf("QueryName(v6) = %q", got)
	}
	srv := dnsbltest.Start(t, recs)
	for _, tc := range []struct {
		qname string
		want  string
	}{
		{"2.0.0.127.bl.example.org.", "127.0.0.2"},
		{"7.100.51.198.bl.example.org.", "127.0.0.4"},
		{"1.0.0.127.bl.example.org.", ""},
	} {
		m, err := ask(t, srv, "udp", tc.qname, dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(m.Answer) == 1 {
			got = m.Answer[0].(*dns.A).A.String()
		}
		if got != tc.want {
			t.Errorf("%s: answer %q, want %q", tc.qname, got, tc.want)
		}
	}
}

// Close stops everything at once, even with an answer held back by a
// delay, and the server answers nothing afterwards.
func TestServer_closeStopsEverything(t *testing.T) {
	t.Parallel()
	srv, err := dnsbltest.New(dnsbltest.Records{}.AddTestPoints("bl.example.org"))
	if err != nil {
		t.Fatal(err)
	}
	srv.SetFault("", dnsbltest.Fault{Delay: time.Hour})
	asked := make(chan struct{})
	go func() {
		defer close(asked)
		_, _ = ask(t, srv, "udp", name, dns.TypeA) // held: times out
	}()
	for srv.Total() == 0 { // the query reached the server
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with an answer held for an hour, want at once", d)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	<-asked
	srv.SetFault("", dnsbltest.Fault{})
	if m, err := ask(t, srv, "udp", name, dns.TypeA); err == nil {
		t.Errorf("answer after Close: %v", m)
	}
}
