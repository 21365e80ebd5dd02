package sources_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

func TestReadListHostile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		input   string
		cfg     sources.FeedConfig
		wantLen int   // 0: nil list expected
		wantErr error // nil: no error expected
	}{
		{"slash0_refused", "0.0.0.0/0\n192.0.2.0/24\n", sources.FeedConfig{}, 1, sources.ErrWholeSpace},
		{"v6_slash0_refused", "::/0\n2001:db8::/32\n", sources.FeedConfig{}, 1, sources.ErrWholeSpace},
		{"strict_fails_first", "192.0.2.1\nbad\n", sources.FeedConfig{Strict: true}, 0, sources.ErrSyntax},
		{"empty_is_error", "# only comments\n\n", sources.FeedConfig{}, 0, sources.ErrEmpty},
		{"million_comments", strings.Repeat("# comment\n", 1_000_000) + "192.0.2.1\n", sources.FeedConfig{}, 1, nil},
		{"long_line", strings.Repeat("x", 10_000) + "\n192.0.2.1\n", sources.FeedConfig{}, 1, sources.ErrLineTooLong},
		{"binary_junk", "\x00\x01\xff\xfe\n\x89PNG\r\n192.0.2.1\n", sources.FeedConfig{}, 1, sources.ErrSyntax},
		{"mixed_families", "192.0.2.0/24\n2001:db8::/32\n", sources.FeedConfig{}, 2, nil},
		{"size_cap", strings.Repeat("192.0.2.1\n", 100), sources.FeedConfig{MaxBytes: 50}, 0, sources.ErrTooLarge},
		{"ipsum_counts", "# IPsum\n192.0.2.1\t7\n", sources.FeedConfig{}, 1, nil},
		{"drop_text", "; Spamhaus DROP List\n192.0.2.0/24 ; SBL1\n; EOF\n", sources.FeedConfig{}, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := sources.ReadList(strings.NewReader(tc.input), tc.cfg)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantLen == 0 {
				if l != nil {
					t.Fatalf("got a list of %d entries, want nil", l.Len())
				}
				return
			}
			if l == nil || l.Len() != tc.wantLen {
				t.Fatalf("list = %v, want %d entries", l, tc.wantLen)
			}
			var pe *sources.ParseError
			if tc.wantErr != nil && !errors.Is(tc.wantErr, sources.ErrTooLarge) && !errors.As(err, &pe) {
				t.Errorf("err %v carries no *ParseError", err)
			}
		})
	}
}

func TestReadListFormats(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	l, _ := sources.ReadList(strings.NewReader("# IPsum\n192.0.2.1\t7\n"), sources.FeedConfig{})
	lst, _ := l.Lookup(ctx, netip.MustParseAddr("192.0.2.1"))
	if l.Format() != sources.FormatIPsum || lst.Evidence[0].Count != 7 {
		t.Errorf("ipsum: format %v, evidence %+v", l.Format(), lst.Evidence)
	}
	l, _ = sources.ReadList(strings.NewReader("192.0.2.0/24\n"), sources.FeedConfig{Category: "bogon", Severity: reputation.SeverityHigh})
	lst, _ = l.Lookup(ctx, netip.MustParseAddr("192.0.2.1"))
	if e := lst.Evidence[0]; e.Category != "bogon" || e.Severity != reputation.SeverityInfo {
		t.Errorf("bogon evidence = %+v, want category bogon with severity info", e)
	}
	// Overlapping entries: each address reports every entry, extents do not overlap.
	l, _ = sources.ReadList(strings.NewReader("192.0.2.0/24 ; SBL1\n192.0.2.128/25 ; SBL2\n"), sources.FeedConfig{Format: sources.FormatDROP})
	ms, _ := l.LookupPrefix(ctx, netip.MustParsePrefix("192.0.2.0/24"))
	got := fmt.Sprint(len(ms), ms[0].Prefix, len(ms[0].Evidence), ms[1].Prefix, len(ms[1].Evidence))
	if got != "2 192.0.2.0/25 1 192.0.2.128/25 2" {
		t.Errorf("LookupPrefix = %s", got)
	}
	if _, err := l.Lookup(canceled(), netip.MustParseAddr("192.0.2.1")); !errors.Is(err, context.Canceled) {
		t.Errorf("Lookup with a cancelled context: err = %v", err)
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
