package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"

	"github.com/prefixvet/prefixvet/reputation"
)

// Zone and inventory contents of the two runs of a changing inventory.
const (
	zoneV1 = `# test zone (ip4set)
:127.0.0.2:Listed, see https://bl.example.org/$
192.0.2.7
`
	zoneV2 = `:127.0.0.2:Listed, see https://bl.example.org/$
192.0.2.9
203.0.113.0/30
`
	inventoryV1 = `# block           label
192.0.2.0/24       web
198.51.100.0/28    mail
203.0.113.0/30
`
	inventoryV2 = `192.0.2.0/24 web
203.0.113.0/30   # no label
198.51.100.64-198.51.100.191 new range
`
)

// fixture is a temporary directory with a zone file, an inventory and a
// store path.
type fixture struct {
	dir, zone, inventory, db string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, zone: filepath.Join(dir, "bl.zone"), inventory: filepath.Join(dir, "inventory.txt"), db: filepath.Join(dir, "history.db")}
	f.write(t, zoneV1, inventoryV1)
	return f
}

func (f *fixture) write(t *testing.T, zone, inventory string) {
	t.Helper()
	if err := os.WriteFile(f.zone, []byte(zone), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.inventory, []byte(inventory), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) args(extra ...string) []string {
	return append([]string{"-zones", "none", "-zonefile", "ip4set:bl.example.org:" + f.zone,
		"-inventory", f.inventory, "-db", f.db, "-allow-special"}, extra...)
}

func runRescore(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// parseEvents decodes JSON event lines.
func parseEvents(t *testing.T, out string) []storedEvent {
	t.Helper()
	var evs []storedEvent
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e storedEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("event line %q does not parse: %v", sc.Text(), err)
		}
		evs = append(evs, e)
	}
	return evs
}

// storedEvent is an event as read back from JSON.
type storedEvent struct {
	Run     uint64             `json:"run"`
	Seq     int                `json:"seq"`
	Time    time.Time          `json:"time"`
	Block   string             `json:"block"`
	Label   string             `json:"label"`
	Kind    string             `json:"kind"`
	Verdict reputation.Verdict `json:"verdict"`
	Score   float64            `json:"score"`
	Details json.RawMessage    `json:"details"`
	Text    string             `json:"text"`
}

// summary reduces an event to "run/seq block label kind subject".
func (e storedEvent) summary(t *testing.T) string {
	t.Helper()
	subject := string(e.Verdict)
	switch e.Kind {
	case kindListed, kindDelisted, kindUnconfirmed:
		var l listingChange
		if err := json.Unmarshal(e.Details, &l); err != nil {
			t.Fatalf("details of %s event: %v", e.Kind, err)
		}
		subject = l.Prefix.String()
		if l.Address.IsValid() {
			subject = l.Address.String()
		}
		subject += " " + l.Source
	case kindVerdict:
		var v verdictChange
		if err := json.Unmarshal(e.Details, &v); err != nil {
			t.Fatalf("details of verdict event: %v", err)
		}
		subject = fmt.Sprintf("%s->%s %.2f->%.2f", v.Before, v.After, v.ScoreBefore, v.ScoreAfter)
	}
	return fmt.Sprintf("%d/%d %s [%s] %s %s", e.Run, e.Seq, e.Block, e.Label, e.Kind, subject)
}

func summaries(t *testing.T, evs []storedEvent) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.summary(t))
	}
	return out
}

// The run-1 and run-2 events of the fixture.
var (
	wantRun1 = []string{
		"1/1 192.0.2.0/24 [web] new clean",
		"1/2 198.51.100.0/28 [mail] new clean",
		"1/3 203.0.113.0/30 [] new clean",
	}
	wantRun2 = []string{
		"2/1 192.0.2.0/24 [web] listed 192.0.2.9/32 bl.example.org (local)",
		"2/2 192.0.2.0/24 [web] delisted 192.0.2.7/32 bl.example.org (local)",
		"2/3 203.0.113.0/30 [] verdict clean->review 100.00->75.00",
		"2/4 203.0.113.0/30 [] listed 203.0.113.0/30 bl.example.org (local)",
		"2/5 198.51.100.64/26 [new range] new clean",
		"2/6 198.51.100.128/26 [new range] new clean",
		"2/7 198.51.100.0/28 [mail] removed clean",
	}
)

