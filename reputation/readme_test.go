package reputation_test

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEShowsTestedExample keeps the program in README.md identical to
// ExampleScorer_Score_localData, which runs (and is checked) with the tests.
func TestREADMEShowsTestedExample(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("example_sources_test.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	body := string(src)
	start := strings.Index(body, "func ExampleScorer_Score_localData() {\n")
	end := strings.Index(body, "\t// Output:")
	if start < 0 || end < start {
		t.Fatal("cannot find the body of ExampleScorer_Score_localData")
	}
	var want []string
	for _, line := range strings.Split(body[start:end], "\n")[1:] {
		want = append(want, strings.TrimPrefix(line, "\t"))
	}
	if !strings.Contains(string(readme), strings.Join(want, "\n")) {
		t.Errorf("README.md does not contain the body of ExampleScorer_Score_localData verbatim (one tab less indentation):\n%s", strings.Join(want, "\n"))
	}
}
