package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/prefixvet/prefixvet/examples/internal/lines"
	"github.com/prefixvet/prefixvet/prefix"
)

// block is one CIDR block of the inventory.
type block struct {
	Prefix netip.Prefix
	Label  string
	Line   int // line of the inventory that names it
}

// loadInventory reads the inventory file name ("-" is standard input).
func loadInventory(name string, stdin io.Reader, allowSpecial bool) ([]block, error) {
	if name == "-" {
		return readInventory("standard input", stdin, allowSpecial)
	}
	fh, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	defer fh.Close()
	return readInventory(name, fh, allowSpecial)
}

// readInventory parses an inventory: one block per line in any form
// prefix.Parse accepts (a range expands to the CIDR blocks it spans), an
// optional label after white space, and # comments. Every bad line (one
// that does not parse, is special-purpose space, repeats a block, or is
// longer than lines.MaxLen) is reported with its number, and then the read
// fails: a run without a line would record its blocks as removed and drop
// their history, so a bad line stops the run rather than being skipped.
func readInventory(name string, r io.Reader, allowSpecial bool) ([]block, error) {
	var out []block
	var bad []error
	seen := make(map[netip.Prefix]int)
	err := lines.Scan(r, func(n int, line string, err error) error {
		if err != nil {
			bad = append(bad, fmt.Errorf("%s:%d: %w", name, n, err))
			return nil
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			return nil
		}
		label := strings.Join(fields[1:], " ")
		rg, err := prefix.Parse(fields[0])
		if err != nil {
			bad = append(bad, fmt.Errorf("%s:%d: %w; write one block per line (CIDR, address or range), then an optional label, or comment the line out with #", name, n, err))
			return nil
		}
		for p := range rg.Prefixes() {
			p = prefix.Unmap(p)
			if !allowSpecial {
				if err := prefix.CheckVettable(p); err != nil {
					bad = append(bad, fmt.Errorf("%s:%d: %w; remove the line or run with -allow-special to score it anyway", name, n, err))
					return nil
				}
			}
			if first, dup := seen[p]; dup {
				bad = append(bad, fmt.Errorf("%s:%d: block %s is already listed on line %d; list each block once", name, n, p, first))
				return nil
			}
			seen[p] = n
			out = append(out, block{Prefix: p, Label: label, Line: n})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inventory %s: %w", name, err)
	}
	if len(bad) > 0 {
		if len(bad) > maxBadLines {
			bad = append(bad[:maxBadLines], fmt.Errorf("%s: ... and %d more bad lines", name, len(bad)-maxBadLines))
		}
		return nil, errors.Join(bad...)
	}
	if len(out) == 0 {
		return nil, errors.New(name + ": the inventory lists no block; write one block per line, e.g. \"192.0.2.0/24 web servers\"")
	}
	return out, nil
}

// maxBadLines is the number of bad inventory lines reported one by one.
const maxBadLines = 100
