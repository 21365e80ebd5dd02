package reputation_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
)

// breadthPoints is the documented deduction: points × (0.1 + 0.9 × share),
// rounded to two decimals.
func breadthPoints(points, share float64) float64 {
	return math.Round(points*(reputation.DefaultMinBreadth+(1-reputation.DefaultMinBreadth)*share)*100) / 100
}

func allListed(l reputation.Listing) func(netip.Addr) (reputation.Listing, bool) {
	return func(netip.Addr) (reputation.Listing, bool) { return l, true }
}

func TestScore_verdicts(t *testing.T) {
	t.Parallel()
	block := mpp("192.0.2.0/24")
	tests := []struct {
		name        string
		sources     func() []reputation.Source
		policy      *reputation.Policy
		wantScore   float64
		wantVerdict reputation.Verdict
		wantReasons int
		wantForced  bool
	}{
		{
			name: "all_clean",
			sources: func() []reputation.Source {
				return []reputation.Source{&fake{name: "bl1"}, &fake{name: "bl2"}, &feed{name: "drop"}}
			},
			wantScore: 100, wantVerdict: reputation.VerdictClean,
		},
		{
			name: "one_address_listed_high",
			sources: func() []reputation.Source {
				return []reputation.Source{
					&fake{name: "bl1", listed: map[netip.Addr]reputation.Listing{mpa("192.0.2.7"): spam("127.0.0.2", reputation.SeverityHigh)}},
					&fake{name: "bl2"},
				}
			},
			// prefixvet-2: one high listing forces review (brokers fail a
			// range on a single SBL listing).
			wantScore: 100 - breadthPoints(40, 1.0/256), wantVerdict: reputation.VerdictReview, wantReasons: 1,
		},
		{
			name: "block_listed_high_once",
			sources: func() []reputation.Source {
				return []reputation.Source{&fake{name: "bl1", listFn: allListed(spam("127.0.0.2", reputation.SeverityHigh))}, &fake{name: "bl2"}}
			},
			// prefixvet-2: a high list dense in the block rejects it
			// whatever the points say; the listed /24 is also hot.
			wantScore: 60, wantVerdict: reputation.VerdictReject, wantReasons: 2, wantForced: true,
		},
		{
			name: "block_listed_high_twice",
			sources: func() []reputation.Source {
				return []reputation.Source{
					&fake{name: "bl1", listFn: allListed(spam("127.0.0.2", reputation.SeverityHigh))},
					&fake{name: "bl2", listFn: allListed(spam("127.0.0.4", reputation.SeverityHigh))},
				}
			},
			wantScore: 20, wantVerdict: reputation.VerdictReject, wantReasons: 3, wantForced: true,
		},
		{
			name: "critical_entry_covers_block",
			sources: func() []reputation.Source {
				return []reputation.Source{&fake{name: "bl1"}, &feed{name: "drop", entries: []reputation.Match{
					entry("192.0.0.0/22", "hijacked", reputation.SeverityCritical, reputation.ScopeRange, "SBL1"),
				}}}
			},
			wantScore: 0, wantVerdict: reputation.VerdictReject, wantReasons: 1, wantForced: true,
		},
		{
			name: "critical_entry_covers_sixteenth",
			sources: func() []reputation.Source {
				return []reputation.Source{&fake{name: "bl1"}, &feed{name: "drop", entries: []reputation.Match{
					entry("192.0.2.16/28", "hijacked", reputation.SeverityCritical, reputation.ScopeRange, "SBL2"),
				}}}
			},
			wantScore: 100 - breadthPoints(100, 1.0/16), wantVerdict: reputation.VerdictReview, wantReasons: 1,
		},
		{
			name: "critical_share_lowered_forces_reject",
			sources: func() []reputation.Source {
				return []reputation.Source{&fake{name: "bl1"}, &feed{name: "drop", entries: []reputation.Match{
					entry("192.0.2.16/28", "hijacked", reputation.SeverityCritical, reputation.ScopeRange, "SBL2"),
				}}}
			},
			policy:    &reputation.Policy{CriticalShare: 0.01},
			wantScore: 100 - breadthPoints(100, 1.0/16), wantVerdict: reputation.VerdictReject, wantReasons: 1, wantForced: true,
		},
		{
			name: "whitelist_never_scores",
			sources: func() []reputation.Source {
				return []reputation.Source{&fake{name: "dnswl", listFn: allListed(reputation.Listing{Listed: true, Evidence: []reputation.Evidence{
					{Code: mpa("127.0.10.2"), Category: "whitelist", Severity: reputation.SeverityAllow},
				}})}}
			},
			wantScore: 100, wantVerdict: reputation.VerdictClean,
		},
		{
			name: "info_costs_nothing_but_is_shown",
			sources: func() []reputation.Source {
				return []reputation.Source{&fake{name: "pbl", listFn: allListed(reputation.Listing{Listed: true, Evidence: []reputation.Evidence{
					{Code: mpa("127.0.0.10"), Category: "policy", Severity: reputation.SeverityInfo},
				}})}}
			},
			wantScore: 100, wantVerdict: reputation.VerdictClean, wantReasons: 1,
		},
		{
			name: "listing_without_evidence_is_medium",
			sources: func() []reputation.Source {
				return []reputation.Source{&fake{name: "bl1", listFn: allListed(reputation.Listing{Listed: true})}}
			},
			wantScore: 75, wantVerdict: reputation.VerdictReview, wantReasons: 2, // and the hot /24
		},
		{
			name: "weight_zero_source",
			sources: func() []reputation.Source {
				return []reputation.Source{&fake{name: "bl1", listFn: allListed(spam("127.0.0.2", reputation.SeverityHigh))}}
			},
			policy:    &reputation.Policy{Weights: map[string]float64{"bl1": 0}},
			wantScore: 100, wantVerdict: reputation.VerdictClean, wantReasons: 1,
		},
		{
			name: "half_the_lookups_fail",
			sources: func() []reputation.Source {
				return []reputation.Source{&fake{name: "bl1"}, &fake{name: "bl2", errAll: errors.New("servfail")}}
			},
			wantScore: 100, wantVerdict: reputation.VerdictIncomplete,
		},
		{
			name: "no_source_answers_the_family",
			sources: func() []reputation.Source {
				return []reputation.Source{described{&fake{name: "v6only"}, reputation.Info{IPv6: true}}}
			},
			// Issue #11: nothing answered, so not scored (0), never 100.
			wantScore: 0, wantVerdict: reputation.VerdictIncomplete,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &reputation.Scorer{Sources: tt.sources(), Policy: tt.policy, AllowSpecial: true}
			rep, err := s.Score(t.Context(), block)
			if err != nil {
				t.Fatalf("Score: %v", err)
			}
			if rep.Score != tt.wantScore || rep.Verdict != tt.wantVerdict {
				t.Errorf("Score = %v %s, want %v %s; reasons %+v", rep.Score, rep.Verdict, tt.wantScore, tt.wantVerdict, rep.Reasons)
			}
			if len(rep.Reasons) != tt.wantReasons {
				t.Errorf("got %d reasons, want %d: %+v", len(rep.Reasons), tt.wantReasons, rep.Reasons)
			}
			forced := false
			for _, r := range rep.Reasons {
				forced = forced || r.ForcesReject
			}
			if forced != tt.wantForced {
				t.Errorf("forces_reject = %v, want %v", forced, tt.wantForced)
			}
		})
	}
}

