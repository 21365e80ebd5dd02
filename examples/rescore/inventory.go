package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

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
// optional label after white space, and # comments. The first bad line fails
// the read with an error that names the input, the line and what to do.
func readInventory(name string, r io.Reader, allowSpecial bool) ([]block, error) {
	var out []block
	seen := make(map[netip.Prefix]int)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		label := strings.Join(fields[1:], " ")
		rg, err := prefix.Parse(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w; write one block per line (CIDR, address or range), then an optional label, or comment the line out with #", name, n, err)
		}
		for p := range rg.Prefixes() {
			p = prefix.Unmap(p)
			if !allowSpecial {
				if err := prefix.CheckVettable(p); err != nil {
					return nil, fmt.Errorf("%s:%d: %w; remove the line or run with -allow-special to score it anyway", name, n, err)
				}
			}
			if first, dup := seen[p]; dup {
				return nil, fmt.Errorf("%s:%d: block %s is already listed on line %d; list each block once", name, n, p, first)
			}
			seen[p] = n
			out = append(out, block{Prefix: p, Label: label, Line: n})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("inventory %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, errors.New(name + ": the inventory lists no block; write one block per line, e.g. \"192.0.2.0/24 web servers\"")
	}
	return out, nil
}
