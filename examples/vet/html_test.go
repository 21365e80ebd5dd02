package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
)

// demoPage runs vet -demo -json -html and returns the page and the -json
// lines of the same run.
func demoPage(t *testing.T) (page string, lines []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "demo.html")
	code, out, errOut := runVet(t, "", "-demo", "-json", "-html", path)
	if code != exitClean {
		t.Fatalf("vet -demo -json -html exited %d\nstderr:\n%s", code, errOut)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return string(b), lines
}

var (
	embeddedRE = regexp.MustCompile(`(?s)<script type="application/json" id="prefixvet-report">(.*?)</script>`)
	mapRE      = regexp.MustCompile(`(?s)<svg class="map[^>]*>(.*?)</svg>`)
	cellRE     = regexp.MustCompile(`<rect [^>]*data-state="([a-z]+)"`)
)

// checkPage checks a demo page (as written, or as a browser's DOM): one map
// per report with as many cells per state as the report says, and the
// embedded JSON equal, report for report, to the -json lines.
func checkPage(t *testing.T, page string, lines []string) {
	t.Helper()
	m := embeddedRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no embedded report JSON")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal([]byte(m[1]), &raws); err != nil {
		t.Fatalf("embedded JSON: %v", err)
	}
	if len(raws) != len(lines) {
		t.Fatalf("embedded JSON holds %d reports, vet -json printed %d", len(raws), len(lines))
	}
	maps := mapRE.FindAllStringSubmatch(page, -1)
	if len(maps) != len(lines) {
		t.Fatalf("%d maps, want %d", len(maps), len(lines))
	}
	for i, line := range lines {
		if string(raws[i]) != line {
			t.Errorf("report %d: embedded JSON differs from vet -json:\n page %.200s\n json %.200s", i+1, raws[i], line)
		}
		var r reputation.Report
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, c := range cellRE.FindAllStringSubmatch(maps[i][1], -1) {
			got[c[1]]++
		}
		if diff := cmp.Diff(reportCounts(&r), got); diff != "" {
			t.Errorf("%s: cells per state (-report +page):\n%s", r.Prefix, diff)
		}
	}
}

// reportCounts counts the report's addresses per state from its own
// fields: every address of a block walked in full, every checked /64 of a
// sampled IPv6 block (drawn again from the report's seed).
func reportCounts(r *reputation.Report) map[string]int {
	var cells []netip.Prefix
	if r.Sampled {
		for _, a := range prefix.SampleSubnets(r.Prefix, 64, r.AddressesChecked, r.Seed) {
			cells = append(cells, netip.PrefixFrom(a, 64).Masked())
		}
	} else {
		for a := range prefix.RangeOf(r.Prefix).All() {
			cells = append(cells, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	out := map[string]int{}
	for _, c := range cells {
		st := "clean"
		for _, u := range r.Unknown {
			if !u.Address.IsValid() || c.Contains(u.Address) {
				st = "unknown"
			}
		}
		for _, l := range r.Listings {
			if l.Address.IsValid() && c.Contains(l.Address) || l.Prefix.IsValid() && l.Prefix.Overlaps(c) {
				if l.Severity >= reputation.SeverityCritical {
					st = "critical"
					break
				}
				st = "listed"
			}
		}
		out[st]++
	}
	return out
}

func TestDemo_html(t *testing.T) {
	t.Parallel()
	page, lines := demoPage(t)
	checkPage(t, page, lines)
	for _, want := range []string{`<a href="#block-4">203.0.113.0/24</a>`, "forces reject", "refused.demo.example.org", "delisting page"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// needChromium returns the path of Debian's chromium, failing the test
// under CI=true (CI installs it) and skipping it otherwise when it is
// missing, as the rbldnsd tests do.
func needChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; it is required under CI=true (apt-get install chromium)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// consoleRE matches the lines in which chromium, run with
// --enable-logging=stderr, logs a page's console messages and uncaught
// exceptions ("INFO:CONSOLE:12] "Uncaught ReferenceError: ...", source: ...").
var consoleRE = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)

// loadPage loads file headless, without network, and returns the DOM after
// the page's script ran and the page's console lines.
func loadPage(t *testing.T, chromium, file string) (dom string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+t.TempDir(),
		"--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--enable-logging=stderr", "--v=0",
		"--dump-dom", "file://"+file)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	// Chromium's own pages log too ("Slow network is detected", source
	// chrome://...) on a busy machine: only the page's lines count.
	for _, l := range consoleRE.FindAllString(stderr.String(), -1) {
		if !strings.Contains(l, "source: chrome://") && !strings.Contains(l, "source: devtools://") {
			console = append(console, l)
		}
	}
	return string(out), console
}

// TestDemo_htmlInChromium loads the demo page in headless Chromium: no
// console message at all (an uncaught exception, a blocked load, a CSP
// violation all log one), the page's script ran (the CSP hash admits it),
// and the DOM has the cells and JSON that vet -json says.
func TestDemo_htmlInChromium(t *testing.T) {
	t.Parallel()
	chromium := needChromium(t)
	dir := t.TempDir()

	// The check is only as good as chromium's logging: a page with an
	// error must be seen to log one, or the real check would be blind.
	control := filepath.Join(dir, "control.html")
	if err := os.WriteFile(control, []byte(`<!DOCTYPE html><title>control</title><script>undefinedFunction();</script>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, console := loadPage(t, chromium, control); len(console) == 0 || !strings.Contains(console[0], "Uncaught ReferenceError") {
		t.Fatalf("chromium logged no console error for a page that throws (lines: %q): the console check cannot work", console)
	}

	page, lines := demoPage(t)
	file := filepath.Join(dir, "demo.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, console := loadPage(t, chromium, file)
	for _, c := range console {
		t.Errorf("console: %s", c)
	}
	if !strings.Contains(dom, `aria-pressed="false"`) || strings.Contains(dom, `class="key" data-key="clean" disabled`) {
		t.Errorf("the page's script did not run (legend keys still disabled)")
	}
	checkPage(t, dom, lines)
}

func TestDemo_htmlUnwritable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing-dir", "demo.html")
	code, _, errOut := runVet(t, "", "-demo", "-html", path)
	if code != exitUsage || !strings.Contains(errOut, "writing the HTML page") {
		t.Errorf("vet -demo -html into a missing directory: exit %d, stderr %q; want %d and the reason", code, errOut, exitUsage)
	}
}