func TestScore_whitelistAndInfoAreReported(t *testing.T) {
	t.Parallel()
	wl := reputation.Listing{Listed: true, Evidence: []reputation.Evidence{
		{Code: mpa("127.0.10.2"), Category: "whitelist", Severity: reputation.SeverityAllow},
	}}
	s := &reputation.Scorer{AllowSpecial: true, Sources: []reputation.Source{
		&fake{name: "dnswl", listed: map[netip.Addr]reputation.Listing{mpa("192.0.2.9"): wl}},
	}}
	rep, err := s.Score(t.Context(), mpp("192.0.2.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Listings) != 0 || len(rep.Whitelist) != 1 || rep.Whitelist[0].Address != mpa("192.0.2.9") {
		t.Errorf("listings %+v whitelist %+v, want only the whitelist entry", rep.Listings, rep.Whitelist)
	}
}

func TestScore_badInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sources []reputation.Source
		prefix  netip.Prefix
		want    error
	}{
		{"no_sources", nil, mpp("192.0.2.0/24"), reputation.ErrNoSources},
		{"nil_source", []reputation.Source{nil}, mpp("192.0.2.0/24"), reputation.ErrNoSources},
		{"duplicate_names", []reputation.Source{&fake{name: "a"}, &feed{name: "a"}}, mpp("192.0.2.0/24"), reputation.ErrDuplicateSource},
		{"zero_prefix", []reputation.Source{&fake{name: "a"}}, netip.Prefix{}, reputation.ErrInvalidPrefix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &reputation.Scorer{Sources: tt.sources, AllowSpecial: true}
			rep, err := s.Score(t.Context(), tt.prefix)
			if !errors.Is(err, tt.want) || rep != nil {
				t.Errorf("Score = %v, %v; want nil, %v", rep, err, tt.want)
			}
		})
	}
}

