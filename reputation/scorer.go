package reputation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prefixvet/prefixvet/prefix"
)

// Scorer defaults. A zero field of [Scorer] means its default.
const (
	// DefaultConcurrency is the number of lookups in flight at once in one
	// call of [Scorer.Score] or [Scorer.ScoreAll].
	DefaultConcurrency = 64
	// DefaultTimeout bounds each lookup and each probe.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxAddrs is the largest number of addresses of one block asked
	// of a per-address source; larger blocks are sampled.
	DefaultMaxAddrs = 4096
	// DefaultSeed is the sampling seed (RFC 5782's number). It is reported
	// in every [Report] so that a run can be repeated.
	DefaultSeed uint64 = 5782
)

// Scorer scores IP blocks against a set of [Source]s and explains the
// result. Its zero value is usable once Sources is set; every other zero
// field means its documented default. A Scorer holds no state between calls,
// is safe for concurrent use by multiple goroutines, and must not be
// modified while a call is running.
type Scorer struct {
	// Sources are asked about every block. Their names must be unique.
	Sources []Source
	// Policy turns answers into a score and a verdict; nil means the
	// defaults (see [Policy]).
	Policy *Policy
	// Concurrency is the largest number of lookups in flight at once in
	// one call, across all blocks and sources; 0 or less means
	// DefaultConcurrency. Limits of a single upstream belong to its source.
	Concurrency int
	// Timeout bounds each lookup and each probe: the source gets
	// [context.WithTimeout](ctx, Timeout), started after the source's
	// [Pacer] (if any) let the lookup go. 0 means
	// DefaultTimeout and a negative value means no per-lookup limit (only
	// ctx applies).
	Timeout time.Duration
	// MaxAddrs is the largest number of addresses of one block asked of a
	// per-address source; blocks with more addresses are sampled uniformly
	// with Seed. IPv6 blocks of a /64 or wider are always sampled one
	// address per distinct /64. 0 or less means DefaultMaxAddrs.
	MaxAddrs int
	// Seed seeds the sampling; 0 means DefaultSeed. The same seed, blocks
	// and sources ask about the same addresses.
	Seed uint64
	// MaxListings is the most listing entries one report holds (after
	// consecutive addresses with the same answer are merged); the most
	// severe are kept and [Report.Omitted] counts the rest. 0 means
	// DefaultMaxListings, a negative value no limit. Scores, verdicts and
	// counts never depend on it.
	MaxListings int
	// AllowSpecial makes the Scorer score special-purpose address space
	// (private, loopback, documentation, ...). By default such blocks are
	// refused with an error wrapping prefix.ErrSpecialPurpose.
	AllowSpecial bool
	// Progress, if set, is the progress callback of every call that does
	// not set [ScoreOptions.Progress]; it is called as that one is.
	//
	// Deprecated: a Scorer shared by concurrent calls shares this callback,
	// so it runs for several calls at once and cannot tell them apart. Use
	// [Scorer.ScoreAllWith] (or [Scorer.ScoreWith]) with
	// [ScoreOptions.Progress], which belongs to one call.
	Progress func(Progress)
	// Logger receives probe outcomes and a summary of each call; nil means
	// silent.
	Logger *slog.Logger
}

// ProgressInterval is the shortest time between two calls of a progress
// callback other than the first and the last (see [ScoreOptions.Progress]):
// at most about ten calls a second.
const ProgressInterval = 100 * time.Millisecond

// ScoreOptions are the options of one call of [Scorer.ScoreWith] or
// [Scorer.ScoreAllWith]. The zero value means none.
type ScoreOptions struct {
	// Progress, if set, receives the cumulative counters of this call: a
	// first call once the lookups are planned (Done 0), further calls as
	// lookups finish but at most one per [ProgressInterval], and a final
	// call with the final counts once every lookup has finished or the call
	// was interrupted (no lookup runs during it). When ctx is done before
	// anything is planned, only the final call is made, with Planned 0.
	// Calls for one call of ScoreWith/ScoreAllWith are made one at a time,
	// in order, with counters that never decrease, so the callback may
	// update state of its own without a lock; it must be quick, since a
	// worker waits for it. Calls of different ScoreWith/ScoreAllWith calls
	// are independent. Nil means [Scorer.Progress] (deprecated), if set.
	Progress func(Progress)
}

