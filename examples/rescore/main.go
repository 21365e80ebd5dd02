// Command rescore is the periodic re-scoring job: it scores an inventory of
// IP blocks, compares each block's report with the one of the previous run,
// and prints what changed.
//
// Usage:
//
//	rescore -inventory FILE -db FILE [source flags] [-once | -interval D] [flags]
//
// The inventory lists one block per line in any form prefix.Parse accepts (a
// range expands to the CIDR blocks it spans), an optional label after white
// space, and # comments:
//
//	# block            label
//	198.51.100.0/24    mail relays
//	203.0.113.0/25     customer 4711
//
// Each run scores the whole inventory with one Scorer.ScoreAll call (one
// pool of lookups, one probe per source, shared lookups asked once) and
// compares each block's report with the stored one (reputation.Diff). It
// prints one event per change, as a line for people or, with -json, as one
// JSON object per line with the run id, sequence number, block, label, kind
// and details:
//
//	new          first sighting of a block, with its verdict and score
//	verdict      the verdict changed (with the scores before and after)
//	score        the score changed, the verdict did not
//	listed       a listing the previous run did not have
//	delisted     a listing the previous run had, now answered "not listed"
//	unconfirmed  a listing the previous run had that got no answer now (its
//	             source was not usable or not asked, or the lookup failed):
//	             not a delisting (reputation.Changes.Unconfirmed)
//	unknown      lookups of a source that newly got no answer
//	resolved     lookups of a source that failed before and got an answer now
//	removed      the block left the inventory; its history is dropped
//
// # History
//
// The history is a bbolt file (-db): per block the latest report and its
// label, an append-only event log keyed by (run id, sequence) and a summary
// per run. Runs get increasing ids. A run's events, reports and removals are
// committed in one transaction after they are printed: a run that is killed
// or crashes leaves the store as the previous run left it, and the next run
// redoes it under the same run id, printing the same events with the same
// (run, seq) keys, so a consumer of the output can de-duplicate on them. A run
// interrupted by a signal, or in which no source (or no DNSBL zone, when
// zones are configured) was usable, is not recorded: its reports would make
// every listing look delisted next time.
// The store is locked while a run uses it; other readers may open it between
// runs.
//
// # Source flags
//
// -resolver, -zones, -feed and -zonefile select the sources as for the vet
// command (see examples/internal/setup). Files are read again at each run, so
// a zone file or a feed file that changed between runs is picked up; a feed
// given as a URL is refreshed with a conditional GET at most once an hour.
//
// # Flags
//
//	-inventory FILE   the inventory ("-" for standard input); required
//	-db FILE          the history store; created if missing; required
//	-once             run once and exit (the default), for cron
//	-interval D       run every D (measured from the end of a run) until
//	                  SIGINT or SIGTERM
//	-json             print events as JSON lines
//	-html DIR         after each recorded run, write DIR/index.html (every
//	                  block's verdict, score and what changed in the run,
//	                  linking to its page) and one page per block with its
//	                  latest report (package reputation/htmlreport); files
//	                  are replaced atomically, pages of removed blocks deleted
//	-concurrency N    lookups in flight at once (default 64)
//	-timeout D        time limit of one lookup (default 5s)
//	-allow-special    score special-purpose space (documentation, private...)
//
// Progress goes to standard error for runs longer than two seconds: one line
// per 10% of the lookups or every five seconds, then one summary line per run.
//
// # Exit status
//
// With -once:
//
//	0  the run was recorded and no block is review, reject or incomplete
//	1  some block is review or reject
//	3  some block is incomplete (and none review or reject), or the run was
//	   not recorded (interrupted, or no source was usable)
//	2  usage or input error (bad flag, bad inventory line)
//	4  store error (cannot open, lock or write the -db file), or the -html
//	   pages could not be written (the run is recorded)
//
// With -interval, rescore runs until a signal and then exits 0 (3 if the
// signal interrupted a run); a store error ends it with 4, and an input
// error in the first run with 2 (in later runs it is reported and the run
// skipped).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/prefixvet/prefixvet/examples/internal/setup"
	"github.com/prefixvet/prefixvet/reputation"
)

// Exit statuses.
const (
	exitOK         = 0
	exitListed     = 1
	exitUsage      = 2
	exitIncomplete = 3
	exitStore      = 4
)

