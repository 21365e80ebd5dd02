// Package reputation scores the reputation of an IP address block from the
// answers of many [Source]s and explains the result.
//
// # Usage
//
// Build a [Scorer] from sources (DNSBL zones, blocklist feeds, local zone
// copies: see package sources, or write your own) and score a block:
//
//	s := &reputation.Scorer{Sources: srcs}
//	rep, err := s.Score(ctx, netip.MustParsePrefix("198.51.100.0/24"))
//	if err != nil && rep == nil {
//		return err // bad input
//	}
//	fmt.Println(rep.Verdict, rep.Score)
//	rep.WriteText(os.Stdout)
//
// [Scorer.ScoreAll] scores many blocks in one call; a bad prefix among them
// gets a nil report and a [*PrefixError], the others are scored.
// [Scorer.ScoreWith] and [Scorer.ScoreAllWith] take per-call
// [ScoreOptions], such as a progress callback that belongs to that call
// alone (throttled to about ten calls a second). The [Report] marshals
// to stable JSON; [Diff] compares two reports of a block, as a re-scoring
// job does, and works on reports read back from JSON. [Report.AddressStates]
// gives the state of each checked address, enough to draw a map of a /24.
//
// # Sources
//
// A [Source] answers per address. Optional interfaces refine it:
// a [PrefixLookuper] answers for a whole block at once and is asked once per
// block, never per address; a [Prober] is health-probed once per call before
// any lookup, and a source whose probe is not usable (refused, dead,
// unreachable) is not queried, is listed in the report with its status and
// detail, and does not count towards coverage; a [Describer] says which
// address families the source answers for (it is not asked about others) and
// its query budget (the Scorer samples a block rather than exceed it).
//
// Blocks with more than [Scorer.MaxAddrs] addresses (default
// [DefaultMaxAddrs]) are sampled uniformly with [Scorer.Seed] (default
// [DefaultSeed]); IPv6 blocks of a /64 or wider are sampled one address per
// distinct /64. Reports say whether they sampled, with which seed, and how
// many addresses were checked out of how many.
//
// # Scoring
//
// The score starts at 100 and each (source, category) that lists anything
// subtracts points(severity) × weight(source) × breadth, clamped to
// [0, 100]. Breadth grows from [Policy.MinBreadth] (one listed address) to 1
// (the whole block listed) with the share of the block found listed; when
// the block was sampled the share is the Wilson 95% upper bound. A
// whole-block entry or a range/ASN listing counts once for the block, by the
// share it covers, not once per address. Info evidence costs nothing but is
// shown; whitelist evidence ([SeverityAllow]) never changes the score and is
// reported apart. Each deduction is a [Reason] with a text a person can read,
// such as "SpamCop (spam): 12 of 256 addresses listed, -5.7". The details,
// weights and thresholds are in [Policy]; its Version is stamped into every
// report.
//
// # Verdicts
//
// Coverage is the share of planned lookups (over usable sources) that got a
// definite answer. The verdict is, in order:
//
//   - incomplete if the call was cancelled before every lookup finished;
//   - reject if a critical listing covers at least [Policy.CriticalShare] of
//     the block (a DROP or SBL entry covering it), whatever the points;
//   - incomplete if coverage is below [Policy.MinCoverage] (default 0.9) or
//     nothing could be asked: never clean;
//   - reject below [Policy.RejectBelow] (default 50), review below
//     [Policy.ReviewBelow] (default 90), clean otherwise.
//
// A report in which no lookup got a definite answer is not scored
// ([Report.NotScored]; its Score is 0, never a 100 that would read as
// clean). A partial report shows what was not done: every planned lookup
// without an answer, failed or cut off by the caller, is in [Report.Unknown],
// and [Report.AddressesChecked] counts only addresses that got an answer.
//
// # Errors
//
// A failed lookup is data, not an error of the call: it is recorded in
// [Report.Unknown] as a [*SourceError] (a per-lookup timeout wraps
// [context.DeadlineExceeded]) and lowers the coverage. Score returns an error
// for bad input ([ErrNoSources], [ErrDuplicateSource], [ErrInvalidPrefix],
// special-purpose space), together with a partial report when no source is
// usable ([ErrNoUsableSources], which names each source and why, so a
// blocked resolver is one clear error rather than one failure per lookup),
// together with full reports when every DNSBL zone is unusable but feeds or
// mirrors are not ([ErrNoUsableZones]; no such report is clean), and
// together with a partial report on cancellation.
//
// # Concurrency
//
// One call runs at most [Scorer.Concurrency] lookups at once (default
// [DefaultConcurrency]) from a fixed pool of workers shared by every block of
// the call; an (address, source) pair shared by overlapping blocks is
// looked up once. Each lookup is bounded by [Scorer.Timeout]. Every worker
// has finished before Score returns: no goroutine outlives a call. A Scorer
// is safe for concurrent use; sources must be too.
//
// # Cancellation
//
// When ctx is done, no further lookup starts and those in flight are expected
// to return promptly (see the [Source] contract). Score then returns the
// partial report, with verdict [VerdictIncomplete] and Interrupted set,
// together with an error wrapping [context.Cause] of ctx, so that
// errors.Is(err, context.Canceled) holds after a cancel.
//
// Cancellation is classified before anything else: a lookup or a probe that
// failed because ctx was done is not a source failure. No source is
// reported refused, dead or unreachable for it (a probe cut short leaves
// the source [StatusOK], "not probed"), and the error wraps only the
// context's error: not a source's timeout error, and not
// [ErrNoUsableZones] or [ErrNoUsableSources].
package reputation