// Progress holds the cumulative counters of one call of [Scorer.Score] or
// [Scorer.ScoreAll].
type Progress struct {
	Planned int // lookups planned (per-address and whole-block)
	Done    int // lookups finished, answered or failed
	Listed  int // lookups that found a listing
	Errors  int // lookups that got no answer
}

// Score asks every usable source about p and returns the explained report.
// p is masked, and an IPv4-mapped IPv6 prefix is unmapped. It is the same as
// ScoreAll with one prefix.
//
// Score returns an error without a report for bad input: no sources
// ([ErrNoSources]), duplicate names ([ErrDuplicateSource]), an invalid
// policy or weights naming no source ([ErrInvalidPolicy]), an invalid prefix
// ([ErrInvalidPrefix]) or special-purpose space without AllowSpecial. It
// returns a partial report (verdict [VerdictIncomplete]) together with an
// error when no source passed its probe ([ErrNoUsableSources]) or when ctx
// was done before every lookup finished: then the error wraps
// [context.Cause](ctx), so errors.Is(err, context.Canceled) or
// errors.Is(err, context.DeadlineExceeded) holds. When the Scorer has DNSBL
// zones and none is usable (a blocked resolver) but other sources are, it
// returns the report scored on those with [ErrNoUsableZones], and a verdict
// that would be clean is incomplete instead. Failed lookups are not
// errors of Score: they are reported in [Report.Unknown] and lower the
// coverage.
func (s *Scorer) Score(ctx context.Context, p netip.Prefix) (*Report, error) {
	return s.ScoreWith(ctx, p, ScoreOptions{})
}

// ScoreWith is [Scorer.Score] with per-call options.
func (s *Scorer) ScoreWith(ctx context.Context, p netip.Prefix, opts ScoreOptions) (*Report, error) {
	reps, err := s.ScoreAllWith(ctx, []netip.Prefix{p}, opts)
	if reps == nil || reps[0] == nil {
		// A bad prefix: its own error, without the batch's wrapper.
		if pe := (*PrefixError)(nil); errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	return reps[0], err
}

// ScoreAll scores many blocks in one call and returns one report per
// prefix, in the order of ps. All blocks share one pool of Concurrency
// lookups and one probe of each source, and an (address, source) pair shared
// by overlapping blocks is looked up once.
//
// A bad prefix (the zero netip.Prefix, or special-purpose space without
// AllowSpecial) does not fail the batch: the other blocks are scored, the
// slice holds nil at the bad prefix's index, and the error is the
// [errors.Join] of one [*PrefixError] per bad prefix (find them with
// errors.As, or errors.Is for [ErrInvalidPrefix] and
// prefix.ErrSpecialPurpose) and of the call's own error, if any. The call's
// own errors are as for [Scorer.Score]: without sources or with duplicate
// names ScoreAll returns nil and the error.
func (s *Scorer) ScoreAll(ctx context.Context, ps []netip.Prefix) ([]*Report, error) {
	return s.ScoreAllWith(ctx, ps, ScoreOptions{})
}

// ScoreAllWith is [Scorer.ScoreAll] with per-call options, such as a
// progress callback of its own.
func (s *Scorer) ScoreAllWith(ctx context.Context, ps []netip.Prefix, opts ScoreOptions) ([]*Report, error) {
	start := time.Now()
	srcs, err := s.sourceStates()
	if err != nil {
		return nil, err
	}
	if err := s.checkPolicy(srcs); err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return []*Report{}, nil
	}
	r := &run{
		s:       s,
		pol:     s.Policy.resolve(),
		srcs:    srcs,
		blocks:  make([]block, 0, len(ps)),
		timeout: s.timeout(),
		seed:    s.seed(),
		prog:    opts.Progress,
		start:   start,
	}
	if r.prog == nil {
		r.prog = s.Progress
	}
	var bad []error
	index := make([]int, 0, len(ps)) // index[bi] is the position in ps of blocks[bi]
	for i, p := range ps {
		if !p.IsValid() {
			bad = append(bad, &PrefixError{Index: i, Prefix: p, Err: fmt.Errorf("%w: the zero netip.Prefix", ErrInvalidPrefix)})
			continue
		}
		p = canonical(p)
		if !s.AllowSpecial {
			if err := prefix.CheckVettable(p); err != nil {
				bad = append(bad, &PrefixError{Index: i, Prefix: p, Err: fmt.Errorf("reputation: %w", err)})
				continue
			}
		}
		r.blocks = append(r.blocks, block{p: p})
		index = append(index, i)
	}
	if len(r.blocks) == 0 {
		return make([]*Report, len(ps)), errors.Join(bad...)
	}

	r.probe(ctx)
	var errOut error
	switch {
	case ctx.Err() != nil:
		r.aborted = true
	case !r.anyUsable():
		// Nothing is planned, so the verdict is incomplete; the report is
		// not "interrupted": nothing was cut short.
		errOut = r.noUsableError()
	default:
		r.plan()
		r.execute(ctx)
	}
	r.finalProgress()
	if ctx.Err() != nil {
		r.cause = fmt.Errorf("not answered: %w", interruptedError(ctx))
	}
	reps := r.reports(time.Since(start))
	switch {
	case ctx.Err() != nil && slices.ContainsFunc(reps, func(rep *Report) bool { return rep.Interrupted }):
		// Cancellation is classified first: the caller gave up, and no
		// source failure (a probe cut short, a zone that could not
		// answer in time) is reported for it.
		errOut = interruptedError(ctx)
	case errOut == nil:
		if err := r.noUsableZonesError(); err != nil {
			errOut = err
			for _, rep := range reps {
				if rep.Verdict == VerdictClean {
					rep.Verdict = VerdictIncomplete
				}
			}
		}
	}
	if len(bad) > 0 {
		errOut = errors.Join(append(bad, errOut)...)
	}
	if s.Logger != nil {
		s.Logger.LogAttrs(ctx, slog.LevelDebug, "reputation: scored",
			slog.Int("blocks", len(ps)), slog.Int("lookups", len(r.tasks)),
			slog.Duration("duration", time.Since(start)), slog.Any("error", errOut))
	}
	out := make([]*Report, len(ps))
	for bi, rep := range reps {
		out[index[bi]] = rep
	}
	return out, errOut
}

