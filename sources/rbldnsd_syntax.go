package sources

// Address and value syntax of rbldnsd data files, ported from rbldnsd's
// ip4parse.c, ip6addr.c and rbldnsd_util.c so that a Mirror accepts and
// rejects exactly what rbldnsd does.

import "strings"

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipSpace(s string) string { return strings.TrimLeft(s, " \t") }

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' }

func isCommentByte(c byte) bool { return c == '#' || c == ';' }

// ip4mask returns the netmask of bits.
func ip4mask(bits int) uint32 {
	if bits <= 0 {
		return 0
	}
	return ^uint32(0) << (32 - bits)
}

// ip4prefix parses 1 to 4 decimal octets ("127", "127.0", "127.0.0.1") and
// returns the address (missing octets zero), 8 times the number of octets,
// and the rest of s; bits < 0 on error.
func ip4prefix(s string) (a uint32, bits int, rest string) {
	for k := 0; k < 4; k++ {
		if s == "" || !isDigit(s[0]) {
			return 0, -1, s
		}
		o := uint32(s[0] - '0')
		s = s[1:]
		for s != "" && isDigit(s[0]) {
			if o = o*10 + uint32(s[0]-'0'); o > 255 {
				return 0, -1, s
			}
			s = s[1:]
		}
		a |= o << (24 - 8*k)
		if k == 3 || s == "" || s[0] != '.' {
			return a, 8 * (k + 1), s
		}
		s = s[1:]
	}
	return a, 32, s
}

// ip4mbits parses the digits of a "/bits" suffix (0..32).
func ip4mbits(s string) (int, string) {
	if s == "" || !isDigit(s[0]) {
		return -1, s
	}
	bits := int(s[0] - '0')
	s = s[1:]
	for s != "" && isDigit(s[0]) {
		if bits = bits*10 + int(s[0]-'0'); bits > 32 {
			return -1, s
		}
		s = s[1:]
	}
	return bits, s
}

// ip4cidr parses "a.b.c.d/n" or a prefix of 2 to 4 octets.
func ip4cidr(s string) (a uint32, bits int, rest string) {
	a, bits, rest = ip4prefix(s)
	switch {
	case bits < 0:
		return a, bits, rest
	case rest != "" && rest[0] == '/':
		bits, rest = ip4mbits(rest[1:])
		return a, bits, rest
	case bits == 8:
		return a, -1, rest // bare numbers are not allowed; use /8
	}
	return a, bits, rest
}

// ip4range parses a CIDR, a prefix or a range of prefixes ("127.0.0.1-255",
// "127.16-31", "127.16.0.0-127.31.255.255") into an inclusive range; bits is
// the CIDR length, or 32 for a range.
func ip4range(s string) (a, b uint32, bits int, rest string) {
	a, bits, rest = ip4prefix(s)
	switch {
	case bits < 0:
		return
	case rest != "" && rest[0] == '-':
		var bbits int
		b, bbits, rest = ip4prefix(rest[1:])
		if bbits < 0 {
			return a, b, -1, rest
		}
		if bbits == 8 { // 127.0.0.1-2 means 127.0.0.1-127.0.0.2
			b = (b >> (bits - 8)) | (a & ip4mask(bits-8))
			bbits = bits
		} else if bbits != bits {
			return a, b, -1, rest
		}
		if bbits != 32 {
			b |= ^ip4mask(bbits)
		}
		if a > b {
			return a, b, -1, rest
		}
		return a, b, 32, rest
	case rest != "" && rest[0] == '/':
		if bits, rest = ip4mbits(rest[1:]); bits < 0 {
			return
		}
	case bits == 8:
		return a, b, -1, rest
	}
	return a, a | ^ip4mask(bits), bits, rest
}