// crashEnv names the test hook: when it is "before-commit", rescore exits
// with status 1 inside the commit transaction, after writing everything and
// before committing, as a crash would.
const crashEnv = "PREFIXVET_RESCORE_CRASH"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the parsed command line.
type options struct {
	src          setup.Flags
	inventory    string
	db           string
	once         bool
	interval     time.Duration
	jsonOut      bool
	htmlDir      string
	concurrency  int
	timeout      time.Duration
	allowSpecial bool
	beforeCommit func() // test hook, from crashEnv
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("rescore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.src.Register(fs)
	fs.StringVar(&o.inventory, "inventory", "", "inventory `file`: one block per line, an optional label, # comments (\"-\" for standard input)")
	fs.StringVar(&o.db, "db", "", "history store `file` (bbolt), created if missing")
	fs.BoolVar(&o.once, "once", false, "run once and exit (the default; for cron)")
	fs.DurationVar(&o.interval, "interval", 0, "run every `D` (from the end of a run) until SIGINT or SIGTERM")
	fs.BoolVar(&o.jsonOut, "json", false, "print change events as JSON lines")
	fs.StringVar(&o.htmlDir, "html", "", "after each recorded run, write an index page and one page per block into `DIR`")
	fs.IntVar(&o.concurrency, "concurrency", reputation.DefaultConcurrency, "lookups in flight at once")
	fs.DurationVar(&o.timeout, "timeout", reputation.DefaultTimeout, "time limit of one lookup")
	fs.BoolVar(&o.allowSpecial, "allow-special", false, "score special-purpose space (private, documentation, ...) instead of refusing it")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: rescore -inventory FILE -db FILE [source flags] [-once | -interval D] [flags]

rescore scores every block of an inventory, compares each report with the
previous run's (kept in the -db store) and prints what changed: new blocks,
verdict and score changes, newly listed, delisted, unconfirmed, newly unknown,
resolved and removed blocks.

Exit status (-once): 0 no block review, reject or incomplete; 1 some block
review or reject; 3 some block incomplete, or the run was not recorded;
2 usage or input error; 4 store error or -html pages not written.
With -interval: 0 when stopped by a signal between runs, 3 when a signal
interrupted a run, 4 store error, 2 input error in the first run.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments %q: blocks go in the -inventory file", fs.Args())
	case o.inventory == "":
		return nil, errors.New("missing -inventory FILE (one block per line)")
	case o.db == "":
		return nil, errors.New("missing -db FILE (the history store, created if missing)")
	case o.once && o.interval != 0:
		return nil, errors.New("-once and -interval exclude each other")
	case o.interval != 0 && o.inventory == "-":
		return nil, errors.New("-interval reads the inventory at every run: give a file, not \"-\"")
	case o.interval < 0:
		return nil, fmt.Errorf("-interval must be positive, got %s", o.interval)
	case o.concurrency < 1:
		return nil, fmt.Errorf("-concurrency must be at least 1, got %d", o.concurrency)
	case o.timeout <= 0:
		return nil, fmt.Errorf("-timeout must be positive, got %s", o.timeout)
	}
	if os.Getenv(crashEnv) == "before-commit" {
		o.beforeCommit = func() { os.Exit(1) }
	}
	return o, nil
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "rescore: %v\n", err)
		return exitUsage
	}
	if o.interval == 0 {
		return runOnce(ctx, o, stdin, stdout, stderr)
	}
	for first := true; ; first = false {
		code := runOnce(ctx, o, stdin, stdout, stderr)
		switch {
		case code == exitStore:
			return code
		case code == exitUsage && first:
			return code
		case ctx.Err() != nil && code == exitIncomplete:
			return exitIncomplete // the signal interrupted the run
		case ctx.Err() != nil:
			return exitOK // the run ended before the signal
		}
		t := time.NewTimer(o.interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return exitOK
		case <-t.C:
		}
	}
}

