package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/reputation/htmlreport"
)

// indexFile is the name of the index page in the -html directory.
const indexFile = "index.html"

// pageName is the file name of a block's page: 198.51.100.0/24 is
// 198.51.100.0_24.html, 2001:db8::/32 is 2001-db8--_32.html.
func pageName(p netip.Prefix) string {
	return strings.NewReplacer("/", "_", ":", "-").Replace(p.String()) + ".html"
}

// writePages writes, after a recorded run, one page per block of the
// inventory with its latest report, and the index page listing them with
// what changed in the run (removed blocks last, without a page). The pages
// of removed blocks are deleted. Every file is written to a temporary file
// in dir and renamed, so a reader sees the old page or the new one.
func writePages(dir string, runID uint64, when time.Time, blocks []block, reports []*reputation.Report, events []event, removed []netip.Prefix, prev state) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	changes := map[netip.Prefix][]string{}
	for _, e := range events {
		changes[e.Block] = append(changes[e.Block], e.Kind+": "+e.Text)
	}
	opts := htmlreport.Options{Time: when}
	var entries []htmlreport.IndexEntry
	for i, b := range blocks {
		opts.Title = "prefixvet: " + b.Prefix.String()
		if b.Label != "" {
			opts.Title += " (" + b.Label + ")"
		}
		var page bytes.Buffer
		if err := htmlreport.Write(&page, []*reputation.Report{reports[i]}, opts); err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(dir, pageName(b.Prefix)), page.Bytes()); err != nil {
			return err
		}
		entries = append(entries, htmlreport.IndexEntry{Report: reports[i], Label: b.Label, Href: pageName(b.Prefix), Changes: changes[b.Prefix]})
	}
	for _, p := range removed {
		sb := prev.Blocks[p]
		rep := sb.Report
		if rep == nil {
			rep = &reputation.Report{Prefix: p}
		}
		entries = append(entries, htmlreport.IndexEntry{Report: rep, Label: sb.Label, Changes: changes[p]})
		if err := os.Remove(filepath.Join(dir, pageName(p))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	var index bytes.Buffer
	opts.Title = fmt.Sprintf("prefixvet inventory: run %d", runID)
	if err := htmlreport.WriteIndex(&index, entries, opts); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, indexFile), index.Bytes())
}

// writeAtomic writes b to a temporary file beside path and renames it to
// path.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
