package sources

// The parser of rbldnsd data files (the lines of one dataset: entries,
// values, exclusions and "$" specials), which ReadMirror runs; the address
// and value syntax it uses is in rbldnsd_syntax.go.

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/sources/internal/ipset"
)

// piece is one octet-level part (ip4set) or one prefix (tries, tsets) of
// an entry; rr < 0 marks an exclusion. Lower levels win.
type piece struct {
	level int16
	rr    int32
}

// rbldnsdParser reads the lines of one rbldnsd data file.
type rbldnsdParser struct {
	typ      Dataset
	b        ipset.Builder
	pieces   interner[piece]
	rrs      interner[rrValue]
	def      rrValue
	defSet   bool // ip4tset/ip6tset: the first ":" line was seen
	vars     [10]string
	base     string
	baseSet  bool
	ttl      time.Duration
	maxRange uint64 // $MAXRANGE4 in addresses; 0 means none
	seen     map[netip.Prefix]bool
	entries  int
}

// globalDefaultA is the A value of rbldnsd's default when no ":" line
// applies: 127.0.0.2, with no TXT.
const globalDefaultA = 0x7f000002

func newRbldnsdParser(t Dataset) *rbldnsdParser {
	return &rbldnsdParser{typ: t, def: rrValue{a: globalDefaultA}, seen: map[netip.Prefix]bool{}}
}

func (p *rbldnsdParser) tset() bool { return p.typ == DatasetIP4TSet || p.typ == DatasetIP6TSet }

func (p *rbldnsdParser) tsetRR() rrValue {
	if p.defSet {
		return p.def
	}
	return rrValue{a: globalDefaultA}
}

func (p *rbldnsdParser) rr(v rrValue) int32 { return int32(p.rrs.id(v)) }

func (p *rbldnsdParser) add(from, to netip.Addr, pc piece) error {
	return p.b.Add(from, to, p.pieces.id(pc))
}

func errInvalidAddress() error { return lineErrorf(ErrSyntax, "invalid address") }

func errInvalidValue() error { return lineErrorf(ErrSyntax, "invalid A or TXT value") }

func (p *rbldnsdParser) line(s string) error {
	s = strings.Trim(s, " \t\r")
	if s == "" {
		return nil
	}
	if s[0] == '$' || ((isCommentByte(s[0]) || s[0] == ':') && len(s) > 1 && s[1] == '$') {
		if s[0] != '$' {
			s = s[1:]
		}
		return p.special(s[1:])
	}
	if isCommentByte(s[0]) {
		return nil
	}
	if s[0] == ':' && !(p.typ == DatasetIP6Trie && strings.HasPrefix(s, "::")) {
		if p.tset() && p.defSet {
			return nil
		}
		v, ok := parseATXT(s, rrValue{a: globalDefaultA})
		if !ok {
			return errInvalidValue()
		}
		p.def, p.defSet = v, true
		return nil
	}
	excl := s[0] == '!'
	if excl {
		if p.typ == DatasetIP4TSet {
			return errInvalidAddress()
		}
		s = skipSpace(s[1:])
	}
	var (
		from, to netip.Addr
		level    int16
		rest     string
	)
	switch p.typ {
	case DatasetIP4Set, DatasetIP4Trie:
		var a, b uint32
		var bits int
		if p.typ == DatasetIP4Set {
			a, b, bits, rest = ip4range(s)
			if bits == 0 {
				bits = -1 // ip4set refuses /0
			}
		} else {
			a, bits, rest = ip4cidr(s)
			b = a | ^ip4mask(bits)
		}
		if bits < 0 || !tailOK(rest) {
			return errInvalidAddress()
		}
		if a&^ip4mask(bits) != 0 {
			return lineErrorf(ErrSyntax, "invalid range (non-zero host part)")
		}
		if p.maxRange != 0 && p.maxRange <= uint64(b-a) {
			return lineErrorf(ErrSyntax, "range larger than $MAXRANGE4")
		}
		rr, err := p.value(rest, excl)
		if err != nil {
			return err
		}
		p.entries++
		if p.typ == DatasetIP4Trie {
			pfx := netip.PrefixFrom(u32Addr(a), bits)
			if p.seen[pfx] {
				return lineErrorf(ErrSyntax, "duplicated entry for %s", pfx)
			}
			p.seen[pfx] = true
			return p.add(u32Addr(a), u32Addr(b), piece{level: int16(32 - bits), rr: rr})
		}
		var addErr error
		expandIP4(a, b, func(idx int, start, count uint32) {
			step := uint64(1) << (8 * idx)
			last := uint64(start) + uint64(count)*step - 1
			if err := p.add(u32Addr(start), u32Addr(uint32(last)), piece{level: int16(idx), rr: rr}); err != nil && addErr == nil {
				addErr = err
			}
		})
		return addErr
	case DatasetIP4TSet:
		a, bits, rest := ip4prefix(s)
		if bits != 32 || !tailOK(rest) {
			return errInvalidAddress()
		}
		p.entries++
		return p.add(u32Addr(a), u32Addr(a), piece{level: 0, rr: 0})
	case DatasetIP6Trie:
		a, bits, rest := ip6cidr(s)
		if bits < 0 || !tailOK(rest) {
			return errInvalidAddress()
		}
		if ip6mask(&a, bits) {
			return lineErrorf(ErrSyntax, "invalid range (non-zero host part)")
		}
		rr, err := p.value(rest, excl)
		if err != nil {
			return err
		}
		pfx := netip.PrefixFrom(netip.AddrFrom16(a), bits)
		p.entries++
		if p.seen[pfx] {
			return lineErrorf(ErrSyntax, "duplicated entry for %s", pfx)
		}
		p.seen[pfx] = true
		from, to, level = pfx.Addr(), prefix.RangeOf(pfx).To(), int16(128-bits)
		return p.add(from, to, piece{level: level, rr: rr})
	case DatasetIP6TSet:
		a, bits, rest := ip6prefix(s)
		if bits < 0 || !tailOK(rest) {
			return errInvalidAddress()
		}
		want := 64
		if excl {
			want = 128
		}
		if bits != want {
			return lineErrorf(ErrSyntax, "invalid address (should be %d bits)", want)
		}
		pfx := netip.PrefixFrom(netip.AddrFrom16(a), bits)
		p.entries++
		rr := int32(0)
		if excl {
			rr = -1
		}
		return p.add(pfx.Addr(), prefix.RangeOf(pfx).To(), piece{level: int16(128 - bits), rr: rr})
	}
	return errInvalidAddress()
}

