package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// helperEnv tells the test binary, run again by a crash test, to act as
// rescore with a crash at the point it names (see TestHelperProcess).
const helperEnv = "RESCORE_TEST_HELPER"

// TestHelperProcess is not a test: the crash tests run the test binary
// again with helperEnv set, and it then runs rescore with the arguments
// after "--", killing itself (SIGKILL, as a crash or the OOM killer would)
// at the point the variable names:
//
//	before-commit  inside the commit transaction, after every write
//	after-commit   after the commit, before any event is printed
//	mid-print      after the first event line is written
//	none           no crash
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("run by the crash tests")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	crash := func() {
		syscall.Kill(os.Getpid(), syscall.SIGKILL) //nolint:errcheck // the process is gone
		select {}
	}
	var h hooks
	var stdout io.Writer = os.Stdout
	switch mode {
	case "before-commit":
		h.beforeCommit = crash
	case "after-commit":
		h.afterCommit = crash
	case "mid-print":
		stdout = &crashAfterLine{w: os.Stdout, crash: crash}
	case "none":
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, mode)
		os.Exit(100)
	}
	os.Exit(runWithHooks(context.Background(), args, os.Stdin, stdout, os.Stderr, h))
}

// crashAfterLine writes to w and crashes after the first complete line.
type crashAfterLine struct {
	w     io.Writer
	crash func()
}

func (c *crashAfterLine) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if bytes.IndexByte(p[:n], '\n') >= 0 {
		c.crash()
	}
	return n, err
}

// helper runs rescore in a helper process that crashes at mode. It returns
// whether the process was killed, its exit status otherwise, and its
// output.
func helper(t *testing.T, mode string, args ...string) (killed bool, code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], append([]string{"-test.run=^TestHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running the helper: %v", err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return true, -1, out.String(), errb.String()
	}
	return false, cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// consumer follows the documented event contract: it keeps every event
// line it reads, de-duplicated on (run, seq); after a run that did not end
// normally it replays the committed events since the last run it saw end
// normally.
type consumer struct {
	t        *testing.T
	f        *fixture
	events   map[[2]uint64]storedEvent
	lastGood uint64
}

func (c *consumer) read(out string) uint64 {
	var maxRun uint64
	for _, e := range parseEvents(c.t, out) {
		k := [2]uint64{e.Run, uint64(e.Seq)}
		if old, ok := c.events[k]; ok && !cmp.Equal(old, e) {
			c.t.Errorf("event %v printed twice with different content:\n%+v\n%+v", k, old, e)
		}
		c.events[k] = e
		maxRun = max(maxRun, e.Run)
	}
	return maxRun
}

func (c *consumer) run(mode string) (killed bool, code int) {
	c.t.Helper()
	killed, code, out, stderr := helper(c.t, mode, c.f.args("-json")...)
	n := c.read(out)
	if killed {
		_, rcode, rout, rerr := helper(c.t, "none", "-db", c.f.db, "-json", "-replay-since", fmt.Sprint(c.lastGood))
		if rcode != exitOK {
			c.t.Fatalf("replay: exit %d; stderr:\n%s", rcode, rerr)
		}
		n = max(n, c.read(rout))
	} else if code == exitStore || code == exitUsage {
		c.t.Fatalf("run (%s): exit %d; stderr:\n%s", mode, code, stderr)
	}
	c.lastGood = max(c.lastGood, n)
	return killed, code
}

func (c *consumer) sorted() []storedEvent {
	var out []storedEvent
	for run := uint64(1); run <= 10; run++ {
		for seq := uint64(1); seq <= 100; seq++ {
			if e, ok := c.events[[2]uint64{run, seq}]; ok {
				out = append(out, e)
			}
		}
	}
	return out
}

const zoneV3 = `:127.0.0.2:Listed, see https://bl.example.org/$
192.0.2.0/26
`

// The event contract holds whatever the crash point: the events a consumer
// ends up with, following the documentation, are exactly the committed
// ones. In the issue, a run killed before its commit had printed "listed"
// events that the redo, on changed data, never committed.
func TestCrashesNeverLieToTheConsumer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := &consumer{t: t, f: f, events: map[[2]uint64]storedEvent{}}
	if killed, code := c.run("none"); killed || code != exitOK {
		t.Fatalf("run 1: killed %v, exit %d", killed, code)
	}

	// Killed before the commit: nothing printed, nothing stored.
	f.write(t, zoneV2, inventoryV2)
	killed, _, out, _ := helper(t, "before-commit", f.args("-json")...)
	if !killed || out != "" {
		t.Fatalf("killed before the commit: killed %v, printed %q; want killed and nothing printed", killed, out)
	}
	if h := readHistory(t, f.db); h.lastRun != 1 {
		t.Fatalf("after the crash the store is at run %d, want 1", h.lastRun)
	}
	// The data changed before the redo (live DNSBL answers do): run 2 is
	// what the redo saw, and the consumer never heard of the crashed run.
	f.write(t, zoneV3, inventoryV2)
	if killed, _ := c.run("none"); killed {
		t.Fatal("the redo was killed")
	}
	if diff := cmp.Diff(readHistory(t, f.db).events, c.sorted()); diff != "" {
		t.Errorf("after the redo (-stored +consumer):\n%s", diff)
	}
	if got := summaries(t, c.sorted()); !strings.Contains(strings.Join(got, "\n"), "192.0.2.0/24 [web] listed 192.0.2.32/27 bl.example.org (local)") {
		t.Errorf("run 2 is not the redo's view of the data:\n%s", strings.Join(got, "\n"))
	}

	// Killed after the commit, before printing, and killed in the middle
	// of printing: the consumer replays and misses nothing.
	for i, step := range []struct{ mode, zone string }{{"after-commit", zoneV2}, {"mid-print", zoneV1}} {
		f.write(t, step.zone, inventoryV1)
		if killed, _ := c.run(step.mode); !killed {
			t.Fatalf("%s: the helper was not killed", step.mode)
		}
		h := readHistory(t, f.db)
		if h.lastRun != uint64(3+i) {
			t.Fatalf("%s: store at run %d, want %d", step.mode, h.lastRun, 3+i)
		}
		if diff := cmp.Diff(h.events, c.sorted()); diff != "" {
			t.Errorf("%s: events (-stored +consumer):\n%s", step.mode, diff)
		}
	}
	if n := len(c.events); n < 10 {
		t.Errorf("only %d events in the whole history; the fixture should produce more", n)
	}
}