// ip4addr parses an address the way inet_aton does for A values: "2" is
// 0.0.0.2, "127.2" is 127.0.0.2, "127.1.2" is 127.1.0.2.
func ip4addr(s string) (a uint32, bits int, rest string) {
	a, bits, rest = ip4prefix(s)
	switch bits {
	case 8:
		a >>= 24
	case 16:
		a = a&0xff000000 | (a>>16)&255
	case 24:
		a = a&0xffff0000 | (a>>8)&255
	}
	return a, bits, rest
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// ip6prefix parses 16-bit hex words separated by ":" with at most one "::";
// it returns 16 times the number of words, or 128 when "::" was used.
func ip6prefix(s string) (a [16]byte, bits int, rest string) {
	n, zstart, ret := 0, -1, -1
	if strings.HasPrefix(s, "::") {
		zstart = 0
		s = s[2:]
	}
	for {
		v, consumed := 0, 0
		for s != "" {
			h := hexVal(s[0])
			if h < 0 {
				break
			}
			if v = v<<4 | h; v > 0xffff {
				break
			}
			s = s[1:]
			consumed++
		}
		if consumed == 0 || v > 0xffff {
			break
		}
		a[n], a[n+1] = byte(v>>8), byte(v)
		n += 2
		if s == "" || s[0] != ':' || n+2 > 16 {
			ret = n * 8
			break
		}
		s = s[1:]
		if zstart < 0 && s != "" && s[0] == ':' {
			zstart = n
			s = s[1:]
		}
	}
	if zstart >= 0 {
		nz := 16 - n
		if nz == 0 {
			ret = -1
		} else {
			copy(a[zstart+nz:], a[zstart:n])
			clear(a[zstart : zstart+nz])
			ret = 128
		}
	}
	return a, ret, s
}

// ip6cidr parses an IPv6 prefix with an optional "/bits".
func ip6cidr(s string) (a [16]byte, bits int, rest string) {
	a, bits, rest = ip6prefix(s)
	if bits >= 0 && rest != "" && rest[0] == '/' {
		rest = rest[1:]
		if rest == "" || !isDigit(rest[0]) {
			return a, -1, rest
		}
		bits = int(rest[0] - '0')
		rest = rest[1:]
		for rest != "" && isDigit(rest[0]) {
			if bits = bits*10 + int(rest[0]-'0'); bits > 128 {
				return a, -1, rest
			}
			rest = rest[1:]
		}
	} else if bits == 16 {
		bits = -1 // bare number
	}
	return a, bits, rest
}

// ip6mask zeroes the host bits of a and reports whether any were set.
func ip6mask(a *[16]byte, bits int) bool {
	nonzero := false
	for i := range a {
		keep := bits - 8*i
		var m byte
		switch {
		case keep >= 8:
			continue
		case keep > 0:
			m = 0xff << (8 - keep)
		}
		if a[i]&^m != 0 {
			nonzero = true
		}
		a[i] &= m
	}
	return nonzero
}

// ip6String formats a the way rbldnsd's ip6atos does (lower-case hex, the
// first longest run of two or more zero words as "::", no IPv4 suffix).
func ip6String(a [16]byte) string {
	var w [8]uint16
	for i := range w {
		w[i] = uint16(a[2*i])<<8 | uint16(a[2*i+1])
	}
	nz, zs := 0, 0
	for i := 0; i+nz < 8; i++ {
		k := 0
		for i+k < 8 && w[i+k] == 0 {
			k++
		}
		if k > 1 && k > nz {
			nz, zs = k, i
		}
	}
	var b strings.Builder
	hex := func(v uint16) {
		const digits = "0123456789abcdef"
		started := false
		for sh := 12; sh >= 0; sh -= 4 {
			d := (v >> sh) & 0xf
			if d != 0 || started || sh == 0 {
				b.WriteByte(digits[d])
				started = true
			}
		}
	}
	i := 0
	for ; i < zs || (nz == 0 && i < 8); i++ {
		if i > 0 {
			b.WriteByte(':')
		}
		hex(w[i])
	}
	if nz > 0 {
		b.WriteString("::")
		for i = zs + nz; i < 8; i++ {
			if i > zs+nz {
				b.WriteByte(':')
			}
			hex(w[i])
		}
	}
	return b.String()
}

// rrValue is an A value and TXT template.
type rrValue struct {
	a   uint32
	txt string
}

// parseATXT parses ":A:TXT", ":A" or "TXT" after an entry or on a default
// line, taking missing parts from def. ok is false for an invalid value.
func parseATXT(s string, def rrValue) (rrValue, bool) {
	var v rrValue
	if s != "" && s[0] == ':' {
		a, bits, rest := ip4addr(s[1:])
		if a == 0 || bits <= 0 {
			return v, false
		}
		if bits == 8 {
			a |= 127 << 24
		}
		rest = skipSpace(rest)
		switch {
		case rest != "" && rest[0] == ':':
			v = rrValue{a: a, txt: skipSpace(rest[1:])}
		case rest != "":
			return v, false
		default:
			return rrValue{a: a, txt: def.txt}, true
		}
	} else {
		v = rrValue{a: def.a, txt: s}
	}
	if len(v.txt) > 255 {
		v.txt = v.txt[:255]
	}
	return v, true
}

// txtSubst expands a TXT template like rbldnsd's txtsubst: "$" is the
// queried address, "$$" a dollar sign, "$0".."$9" the dataset's variables
// (kept literally when unset), "$=" the entry's own text under a base
// template; the result is cut to 254 bytes.
func txtSubst(txt, ip string, vars *[10]string, base string) string {
	const limit = 254
	srec, s0 := ip, ip
	var sx string
	switch {
	case strings.HasPrefix(txt, "="):
		txt = txt[1:]
		sx = txt
	case base != "":
		if txt != "" {
			s0 = txt
		}
		sx = s0
		txt = base
	default:
		sx = txt
	}
	var b strings.Builder
	put := func(s string) {
		if room := limit - b.Len(); len(s) > room {
			s = s[:room]
		}
		b.WriteString(s)
	}
	for b.Len() < limit {
		i := strings.IndexByte(txt, '$')
		if i < 0 {
			put(txt)
			break
		}
		put(txt[:i])
		s := txt[i+1:]
		switch {
		case s != "" && s[0] == '$':
			put("$")
			s = s[1:]
		case s != "" && isDigit(s[0]):
			if v := vars[s[0]-'0']; v != "" {
				put(v)
			} else {
				put(txt[i : i+2])
			}
			s = s[1:]
		case s != "" && s[0] == '=':
			put(sx)
			s = s[1:]
		default:
			put(srec)
		}
		txt = s
	}
	return b.String()
}
