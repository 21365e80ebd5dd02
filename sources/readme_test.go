package sources_test

import (
	"os"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/sources"
)

// TestREADMEListsCatalog keeps the catalog table in README.md in step with
// Catalog: every zone, live or dead, is named there.
func TestREADMEListsCatalog(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range sources.Catalog() {
		if !strings.Contains(string(readme), "`"+z.Zone+"`") {
			t.Errorf("README.md does not list catalog zone %s", z.Zone)
		}
	}
}
