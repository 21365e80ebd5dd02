package reputation_test

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/prefixvet/prefixvet/reputation"
)

// FuzzReportJSON feeds stored reports (as a re-scoring job reads them back)
// to the methods that work on decoded reports: none may panic or hang, and a
// report that decodes must encode and decode to the same thing.
func FuzzReportJSON(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"prefix":"::/0","sampled":false,"addresses_total":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r reputation.Report
		if json.Unmarshal(b, &r) != nil {
			return
		}
		states := r.AddressStates()
		if len(states) > reputation.MaxAddressStates+len(r.Listings)+len(r.Unknown) {
			t.Fatalf("%d address states", len(states))
		}
		if err := r.WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
		c := reputation.Diff(&r, &r)
		if len(c.NewlyListed)+len(c.Delisted)+len(c.NewlyUnknown)+len(c.Resolved) != 0 {
			t.Fatalf("a report differs from itself: %+v", c)
		}
		out, err := json.Marshal(&r)
		if err != nil {
			return // e.g. an invalid severity read as a number: not produced by the Scorer
		}
		var back reputation.Report
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
	})
}