func TestScore_masksAndUnmaps(t *testing.T) {
	t.Parallel()
	f := &fake{name: "bl1"}
	s := &reputation.Scorer{Sources: []reputation.Source{f}, AllowSpecial: true}
	rep, err := s.Score(t.Context(), netip.MustParsePrefix("::ffff:192.0.2.77/120"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Prefix != mpp("192.0.2.0/24") || f.calls.Load() != 256 {
		t.Errorf("Prefix = %v after %d calls, want 192.0.2.0/24 after 256", rep.Prefix, f.calls.Load())
	}
}

func TestScore_concurrencyLimit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var shared, sharedHi atomic.Int64
		a := &fake{name: "a", delay: 50 * time.Millisecond, limit: &shared, limitHi: &sharedHi}
		b := &fake{name: "b", delay: 30 * time.Millisecond, limit: &shared, limitHi: &sharedHi}
		c := &fake{name: "c", delayFn: func(x netip.Addr) time.Duration { return time.Duration(x.As4()[3]%7) * time.Millisecond },
			limit: &shared, limitHi: &sharedHi}
		s := &reputation.Scorer{Sources: []reputation.Source{a, b, c}, Concurrency: 7, AllowSpecial: true}
		reps, err := s.ScoreAll(t.Context(), []netip.Prefix{mpp("192.0.2.0/24"), mpp("198.51.100.0/25")})
		if err != nil {
			t.Fatal(err)
		}
		if hi := sharedHi.Load(); hi != 7 {
			t.Errorf("high-water mark of lookups in flight = %d, want exactly Concurrency (7)", hi)
		}
		if reps[0].Verdict != reputation.VerdictClean || reps[1].Verdict != reputation.VerdictClean {
			t.Errorf("verdicts %s %s, want clean", reps[0].Verdict, reps[1].Verdict)
		}
		if n := shared.Load(); n != 0 {
			t.Errorf("%d lookups still in flight after ScoreAll returned", n)
		}
	})
}

func TestScore_timeoutIsUnknown(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		slow := &fake{name: "slow", delayFn: func(a netip.Addr) time.Duration {
			if a.As4()[3] < 32 {
				return time.Hour
			}
			return time.Millisecond
		}}
		s := &reputation.Scorer{Sources: []reputation.Source{slow, &fake{name: "fast"}}, Timeout: 2 * time.Second, AllowSpecial: true}
		start := time.Now()
		rep, err := s.Score(t.Context(), mpp("192.0.2.0/24"))
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Score took %v with a 2s per-lookup timeout and 32 slow lookups", d)
		}
		if len(rep.Unknown) != 32 {
			t.Fatalf("got %d unknown lookups, want 32", len(rep.Unknown))
		}
		for _, u := range rep.Unknown {
			var se *reputation.SourceError
			if !errors.As(u.Err, &se) || se.Source != "slow" || se.Addr != u.Address || !errors.Is(u.Err, context.DeadlineExceeded) {
				t.Errorf("unknown %+v: Err = %v, want *SourceError{slow, %v} wrapping DeadlineExceeded", u, u.Err, u.Address)
			}
		}
		if want := float64(512-32) / 512; rep.Coverage != want || rep.Verdict != reputation.VerdictClean {
			t.Errorf("coverage %v verdict %s, want %v clean", rep.Coverage, rep.Verdict, want)
		}
	})
}

