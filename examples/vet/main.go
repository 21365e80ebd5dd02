// Command vet scores the reputation of IP blocks before they are leased.
//
// Usage:
//
//	vet [flags] PREFIX...
//	vet [flags] -          # read blocks from standard input, one per line
//	vet -demo              # a fully offline demonstration
//
// Each PREFIX may be written in any form prefix.Parse accepts: a CIDR block
// (203.0.113.0/24), a single address, a range (203.0.113.10-203.0.113.20,
// vetted as the CIDR blocks it spans), a netmask (203.0.113.0/255.255.255.0)
// or IPv6 in any notation.
//
// vet asks the DNSBL zones (by default the catalog's default set, through
// the system's resolver or -resolver), any feeds (-feed) and local zone
// mirrors (-zonefile), and the registry and routing files a lease check
// needs (-vrps, -rir-stats, -origins, -asn-drop, with -expect-origin naming
// the AS the block will be announced from), and prints per block its verdict,
// score, coverage, the reasons with their points, the sources not used and
// why, and for blocks of up to 256 addresses checked in full a 16×16 map of
// the block. With -html FILE it also writes every block of the run into one
// self-contained HTML page (package reputation/htmlreport): a summary table
// linking to each block's verdict, reasons, heat map, sources and listings,
// with the same JSON as -json embedded.
//
// Exit status:
//
//	0  every block is clean
//	1  some block is review or reject
//	3  no block is review or reject, but some block is incomplete
//	2  usage or input error: nothing was vetted, or some lines of standard
//	   input were bad (each is reported with its line number; the other
//	   blocks were vetted and printed), or the -html file could not be
//	   written
//
// With -demo, vet serves sample zones from an in-process DNS server on
// 127.0.0.1, vets one block per verdict, and exits 0 when every demo block
// got the verdict its data is built to show (1 otherwise).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prefixvet/prefixvet/examples/internal/lines"
	"github.com/prefixvet/prefixvet/examples/internal/setup"
	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/reputation/htmlreport"
)

// Exit statuses.
const (
	exitClean      = 0
	exitListed     = 1
	exitUsage      = 2
	exitIncomplete = 3
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
	concurrency  int
	timeout      time.Duration
	sample       int
	seed         uint64
	jsonOut      bool
	html         string
	demo         bool
	allowSpecial bool
	noMap        bool
	progress     bool
	blocks       []string
}

// usageError is an error in what the user typed: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("vet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.src.Register(fs)
	fs.IntVar(&o.concurrency, "concurrency", reputation.DefaultConcurrency, "lookups in flight at once")
	fs.DurationVar(&o.timeout, "timeout", reputation.DefaultTimeout, "time limit of one lookup")
	fs.IntVar(&o.sample, "sample", reputation.DefaultMaxAddrs, "blocks with more addresses are sampled down to this many")
	fs.Uint64Var(&o.seed, "seed", reputation.DefaultSeed, "sampling seed")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON report per line instead of tables")
	fs.StringVar(&o.html, "html", "", "also write every block into one self-contained HTML page `FILE`")
	fs.BoolVar(&o.demo, "demo", false, "run an offline demonstration against sample data shipped with vet")
	fs.BoolVar(&o.allowSpecial, "allow-special", false, "vet special-purpose space (private, documentation, ...) instead of refusing it")
	fs.BoolVar(&o.noMap, "no-map", false, "do not draw the per-address map of small blocks")
	fs.BoolVar(&o.progress, "progress", true, "show a progress bar on standard error when it is a terminal")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: vet [flags] PREFIX...   (or - to read blocks from standard input)
       vet -demo

vet scores the reputation of IP blocks before they are leased.