func TestRunTracksChangesOfAChangingZone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	code, out, stderr := runRescore(t, f.args("-once")...)
	if code != exitOK {
		t.Fatalf("run 1: exit %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	// Human output: one line per event.
	wantLines := []string{
		"run 1 #1 192.0.2.0/24 (web) new block: clean, score 97.41",
		"run 1 #2 198.51.100.0/28 (mail) new block: clean, score 100.00",
		"run 1 #3 203.0.113.0/30 new block: clean, score 100.00",
	}
	if diff := cmp.Diff(wantLines, strings.Split(strings.TrimSpace(out), "\n")); diff != "" {
		t.Errorf("run 1 output (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr, "run 1: 3 blocks") || !strings.Contains(stderr, "recorded") {
		t.Errorf("run 1 stderr lacks the summary line:\n%s", stderr)
	}

	f.write(t, zoneV2, inventoryV2)
	code, out, stderr = runRescore(t, f.args("-json")...)
	if code != exitListed {
		t.Fatalf("run 2: exit %d, want %d (a block is review); stderr:\n%s", code, exitListed, stderr)
	}
	if diff := cmp.Diff(wantRun2, summaries(t, parseEvents(t, out))); diff != "" {
		t.Errorf("run 2 events (-want +got):\n%s", diff)
	}

	// Nothing changed: no event, the same exit status.
	code, out, stderr = runRescore(t, f.args("-json")...)
	if code != exitListed || out != "" {
		t.Errorf("run 3: exit %d, output %q; want %d and no event; stderr:\n%s", code, out, exitListed, stderr)
	}

	h := readHistory(t, f.db)
	if h.lastRun != 3 || len(h.runs) != 3 {
		t.Errorf("store: last run %d, %d run records; want 3 and 3", h.lastRun, len(h.runs))
	}
	if diff := cmp.Diff(append(slicesClone(wantRun1), wantRun2...), summaries(t, h.events)); diff != "" {
		t.Errorf("stored events (-want +got):\n%s", diff)
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// history is the content of a store, read with a read-only open.
type history struct {
	lastRun uint64
	events  []storedEvent
	runs    []runRecord
	blocks  map[string]storedBlock
}

func readHistory(t *testing.T, path string) history {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("opening the store read-only: %v", err)
	}
	defer db.Close()
	h := history{blocks: map[string]storedBlock{}}
	err = db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta()).Get(keyLastRun()); v != nil {
			h.lastRun = binary.BigEndian.Uint64(v)
		}
		if err := tx.Bucket(bucketEvents()).ForEach(func(k, v []byte) error {
			var e storedEvent
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if !bytes.Equal(k, eventKey(e.Run, e.Seq)) {
				return fmt.Errorf("event key %x does not match run %d seq %d", k, e.Run, e.Seq)
			}
			h.events = append(h.events, e)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketRuns()).ForEach(func(k, v []byte) error {
			var r runRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			h.runs = append(h.runs, r)
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketBlocks()).ForEach(func(k, v []byte) error {
			var b storedBlock
			if err := json.Unmarshal(v, &b); err != nil {
				return err
			}
			h.blocks[string(k)] = b
			return nil
		})
	})
	if err != nil {
		t.Fatalf("reading the store: %v", err)
	}
	return h
}

// listedIn returns the listed addresses or extents of a stored report.
func listedIn(b storedBlock) []string {
	out := []string{}
	for _, l := range b.Report.Listings {
		if l.Address.IsValid() {
			out = append(out, l.Address.String())
		} else {
			out = append(out, l.Prefix.String())
		}
	}
	return out
}

func TestInputErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		inventory string
		args      []string // after the fixture's; nil means the fixture's
		want      []string // substrings of stderr
		code      int
	}{
		{name: "bad_prefix", inventory: "192.0.2.0/24\n# fine\n192.0.2.300/24 oops\n", want: []string{"inventory.txt:3:", `prefix.Parse("192.0.2.300/24")`, "one block per line"}, code: exitUsage},
		{name: "host_bits_set", inventory: "192.0.2.1/24\n", want: []string{"inventory.txt:1:", "192.0.2.0/24"}, code: exitUsage},
		{name: "duplicate_block", inventory: "192.0.2.0/24 a\n192.0.2.0-192.0.2.255 b\n", want: []string{"inventory.txt:2:", "already listed on line 1"}, code: exitUsage},
		{name: "empty", inventory: "# nothing\n\n", want: []string{"lists no block"}, code: exitUsage},
		{name: "special_without_flag", inventory: "192.0.2.0/24\n", args: []string{"-once"}, want: []string{"inventory.txt:1:", "special-purpose", "-allow-special"}, code: exitUsage},
		{name: "once_and_interval", inventory: "192.0.2.0/24\n", args: []string{"-once", "-interval", "1m"}, want: []string{"exclude each other"}, code: exitUsage},
		{name: "extra_arguments", inventory: "192.0.2.0/24\n", args: []string{"192.0.2.0/24"}, want: []string{"-inventory file"}, code: exitUsage},
		{name: "over_long_line", inventory: "192.0.2.0/24\n" + strings.Repeat("x", 70000) + "\n", want: []string{"inventory.txt:2: line longer than 4096 bytes"}, code: exitUsage},
		{name: "bad_zonefile", inventory: "192.0.2.0/24\n", args: []string{"-zonefile", "nonsense"}, want: []string{"TYPE:ZONE:PATH"}, code: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.write(t, zoneV1, tt.inventory)
			args := f.args(tt.args...)
			if tt.name == "special_without_flag" {
				args = []string{"-zones", "none", "-zonefile", "ip4set:bl.example.org:" + f.zone, "-inventory", f.inventory, "-db", f.db, "-once"}
			}
			code, out, stderr := runRescore(t, args...)
			if code != tt.code || out != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") > 0 || len(stderr) > 1000 {
				t.Errorf("stderr has more than one line:\n%s", stderr)
			}
		})
	}
}