func TestScore_cancelReturnsPartialReport(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cause error
	}{{"plain_cancel", nil}, {"cancel_with_cause", errors.New("operator pressed ^C")}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := &fake{name: "bl1", delay: 100 * time.Millisecond,
					listed: map[netip.Addr]reputation.Listing{mpa("192.0.2.1"): spam("127.0.0.2", reputation.SeverityHigh)}}
				var last reputation.Progress
				s := &reputation.Scorer{Sources: []reputation.Source{f}, Concurrency: 4, AllowSpecial: true,
					Progress: func(p reputation.Progress) { last = p }}
				ctx, cancel := context.WithCancelCause(t.Context())
				time.AfterFunc(250*time.Millisecond, func() { cancel(tc.cause) })
				start := time.Now()
				rep, err := s.Score(ctx, mpp("192.0.2.0/24"))
				if d := time.Since(start); d > 300*time.Millisecond {
					t.Errorf("Score returned %v after the start, want promptly after the cancel at 250ms", d)
				}
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v, want it to wrap context.Canceled", err)
				}
				if tc.cause != nil && !errors.Is(err, tc.cause) {
					t.Errorf("err = %v, want it to wrap the cause %v", err, tc.cause)
				}
				if rep == nil || rep.Verdict != reputation.VerdictIncomplete || !rep.Interrupted {
					t.Fatalf("report %+v, want a partial report with verdict incomplete", rep)
				}
				// Two rounds of four lookups finished before the cancel.
				if rep.LookupsAnswered != 8 || rep.LookupsPlanned != 256 || len(rep.Listings) != 1 {
					t.Errorf("answered %d of %d with %d listings, want 8 of 256 with 1", rep.LookupsAnswered, rep.LookupsPlanned, len(rep.Listings))
				}
				// Issue #11: the 248 lookups cut off are unknown, their
				// errors wrap the cancellation, and the source counts them.
				if len(rep.Unknown) != 248 || rep.Sources[0].Interrupted != 248 || rep.Sources[0].Errors != 0 {
					t.Errorf("%d unknown, source %+v; want 248 unknown and interrupted, 0 errors", len(rep.Unknown), rep.Sources[0])
				}
				for _, u := range rep.Unknown {
					if !errors.Is(u.Err, context.Canceled) || !u.Address.IsValid() {
						t.Fatalf("unknown %+v, want an address and an error wrapping Canceled", u)
					}
				}
				if rep.AddressesChecked != 8 {
					t.Errorf("addresses checked %d, want 8 (those with an answer)", rep.AddressesChecked)
				}
				if n := f.inflight.Load(); n != 0 {
					t.Errorf("%d lookups in flight after Score returned", n)
				}
				if last.Done != 8 || last.Planned != 256 || last.Listed != 1 {
					t.Errorf("last progress %+v, want 8 done of 256, 1 listed", last)
				}
			})
		})
	}
}

