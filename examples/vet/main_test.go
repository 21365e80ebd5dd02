package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
)

// runVet runs the program in-process and returns its exit status and output.
func runVet(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// reports decodes the JSON lines of -json output.
func reports(t *testing.T, out string) []reputation.Report {
	t.Helper()
	var rs []reputation.Report
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r reputation.Report
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("output line is not a report: %v\n%s", err, sc.Text())
		}
		rs = append(rs, r)
	}
	return rs
}

func TestDemo_everyVerdict(t *testing.T) {
	t.Parallel()
	code, out, errOut := runVet(t, "", "-demo", "-json")
	if code != exitClean {
		t.Fatalf("vet -demo -json exited %d, want 0\nstderr:\n%s", code, errOut)
	}
	rs := reports(t, out)
	blocks := demoBlocks()
	if len(rs) != len(blocks) {
		t.Fatalf("%d reports, want %d", len(rs), len(blocks))
	}
	for i, b := range blocks {
		if rs[i].Prefix != b.prefix || rs[i].Verdict != b.want {
			t.Errorf("report %d: %s %s, want %s %s", i, rs[i].Prefix, rs[i].Verdict, b.prefix, b.want)
		}
	}
	// Every report shows the two broken zones as not used, for the right reason.
	for _, r := range rs {
		status := map[string]reputation.Status{}
		for _, s := range r.Sources {
			status[s.Name] = s.Status
		}
		if status["refused.demo.example.org"] != reputation.StatusRefused || status["dead.demo.example.org"] != reputation.StatusDead {
			t.Errorf("%s: refused zone %q, dead zone %q", r.Prefix, status["refused.demo.example.org"], status["dead.demo.example.org"])
		}
		for _, l := range r.Listings {
			if l.Source == "refused.demo.example.org" || l.Source == "dead.demo.example.org" {
				t.Errorf("%s: listing from a zone that must not be scored: %+v", r.Prefix, l)
			}
		}
	}
	if !strings.Contains(errOut, "2001:db8:beef::/56") || strings.Contains(errOut, "UNEXPECTED") {
		t.Errorf("demo summary on stderr:\n%s", errOut)
	}
	// One report mixes DNSBL zones, a feed, a mirror, VRPs, delegated
	// statistics, origins and ASN-DROP; the lease blocks fail for the
	// registry and RPKI reasons alone.
	want := map[netip.Prefix][]string{
		netip.MustParsePrefix("203.0.113.0/24"):    {"spam", "hijacked", "allocation", "rpki-roa", "rir-delegated", "announced", "foreign-origin", "asn-drop"},
		netip.MustParsePrefix("2001:db8:a50::/48"): {"rpki-as0"},
		netip.MustParsePrefix("2001:db8:f00::/48"): {"rir-unallocated"},
	}
	for _, r := range rs {
		cats := map[string]reputation.Verdict{}
		for _, rs := range r.Reasons {
			cats[rs.Category] = rs.Forces
		}
		for _, c := range want[r.Prefix] {
			if _, ok := cats[c]; !ok {
				t.Errorf("%s: no %s reason; reasons %v", r.Prefix, c, cats)
			}
		}
		if r.Prefix.Addr().Is6() && r.Verdict == reputation.VerdictReject && cats[want[r.Prefix][0]] != reputation.VerdictReject {
			t.Errorf("%s: %s does not force the reject: %v", r.Prefix, want[r.Prefix][0], cats)
		}
	}
}

func TestDemo_textAndMap(t *testing.T) {
	t.Parallel()
	code, out, errOut := runVet(t, "", "-demo")
	if code != exitClean {
		t.Fatalf("vet -demo exited %d\nstderr:\n%s\nstdout:\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"203.0.113.0/24: REJECT",
		"198.51.100.0/24: REVIEW",
		"192.0.2.128/25: INCOMPLETE",
		// the map of 198.51.100.0/24: .7 listed, then .16-.31 (an allocation) plus .23 and .24
		"  198.51.100.0     .......x........\n  198.51.100.16    xxxxxxxxxxxxxxxx\n",
		"  192.0.2.128      ????????????????\n",
		"  203.0.113.0      ################\n",
		"Demo summary:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	for i, line := range strings.Split(out, "\n") {
		if len(line) > 80 {
			t.Errorf("line %d is %d columns wide: %q", i+1, len(line), line)
		}
	}
	_, noMap, _ := runVet(t, "", "-demo", "-no-map")
	if strings.Contains(noMap, "map:") {
		t.Error("-no-map still draws maps")
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string // in the one-line message
	}{
		{"no_block", nil, "no block given"},
		{"unknown_flag", []string{"-frobnicate", "192.0.2.0/24"}, "flag provided but not defined"},
		{"garbage", []string{"-zones", "none", "-feed", "testdata/feed.txt", "not-an-address"}, `prefix.Parse("not-an-address")`},
		{"host_bits", []string{"-zones", "none", "-feed", "testdata/feed.txt", "203.0.113.5/24"}, "did you mean 203.0.113.0/24"},
		{"special_space", []string{"-zones", "none", "-feed", "testdata/feed.txt", "10.0.0.0/24"}, "use -allow-special"},
		{"dead_zone", []string{"-zones", "dnsbl.sorbs.net", "-allow-special", "192.0.2.0/24"}, "sorbs"},
		{"unknown_zone", []string{"-zones", "nosuch.example.org", "-allow-special", "192.0.2.0/24"}, "nosuch.example.org"},
		{"missing_feed", []string{"-zones", "none", "-feed", "testdata/nosuch.txt", "-allow-special", "192.0.2.0/24"}, "nosuch.txt"},
		{"bad_zonefile_spec", []string{"-zones", "none", "-zonefile", "ip4set:bl.example.org", "-allow-special", "192.0.2.0/24"}, "TYPE:ZONE:PATH"},
		{"bad_dataset", []string{"-zones", "none", "-zonefile", "ip9set:bl.example.org:testdata/bl.zone", "-allow-special", "192.0.2.0/24"}, "ip9set"},
		{"no_sources", []string{"-zones", "none", "-allow-special", "192.0.2.0/24"}, "no sources"},
		{"demo_with_args", []string{"-demo", "192.0.2.0/24"}, "-demo"},
		{"bad_concurrency", []string{"-concurrency", "0", "192.0.2.0/24"}, "-concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runVet(t, "", tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, exitUsage, errOut)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q does not mention %q", errOut, tt.want)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Errorf("stack trace on stderr: %q", errOut)
			}
		})
	}
}

