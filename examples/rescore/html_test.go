package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHTMLPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dir := filepath.Join(f.dir, "pages")
	if code, _, errOut := runRescore(t, f.args("-html", dir)...); code != exitOK {
		t.Fatalf("run 1 exited %d: %s", code, errOut)
	}
	f.write(t, zoneV2, inventoryV2)
	if code, _, errOut := runRescore(t, f.args("-html", dir)...); code != exitListed {
		t.Fatalf("run 2 exited %d: %s", code, errOut)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	// 198.51.100.0/28 left the inventory: its page is gone; the range
	// 198.51.100.64-191 is two blocks.
	want := []string{"192.0.2.0_24.html", "198.51.100.128_26.html", "198.51.100.64_26.html", "203.0.113.0_30.html", "index.html"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("files %q, want %q (no temporary file left)", names, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	index := string(b)
	for _, s := range []string{
		"prefixvet inventory: run 2",
		`<a href="192.0.2.0_24.html">192.0.2.0/24</a>`,
		"delisted: ", "listed: ", // 192.0.2.7 delisted, 192.0.2.9 listed
		"new: new block",
		"198.51.100.0/28", "removed: removed from the inventory",
		"new range",
	} {
		if !strings.Contains(index, s) {
			t.Errorf("index does not say %q", s)
		}
	}
	if strings.Contains(index, `href="198.51.100.0_28.html"`) {
		t.Errorf("index links the page of a removed block")
	}
	page, err := os.ReadFile(filepath.Join(dir, "203.0.113.0_30.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `id="prefixvet-report">{"prefix":"203.0.113.0/30"`) {
		t.Errorf("block page does not embed its report")
	}
}