// checkPolicy refuses an invalid policy, and weights that name no source:
// a typo there would silently score a list at full weight.
func (s *Scorer) checkPolicy(srcs []srcState) error {
	if err := s.Policy.Validate(); err != nil {
		return err
	}
	if s.Policy == nil {
		return nil
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(s.Policy.Weights)) {
		if !slices.ContainsFunc(srcs, func(st srcState) bool { return st.name == name }) {
			errs = append(errs, fmt.Errorf("%w: Weights[%q]: no source of the Scorer has that name", ErrInvalidPolicy, name))
		}
	}
	return errors.Join(errs...)
}

// Probe checks the health of every source: sources that implement [Prober]
// are probed concurrently, each bounded by Timeout; the others are reported
// as [StatusOK]. The result is in the order of Sources. It is what a service
// shows on a health endpoint.
func (s *Scorer) Probe(ctx context.Context) []SourceReport {
	srcs := make([]srcState, len(s.Sources))
	for i, src := range s.Sources {
		srcs[i] = newSrcState(src)
	}
	r := &run{s: s, srcs: srcs, timeout: s.timeout()}
	r.probe(ctx)
	out := make([]SourceReport, len(srcs))
	for i, st := range srcs {
		out[i] = SourceReport{Name: st.name, Kind: st.info.Kind, Status: st.health.Status, Detail: st.health.Detail}
	}
	return out
}

func (s *Scorer) timeout() time.Duration {
	switch {
	case s.Timeout == 0:
		return DefaultTimeout
	case s.Timeout < 0:
		return 0
	}
	return s.Timeout
}

func (s *Scorer) seed() uint64 {
	if s.Seed == 0 {
		return DefaultSeed
	}
	return s.Seed
}

func (s *Scorer) concurrency() int {
	if s.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return s.Concurrency
}

func (s *Scorer) maxListings() int {
	switch {
	case s.MaxListings == 0:
		return DefaultMaxListings
	case s.MaxListings < 0:
		return 0
	}
	return s.MaxListings
}

func (s *Scorer) maxAddrs() int {
	if s.MaxAddrs <= 0 {
		return DefaultMaxAddrs
	}
	return s.MaxAddrs
}

// canonical masks p and unmaps an IPv4-mapped IPv6 prefix.
func canonical(p netip.Prefix) netip.Prefix {
	return prefix.Unmap(p).Masked()
}

