package sources

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/sources/internal/ipset"
)

// This file holds what the lease-readiness sources (RPKI VRPs, RIR delegated
// statistics, prefix-to-origin tables and ASN-DROP) share: telling their
// file formats apart, AS numbers, and an index of nested CIDR prefixes.

// ErrWrongFormat: the input is a file of a known kind, but not the kind the
// loader reads (VRPs given where delegated statistics are expected, say).
// The error text names both.
var ErrWrongFormat = errors.New("sources: wrong file format")

// ParseASN parses an AS number written "AS64500", "as64500" or "64500"
// (asplain, RFC 5396). AS0 is valid.
func ParseASN(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	if len(t) > 2 && (t[0] == 'A' || t[0] == 'a') && (t[1] == 'S' || t[1] == 's') {
		t = t[2:]
	}
	if !isDigits(t) {
		return 0, lineErrorf(ErrSyntax, "bad AS number %q (want AS64500 or 64500)", s)
	}
	n, err := strconv.ParseUint(t, 10, 32)
	if err != nil {
		return 0, lineErrorf(ErrSyntax, "bad AS number %q (want at most 4294967295)", s)
	}
	return uint32(n), nil
}

// formatASN returns "AS64500".
func formatASN(asn uint32) string { return "AS" + strconv.FormatUint(uint64(asn), 10) }

// fileKind is what a lease-check input looks like, from its first data line.
type fileKind int

const (
	kindUnknown  fileKind = iota
	kindVRPJSON           // rpki-client or Routinator JSON
	kindVRPCSV            // ASN,IP Prefix,Max Length,Trust Anchor
	kindRIRStats          // registry|cc|type|start|value|date|status
	kindPfx2as            // prefix<TAB>length<TAB>asn
	kindASNDrop           // {"asn":...} JSON lines
	kindDROP              // Spamhaus DROP, JSON lines or text
)

func (k fileKind) String() string {
	switch k {
	case kindVRPJSON:
		return "RPKI VRPs (rpki-client or Routinator JSON)"
	case kindVRPCSV:
		return "RPKI VRPs (CSV: ASN,IP Prefix,Max Length,Trust Anchor)"
	case kindRIRStats:
		return "RIR delegated statistics (registry|cc|type|start|value|date|status)"
	case kindPfx2as:
		return "a prefix-to-origin table (pfx2as: prefix<TAB>length<TAB>asn)"
	case kindASNDrop:
		return "Spamhaus ASN-DROP (JSON lines with \"asn\")"
	case kindDROP:
		return "Spamhaus DROP (a prefix blocklist; give it to -feed)"
	}
	return "unknown"
}

// sniffKind guesses the kind of a file from its first bytes: the first line
// that is neither blank nor a comment decides.
func sniffKind(head []byte) fileKind {
	for len(head) > 0 {
		var line []byte
		line, head, _ = bytes.Cut(head, []byte{'\n'})
		s := strings.TrimSpace(string(line))
		switch {
		case s == "" || s[0] == '#':
			continue
		case s[0] == ';':
			switch {
			case strings.Contains(s, "ASN-DROP"):
				return kindASNDrop
			case strings.Contains(s, "Spamhaus"):
				return kindDROP
			}
			continue
		case s[0] == '{' || s[0] == '[':
			switch {
			case s == "{" || strings.Contains(s, `"roas"`) || strings.HasPrefix(s, `{"metadata"`) || strings.HasPrefix(s, `{ "metadata"`):
				return kindVRPJSON
			case strings.Contains(s, `"cidr"`):
				return kindDROP
			case strings.Contains(s, `"asn"`):
				return kindASNDrop
			}
			return kindUnknown
		case strings.Count(s, "|") >= 5:
			return kindRIRStats
		}
		if f := strings.Split(s, "\t"); len(f) == 3 && isDigits(f[1]) {
			return kindPfx2as
		}
		if f := strings.Split(s, ","); len(f) >= 3 {
			if strings.EqualFold(strings.TrimSpace(f[0]), "ASN") {
				return kindVRPCSV
			}
			if _, err := ParseASN(f[0]); err == nil && strings.Contains(f[1], "/") {
				return kindVRPCSV
			}
		}
		if a, rest, ok := strings.Cut(s, ";"); ok && strings.HasPrefix(strings.TrimSpace(rest), "SBL") && a != "" {
			return kindDROP
		}
		return kindUnknown
	}
	return kindUnknown
}

// sizeHint returns the size of r's remaining input when r can tell
// (*os.File, *bytes.Reader, *strings.Reader), else 0. Loaders use it to
// allocate their record slices once: growing a slice of a million records
// copies and faults in several times its final size, which costs more than
// parsing the file.
func sizeHint(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len())
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	}
	return 0
}

