package lines_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/examples/internal/lines"
)

func collect(t *testing.T, r io.Reader) []string {
	t.Helper()
	var got []string
	err := lines.Scan(r, func(n int, text string, err error) error {
		if err != nil {
			got = append(got, fmt.Sprintf("%d! %v", n, errors.Is(err, lines.ErrTooLong)))
			return nil
		}
		got = append(got, fmt.Sprintf("%d %s", n, text))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestScan(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", lines.MaxLen+1)
	exact := strings.Repeat("y", lines.MaxLen)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "empty", in: "", want: nil},
		{name: "no_final_newline", in: "a\nb", want: []string{"1 a", "2 b"}},
		{name: "crlf", in: "a\r\nb\r\n", want: []string{"1 a", "2 b"}},
		{name: "blank_lines", in: "\n\na\n", want: []string{"1 ", "2 ", "3 a"}},
		{name: "too_long_in_the_middle", in: "a\n" + long + "\nb\n", want: []string{"1 a", "2! true", "3 b"}},
		{name: "too_long_at_the_end", in: "a\n" + long, want: []string{"1 a", "2! true"}},
		{name: "exactly_max", in: exact + "\r\n", want: []string{"1 " + exact}},
		{name: "very_long", in: strings.Repeat("z", 10*lines.MaxLen) + "\nok\n", want: []string{"1! true", "2 ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, collect(t, strings.NewReader(tt.in))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzScan(f *testing.F) {
	f.Add("a\nb\r\n\n" + strings.Repeat("x", lines.MaxLen+3))
	f.Fuzz(func(t *testing.T, in string) {
		total := 0
		err := lines.Scan(strings.NewReader(in), func(n int, text string, err error) error {
			if n != total+1 {
				t.Fatalf("line %d after %d lines", n, total)
			}
			total = n
			if len(text) > lines.MaxLen || strings.ContainsAny(text, "\n") {
				t.Fatalf("line %d: %d bytes with a newline or over the limit", n, len(text))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Count(strings.TrimSuffix(in, "\n"), "\n") + 1; in != "" && total != want {
			t.Errorf("%d lines, want %d", total, want)
		}
	})
}