Exit status: 0 every block clean; 1 some block review or reject;
3 some block incomplete (and none review or reject); 2 usage or input error
(bad lines of standard input are reported with their numbers, the other
blocks are vetted and printed, and the status is 2), or the -html file could
not be written.
With -demo: 0 when every demo block got its expected verdict, 1 otherwise.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &usageError{err.Error()}
	}
	o.blocks = fs.Args()
	switch {
	case o.demo && len(o.blocks) > 0:
		return nil, usagef("-demo vets its own sample blocks; drop the arguments %q", o.blocks)
	case !o.demo && len(o.blocks) == 0:
		return nil, usagef("no block given: vet [flags] PREFIX... (try vet -demo, or vet -h)")
	case o.concurrency < 1:
		return nil, usagef("-concurrency must be at least 1, got %d", o.concurrency)
	case o.timeout <= 0:
		return nil, usagef("-timeout must be positive, got %s", o.timeout)
	case o.sample < 1:
		return nil, usagef("-sample must be at least 1, got %d", o.sample)
	}
	return o, nil
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitClean
	}
	if err != nil {
		fmt.Fprintf(stderr, "vet: %v\n", err)
		return exitUsage
	}
	if o.demo {
		return runDemo(ctx, o, stdout, stderr)
	}
	blocks, bad, err := readBlocks(o.blocks, stdin, o.allowSpecial)
	if err != nil {
		fmt.Fprintf(stderr, "vet: %v\n", err)
		return exitUsage
	}
	reportBadLines(stderr, bad)
	if len(blocks) == 0 {
		fmt.Fprintln(stderr, "vet: no good block on standard input")
		return exitUsage
	}
	// One run asks each question once (the Scorer looks up each (address,
	// zone) pair once, even for overlapping blocks), so a DNS cache would
	// only store answers nobody reads back.
	o.src.CacheSize = -1
	srcs, cleanup, err := o.src.Sources(ctx, stderr)
	defer cleanup()
	if err != nil {
		fmt.Fprintf(stderr, "vet: %v\n", err)
		return exitUsage
	}
	reports, err := vet(ctx, o, srcs, blocks, stdout, stderr)
	if he := (*htmlError)(nil); errors.As(err, &he) {
		fmt.Fprintf(stderr, "vet: %v\n", err)
		return exitUsage
	}
	if err != nil && len(reports) == 0 {
		fmt.Fprintf(stderr, "vet: %v\n", err)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "vet: %v\n", err)
		if errors.Is(err, reputation.ErrNoUsableSources) || errors.Is(err, reputation.ErrNoUsableZones) {
			fmt.Fprintln(stderr, "vet: hint: no DNSBL zone passed its health probe; use -resolver to point at your own caching resolver (never a public one), or -zones none with -feed/-zonefile")
		}
	}
	if len(bad) > 0 {
		// The batch was vetted without its bad lines: it must not pass as
		// clean (or as merely listed) when some of it was never looked at.
		fmt.Fprintf(stderr, "vet: %d bad input lines were skipped (see above); exit status %d\n", len(bad), exitUsage)
		return exitUsage
	}
	return exitStatus(reports)
}