// Every bad line is reported with its number, not only the first; the run
// does not happen (a skipped line would drop its blocks' history).
func TestEveryBadInventoryLineIsReported(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write(t, zoneV1, "192.0.2.0/24\nnonsense\n198.51.100.0/24\n"+strings.Repeat("y", 5000)+"\n192.0.2.0/24 again\n")
	code, out, stderr := runRescore(t, f.args()...)
	if code != exitUsage || out != "" {
		t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, exitUsage)
	}
	for _, w := range []string{"inventory.txt:2: prefix.Parse", "inventory.txt:4: line longer", "inventory.txt:5: block 192.0.2.0/24 is already listed on line 1"} {
		if !strings.Contains(stderr, "rescore: "+f.inventory+w[len("inventory.txt"):]) {
			t.Errorf("stderr lacks a line for %q:\n%s", w, stderr)
		}
	}
	if _, err := os.Stat(f.db); err == nil {
		t.Errorf("the store was created although the run did not happen")
	}
}

func TestMissingFlagsAndFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name string
		args []string
		want string
		code int
	}{
		{name: "no_inventory", args: []string{"-db", f.db}, want: "missing -inventory", code: exitUsage},
		{name: "no_db", args: []string{"-inventory", f.inventory}, want: "missing -db", code: exitUsage},
		{name: "inventory_not_found", args: []string{"-zones", "none", "-zonefile", "ip4set:bl.example.org:" + f.zone, "-inventory", filepath.Join(f.dir, "nope.txt"), "-db", f.db}, want: "nope.txt", code: exitUsage},
		{name: "help", args: []string{"-h"}, want: "Exit status", code: exitOK},
		{name: "interval_with_stdin", args: []string{"-inventory", "-", "-db", f.db, "-interval", "1m"}, want: "not \"-\"", code: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runRescore(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

func TestStoreErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := os.WriteFile(f.db, bytes.Repeat([]byte("not a bbolt file "), 512), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runRescore(t, f.args()...)
	if code != exitStore || out != "" || !strings.Contains(stderr, "store:") {
		t.Errorf("garbage store: exit %d, stdout %q, stderr %q; want %d, nothing, a store error", code, out, stderr, exitStore)
	}
	data, err := os.ReadFile(f.db)
	if err != nil || !bytes.HasPrefix(data, []byte("not a bbolt file")) {
		t.Errorf("the garbage store was modified (%v)", err)
	}
}

// signalWriter is a goroutine-safe buffer that calls onLine for each
// complete line written.
type signalWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	onLine func(string)
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if strings.HasSuffix(line, "\n") {
			w.onLine(line)
		}
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestIntervalRunsUntilCancelled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	stderr := &signalWriter{onLine: func(line string) {
		if strings.Contains(line, "run 2:") && strings.Contains(line, "recorded") {
			cancel() // the "signal", between runs
		}
	}}
	var stdout bytes.Buffer
	code := run(ctx, f.args("-interval", "10ms"), strings.NewReader(""), &stdout, stderr)
	if code != exitOK {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("the loop did not reach run 2 in 30s; stderr:\n%s", stderr)
	}
	h := readHistory(t, f.db)
	if h.lastRun != 2 || len(h.events) != len(wantRun1) {
		t.Errorf("store after two runs without change: last run %d, %d events; want 2 and %d", h.lastRun, len(h.events), len(wantRun1))
	}
	if got := strings.Count(stdout.String(), "\n"); got != len(wantRun1) {
		t.Errorf("%d event lines printed, want %d:\n%s", got, len(wantRun1), stdout.String())
	}
}

func TestProgressLines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := &progress{w: &buf, run: 7, start: time.Now().Add(-3 * time.Second)}
	for _, done := range []int{0, 5, 10, 12, 50, 100} {
		p.update(reputation.Progress{Planned: 100, Done: done, Listed: 1})
	}
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"0/100 lookups (0%)", "10/100 lookups (10%)", "50/100 lookups (50%)", "100/100 lookups (100%)"}
	if len(got) != len(want) {
		t.Fatalf("%d progress lines, want %d:\n%s", len(got), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], "rescore: run 7: "+w+", 1 listed, 0 failed") {
			t.Errorf("line %d = %q, want it to report %q", i, got[i], w)
		}
	}
	// Short runs print nothing.
	buf.Reset()
	quiet := &progress{w: &buf, run: 1, start: time.Now()}
	quiet.update(reputation.Progress{Planned: 10, Done: 10})
	if buf.Len() != 0 {
		t.Errorf("a run shorter than %s printed progress: %q", progressAfter, buf.String())
	}
}