func interruptedError(ctx context.Context) error {
	cause := context.Cause(ctx)
	if errors.Is(cause, ctx.Err()) {
		return fmt.Errorf("reputation: scoring interrupted: %w", cause)
	}
	return fmt.Errorf("reputation: scoring interrupted: %w: %w", ctx.Err(), cause)
}

// srcState is one source as seen by one call.
type srcState struct {
	src    Source
	name   string
	info   Info
	pl     PrefixLookuper // nil for per-address sources
	pr     Prober         // nil if the source has no probe
	health Health
	pacer  Pacer // nil if the source has no rate limit of its own
}

func newSrcState(src Source) srcState {
	st := srcState{src: src, name: src.Name(), info: Info{Kind: KindOther, IPv4: true, IPv6: true}}
	if d, ok := src.(Describer); ok {
		st.info = d.Info()
		if st.info.Kind == "" {
			st.info.Kind = KindOther
		}
	}
	st.pl, _ = src.(PrefixLookuper)
	st.pr, _ = src.(Prober)
	st.health = Health{Status: StatusOK}
	st.pacer, _ = src.(Pacer)
	return st
}

func (st *srcState) answers(a netip.Addr) bool {
	if a.Is4() {
		return st.info.IPv4
	}
	return st.info.IPv6
}

func (s *Scorer) sourceStates() ([]srcState, error) {
	if len(s.Sources) == 0 {
		return nil, ErrNoSources
	}
	srcs := make([]srcState, len(s.Sources))
	seen := make(map[string]bool, len(s.Sources))
	for i, src := range s.Sources {
		if src == nil {
			return nil, fmt.Errorf("%w: source %d of %d is nil", ErrNoSources, i+1, len(s.Sources))
		}
		srcs[i] = newSrcState(src)
		if seen[srcs[i].name] {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateSource, srcs[i].name)
		}
		seen[srcs[i].name] = true
	}
	return srcs, nil
}

// task is one lookup: of addr, or of blocks[block].p when block >= 0.
type task struct {
	addr  netip.Addr
	src   int32
	block int32
}

// Task states.
const (
	statePending uint32 = iota // not run, or interrupted by the caller's ctx
	stateDone                  // finished: answered or failed
)

// result is the outcome of one task; written only by the worker that ran it.
type result struct {
	listing Listing
	matches []Match
	err     error
	state   uint32
}

// block is one prefix of the call and its plan.
type block struct {
	p       netip.Prefix
	addrs   []netip.Addr // the addresses asked of per-address sources
	sampled bool         // addrs is a sample of the block
	plans   []srcPlan    // per source
}

// srcPlan is what one source is asked about one block.
type srcPlan struct {
	skip    string  // why the source is not asked, if it is not
	tasks   []int32 // task indices, ascending by address
	sel     []int   // budget sample: indices into block.addrs; nil means all
	sampled bool    // the source is asked about fewer addresses than the block holds
}

// run is the state of one call.
type run struct {
	s       *Scorer
	pol     *policy
	srcs    []srcState
	blocks  []block
	tasks   []task
	results []result
	timeout time.Duration
	seed    uint64
	aborted bool  // cancelled before any lookup
	cause   error // why lookups were cut off: the caller's ctx; nil if it is not done

	prog               func(Progress) // nil: no progress reports
	start              time.Time
	done, listed, errs atomic.Int64
	progMu             sync.Mutex
	progNext           atomic.Int64 // earliest time of the next progress call, as time since start
}

func (r *run) probe(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range r.srcs {
		st := &r.srcs[i]
		if st.pr == nil {
			continue
		}
		wg.Go(func() {
			pctx, cancel := ctx, context.CancelFunc(func() {})
			if r.timeout > 0 {
				pctx, cancel = context.WithTimeout(ctx, r.timeout)
			}
			defer cancel()
			h := st.pr.Probe(pctx)
			if interruptedProbe(ctx, h) {
				// The caller gave up, not the source: a probe cut short
				// says nothing about the source's health.
				h = Health{Status: StatusOK, Detail: probeInterrupted}
			}
			if h.Status == "" {
				h.Status = StatusUnreachable
				if h.Detail == "" {
					h.Detail = "probe returned no status"
				}
			}
			st.health = h
		})
	}
	wg.Wait()
	if r.s.Logger == nil {
		return
	}
	for _, st := range r.srcs {
		if !st.health.Status.Usable() {
			r.s.Logger.LogAttrs(ctx, slog.LevelWarn, "reputation: source not usable",
				slog.String("source", st.name), slog.String("status", string(st.health.Status)),
				slog.String("detail", st.health.Detail))
		}
	}
}