// runOnce does one run and returns its exit status.
func runOnce(ctx context.Context, o *options, stdin io.Reader, stdout, stderr io.Writer) int {
	started := time.Now().UTC()
	blocks, err := loadInventory(o.inventory, stdin, o.allowSpecial)
	if err != nil {
		fmt.Fprintf(stderr, "rescore: %v\n", err)
		return exitUsage
	}
	srcs, cleanup, err := o.src.Sources(ctx, stderr)
	defer cleanup()
	if err != nil {
		fmt.Fprintf(stderr, "rescore: %v\n", err)
		return exitUsage
	}
	st, err := openStore(o.db)
	if err != nil {
		fmt.Fprintf(stderr, "rescore: %v\n", err)
		return exitStore
	}
	defer st.close()
	prev, err := st.load()
	if err != nil {
		fmt.Fprintf(stderr, "rescore: %v\n", err)
		return exitStore
	}
	runID := prev.LastRun + 1

	prog := &progress{w: stderr, run: runID, start: time.Now()}
	s := &reputation.Scorer{
		Sources:      srcs,
		Concurrency:  o.concurrency,
		Timeout:      o.timeout,
		AllowSpecial: o.allowSpecial,
		// History must be exact: a listing left out of a report could not
		// be told from a delisting.
		MaxListings: -1,
	}
	ps := make([]netip.Prefix, len(blocks))
	for i, b := range blocks {
		ps[i] = b.Prefix
	}
	reports, err := s.ScoreAllWith(ctx, ps, reputation.ScoreOptions{Progress: prog.update})
	if err != nil {
		// Cancelled, or nothing could be asked: the reports say nothing
		// about the blocks, so they must not become the new baseline.
		fmt.Fprintf(stderr, "rescore: run %d not recorded: %v\n", runID, err)
		if len(reports) == 0 && ctx.Err() == nil {
			return exitUsage
		}
		return exitIncomplete
	}

	// Events: blocks in inventory order, then removed blocks.
	var events []event
	put := make(map[netip.Prefix]storedBlock, len(blocks))
	rec := runRecord{Run: runID, Started: started, Blocks: len(blocks), Verdicts: map[reputation.Verdict]int{}}
	for i, b := range blocks {
		cur := reports[i]
		rec.Verdicts[cur.Verdict]++
		old, seen := prev.Blocks[b.Prefix]
		sb := storedBlock{Label: b.Label, FirstRun: runID, LastRun: runID, Report: cur}
		var prevReport *reputation.Report
		if seen {
			sb.FirstRun, prevReport = old.FirstRun, old.Report
		}
		put[b.Prefix] = sb
		events = append(events, blockEvents(b, prevReport, cur)...)
	}
	var removed []netip.Prefix
	for p := range prev.Blocks {
		if _, ok := put[p]; !ok {
			removed = append(removed, p)
		}
	}
	slices.SortFunc(removed, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	for _, p := range removed {
		events = append(events, removedEvent(p, prev.Blocks[p]))
	}
	for i := range events {
		events[i].Run, events[i].Seq, events[i].Time = runID, i+1, started
	}
	rec.Events = len(events)

	// Print, then commit: a crash in between prints the events again on
	// the next run, under the same (run, seq), and never loses them.
	if err := printEvents(stdout, events, o.jsonOut); err != nil {
		fmt.Fprintf(stderr, "rescore: writing events: %v\n", err)
	}
	rec.Finished = time.Now().UTC()
	if err := st.commit(rec, events, put, removed, o.beforeCommit); err != nil {
		fmt.Fprintf(stderr, "rescore: run %d not recorded: %v\n", runID, err)
		return exitStore
	}
	if err := st.close(); err != nil {
		fmt.Fprintf(stderr, "rescore: %v\n", err)
		return exitStore
	}
	fmt.Fprintf(stderr, "rescore: run %d: %d blocks in %s (%s), %d events, recorded\n",
		runID, len(blocks), time.Since(prog.start).Round(time.Millisecond), verdictSummary(rec.Verdicts), len(events))
	if o.htmlDir != "" {
		if err := writePages(o.htmlDir, runID, started, blocks, reports, events, removed, prev); err != nil {
			fmt.Fprintf(stderr, "rescore: run %d recorded, but writing the -html pages failed: %v\n", runID, err)
			return exitStore
		}
	}
	return exitStatus(reports)
}

func printEvents(w io.Writer, events []event, jsonOut bool) error {
	for _, e := range events {
		if jsonOut {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
				return err
			}
			continue
		}
		label := ""
		if e.Label != "" {
			label = " (" + e.Label + ")"
		}
		if _, err := fmt.Fprintf(w, "run %d #%d %s%s %s\n", e.Run, e.Seq, e.Block, label, e.Text); err != nil {
			return err
		}
	}
	return nil
}

func verdictSummary(m map[reputation.Verdict]int) string {
	var out []byte
	for _, v := range []reputation.Verdict{reputation.VerdictClean, reputation.VerdictReview, reputation.VerdictReject, reputation.VerdictIncomplete} {
		if m[v] > 0 {
			if len(out) > 0 {
				out = append(out, ", "...)
			}
			out = fmt.Appendf(out, "%d %s", m[v], v)
		}
	}
	return string(out)
}

// exitStatus maps verdicts to the documented exit status.
func exitStatus(reports []*reputation.Report) int {
	code := exitOK
	for _, r := range reports {
		switch r.Verdict {
		case reputation.VerdictReview, reputation.VerdictReject:
			return exitListed
		case reputation.VerdictIncomplete:
			code = exitIncomplete
		}
	}
	return code
}

// progress prints a line to w at each 10% of the lookups or every five
// seconds, once the run has lasted two seconds.
type progress struct {
	w     io.Writer
	run   uint64
	start time.Time
	mu    sync.Mutex
	last  time.Time
	tenth int
}

const (
	progressAfter = 2 * time.Second
	progressEvery = 5 * time.Second
)

func (p *progress) update(pr reputation.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.start) < progressAfter || pr.Planned == 0 {
		return
	}
	tenth := pr.Done * 10 / pr.Planned
	if tenth == p.tenth && now.Sub(p.last) < progressEvery {
		return
	}
	p.tenth, p.last = tenth, now
	fmt.Fprintf(p.w, "rescore: run %d: %d/%d lookups (%d%%), %d listed, %d failed, %s\n",
		p.run, pr.Done, pr.Planned, pr.Done*100/pr.Planned, pr.Listed, pr.Errors, now.Sub(p.start).Round(time.Second))
}