func TestScore_probes(t *testing.T) {
	t.Parallel()
	var probes atomic.Int64
	refused := probed{&fake{name: "zen"}, reputation.Health{Status: reputation.StatusRefused,
		Detail: "resolver 127.0.0.1:53 refused by list operator (127.255.255.254)"}, &probes}
	ok := probed{&fake{name: "spamcop"}, reputation.Health{Status: reputation.StatusOK}, &probes}
	degraded := probed{&fake{name: "barracuda"}, reputation.Health{Status: reputation.StatusDegraded, Detail: "slow"}, &probes}
	s := &reputation.Scorer{Sources: []reputation.Source{refused, ok, degraded, &feed{name: "drop"}}, AllowSpecial: true}
	reps, err := s.ScoreAll(t.Context(), []netip.Prefix{mpp("192.0.2.0/24"), mpp("198.51.100.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	if n := probes.Load(); n != 3 {
		t.Errorf("%d probes for 3 probers and 2 blocks, want 3 (once per call)", n)
	}
	if n := refused.calls.Load(); n != 0 {
		t.Errorf("refused source was asked %d times", n)
	}
	if n := degraded.calls.Load(); n != 512 {
		t.Errorf("degraded source was asked %d times, want 512", n)
	}
	rep := reps[0]
	if got := rep.Sources[0]; got.Status != reputation.StatusRefused || got.Detail != refused.health.Detail || got.Planned != 0 {
		t.Errorf("refused source report %+v", got)
	}
	if rep.LookupsPlanned != 2*256+1 || rep.Coverage != 1 || rep.Verdict != reputation.VerdictClean {
		t.Errorf("planned %d coverage %v verdict %s, want 513, 1, clean", rep.LookupsPlanned, rep.Coverage, rep.Verdict)
	}
	got := s.Probe(t.Context())
	if len(got) != 4 || got[0].Status != reputation.StatusRefused || got[3].Status != reputation.StatusOK || got[3].Kind != reputation.KindFeed {
		t.Errorf("Probe = %+v", got)
	}
}

func TestScore_noUsableSources(t *testing.T) {
	t.Parallel()
	errRefused := errors.New("sources: query refused by list operator")
	errTimeout := errors.New("sources: query timed out")
	zen := probed{&fake{name: "zen"}, reputation.Health{Status: reputation.StatusRefused,
		Detail: "resolver 127.0.0.1:53 refused by list operator (127.255.255.254)", Err: errRefused}, nil}
	sc := probed{&fake{name: "spamcop"}, reputation.Health{Status: reputation.StatusUnreachable,
		Detail: "resolver 127.0.0.1:53: no answer to the test points", Err: errTimeout}, nil}
	s := &reputation.Scorer{Sources: []reputation.Source{zen, sc}, AllowSpecial: true}
	rep, err := s.Score(t.Context(), mpp("192.0.2.0/24"))
	if !errors.Is(err, reputation.ErrNoUsableSources) || !errors.Is(err, errRefused) || !errors.Is(err, errTimeout) {
		t.Fatalf("err = %v, want ErrNoUsableSources wrapping both probe errors", err)
	}
	// The message is this package's own: it must name each source and the resolver.
	for _, want := range []string{"zen: refused: resolver 127.0.0.1:53", "spamcop: unreachable: resolver 127.0.0.1:53"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	// ... once: the detail already says what the error says.
	if strings.Contains(err.Error(), errTimeout.Error()) {
		t.Errorf("error %q repeats the probe error after its detail", err)
	}
	if zen.calls.Load()+sc.calls.Load() != 0 {
		t.Error("an unusable source was queried")
	}
	if rep == nil || rep.Interrupted {
		t.Errorf("report %+v: nothing was cut short, so it must not say interrupted", rep)
	}
	if rep == nil || rep.Verdict != reputation.VerdictIncomplete || rep.Sources[0].Status != reputation.StatusRefused {
		t.Errorf("report %+v, want an incomplete report naming the statuses", rep)
	}
}

func TestScore_prefixLookuperAskedOncePerBlock(t *testing.T) {
	t.Parallel()
	f := &feed{name: "drop", entries: []reputation.Match{entry("198.51.100.0/25", "hijacked", reputation.SeverityHigh, reputation.ScopeRange, "SBL3")}}
	s := &reputation.Scorer{Sources: []reputation.Source{f}, AllowSpecial: true}
	reps, err := s.ScoreAll(t.Context(), []netip.Prefix{mpp("198.51.100.0/24"), mpp("192.0.2.0/24"), mpp("198.51.100.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	if pc, ac := f.prefixCalls.Load(), f.addrCalls.Load(); pc != 2 || ac != 0 {
		t.Errorf("LookupPrefix called %d times and Lookup %d times, want 2 (two distinct blocks) and 0", pc, ac)
	}
	r := reps[0].Reasons
	if len(r) != 1 || r[0].Covered != 0.5 || r[0].Entries != 1 || r[0].Points != breadthPoints(40, 0.5) {
		t.Errorf("reasons %+v, want one covering half the block", r)
	}
	if reps[0].AddressesChecked != 0 || reps[0].Sampled {
		t.Errorf("a feed-only report says checked=%d sampled=%v, want 0 and false", reps[0].AddressesChecked, reps[0].Sampled)
	}
}

func TestScoreAll_dedupesOverlappingBlocks(t *testing.T) {
	t.Parallel()
	f := &fake{name: "bl1", asked: map[netip.Addr]int{}}
	s := &reputation.Scorer{Sources: []reputation.Source{f}, AllowSpecial: true}
	reps, err := s.ScoreAll(t.Context(), []netip.Prefix{mpp("192.0.2.0/24"), mpp("192.0.2.128/25"), mpp("192.0.2.64/26"), mpp("198.51.100.0/30")})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.calls.Load(); n != 260 {
		t.Errorf("%d lookups, want 260 (256 + 4: overlapping blocks share lookups)", n)
	}
	for a, n := range f.asked {
		if n != 1 {
			t.Errorf("%v asked %d times", a, n)
		}
	}
	for i, want := range []int{256, 128, 64, 4} {
		if reps[i].LookupsPlanned != want || reps[i].Coverage != 1 {
			t.Errorf("report %d: planned %d coverage %v, want %d, 1", i, reps[i].LookupsPlanned, reps[i].Coverage, want)
		}
	}
}

func TestScore_sampling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		prefix      netip.Prefix
		maxAddrs    int
		wantChecked int
		wantSampled bool
		distinct64  bool
	}{
		{"v4_24_walked", mpp("192.0.2.0/24"), 0, 256, false, false},
		{"v4_16_sampled", mpp("198.18.0.0/16"), 0, 4096, true, false},
		{"v4_22_small_limit", mpp("198.18.0.0/22"), 100, 100, true, false},
		{"v6_120_walked", mpp("2001:db8::/120"), 0, 256, false, false},
		{"v6_64_one_address", mpp("2001:db8::/64"), 0, 1, true, true},
		{"v6_56_one_per_64", mpp("2001:db8:0:100::/56"), 0, 256, true, true},
		{"v6_48_one_per_64", mpp("2001:db8:1::/48"), 0, 4096, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fake{name: "bl1", asked: map[netip.Addr]int{}}
			s := &reputation.Scorer{Sources: []reputation.Source{f}, MaxAddrs: tt.maxAddrs, AllowSpecial: true}
			rep, err := s.Score(t.Context(), tt.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if rep.AddressesChecked != tt.wantChecked || rep.Sampled != tt.wantSampled || len(f.asked) != tt.wantChecked {
				t.Errorf("checked %d (asked %d distinct) sampled %v, want %d %v", rep.AddressesChecked, len(f.asked), rep.Sampled, tt.wantChecked, tt.wantSampled)
			}
			if rep.Seed != reputation.DefaultSeed {
				t.Errorf("seed %d, want DefaultSeed", rep.Seed)
			}
			if want := math.Ldexp(1, tt.prefix.Addr().BitLen()-tt.prefix.Bits()); rep.AddressesTotal != want {
				t.Errorf("total %v, want %v", rep.AddressesTotal, want)
			}
			nets := map[netip.Prefix]bool{}
			for a := range f.asked {
				if !tt.prefix.Contains(a) {
					t.Errorf("asked about %v outside the block", a)
				}
				p, _ := a.Prefix(64)
				nets[p] = true
			}
			if tt.distinct64 && len(nets) != len(f.asked) {
				t.Errorf("%d addresses in %d distinct /64s, want one per /64", len(f.asked), len(nets))
			}
		})
	}
}

func TestScore_samplingIsReproducible(t *testing.T) {
	t.Parallel()
	ask := func(seed uint64) map[netip.Addr]int {
		f := &fake{name: "bl1", asked: map[netip.Addr]int{}}
		s := &reputation.Scorer{Sources: []reputation.Source{f}, MaxAddrs: 64, Seed: seed, AllowSpecial: true}
		if _, err := s.Score(t.Context(), mpp("198.18.0.0/16")); err != nil {
			t.Fatal(err)
		}
		return f.asked
	}
	a, b, c := ask(7), ask(7), ask(8)
	same := func(x, y map[netip.Addr]int) bool {
		for k := range x {
			if y[k] == 0 {
				return false
			}
		}
		return len(x) == len(y)
	}
	if !same(a, b) {
		t.Error("the same seed sampled different addresses")
	}
	if same(a, c) {
		t.Error("different seeds sampled the same addresses")
	}
}

func TestScore_budgetIsHonoured(t *testing.T) {
	t.Parallel()
	small := described{&fake{name: "small", asked: map[netip.Addr]int{}}, reputation.Info{Kind: reputation.KindDNSBL, IPv4: true, Budget: 100}}
	big := &fake{name: "big"}
	s := &reputation.Scorer{Sources: []reputation.Source{small, big}, AllowSpecial: true}
	reps, err := s.ScoreAll(t.Context(), []netip.Prefix{mpp("192.0.2.0/24"), mpp("198.51.100.0/25")})
	if err != nil {
		t.Fatal(err)
	}
	if n := small.calls.Load(); n > 100 || n < 90 {
		t.Errorf("budget-100 source asked %d times, want at most 100 and not far below", n)
	}
	if n := big.calls.Load(); n != 384 {
		t.Errorf("unlimited source asked %d times, want 384", n)
	}
	if !reps[0].Sampled || reps[0].AddressesChecked != 256 || reps[0].Sources[0].Kind != reputation.KindDNSBL {
		t.Errorf("report: sampled=%v checked=%d kind=%s, want sampled, 256, dnsbl", reps[0].Sampled, reps[0].AddressesChecked, reps[0].Sources[0].Kind)
	}
}

func TestScore_familiesAreHonoured(t *testing.T) {
	t.Parallel()
	v4 := described{&fake{name: "v4"}, reputation.Info{IPv4: true}}
	both := &fake{name: "both"}
	s := &reputation.Scorer{Sources: []reputation.Source{v4, both}, AllowSpecial: true}
	rep, err := s.Score(t.Context(), mpp("2001:db8::/120"))
	if err != nil {
		t.Fatal(err)
	}
	if v4.calls.Load() != 0 || both.calls.Load() != 256 || rep.LookupsPlanned != 256 || rep.Sources[0].Detail == "" {
		t.Errorf("v4 asked %d, both %d, planned %d, detail %q", v4.calls.Load(), both.calls.Load(), rep.LookupsPlanned, rep.Sources[0].Detail)
	}
}

// probedV4 is a probed source that answers for IPv4 only.
type probedV4 struct{ probed }

func (probedV4) Info() reputation.Info { return reputation.Info{IPv4: true} }

// A healthy zone that does not serve the block's family says so, rather than
// repeating its probe's detail.
func TestScore_skippedSourceSaysWhy(t *testing.T) {
	t.Parallel()
	src := probedV4{probed{fake: &fake{name: "v4zone"}, health: reputation.Health{Status: reputation.StatusOK, Detail: "test points answered"}, probes: new(atomic.Int64)}}
	dead := probed{fake: &fake{name: "dead"}, health: reputation.Health{Status: reputation.StatusDead, Detail: "lists the world"}, probes: new(atomic.Int64)}
	both := &fake{name: "both"}
	s := &reputation.Scorer{Sources: []reputation.Source{src, dead, both}, AllowSpecial: true}
	rep, err := s.Score(t.Context(), mpp("2001:db8::/120"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Sources[0].Detail, "not queried: does not answer for IPv6"; got != want {
		t.Errorf("skipped healthy source: detail %q, want %q", got, want)
	}
	if got, want := rep.Sources[1].Detail, "lists the world"; got != want {
		t.Errorf("dead source: detail %q, want %q", got, want)
	}
}

// Every DNSBL zone refused (a blocked resolver) while a feed still answers:
// one error naming the zones, and no clean verdict resting on the feed alone.
func TestScore_noUsableZones(t *testing.T) {
	t.Parallel()
	errRefused := errors.New("sources: query refused by list operator")
	zone := func(name string) reputation.Source {
		return dnsblProbed{probed{&fake{name: name}, reputation.Health{Status: reputation.StatusRefused,
			Detail: "resolver 127.0.0.1:53 refused by list operator (127.255.255.254)", Err: errRefused}, nil}}
	}
	drop := &feed{name: "drop", entries: []reputation.Match{entry("198.51.100.0/24", "hijacked", reputation.SeverityCritical, reputation.ScopeRange, "")}}
	s := &reputation.Scorer{Sources: []reputation.Source{zone("zen"), zone("spamcop"), drop}, AllowSpecial: true}
	reps, err := s.ScoreAll(t.Context(), []netip.Prefix{mpp("192.0.2.0/24"), mpp("198.51.100.0/24")})
	if !errors.Is(err, reputation.ErrNoUsableZones) || !errors.Is(err, errRefused) {
		t.Fatalf("err = %v, want ErrNoUsableZones wrapping the probe errors", err)
	}
	if strings.Count(err.Error(), "resolver 127.0.0.1:53") != 2 {
		t.Errorf("error %q should name the resolver once per zone", err)
	}
	if len(reps) != 2 || reps[0].Verdict != reputation.VerdictIncomplete || reps[1].Verdict != reputation.VerdictReject {
		t.Fatalf("verdicts %v, %v; want incomplete (feed alone says clean) and reject (the feed's finding stands)", reps[0].Verdict, reps[1].Verdict)
	}
	// With one zone healthy, the feed-and-zone verdict stands and no error.
	ok := dnsblProbed{probed{&fake{name: "psbl"}, reputation.Health{Status: reputation.StatusOK}, nil}}
	s.Sources = append(s.Sources, ok)
	rep, err := s.Score(t.Context(), mpp("192.0.2.0/24"))
	if err != nil || rep.Verdict != reputation.VerdictClean {
		t.Errorf("with a usable zone: %v, %v; want clean and no error", rep.Verdict, err)
	}
}

// dnsblProbed is a probed source of kind DNSBL.
type dnsblProbed struct{ probed }

func (dnsblProbed) Info() reputation.Info {
	return reputation.Info{Kind: reputation.KindDNSBL, IPv4: true, IPv6: true}
}

// rateLimited is a source that paces itself (a Pacer) to one lookup per
// 200 ms, and counts lookups that come sooner or whose timeout started
// before their wait ended.
type rateLimited struct {
	mu      sync.Mutex
	next    time.Time // the next free slot
	last    time.Time
	calls   int
	early   int
	charged int // lookups whose timeout was running while they waited
}

func (r *rateLimited) Name() string { return "slowzone" }
func (r *rateLimited) Info() reputation.Info {
	return reputation.Info{Kind: reputation.KindDNSBL, IPv4: true, IPv6: true, Rate: 5}
}

func (r *rateLimited) Wait(ctx context.Context) error {
	r.mu.Lock()
	now := time.Now()
	slot := r.next
	if slot.Before(now) {
		slot = now
	}
	r.next = slot.Add(200 * time.Millisecond)
	r.mu.Unlock()
	t := time.NewTimer(slot.Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *rateLimited) Lookup(ctx context.Context, _ netip.Addr) (reputation.Listing, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.calls > 0 && now.Sub(r.last) < 200*time.Millisecond {
		r.early++
	}
	if dl, ok := ctx.Deadline(); !ok || dl.Sub(now) < time.Second {
		r.charged++
	}
	r.calls++
	r.last = now
	return reputation.Listing{}, nil
}

// A source that paces itself (Pacer) is waited for before the lookup's
// timeout starts: a slow zone makes a run long, never incomplete. Info.Rate
// alone paces nothing (it is descriptive; issue #10: one limiter, the
// source's).
func TestScore_pacesRateLimitedSources(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := &rateLimited{}
		s := &reputation.Scorer{Sources: []reputation.Source{src}, AllowSpecial: true, Timeout: time.Second, Concurrency: 16}
		start := time.Now()
		rep, err := s.Score(t.Context(), mpp("192.0.2.0/27"))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != reputation.VerdictClean || rep.Coverage != 1 || src.calls != 32 || src.early != 0 || src.charged != 0 {
			t.Errorf("verdict %s, coverage %v, %d calls, %d too early, %d charged the wait; want clean, 1, 32, 0, 0",
				rep.Verdict, rep.Coverage, src.calls, src.early, src.charged)
		}
		if d := time.Since(start); d < 6*time.Second {
			t.Errorf("32 lookups at 5/s took %v, want at least 6.2s", d)
		}
	})
}

func TestScore_progress(t *testing.T) {
	t.Parallel()
	var calls []reputation.Progress
	s := &reputation.Scorer{AllowSpecial: true, Concurrency: 8,
		Sources: []reputation.Source{
			&fake{name: "bl1", listed: map[netip.Addr]reputation.Listing{mpa("192.0.2.1"): spam("127.0.0.2", reputation.SeverityLow)}},
			&fake{name: "bl2", errs: map[netip.Addr]error{mpa("192.0.2.2"): errors.New("servfail"), mpa("192.0.2.3"): errors.New("servfail")}},
			&feed{name: "f", entries: []reputation.Match{entry("192.0.2.0/30", "abuse", reputation.SeverityLow, reputation.ScopeAddress, "")}},
		},
		Progress: func(p reputation.Progress) { calls = append(calls, p) }, // calls are serialised
	}
	if _, err := s.Score(t.Context(), mpp("192.0.2.0/24")); err != nil {
		t.Fatal(err)
	}
	// Issue #11: throttled, no longer one call per lookup; the first and
	// the final counts are always delivered.
	if len(calls) < 2 || calls[0] != (reputation.Progress{Planned: 513}) {
		t.Fatalf("progress calls %+v, want a first call with Planned 513 and Done 0", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].Done < calls[i-1].Done || calls[i].Listed < calls[i-1].Listed || calls[i].Errors < calls[i-1].Errors {
			t.Fatalf("progress went backwards: %+v then %+v", calls[i-1], calls[i])
		}
	}
	if last, want := calls[len(calls)-1], (reputation.Progress{Planned: 513, Done: 513, Listed: 2, Errors: 2}); last != want {
		t.Errorf("last progress %+v, want %+v", last, want)
	}
}

func TestScore_alreadyCancelled(t *testing.T) {
	t.Parallel()
	f := &fake{name: "bl1"}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s := &reputation.Scorer{Sources: []reputation.Source{f}, AllowSpecial: true}
	rep, err := s.Score(ctx, mpp("192.0.2.0/24"))
	if !errors.Is(err, context.Canceled) || rep == nil || rep.Verdict != reputation.VerdictIncomplete || f.calls.Load() != 0 {
		t.Errorf("Score = %+v, %v after %d lookups; want an incomplete report, context.Canceled, 0 lookups", rep, err, f.calls.Load())
	}
}

func TestScoreAll_noPrefixes(t *testing.T) {
	t.Parallel()
	s := &reputation.Scorer{Sources: []reputation.Source{&fake{name: "bl1"}}}
	reps, err := s.ScoreAll(t.Context(), nil)
	if err != nil || len(reps) != 0 {
		t.Errorf("ScoreAll(nil) = %v, %v; want no reports and no error", reps, err)
	}
}

func TestScore_logsUnusableSources(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	refused := probed{&fake{name: "zen"}, reputation.Health{Status: reputation.StatusRefused, Detail: "resolver 127.0.0.1:53 refused"}, nil}
	s := &reputation.Scorer{Sources: []reputation.Source{refused, &fake{name: "bl1"}}, AllowSpecial: true,
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if _, err := s.Score(t.Context(), mpp("192.0.2.0/28")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "source=zen status=refused") || !strings.Contains(buf.String(), "reputation: scored") {
		t.Errorf("log output %q lacks the refused source or the summary", buf.String())
	}
}