// probeInterrupted is the detail of a source whose probe the caller's
// context cut short.
const probeInterrupted = "not probed: interrupted by the caller"

// interruptedProbe reports whether h is a probe outcome that only says the
// caller's ctx ended: ctx is done, the probe did not find the source usable,
// and its error (if any) is the context's rather than an answer (a refusal
// or a dead list found before ctx ended is kept). Cancellation is
// classified before anything else, so a client that hangs up never makes a
// source look refused, dead or unreachable.
func interruptedProbe(ctx context.Context, h Health) bool {
	if ctx.Err() == nil || h.Status.Usable() {
		return false
	}
	return h.Err == nil || errors.Is(h.Err, context.Canceled) || errors.Is(h.Err, context.DeadlineExceeded) ||
		errors.Is(h.Err, context.Cause(ctx))
}

func (r *run) anyUsable() bool {
	return slices.ContainsFunc(r.srcs, func(st srcState) bool { return st.health.Status.Usable() })
}

// noUsableZonesError returns ErrNoUsableZones when the Scorer has DNSBL
// sources and none of them is usable, or nil.
func (r *run) noUsableZonesError() error {
	var errs []error
	for _, st := range r.srcs {
		if st.info.Kind != KindDNSBL {
			continue
		}
		if st.health.Status.Usable() {
			return nil
		}
		errs = append(errs, probeFailure(st))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrNoUsableZones, errors.Join(errs...))
}

func (r *run) noUsableError() error {
	errs := make([]error, 0, len(r.srcs))
	for _, st := range r.srcs {
		errs = append(errs, probeFailure(st))
	}
	return fmt.Errorf("%w: %w", ErrNoUsableSources, errors.Join(errs...))
}

// probeFailure describes a source's probe outcome as an error.
func probeFailure(st srcState) error {
	h := st.health
	msg := fmt.Sprintf("%s: %s", st.name, h.Status)
	switch {
	case h.Detail != "":
		// The detail already says what went wrong in words; the error
		// stays reachable for errors.Is without repeating it.
		return &probeError{msg: msg + ": " + h.Detail, err: h.Err}
	case h.Err != nil:
		return fmt.Errorf("%s: %w", msg, h.Err)
	}
	return errors.New(msg)
}

// probeError is a failed probe: its text is the probe's detail, and it
// unwraps to the probe's error.
type probeError struct {
	msg string
	err error
}

func (e *probeError) Error() string { return e.msg }
func (e *probeError) Unwrap() error { return e.err }

// addressesOf returns the addresses of p asked of per-address sources and
// whether they are a sample.
func (r *run) addressesOf(p netip.Prefix) ([]netip.Addr, bool) {
	n := r.s.maxAddrs()
	host := p.Addr().BitLen() - p.Bits()
	switch {
	// DNSBLs list IPv6 per /64 (or per address, which a random sample of
	// 2^64 addresses would never find): one address per /64 is all that
	// asking can tell, and more would only load the lists.
	case p.Addr().Is6() && p.Bits() == 64:
		return prefix.Sample(p, 1, r.seed), true
	case p.Addr().Is6() && p.Bits() < 64:
		return prefix.SampleSubnets(p, 64, n, r.seed), true
	case host < 62 && uint64(1)<<host <= uint64(n):
		addrs := make([]netip.Addr, 0, 1<<host)
		for a := range prefix.RangeOf(p).All() {
			addrs = append(addrs, a)
		}
		return addrs, false
	}
	return prefix.Sample(p, n, r.seed), true
}

