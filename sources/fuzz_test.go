package sources_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

var cmpAddr = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

// writeList serialises l in format f so that reading it back gives the same
// extents and evidence.
func writeList(l *sources.List, f sources.Format) string {
	var b strings.Builder
	for e := range l.All() {
		for _, ev := range e.Listing.Evidence {
			var exts []string
			if ev.Scope == reputation.ScopeAddress && f != sources.FormatDROP {
				for a := e.From; ; a = a.Next() {
					exts = append(exts, a.String())
					if a == e.To {
						break
					}
				}
			} else {
				for p := range prefix.RangeFrom(e.From, e.To).Prefixes() {
					exts = append(exts, p.String())
				}
				if f != sources.FormatDROP && len(exts) == 1 && e.From == e.To {
					exts[0] = e.From.String() + "-" + e.To.String()
				}
			}
			for _, x := range exts {
				switch f {
				case sources.FormatDROP:
					line, _ := json.Marshal(map[string]string{"cidr": x, "sblid": ev.ID})
					b.Write(line)
					b.WriteByte('\n')
				case sources.FormatIPsum:
					fmt.Fprintf(&b, "%s\t%d\n", x, ev.Count)
				default:
					b.WriteString(x + "\n")
				}
			}
		}
	}
	return b.String()
}

type entryView struct {
	From, To netip.Addr
	Evidence []reputation.Evidence
}

func entriesOf(l *sources.List) []entryView {
	var out []entryView
	for e := range l.All() {
		out = append(out, entryView{e.From, e.To, e.Listing.Evidence})
	}
	return out
}

func fuzzList(f *testing.F, format sources.Format, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := sources.FeedConfig{Name: "fuzz", Format: format, MaxBytes: 1 << 16}
		l, err := sources.ReadList(bytes.NewReader(data), cfg)
		if l == nil {
			if err == nil {
				t.Fatal("nil list without error")
			}
			return
		}
		out := writeList(l, format)
		l2, err := sources.ReadList(strings.NewReader(out), sources.FeedConfig{Name: "fuzz", Format: format, Strict: true})
		if err != nil {
			t.Fatalf("reparse of\n%s\nfailed: %v", out, err)
		}
		if diff := cmp.Diff(entriesOf(l), entriesOf(l2), cmpAddr); diff != "" {
			t.Fatalf("round trip changed the set (-first +second):\n%s\nserialised:\n%s", diff, out)
		}
	})
}

func FuzzReadListPlain(f *testing.F) {
	fuzzList(f, sources.FormatPlain, "192.0.2.0/24\n# c\n2001:db8::/32 ; x\n198.51.100.1-198.51.100.9\n", "192.0.2.1\n192.0.2.2\n192.0.2.0/31\n", "\x00\xff\n::ffff:192.0.2.1\n")
}

func FuzzReadListDROP(f *testing.F) {
	fuzzList(f, sources.FormatDROP, `{"cidr":"192.0.2.0/24","sblid":"SBL1","rir":"arin"}`+"\n"+`{"type":"metadata","timestamp":1}`, "; Spamhaus\n192.0.2.0/24 ; SBL2\n192.0.2.0/25 ; SBL3\n")
}

func FuzzReadListIPsum(f *testing.F) {
	fuzzList(f, sources.FormatIPsum, "# IPsum\n192.0.2.1\t3\n192.0.2.2\t3\n2001:db8::1\t1\n")
}

func FuzzReadMirror(f *testing.F) {
	types := []sources.Dataset{sources.DatasetIP4Set, sources.DatasetIP4TSet, sources.DatasetIP4Trie, sources.DatasetIP6Trie, sources.DatasetIP6TSet}
	f.Add(uint8(0), []byte(":127.0.0.3:Listed $ $1\n$1 x\n192.0.2.0/24\n!192.0.2.5\n192.0.2.7 :5:\n10.16-31 text\n"))
	f.Add(uint8(1), []byte(":2:x $\n192.0.2.1\n192.0.2.9 :4:y\n"))
	f.Add(uint8(2), []byte("0/0 :3:all\n!192.0.2.0/24\n192.0.2.128/25 :=base\n$= b $= $\n"))
	f.Add(uint8(3), []byte(":127.0.1.2: see $\n2001:db8::/32\n!2001:db8::5\n2001:db8:1:2 :4:v6\n::1\n"))
	f.Add(uint8(4), []byte("2001:db8:1:2\n!2001:db8:1:2::5\n"))
	f.Fuzz(func(t *testing.T, ti uint8, data []byte) {
		typ := types[int(ti)%len(types)]
		m, err := sources.ReadMirror(bytes.NewReader(data), sources.MirrorConfig{Type: typ, MaxBytes: 1 << 16})
		if m == nil {
			if err == nil {
				t.Fatal("nil mirror without error")
			}
			return
		}
		var b bytes.Buffer
		typ2 := sources.WriteMirror(m, &b)
		whole := sources.PrefixAll(m.Info().IPv6)
		want, wantErr := m.LookupPrefix(t.Context(), whole)
		m2, err := sources.ReadMirror(bytes.NewReader(b.Bytes()), sources.MirrorConfig{Type: typ2})
		if wantErr != nil {
			// An answer the zone info cannot decode (outside 127/8): the
			// reloaded zone must fail the same way.
			if !errors.Is(wantErr, sources.ErrBogusAnswer) {
				t.Fatalf("LookupPrefix: %v", wantErr)
			}
			if _, err := m2.LookupPrefix(t.Context(), whole); !errors.Is(err, sources.ErrBogusAnswer) {
				t.Fatalf("reloaded zone: err = %v, want ErrBogusAnswer", err)
			}
			return
		}
		if m2 == nil {
			if len(want) == 0 {
				return // everything excluded: nothing to round-trip
			}
			t.Fatalf("reload of\n%s\nfailed: %v", b.String(), err)
		}
		got, err := m2.LookupPrefix(t.Context(), whole)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmpAddr); diff != "" {
			t.Fatalf("round trip changed the zone (-first +second):\n%s\nserialised:\n%s", diff, b.String())
		}
	})
}