// tailOK reports whether what follows an address may: nothing, space, a
// comment or a ":" value.
func tailOK(rest string) bool {
	return rest == "" || isSpaceByte(rest[0]) || isCommentByte(rest[0]) || rest[0] == ':'
}

// value returns the rr index for the text after an entry's address, or -1
// for an exclusion.
func (p *rbldnsdParser) value(rest string, excl bool) (int32, error) {
	if excl {
		return -1, nil
	}
	rest = skipSpace(rest)
	if rest == "" || isCommentByte(rest[0]) {
		return p.rr(p.def), nil
	}
	v, ok := parseATXT(rest, p.def)
	if !ok {
		return 0, errInvalidValue()
	}
	return p.rr(v), nil
}

func u32Addr(u uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], u)
	return netip.AddrFrom4(b)
}

// expandIP4 splits a..b into octet-aligned runs the way rbldnsd's ip4set
// does: fn(idx, start, count) adds count blocks of 256^idx addresses.
func expandIP4(a, b uint32, fn func(idx int, start, count uint32)) {
	for _, bits := range []uint{0, 8, 16} {
		idx := int(bits / 8)
		if a|255 >= b {
			if b-a == 255 {
				fn(idx+1, a<<bits, 1)
			} else {
				fn(idx, a<<bits, b-a+1)
			}
			return
		}
		if a&255 != 0 {
			fn(idx, a<<bits, 256-(a&255))
			a = a>>8 + 1
		} else {
			a >>= 8
		}
		if b&255 != 255 {
			fn(idx, (b&^255)<<bits, b&255+1)
			b = b>>8 - 1
		} else {
			b >>= 8
		}
	}
	fn(3, a<<24, b-a+1)
}

// special handles a "$" line (s is what follows the "$").
func (p *rbldnsdParser) special(s string) error {
	word, rest, _ := strings.Cut(s, " ")
	if i := strings.IndexByte(word, '\t'); i >= 0 {
		word, rest = s[:i], s[i+1:]
	}
	rest = skipSpace(rest)
	switch {
	case len(word) == 1 && isDigit(word[0]):
		if rest == "" {
			return lineErrorf(ErrSyntax, "empty substitution variable")
		}
		if p.vars[word[0]-'0'] == "" {
			p.vars[word[0]-'0'] = rest
		}
	case word == "=":
		if rest == "" {
			return lineErrorf(ErrSyntax, "empty base template")
		}
		if !p.baseSet {
			p.base, p.baseSet = rest, true
		}
	case strings.EqualFold(word, "TTL"):
		t, err := parseRbldnsdTime(rest)
		if err != nil {
			return err
		}
		p.ttl = t
	case strings.EqualFold(word, "MAXRANGE4"):
		var n uint64
		if b, ok := strings.CutPrefix(rest, "/"); ok {
			bits, err := strconv.Atoi(b)
			if err != nil || bits < 1 || bits > 32 {
				return lineErrorf(ErrSyntax, "bad $MAXRANGE4")
			}
			n = 1 << (32 - bits)
		} else {
			v, err := strconv.ParseUint(rest, 10, 32)
			if err != nil || v == 0 {
				return lineErrorf(ErrSyntax, "bad $MAXRANGE4")
			}
			n = v
		}
		if p.maxRange == 0 || n < p.maxRange {
			p.maxRange = n
		}
	}
	// $SOA, $NS, $TIMESTAMP and unknown specials are accepted and ignored.
	return nil
}

// parseRbldnsdTime parses "35m", "1h", "3600", "1w" (s, m, h, d, w units).
func parseRbldnsdTime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	unit := time.Second
	if s != "" {
		switch s[len(s)-1] {
		case 's', 'S':
			s = s[:len(s)-1]
		case 'm', 'M':
			unit, s = time.Minute, s[:len(s)-1]
		case 'h', 'H':
			unit, s = time.Hour, s[:len(s)-1]
		case 'd', 'D':
			unit, s = 24*time.Hour, s[:len(s)-1]
		case 'w', 'W':
			unit, s = 7*24*time.Hour, s[:len(s)-1]
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, lineErrorf(ErrSyntax, "bad time %q", s)
	}
	return time.Duration(n) * unit, nil
}