func (r *run) plan() {
	// Which sources apply to which block, and the addresses of each block.
	perAddr := make([]int, len(r.srcs)) // planned per-address lookups per source
	for bi := range r.blocks {
		b := &r.blocks[bi]
		b.plans = make([]srcPlan, len(r.srcs))
		for j := range r.srcs {
			st, sp := &r.srcs[j], &b.plans[j]
			switch {
			case !st.health.Status.Usable():
				sp.skip = "not queried: " + string(st.health.Status)
			case !st.answers(b.p.Addr()):
				sp.skip = "not queried: does not answer for " + family(b.p.Addr())
			case st.pl == nil:
				if b.addrs == nil {
					b.addrs, b.sampled = r.addressesOf(b.p)
				}
				perAddr[j] += len(b.addrs)
			}
		}
	}
	// Budgets: sample each block in proportion rather than exceed them.
	for j := range r.srcs {
		st := &r.srcs[j]
		if st.pl != nil || st.info.Budget <= 0 || perAddr[j] <= st.info.Budget {
			continue
		}
		for bi := range r.blocks {
			b := &r.blocks[bi]
			if sp := &b.plans[j]; sp.skip == "" {
				q := int(int64(st.info.Budget) * int64(len(b.addrs)) / int64(perAddr[j]))
				if q == 0 {
					sp.skip = "not queried: query budget exhausted"
					continue
				}
				sp.sel = pickIndices(len(b.addrs), q, r.seed)
			}
		}
	}
	// Tasks: whole-block lookups first, then addresses in order, each
	// address asked of every per-address source in turn.
	dedupe := overlapping(r.blocks)
	type key struct {
		p   netip.Prefix
		a   netip.Addr
		src int32
	}
	var seen map[key]int32
	if dedupe {
		seen = make(map[key]int32)
	}
	add := func(k key, t task) int32 {
		if dedupe {
			if i, ok := seen[k]; ok {
				return i
			}
			seen[k] = int32(len(r.tasks))
		}
		r.tasks = append(r.tasks, t)
		return int32(len(r.tasks) - 1)
	}
	total := 0
	for bi := range r.blocks {
		total += len(r.blocks[bi].addrs) * len(r.srcs)
	}
	r.tasks = make([]task, 0, len(r.blocks)*len(r.srcs)+total)
	for bi := range r.blocks {
		b := &r.blocks[bi]
		for j := range r.srcs {
			if sp := &b.plans[j]; sp.skip == "" && r.srcs[j].pl != nil {
				sp.tasks = []int32{add(key{p: b.p, src: int32(j)}, task{src: int32(j), block: int32(bi)})}
			}
		}
	}
	for bi := range r.blocks {
		b := &r.blocks[bi]
		var cursors []int // position in plans[j].sel
		for j := range r.srcs {
			if sp := &b.plans[j]; sp.skip == "" && r.srcs[j].pl == nil {
				n := len(b.addrs)
				if sp.sel != nil {
					n = len(sp.sel)
				}
				sp.tasks = make([]int32, 0, n)
				sp.sampled = b.sampled || sp.sel != nil
			}
		}
		cursors = make([]int, len(r.srcs))
		for ai, a := range b.addrs {
			for j := range r.srcs {
				sp := &b.plans[j]
				if sp.skip != "" || r.srcs[j].pl != nil {
					continue
				}
				if sp.sel != nil {
					if cursors[j] >= len(sp.sel) || sp.sel[cursors[j]] != ai {
						continue
					}
					cursors[j]++
				}
				sp.tasks = append(sp.tasks, add(key{a: a, src: int32(j)}, task{addr: a, src: int32(j), block: -1}))
			}
		}
	}
	r.results = make([]result, len(r.tasks))
}

