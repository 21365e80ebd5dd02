package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/examples/internal/metrics"
	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

func TestOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "refused", err: fmt.Errorf("x: %w", sources.ErrRefused), want: "refused"},
		{name: "rate_limited", err: sources.ErrRateLimited, want: "rate_limited"},
		{name: "bad_key", err: sources.ErrBadKey, want: "bad_key"},
		{name: "unknown_zone", err: sources.ErrUnknownZone, want: "unknown_zone"},
		{name: "servfail", err: sources.ErrServFail, want: "servfail"},
		{name: "bogus", err: sources.ErrBogusAnswer, want: "bogus_answer"},
		{name: "unsupported", err: sources.ErrUnsupported, want: "unsupported"},
		{name: "timeout", err: sources.ErrTimeout, want: "timeout"},
		{name: "rate_limit_wait_deadline", err: fmt.Errorf("%w: wait: %w", sources.ErrTimeout, context.DeadlineExceeded), want: "timeout"},
		{name: "deadline", err: context.DeadlineExceeded, want: "timeout"},
		{name: "canceled", err: fmt.Errorf("lookup: %w", context.Canceled), want: "canceled"},
		{name: "other", err: errors.New("boom"), want: "error"},
		{name: "source_error", err: &reputation.SourceError{Source: "x", Err: sources.ErrRefused}, want: "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := metrics.Outcome(tt.err); got != tt.want {
				t.Errorf("Outcome(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	m.Observe(&reputation.Report{Verdict: reputation.VerdictReview, DurationMS: 1500,
		Sources: []reputation.SourceReport{{Name: "feed", Status: reputation.StatusOK, Queried: 3, Listed: 1, Errors: 1}},
		Unknown: []reputation.UnknownReport{{Source: "feed", Err: sources.ErrTimeout}}})
	path := filepath.Join(t.TempDir(), "x.prom")
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`prefixvet_reports_total{verdict="review"} 1`,
		`prefixvet_lookups_total{outcome="listed",source="feed"} 1`,
		`prefixvet_lookups_total{outcome="not_listed",source="feed"} 1`,
		`prefixvet_lookups_total{outcome="timeout",source="feed"} 1`,
		`prefixvet_scoring_duration_seconds_sum 1.5`,
	} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("file lacks %q:\n%s", want, b)
		}
	}
}
