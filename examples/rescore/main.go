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
// committed in one transaction, so a run is either entirely in the store or
// not at all. A run interrupted by a signal, or in which no source (or no
// DNSBL zone, when zones are configured) was usable, is not recorded: its
// reports would make every listing look delisted next time. The store is
// locked while a run uses it; other readers may open it between runs.
//
// -keep-runs N keeps the events and run records of the last N runs only
// (older ones are deleted in the commit of each run; the blocks' latest
// reports are always kept). Without it the log grows with every run that
// changes anything.
//
// # Event contract
//
// Events are printed only after their run is committed. Every printed event
// is in the store under its (run, seq), and a (run, seq) never names another
// event: a run that is killed before its commit prints nothing and leaves
// no trace, and the next run scores afresh under the same run id (with the
// answers of that moment, which may differ: live DNSBL answers change).
//
// A run killed after its commit, or while printing, has recorded events
// that the consumer may not have read. -replay-since RUN prints the
// committed events of the runs after RUN, in order, as a run prints them
// (with -json, byte for byte the same lines), and exits; it needs only -db.
// A consumer therefore keeps the highest run id it has read from a run that
// exited normally (status 0, 1 or 3), and after any other ending runs
// "rescore -db FILE -replay-since THAT_RUN", dropping the (run, seq) pairs
// it already has. Replaying runs deleted by -keep-runs is refused (exit 2).
//
// # Damaged stores
//
// An existing store is checked before it is used: its page structure is
// walked with bounds-checked reads (a truncated file is caught before bbolt
// maps it), then bbolt's consistency check (Tx.Check) runs, then every
// bucket, key and stored value is checked for its length and shape (a
// last_run of 8 bytes, a block key that is a canonical prefix, a report for
// that block, run ids not past the last run). Any damage is exit status 4
// with a message naming the file; an empty (0-byte) file is damage too, not
// a new history. A last run id of 2^64-1 cannot be followed and is exit 4.
// Damage in bytes the store never reads (free pages, padding) goes
// unnoticed and does no harm.
//
// # Metrics
//
// -metrics-file FILE writes, after each recorded run, the Prometheus
// metrics of that run (the families of the service's /metrics, see
// examples/internal/metrics, counting this run only, plus
// prefixvet_rescore_last_run and prefixvet_rescore_last_run_timestamp_seconds)
// in the text format of node_exporter's textfile collector. The file is
// written to a temporary file in the same directory and renamed, so the
// collector never reads half of it; name it *.prom in the collector's
// directory.
//
// # Source flags
//
// -resolver, -zones, -feed, -zonefile and the lease-check flags -vrps,
// -rir-stats, -origins, -asn-drop and -expect-origin select the sources as for
// the vet command (see examples/internal/setup). Files are read again at each
// run, so a file that changed between runs is picked up; a file given as a
// URL is refreshed with a conditional GET at most once an hour.
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
//	-keep-runs N      keep the events and run records of the last N runs only
//	-replay-since RUN print the committed events of the runs after RUN, exit
//	-metrics-file F   write each run's Prometheus metrics to F (textfile format)
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
//	2  usage or input error (bad flag; bad inventory lines, each reported
//	   with its line number, and the run does not happen: skipping a line
//	   would record its blocks as removed and drop their history)
//	4  store error (cannot open, lock or write the -db file, or it is
//	   damaged), or the -html pages could not be written (the run is
//	   recorded)
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
	"strconv"
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
	keepRuns     uint64
	replaySince  uint64
	replay       bool // -replay-since was given
	metricsFile  string
	hooks        hooks
}

