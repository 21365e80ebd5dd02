package sources_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/sources"
)

//nolint:gochecknoglobals // the standard way to give a test binary a flag
var update = flag.Bool("update", false, "rewrite the golden files in testdata/ (testdata/catalog.json)")

// TestCatalogGolden keeps testdata/catalog.json, the JSON form of Catalog(),
// in step with the code, so that a change to the catalog reads as a data
// diff in review. Rewrite it with go test ./sources -run CatalogGolden -update.
func TestCatalogGolden(t *testing.T) {
	t.Parallel()
	got, err := json.MarshalIndent(sources.Catalog(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "catalog.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write it with -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("Catalog() differs from %s (-file +code); if the change is meant, rerun with -update and review the diff:\n%s", path, diff)
	}
	// The file reads back as the catalog.
	var back []sources.ZoneInfo
	if err := json.Unmarshal(want, &back); err != nil {
		t.Fatalf("%s does not read back: %v", path, err)
	}
	if len(back) != len(sources.Catalog()) {
		t.Errorf("%s has %d zones, Catalog() %d", path, len(back), len(sources.Catalog()))
	}
}
