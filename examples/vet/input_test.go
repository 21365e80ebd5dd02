package main

import (
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/examples/internal/lines"
)

// A bad or over-long line of standard input is reported with its line
// number, the other blocks are still vetted and printed, and the exit
// status is 2. (The issue: "bufio.Scanner: token too long" without a line,
// and one bad line aborted the whole batch.)
func TestBadStdinLines(t *testing.T) {
	t.Parallel()
	local := []string{"-zones", "none", "-feed", "plain:testdata/feed.txt", "-zonefile", "ip4set:bl.example.org:testdata/bl.zone", "-allow-special", "-json", "-"}
	long := strings.Repeat("1", 70000) // longer than bufio.Scanner's 64 KiB token
	tests := []struct {
		name    string
		stdin   string
		code    int
		reports int
		want    []string // in stderr
	}{
		{name: "over_long_line", stdin: "192.0.2.0/26\n" + long + "\n198.51.100.0/24\n", code: exitUsage, reports: 2,
			want: []string{"standard input:2: line longer than 4096 bytes, skipped", "1 bad input lines were skipped"}},
		{name: "bad_prefix", stdin: "# blocks\n192.0.2.0/26\n192.0.2.300/24\n198.51.100.0/24\n", code: exitUsage, reports: 2,
			want: []string{"standard input:3: prefix.Parse(\"192.0.2.300/24\")"}},
		{name: "only_bad_lines", stdin: "nonsense\n" + long, code: exitUsage, reports: 0,
			want: []string{"standard input:1:", "standard input:2: line longer", "no good block"}},
		{name: "good_lines_only", stdin: "192.0.2.0/26\r\n198.51.100.0/24\r\n", code: exitListed, reports: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runVet(t, tt.stdin, local...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.code, errOut)
			}
			if rs := reports(t, out); len(rs) != tt.reports {
				t.Errorf("%d reports, want %d", len(rs), tt.reports)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if len(errOut) > 2*lines.MaxLen {
				t.Errorf("stderr repeats the long line (%d bytes)", len(errOut))
			}
		})
	}
}

func TestManyBadLinesAreCapped(t *testing.T) {
	t.Parallel()
	stdin := strings.Repeat("junk\n", 500) + "192.0.2.0/26\n"
	code, out, errOut := runVet(t, stdin, "-zones", "none", "-feed", "plain:testdata/feed.txt", "-allow-special", "-json", "-")
	if code != exitUsage || len(reports(t, out)) != 1 {
		t.Errorf("exit %d with %d reports, want %d and 1", code, len(reports(t, out)), exitUsage)
	}
	if n := strings.Count(errOut, "\n"); n > maxBadLines+3 {
		t.Errorf("%d stderr lines for 500 bad lines, want at most %d", n, maxBadLines+3)
	}
	if !strings.Contains(errOut, "and 400 more bad lines") || !strings.Contains(errOut, "500 bad input lines") {
		t.Errorf("stderr does not count the bad lines:\n%s", errOut[len(errOut)-300:])
	}
}