// pickIndices returns k distinct indices below n, ascending, reproducible
// for (n, k, seed).
func pickIndices(n, k int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	pick := make([]bool, n)
	for j := n - k; j < n; j++ { // Floyd's algorithm
		t := rng.IntN(j + 1)
		if pick[t] {
			t = j
		}
		pick[t] = true
	}
	out := make([]int, 0, k)
	for i, ok := range pick {
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// overlapping reports whether any two blocks overlap.
func overlapping(bs []block) bool {
	if len(bs) < 2 {
		return false
	}
	ps := make([]netip.Prefix, len(bs))
	for i := range bs {
		ps[i] = bs[i].p
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	for i := 1; i < len(ps); i++ {
		// Sorted by start, a prefix that overlaps a later one contains it
		// and every prefix between them, so neighbours suffice.
		if ps[i-1].Overlaps(ps[i]) {
			return true
		}
	}
	return false
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// execute runs every task through one pool of workers that pull task
// indices from a shared counter; each writes only its task's result slot.
// It returns when every worker has finished.
func (r *run) execute(ctx context.Context) {
	r.firstProgress()
	workers := min(r.s.concurrency(), len(r.tasks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { r.work(ctx, &next) })
	}
	wg.Wait()
}

func (r *run) work(ctx context.Context, next *atomic.Int64) {
	if r.timeout > 0 {
		// Every lookup's context.WithTimeout registers with its parent
		// until it ends: under a parent of the worker's own, the workers do
		// not all take turns at the lock of the caller's ctx on every
		// lookup. The caller cancelling ctx cancels it at once.
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
	}
	n := int64(len(r.tasks))
	for ctx.Err() == nil {
		i := next.Add(1) - 1
		if i >= n {
			return
		}
		r.do(ctx, int(i))
	}
}

// do runs task i. With a per-lookup timeout, the lookup gets
// context.WithTimeout(ctx, Timeout), started after the source's Pacer.
func (r *run) do(ctx context.Context, i int) {
	t := &r.tasks[i]
	st := &r.srcs[t.src]
	res := &r.results[i]
	if st.pacer != nil {
		// Before the lookup's timeout starts: waiting for the source's
		// rate is not the lookup's time.
		if err := st.pacer.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return // interrupted by the caller while waiting
			}
			res.err = &SourceError{Source: st.name, Addr: t.addr, Err: err}
			if t.block >= 0 {
				res.err = &SourceError{Source: st.name, Prefix: r.blocks[t.block].p, Err: err}
			}
			r.finish(res, false)
			return
		}
	}
	lctx, cancel := ctx, context.CancelFunc(nil)
	if r.timeout > 0 {
		lctx, cancel = context.WithTimeout(ctx, r.timeout)
	}
	var listed bool
	if t.block >= 0 {
		p := r.blocks[t.block].p
		res.matches, res.err = st.pl.LookupPrefix(lctx, p)
		for k := 0; res.err == nil && k < len(res.matches); k++ {
			res.err = res.matches[k].check()
		}
		listed = len(res.matches) > 0
		if res.err != nil {
			res.err = &SourceError{Source: st.name, Prefix: p, Err: res.err}
		}
	} else {
		res.listing, res.err = st.src.Lookup(lctx, t.addr)
		if res.err == nil {
			res.err = res.listing.check()
		}
		listed = res.listing.Listed
		if res.err != nil {
			res.err = &SourceError{Source: st.name, Addr: t.addr, Err: res.err}
		}
	}
	if cancel != nil {
		cancel()
	}
	if res.err != nil && ctx.Err() != nil {
		// Interrupted by the caller: not an answer, not a source failure.
		res.err, res.matches, res.listing = nil, nil, Listing{}
		return
	}
	r.finish(res, listed)
}

// finish records that a task ended with res.
func (r *run) finish(res *result, listed bool) {
	res.state = stateDone
	r.done.Add(1)
	if res.err != nil {
		r.errs.Add(1)
	} else if listed {
		r.listed.Add(1)
	}
	if r.prog != nil && time.Since(r.start) >= time.Duration(r.progNext.Load()) {
		r.throttledProgress()
	}
}

// firstProgress makes the first progress call, once the lookups are planned.
func (r *run) firstProgress() {
	if r.prog == nil {
		return
	}
	r.progMu.Lock()
	defer r.progMu.Unlock()
	r.prog(Progress{Planned: len(r.tasks)})
	r.progNext.Store(int64(time.Since(r.start) + ProgressInterval))
}

// throttledProgress makes a progress call unless another worker is making
// one or made one less than ProgressInterval ago: a worker never waits
// for another's callback.
func (r *run) throttledProgress() {
	if !r.progMu.TryLock() {
		return
	}
	defer r.progMu.Unlock()
	now := time.Since(r.start)
	if now < time.Duration(r.progNext.Load()) {
		return
	}
	r.progNext.Store(int64(now + ProgressInterval))
	r.prog(r.counters())
}

// finalProgress makes the last progress call; every worker has returned.
func (r *run) finalProgress() {
	if r.prog == nil {
		return
	}
	r.progMu.Lock()
	defer r.progMu.Unlock()
	r.prog(r.counters())
}

func (r *run) counters() Progress {
	return Progress{Planned: len(r.tasks), Done: int(r.done.Load()), Listed: int(r.listed.Load()), Errors: int(r.errs.Load())}
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