// capHint returns how many records of at least minBytes each fit in
// size bytes, capped so that a wrong hint cannot allocate much.
func capHint(size int64, minBytes int) int {
	return int(min(size/int64(minBytes), 1<<22))
}

// trimCap returns s with its capacity cut to its length, copying when more
// than a quarter of the capacity would be wasted.
func trimCap[T any](s []T) []T {
	if cap(s)-len(s) > cap(s)/4 {
		return slices.Clone(s)
	}
	return slices.Clip(s)
}

// pkey is a CIDR prefix in 18 bytes (a netip.Prefix takes 32), so that
// tables of a million routes stay small.
type pkey struct {
	a    [16]byte
	bits uint8
	v4   bool
}

func pkeyOf(p netip.Prefix) pkey {
	return pkey{a: p.Addr().As16(), bits: uint8(p.Bits()), v4: p.Addr().Is4()}
}

func (k pkey) prefix() netip.Prefix {
	a := netip.AddrFrom16(k.a)
	if k.v4 {
		a = a.Unmap()
	}
	return netip.PrefixFrom(a, int(k.bits))
}

// compare orders IPv4 before IPv6, then by address, then wider first, so a
// prefix comes before the prefixes inside it.
func (k pkey) compare(o pkey) int {
	if k.v4 != o.v4 {
		if k.v4 {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(k.a[:], o.a[:]); c != 0 {
		return c
	}
	return int(k.bits) - int(o.bits)
}

// contains reports whether k contains o (or equals it).
func (k pkey) contains(o pkey) bool {
	return k.v4 == o.v4 && k.bits <= o.bits && k.prefix().Contains(o.prefix().Addr())
}

// nested indexes records keyed by CIDR prefixes. CIDR prefixes are nested or
// disjoint, so the prefixes covering any address form a chain: the set maps
// every elementary interval to the deepest group (the records of one
// prefix) covering it, and parent links lead to the wider ones.
type nested struct {
	set    *ipset.Set
	first  []uint32 // first record of each group; len(groups)+1 entries
	parent []int32  // parent group, -1 for none
	key    func(i int) pkey
}

// buildNested sorts recs by key (real exports come sorted, and then the
// sort is skipped) and indexes them.
func buildNested[T any](recs []T, key func(T) pkey) (*nested, error) {
	cmpRec := func(a, b T) int { return key(a).compare(key(b)) }
	if !slices.IsSortedFunc(recs, cmpRec) {
		slices.SortFunc(recs, cmpRec)
	}
	n := &nested{key: func(i int) pkey { return key(recs[i]) }}
	n4 := 0
	groups := 0
	for i := range recs {
		k := key(recs[i])
		if i == 0 || key(recs[i-1]) != k {
			groups++
			if k.v4 {
				n4++
			}
		}
	}
	n.first = make([]uint32, 0, groups+1)
	n.parent = make([]int32, 0, groups)
	var b ipset.Builder
	b.Grow(n4, groups-n4)
	var stack []int32
	for i := range recs {
		k := key(recs[i])
		if i > 0 && key(recs[i-1]) == k {
			continue
		}
		g := int32(len(n.first))
		n.first = append(n.first, uint32(i))
		for len(stack) > 0 && !n.groupKey(stack[len(stack)-1]).contains(k) {
			stack = stack[:len(stack)-1]
		}
		par := int32(-1)
		if len(stack) > 0 {
			par = stack[len(stack)-1]
		}
		n.parent = append(n.parent, par)
		stack = append(stack, g)
		r := prefix.RangeOf(k.prefix())
		if err := b.Add(r.From(), r.To(), uint32(g)); err != nil {
			return nil, err
		}
	}
	n.first = append(n.first, uint32(len(recs)))
	set, err := b.Build(func(ids []uint32) (uint32, bool) {
		// ids are ascending group numbers; the deepest prefix sorts last.
		return ids[len(ids)-1], true
	})
	if err != nil {
		return nil, err
	}
	n.set = set
	return n, nil
}

// groupKey returns the prefix of group g.
func (n *nested) groupKey(g int32) pkey { return n.key(int(n.first[g])) }

// chain calls fn for group g and every group containing it, deepest first.
func (n *nested) chain(g int32, fn func(g int32)) {
	for ; g >= 0; g = n.parent[g] {
		fn(g)
	}
}

// records returns the record range of group g.
func (n *nested) records(g int32) (from, to int) { return int(n.first[g]), int(n.first[g+1]) }

// canonicalBlock validates p and returns it masked, with an IPv4-mapped
// prefix turned into its IPv4 form.
func canonicalBlock(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return p, lineErrorf(ErrSyntax, "invalid prefix")
	}
	return prefix.Unmap(p).Masked(), nil
}
