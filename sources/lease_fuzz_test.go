package sources_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

// fuzzBlocks are the blocks each fuzzed source is asked about.
var fuzzBlocks = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("192.0.2.128/25"),
	netip.MustParsePrefix("198.51.100.0/22"), netip.MustParsePrefix("::/0"), netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2001:db8:1::/48"),
}

// checkLoaded asks a loaded source about fuzzBlocks and checks the
// PrefixLookuper contract and that Lookup agrees with LookupPrefix.
func checkLoaded(t *testing.T, src interface {
	reputation.Source
	reputation.PrefixLookuper
}) {
	t.Helper()
	for _, p := range fuzzBlocks {
		ms, err := src.LookupPrefix(t.Context(), p)
		if err != nil {
			t.Fatalf("LookupPrefix(%s): %v", p, err)
		}
		checkContract(t, p, ms)
		for _, m := range ms {
			if len(m.Evidence) == 0 {
				t.Fatalf("LookupPrefix(%s): match %s without evidence", p, m.Prefix)
			}
			for _, e := range m.Evidence {
				if e.Category == "" || e.Severity < reputation.SeverityInfo || e.Severity > reputation.SeverityCritical {
					t.Fatalf("LookupPrefix(%s): bad evidence %+v", p, e)
				}
			}
		}
		l, err := src.Lookup(t.Context(), p.Addr())
		if err != nil {
			t.Fatalf("Lookup(%s): %v", p.Addr(), err)
		}
		// The address answers as the /32 or /128 at the block's start,
		// which the block's matches cover when they reach that far.
		for _, m := range ms {
			if m.Prefix.Contains(p.Addr()) && !l.Listed {
				t.Fatalf("Lookup(%s) not listed, but match %s covers it", p.Addr(), m.Prefix)
			}
		}
	}
}

func seedDir(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", "lease", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
}

func FuzzReadVRPs(f *testing.F) {
	seedDir(f, "vrps-rpki-client.json", "vrps-routinator.json", "vrps-routinator-jsonext.json", "vrps.csv")
	f.Add(`{"roas":[{"asn":"AS0","prefix":"192.0.2.0/24","maxLength":32,"ta":"x\"y\u00e9"}]}`)
	f.Add("AS1,192.0.2.0/23,24\nAS2,192.0.2.0/24,24\n")
	f.Fuzz(func(t *testing.T, in string) {
		v, err := sources.ReadVRPs(strings.NewReader(in), sources.VRPConfig{ExpectOrigin: 64500, MaxLineBytes: 256})
		if v == nil {
			if err == nil {
				t.Fatal("nil VRPs without an error")
			}
			return
		}
		if v.Len() == 0 {
			t.Fatal("empty VRPs returned")
		}
		checkLoaded(t, v)
	})
}

func FuzzReadRIRStats(f *testing.F) {
	for _, s := range rirFiles {
		f.Add(s)
	}
	f.Add("ripencc||ipv4|192.0.2.0|768||available\nripencc|NL|ipv4|192.0.2.0|256|20100101|allocated\n")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := sources.ReadRIRStats(strings.NewReader(in), sources.RIRStatsConfig{})
		if s == nil {
			if err == nil {
				t.Fatal("nil RIRStats without an error")
			}
			return
		}
		checkLoaded(t, s)
	})
}

func FuzzReadOrigins(f *testing.F) {
	f.Add(pfx2as)
	f.Add("192.0.2.0\t23\t1_2,3\n192.0.2.0\t24\t4\n")
	f.Add(asnDrop)
	f.Fuzz(func(t *testing.T, in string) {
		// The same text is tried as a pfx2as table and as ASN-DROP over a
		// fixed table.
		o, err := sources.ReadOrigins(strings.NewReader(in), sources.OriginsConfig{ExpectOrigin: 64500})
		if o == nil && err == nil {
			t.Fatal("nil Origins without an error")
		}
		if o != nil {
			checkLoaded(t, o)
		}
		routes, err := sources.ReadOrigins(strings.NewReader(pfx2as), sources.OriginsConfig{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := sources.ReadASNDrop(strings.NewReader(in), sources.ASNDropConfig{Routes: routes})
		if d == nil && err == nil {
			t.Fatal("nil ASNDrop without an error")
		}
		if d != nil {
			checkLoaded(t, d)
		}
	})
}