// hooks let the crash tests stop the program at the points a crash could
// hit; nil hooks do nothing. Only tests set them (through runWithHooks, in a
// helper process that the test runs): main never does.
type hooks struct {
	beforeCommit func() // inside the commit transaction, after every write
	afterCommit  func() // after the commit, before the events are printed
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
	fs.Uint64Var(&o.keepRuns, "keep-runs", 0, "keep the events and run records of the last `N` runs only (0: keep all)")
	fs.Func("replay-since", "print the committed events of the runs after `RUN` and exit (0: all), to resynchronise a consumer", func(v string) error {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errors.New("want a run id (0 or more)")
		}
		o.replaySince, o.replay = n, true
		return nil
	})
	fs.StringVar(&o.metricsFile, "metrics-file", "", "write the Prometheus metrics of each run to `file` (node_exporter textfile format, atomically)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: rescore -inventory FILE -db FILE [source flags] [-once | -interval D] [flags]

rescore scores every block of an inventory, compares each report with the
previous run's (kept in the -db store) and prints what changed: new blocks,
verdict and score changes, newly listed, delisted, unconfirmed, newly unknown,
resolved and removed blocks.

Exit status (-once): 0 no block review, reject or incomplete; 1 some block
review or reject; 3 some block incomplete, or the run was not recorded;
2 usage or input error; 4 store error (including a damaged -db file) or
-html pages not written.
Events are printed only once their run is committed; after a run that did
not end normally, -replay-since RUN prints the committed events again.
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
	case o.replay && o.db == "":
		return nil, errors.New("-replay-since needs -db FILE, the history store")
	case o.replay && (o.interval != 0 || o.once):
		return nil, errors.New("-replay-since prints events and exits: drop -once and -interval")
	case o.replay:
		return o, nil
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
	return o, nil
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWithHooks(ctx, args, stdin, stdout, stderr, hooks{})
}

// runWithHooks is run with the crash tests' hooks.
func runWithHooks(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, h hooks) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "rescore: %v\n", err)
		return exitUsage
	}
	o.hooks = h
	if o.replay {
		return replay(o, stdout, stderr)
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
		// One line per bad inventory line.
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			fmt.Fprintf(stderr, "rescore: %v\n", e)
		}
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

	// Commit, then print: an event is printed only once it is in the
	// store, under a (run, seq) that is never given to another event. A
	// crash before the commit prints nothing (the next run scores afresh);
	// a crash after it is repaired with -replay-since.
	rec.Finished = time.Now().UTC()
	if err := st.commit(rec, events, put, removed, o.keepRuns, o.hooks.beforeCommit); err != nil {
		fmt.Fprintf(stderr, "rescore: run %d not recorded: %v\n", runID, err)
		return exitStore
	}
	if err := st.close(); err != nil {
		fmt.Fprintf(stderr, "rescore: %v\n", err)
		return exitStore
	}
	if o.hooks.afterCommit != nil {
		o.hooks.afterCommit()
	}
	if err := printEvents(stdout, events, o.jsonOut); err != nil {
		fmt.Fprintf(stderr, "rescore: writing events: %v; they are recorded: rescore -replay-since %d prints them again\n", err, runID-1)
	}
	if o.metricsFile != "" {
		if err := writeMetrics(o.metricsFile, srcs, reports, rec); err != nil {
			fmt.Fprintf(stderr, "rescore: -metrics-file: %v\n", err)
		}
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

// replay prints the committed events of the runs after o.replaySince.
func replay(o *options, stdout, stderr io.Writer) int {
	size, err := fileSize(o.db)
	if err == nil && size < 0 {
		err = fmt.Errorf("%s does not exist", o.db)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rescore: %v\n", err)
		return exitStore
	}
	st, err := openStore(o.db)
	if err != nil {
		fmt.Fprintf(stderr, "rescore: %v\n", err)
		return exitStore
	}
	defer st.close()
	first, err := st.firstRun()
	if err != nil {
		fmt.Fprintf(stderr, "rescore: %v\n", err)
		return exitStore
	}
	if first > 1 && o.replaySince+1 < first {
		fmt.Fprintf(stderr, "rescore: the events of runs %d to %d were deleted (-keep-runs); the oldest kept is run %d\n", o.replaySince+1, first-1, first)
		return exitUsage
	}
	events, last, err := st.eventsSince(o.replaySince)
	if err != nil {
		fmt.Fprintf(stderr, "rescore: %v\n", err)
		return exitStore
	}
	if err := printEvents(stdout, events, o.jsonOut); err != nil {
		fmt.Fprintf(stderr, "rescore: writing events: %v\n", err)
		return exitStore
	}
	fmt.Fprintf(stderr, "rescore: replayed %d events of runs %d to %d\n", len(events), o.replaySince+1, last)
	return exitOK
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