// Local sources only: a feed and an rbldnsd-format zone file from testdata.
func TestExitStatus_localSources(t *testing.T) {
	t.Parallel()
	local := []string{"-zones", "none", "-feed", "plain:testdata/feed.txt", "-zonefile", "ip4set:bl.example.org:testdata/bl.zone", "-allow-special", "-json"}
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  int
		n     int
	}{
		{"clean", []string{"192.0.2.0/25"}, "", exitClean, 1},
		{"listed", []string{"198.51.100.0/24"}, "", exitListed, 1},
		{"range_spans_blocks", []string{"192.0.2.0-192.0.2.191"}, "", exitClean, 2},
		{"stdin", []string{"-"}, "# inventory\n192.0.2.0/26\n198.51.100.0/24 ; the listed one\n\n", exitListed, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runVet(t, tt.stdin, append(local, tt.args...)...)
			if code != tt.want {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.want, errOut)
			}
			if rs := reports(t, out); len(rs) != tt.n {
				t.Errorf("%d reports, want %d", len(rs), tt.n)
			}
		})
	}
}

// A resolver that answers nothing: every zone is unreachable, the verdict is
// incomplete (never clean) and the error says why, once.
func TestExitStatus_deadResolver(t *testing.T) {
	t.Parallel()
	code, out, errOut := runVet(t, "", "-resolver", "127.0.0.1:1", "-zones", "testdata/zones.json", "-timeout", "300ms", "-allow-special", "-json", "192.0.2.0/28")
	if code != exitIncomplete {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitIncomplete, errOut)
	}
	rs := reports(t, out)
	if len(rs) != 1 || rs[0].Verdict != reputation.VerdictIncomplete {
		t.Fatalf("reports %+v, want one incomplete", rs)
	}
	if !strings.Contains(errOut, "no usable sources") || !strings.Contains(errOut, "hint: ") || strings.Count(errOut, "\n") > 3 {
		t.Errorf("stderr should be one clear error naming the unusable sources, got:\n%s", errOut)
	}
}

// The same dead resolver next to a feed: the feed alone says nothing is
// listed, but with no DNSBL zone answering that is not "clean".
func TestExitStatus_deadResolverWithFeed(t *testing.T) {
	t.Parallel()
	code, out, errOut := runVet(t, "", "-resolver", "127.0.0.1:1", "-zones", "testdata/zones.json", "-feed", "testdata/feed.txt",
		"-timeout", "300ms", "-allow-special", "-json", "192.0.2.0/28")
	if code != exitIncomplete {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitIncomplete, errOut)
	}
	if rs := reports(t, out); len(rs) != 1 || rs[0].Verdict != reputation.VerdictIncomplete {
		t.Fatalf("reports %+v, want one incomplete", rs)
	}
	if !strings.Contains(errOut, "no usable DNSBL zone") {
		t.Errorf("stderr does not say that no zone was usable:\n%s", errOut)
	}
}

// The program as a user runs it: built, with exit statuses seen by the shell.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "vet")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-demo", "-no-map")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vet -demo: %v", err)
	}
	if !bytes.Contains(out, []byte("Demo summary:")) {
		t.Errorf("vet -demo printed no summary:\n%s", out)
	}
	err = exec.Command(bin, "203.0.113.5/24").Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitUsage {
		t.Errorf("vet with a bad block: %v, want exit status %d", err, exitUsage)
	}
	help, _ := exec.Command(bin, "-h").CombinedOutput()
	if !bytes.Contains(help, []byte("Exit status")) {
		t.Errorf("vet -h does not document the exit status:\n%s", help)
	}
}

func TestParseQueryName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     netip.Addr
	}{
		{"v4", "99.2.0.192", netip.MustParseAddr("192.0.2.99")},
		{"v6_rfc5782", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2", netip.MustParseAddr("2001:db8:1:2:3:4:567:89ab")},
		{"v6_test_point", "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0", netip.MustParseAddr("::ffff:7f00:2")},
		{"leading_zero", "099.2.0.192", netip.Addr{}},
		{"too_few", "2.0.192", netip.Addr{}},
		{"octet_too_big", "256.2.0.192", netip.Addr{}},
		{"wide_nibble", "bb.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2", netip.Addr{}},
		{"empty", "", netip.Addr{}},
	}
	for _, tt := range tests {
		if got := parseQueryName(tt.in); got != tt.want {
			t.Errorf("%s: parseQueryName(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

func FuzzParseQueryName(f *testing.F) {
	f.Add("99.2.0.192")
	f.Add("2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0")
	f.Fuzz(func(t *testing.T, s string) {
		a := parseQueryName(s)
		if !a.IsValid() {
			return
		}
		// Whatever it accepts is exactly the query name of what it returns.
		want := strings.TrimSuffix(string(prefix.AppendQueryName(nil, a, "z")), ".z")
		if !strings.EqualFold(want, s) {
			t.Errorf("parseQueryName(%q) = %v, whose query name is %q", s, a, want)
		}
	})
}
