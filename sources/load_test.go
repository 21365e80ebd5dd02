package sources_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/sources"
)

// TestLoadErrorTexts pins the texts of what ReadList and ReadMirror return
// for malformed input: ParseError says the source, the line, what is wrong
// (without a second "sources: ") and the line quoted.
func TestLoadErrorTexts(t *testing.T) {
	t.Parallel()
	feed := func(in string, cfg sources.FeedConfig) error {
		cfg.Name = "f"
		_, err := sources.ReadList(strings.NewReader(in), cfg)
		return err
	}
	unnamedFeed := func(in string, cfg sources.FeedConfig) error {
		_, err := sources.ReadList(strings.NewReader(in), cfg)
		return err
	}
	mirror := func(typ sources.Dataset, in string) error {
		_, err := sources.ReadMirror(strings.NewReader(in), sources.MirrorConfig{Name: "m", Type: typ})
		return err
	}
	tests := []struct {
		name string
		err  error
		is   error
		want string
	}{
		{"feed_bad_address", feed("192.0.2.1\nnot-an-address\n", sources.FeedConfig{}), sources.ErrSyntax,
			`sources: f line 2: syntax error: ParseAddr("not"): unable to parse IP: "not-an-address"`},
		{"feed_whole_space", feed("0.0.0.0/0\n192.0.2.1\n", sources.FeedConfig{}), sources.ErrWholeSpace,
			`sources: f line 1: entry covers the whole address space (/0): "0.0.0.0/0"`},
		{"feed_long_line", feed("192.0.2.1\n"+strings.Repeat("9", 30)+"\n", sources.FeedConfig{MaxLineBytes: 16}), sources.ErrLineTooLong,
			`sources: f line 2: line too long (limit 16 bytes): "999999999999999999999999999999"`},
		{"feed_ipsum_count", feed("192.0.2.1\tx\n192.0.2.2\t3\n", sources.FeedConfig{Format: sources.FormatIPsum}), sources.ErrSyntax,
			`sources: f line 1: syntax error: bad count "x": "192.0.2.1\tx"`},
		{"feed_strict", feed("192.0.2.1\n192.0.2.0/33\n", sources.FeedConfig{Strict: true}), sources.ErrSyntax,
			`sources: f line 2: syntax error: netip.ParsePrefix("192.0.2.0/33"): prefix length out of range: "192.0.2.0/33"`},
		{"feed_empty", feed("# nothing\n", sources.FeedConfig{}), sources.ErrEmpty,
			`sources: no entries: feed f`},
		{"feed_too_large", feed(strings.Repeat("192.0.2.1\n", 10), sources.FeedConfig{Format: sources.FormatPlain, MaxBytes: 50}), sources.ErrTooLarge,
			`sources: input exceeds size cap: f is larger than 50 bytes`},
		// Detecting the format reads ahead, and meets the cap before any line.
		{"feed_too_large_detecting", feed(strings.Repeat("192.0.2.1\n", 10), sources.FeedConfig{MaxBytes: 50}), sources.ErrTooLarge,
			`sources: input exceeds size cap: f is larger than 50 bytes`},
		{"feed_too_large_unnamed", unnamedFeed(strings.Repeat("192.0.2.1\n", 10), sources.FeedConfig{MaxBytes: 50}), sources.ErrTooLarge,
			`sources: input exceeds size cap: input is larger than 50 bytes`},
		{"mirror_bad_address", mirror(sources.DatasetIP4Set, "192.0.2.1\n300.0.0.1\n"), sources.ErrSyntax,
			`sources: m line 2: syntax error: invalid address: "300.0.0.1"`},
		{"mirror_duplicate", mirror(sources.DatasetIP4Trie, "192.0.2.0/24\n192.0.2.0/24 :3:\n"), sources.ErrSyntax,
			`sources: m line 2: syntax error: duplicated entry for 192.0.2.0/24: "192.0.2.0/24 :3:"`},
		{"mirror_bad_value", mirror(sources.DatasetIP4Set, "192.0.2.1 :0:x\n192.0.2.2\n"), sources.ErrSyntax,
			`sources: m line 1: syntax error: invalid A or TXT value: "192.0.2.1 :0:x"`},
		{"mirror_empty", mirror(sources.DatasetIP6TSet, "$TTL 60\n"), sources.ErrEmpty,
			`sources: no entries: zone m`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !errors.Is(tc.err, tc.is) {
				t.Errorf("err = %v, want one wrapping %v", tc.err, tc.is)
			}
			if tc.err == nil || tc.err.Error() != tc.want {
				t.Errorf("err text:\n got %v\nwant %s", tc.err, tc.want)
			}
		})
	}
	// A ParseError quotes its cause whatever the cause is.
	pe := &sources.ParseError{Name: "x", Line: 3, Text: "y", Err: errors.New("plain cause")}
	if got, want := pe.Error(), `sources: x line 3: plain cause: "y"`; got != want {
		t.Errorf("ParseError.Error() = %s, want %s", got, want)
	}
}
