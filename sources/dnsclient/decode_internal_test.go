package dnsclient

import (
	"reflect"
	"testing"

	"github.com/miekg/dns"
)

// decodeCases are answers in the shapes decodeSimple takes, and some it
// leaves to Msg.Unpack.
func decodeCases(t testing.TB) []struct {
	name   string
	pkt    []byte
	simple bool
} {
	t.Helper()
	pack := func(m *dns.Msg, compress bool) []byte {
		m.Compress = compress
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	q := func(name string) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		m.Response = true
		m.Id = 0xBEEF
		return m
	}
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	listed := q("7.0.18.198.Z0.bench.example.org.")
	listed.Authoritative = true
	listed.Answer = []dns.RR{rr("7.0.18.198.Z0.bench.example.org. 60 IN A 127.0.0.2"), rr("7.0.18.198.Z0.bench.example.org. 60 IN A 127.0.0.10")}
	nx := q("8.0.18.198.z0.bench.example.org.")
	nx.Rcode = dns.RcodeNameError
	nx.Ns = []dns.RR{rr("z0.bench.example.org. 60 IN SOA ns.bench.example.org. host_master.bench.example.org. 1 3600 600 86400 60")}
	nodata := q("z0.bench.example.org.")
	nodata.Ns = nx.Ns
	root := q(".")
	root.Ns = []dns.RR{rr(". 60 IN SOA . . 1 2 3 4 5")}
	escaped := q("a\\.b.example.org.")
	escaped.Answer = []dns.RR{rr("a\\.b.example.org. 60 IN A 127.0.0.2")}
	txt := q("t.example.org.")
	txt.Answer = []dns.RR{rr("t.example.org. 60 IN TXT \"listed\"")}
	edns := q("e.example.org.")
	edns.SetEdns0(1232, false)
	trailing := append(pack(q("x.example.org."), true), 0)
	return []struct {
		name   string
		pkt    []byte
		simple bool
	}{
		{name: "listed_compressed", pkt: pack(listed, true), simple: true},
		{name: "listed_uncompressed", pkt: pack(listed, false), simple: true},
		{name: "nxdomain_soa", pkt: pack(nx, true), simple: true},
		{name: "nxdomain_soa_uncompressed", pkt: pack(nx, false), simple: true},
		{name: "nodata_soa", pkt: pack(nodata, true), simple: true},
		{name: "root_soa", pkt: pack(root, true), simple: true},
		{name: "no_records", pkt: pack(q("n.example.org."), true), simple: true},
		{name: "escaped_label", pkt: pack(escaped, true)},
		{name: "txt_answer", pkt: pack(txt, true)},
		{name: "edns_opt", pkt: pack(edns, true)},
		{name: "trailing_byte", pkt: trailing},
		{name: "header_only", pkt: pack(q("h.example.org."), true)[:headerLen]},
	}
}

func TestDecodeSimple(t *testing.T) {
	for _, tc := range decodeCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			got := decodeSimple(tc.pkt, "", nil)
			if (got != nil) != tc.simple {
				t.Fatalf("decodeSimple took it: %v, want %v", got != nil, tc.simple)
			}
			want := new(dns.Msg)
			if err := want.Unpack(tc.pkt); err != nil {
				t.Fatalf("Msg.Unpack: %v", err)
			}
			m, err := unpack(tc.pkt, "", nil)
			if err != nil {
				t.Fatalf("unpack: %v", err)
			}
			if !reflect.DeepEqual(m, want) {
				t.Errorf("unpack gave\n%v\nMsg.Unpack gave\n%v", m, want)
			}
			// With the question's name and names met before shared.
			var names nameCache
			for i := range 2 {
				qname := ""
				if len(want.Question) == 1 {
					qname = want.Question[0].Name
				}
				m, err := unpack(tc.pkt, qname, &names)
				if err != nil {
					t.Fatalf("unpack with names, call %d: %v", i, err)
				}
				if !reflect.DeepEqual(m, want) {
					t.Errorf("unpack with names, call %d, gave\n%v\nMsg.Unpack gave\n%v", i, m, want)
				}
			}
		})
	}
}

func TestDecodeSimple_rejects(t *testing.T) {
	pkt := decodeCases(t)[0].pkt
	for _, tc := range []struct {
		name string
		pkt  []byte
	}{
		{name: "short", pkt: pkt[:5]},
		{name: "truncated_record", pkt: pkt[:len(pkt)-2]},
		{name: "forward_pointer", pkt: func() []byte {
			b := append([]byte(nil), pkt...)
			b[headerLen] = 0xC0
			b[headerLen+1] = byte(len(b) - 1)
			return b
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if m := decodeSimple(tc.pkt, "", nil); m != nil {
				t.Errorf("decodeSimple took a packet it should leave to Msg.Unpack: %v", m)
			}
		})
	}
}

// FuzzDecodeSimple checks that whatever decodeSimple takes, Msg.Unpack
// takes too and reads the same.
func FuzzDecodeSimple(f *testing.F) {
	for _, tc := range decodeCases(f) {
		f.Add(tc.pkt, "7.0.18.198.Z0.bench.example.org.")
	}
	f.Fuzz(func(t *testing.T, pkt []byte, qname string) {
		var names nameCache
		got := decodeSimple(pkt, qname, &names)
		if got == nil {
			return
		}
		want := new(dns.Msg)
		if err := want.Unpack(pkt); err != nil {
			t.Fatalf("decodeSimple took a packet Msg.Unpack rejects (%v): %v", err, got)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeSimple gave\n%v\nMsg.Unpack gave\n%v", got, want)
		}
	})
}

// BenchmarkUnpack compares unpack with Msg.Unpack on an NXDOMAIN with a SOA.
func BenchmarkUnpack(b *testing.B) {
	pkt := decodeCases(b)[2].pkt
	b.Run("unpack", func(b *testing.B) {
		b.ReportAllocs()
		var names nameCache
		for b.Loop() {
			if _, err := unpack(pkt, "8.0.18.198.z0.bench.example.org.", &names); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("miekg", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := new(dns.Msg).Unpack(pkt); err != nil {
				b.Fatal(err)
			}
		}
	})
}