// readBlocks parses the blocks named on the command line ("-" reads standard
// input) and expands ranges into the CIDR blocks they span. A bad argument
// is an error: nothing is vetted. A bad or over-long line of standard input
// is not: it is returned in bad, named by its line number, and the other
// lines are read on.
func readBlocks(args []string, stdin io.Reader, allowSpecial bool) (blocks []netip.Prefix, bad []error, err error) {
	add := func(text string) error {
		r, err := prefix.Parse(text)
		if err != nil {
			return err
		}
		var ps []netip.Prefix
		for p := range r.Prefixes() {
			if !allowSpecial {
				if err := prefix.CheckVettable(p); err != nil {
					return fmt.Errorf("%w (use -allow-special to vet it anyway)", err)
				}
			}
			ps = append(ps, p)
		}
		blocks = append(blocks, ps...)
		return nil
	}
	stdinRead := false
	for _, a := range args {
		if a != "-" {
			if err := add(a); err != nil {
				return nil, nil, err
			}
			continue
		}
		if stdinRead {
			continue
		}
		stdinRead = true
		err := lines.Scan(stdin, func(n int, line string, err error) error {
			if err != nil {
				bad = append(bad, fmt.Errorf("standard input:%d: %w, skipped", n, err))
				return nil
			}
			if i := strings.IndexAny(line, "#;"); i >= 0 {
				line = line[:i]
			}
			if line = strings.TrimSpace(line); line == "" {
				return nil
			}
			if err := add(line); err != nil {
				bad = append(bad, fmt.Errorf("standard input:%d: %w", n, err))
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("reading blocks from standard input: %w", err)
		}
	}
	if len(blocks) == 0 && len(bad) == 0 {
		return nil, nil, errors.New("no block given on standard input")
	}
	return blocks, bad, nil
}

// maxBadLines is the number of bad input lines reported one by one.
const maxBadLines = 100

// reportBadLines prints the bad input lines, at most maxBadLines of them.
func reportBadLines(w io.Writer, bad []error) {
	for i, err := range bad {
		if i == maxBadLines {
			fmt.Fprintf(w, "vet: ... and %d more bad lines\n", len(bad)-i)
			break
		}
		fmt.Fprintf(w, "vet: %v\n", err)
	}
}

// vet scores blocks and prints the reports.
func vet(ctx context.Context, o *options, srcs []reputation.Source, blocks []netip.Prefix, stdout, stderr io.Writer) ([]*reputation.Report, error) {
	s := &reputation.Scorer{
		Sources:      srcs,
		Concurrency:  o.concurrency,
		Timeout:      o.timeout,
		MaxAddrs:     o.sample,
		Seed:         o.seed,
		AllowSpecial: o.allowSpecial,
	}
	var bar *progressBar
	var opts reputation.ScoreOptions
	if o.progress && isTerminal(stderr) {
		bar = &progressBar{w: stderr}
		opts.Progress = bar.update
	}
	reports, err := s.ScoreAllWith(ctx, blocks, opts)
	bar.finish()
	for _, r := range reports {
		if r == nil {
			continue
		}
		if err := printReport(stdout, r, o); err != nil {
			return reports, err
		}
	}
	if o.html != "" && len(reports) > 0 {
		if herr := writeHTML(o.html, reports); herr != nil {
			return reports, herr
		}
	}
	return reports, err
}

// htmlError is a failure to write the -html page: exit status 2.
type htmlError struct{ err error }

func (e *htmlError) Error() string { return "writing the HTML page: " + e.err.Error() }
func (e *htmlError) Unwrap() error { return e.err }

// writeHTML writes the reports as one page to path: to a temporary file in
// the same directory first, renamed over path once complete, so that a
// reader never sees half a page.
func writeHTML(path string, reports []*reputation.Report) error {
	var buf bytes.Buffer
	if err := htmlreport.Write(&buf, reports, htmlreport.Options{Title: "prefixvet: " + blockList(reports)}); err != nil {
		return &htmlError{err}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return &htmlError{err}
	}
	_, err = f.Write(buf.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return &htmlError{err}
	}
	return nil
}

// blockList names the blocks of a run for a page title.
func blockList(reports []*reputation.Report) string {
	var names []string
	for _, r := range reports {
		if r != nil {
			names = append(names, r.Prefix.String())
		}
	}
	if len(names) > 3 {
		return fmt.Sprintf("%s and %d more blocks", strings.Join(names[:2], ", "), len(names)-2)
	}
	return strings.Join(names, ", ")
}

// printReport writes one report as JSON (one line) or as a table with a map.
func printReport(w io.Writer, r *reputation.Report, o *options) error {
	if o.jsonOut {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if err := r.WriteText(w); err != nil {
		return err
	}
	if !o.noMap {
		writeMap(w, r)
	}
	_, err := fmt.Fprintln(w)
	return err
}

// writeMap draws one cell per address, 16 to a row, for blocks of at most 256
// addresses that were checked in full.
func writeMap(w io.Writer, r *reputation.Report) {
	// AddressesChecked counts answered addresses only: a block whose
	// lookups all failed still gets its map of unknowns.
	if r.Sampled || r.AddressesTotal > 256 || r.AddressesChecked == 0 && len(r.Unknown) == 0 {
		return
	}
	states := r.AddressStates()
	if float64(len(states)) != r.AddressesTotal {
		return
	}
	legend := "  map: . not listed   x listed   # listed critical   ? unknown"
	if slices.ContainsFunc(r.Reasons, func(rs reputation.Reason) bool { return rs.Rule == reputation.RuleHot24 }) {
		legend += "   HOT /24" // larger blocks name their hot /24s under Subnets
	}
	fmt.Fprintln(w, legend)
	for row := 0; row*16 < len(states); row++ {
		first := states[row*16].Addr
		fmt.Fprintf(w, "  %-16s ", first)
		for _, st := range states[row*16 : min(len(states), row*16+16)] {
			w.Write([]byte{cell(st.State)}) //nolint:errcheck // checked by the caller's next write
		}
		fmt.Fprintln(w)
	}
}

func cell(s reputation.AddressState) byte {
	switch s {
	case reputation.StateListed:
		return 'x'
	case reputation.StateCritical:
		return '#'
	case reputation.StateUnknown:
		return '?'
	}
	return '.'
}

// exitStatus maps verdicts to the documented exit status.
func exitStatus(reports []*reputation.Report) int {
	incomplete := false
	for _, r := range reports {
		if r == nil {
			incomplete = true
			continue
		}
		switch r.Verdict {
		case reputation.VerdictReview, reputation.VerdictReject:
			return exitListed
		case reputation.VerdictIncomplete:
			incomplete = true
		}
	}
	if incomplete {
		return exitIncomplete
	}
	return exitClean
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar draws the scorer's progress on one terminal line, at most ten
// times a second.
type progressBar struct {
	w    io.Writer
	mu   sync.Mutex
	last time.Time
	p    reputation.Progress
	used bool
}

func (b *progressBar) update(p reputation.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.p = p
	if now := time.Now(); now.Sub(b.last) >= 100*time.Millisecond || p.Done == p.Planned {
		b.last = now
		b.draw()
	}
}

func (b *progressBar) draw() {
	const width = 30
	p := b.p
	filled := 0
	if p.Planned > 0 {
		filled = p.Done * width / p.Planned
	}
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d lookups, %d listed, %d failed ",
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), p.Done, p.Planned, p.Listed, p.Errors)
	b.used = true
}

// finish clears the bar's line. It is safe on a nil bar.
func (b *progressBar) finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used {
		fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", 78))
	}
}