// refusingDNS starts a DNS server on 127.0.0.1 that refuses every query.
func refusingDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			m.SetRcode(r, dns.RcodeRefused)
			w.WriteMsg(m) //nolint:errcheck // a lost answer fails the test elsewhere
		})}
	go srv.ActivateAndServe() //nolint:errcheck // stopped by Shutdown
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestRunWithoutUsableSourceIsNotRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if code, _, stderr := runRescore(t, f.args()...); code != exitOK {
		t.Fatalf("run 1: exit %d; stderr:\n%s", code, stderr)
	}
	zones := filepath.Join(f.dir, "zones.json")
	if err := os.WriteFile(zones, []byte(`[{"zone": "bl.example.org", "ipv4": true}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	// The same blocks, asked of a DNSBL whose resolver refuses: nothing can
	// be asked, and the run must not become the baseline (it would report
	// every listing as delisted next time).
	code, out, stderr := runRescore(t, "-resolver", refusingDNS(t), "-zones", zones, "-timeout", "2s",
		"-inventory", f.inventory, "-db", f.db, "-allow-special")
	if code != exitIncomplete || out != "" {
		t.Errorf("exit %d, stdout %q; want %d and no event", code, out, exitIncomplete)
	}
	if !strings.Contains(stderr, "run 2 not recorded") || !strings.Contains(stderr, "no usable sources") {
		t.Errorf("stderr does not say why the run was not recorded:\n%s", stderr)
	}
	h := readHistory(t, f.db)
	if h.lastRun != 1 || len(h.events) != len(wantRun1) {
		t.Errorf("store: last run %d, %d events; want run 1's state", h.lastRun, len(h.events))
	}
	if got := listedIn(h.blocks["192.0.2.0/24"]); !cmp.Equal(got, []string{"192.0.2.7/32"}) {
		t.Errorf("192.0.2.0/24 listings %v, want run 1's", got)
	}
}
