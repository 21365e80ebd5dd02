package sources

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/sources/internal/ipset"
)

// feedParser turns feed lines into spans of an ipset.Builder whose ids are
// indices into metas.
type feedParser struct {
	name   string
	format Format
	b      ipset.Builder
	metas  interner[entryMeta]
	meta   FeedMeta
}

func (p *feedParser) line(raw []byte) error {
	if !utf8.Valid(raw) {
		return lineErrorf(ErrSyntax, "not UTF-8 text")
	}
	s := strings.TrimSpace(string(raw))
	if s == "" || s[0] == '#' {
		return nil
	}
	if s[0] == ';' {
		if p.format == FormatDROP {
			p.dropHeader(s)
		}
		return nil
	}
	switch p.format {
	case FormatDROP:
		if s[0] == '{' {
			return p.dropJSON(s)
		}
		addr, id, _ := strings.Cut(s, ";")
		id, _, _ = strings.Cut(strings.TrimSpace(id), " ")
		return p.add(strings.TrimSpace(addr), entryMeta{id: id})
	case FormatIPsum:
		s = stripComment(s)
		addr, count, ok := strings.Cut(s, "\t")
		if !ok {
			addr, count, ok = strings.Cut(s, " ")
		}
		if !ok {
			return lineErrorf(ErrSyntax, "missing count")
		}
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil || n < 0 || n > 1<<30 {
			return lineErrorf(ErrSyntax, "bad count %q", strings.TrimSpace(count))
		}
		return p.add(strings.TrimSpace(addr), entryMeta{count: n})
	default:
		s = stripComment(s)
		if f := strings.Fields(s); len(f) != 1 {
			return lineErrorf(ErrSyntax, "unexpected text after address")
		}
		return p.add(s, entryMeta{})
	}
}

// stripComment removes a trailing "#" or ";" comment.
func stripComment(s string) string {
	if i := strings.IndexAny(s, "#;"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// dropHeader reads the Last-Modified and copyright lines of the DROP text
// header.
func (p *feedParser) dropHeader(s string) {
	s = strings.TrimSpace(strings.TrimLeft(s, ";"))
	if v, ok := strings.CutPrefix(s, "Last-Modified:"); ok {
		if t, err := time.Parse(time.RFC1123, strings.TrimSpace(v)); err == nil {
			p.meta.Timestamp = t
		}
		return
	}
	if i := strings.Index(s, "(c)"); i >= 0 && p.meta.Copyright == "" {
		p.meta.Copyright = s[i:]
	}
}

type dropRecord struct {
	Type      string `json:"type"`
	CIDR      string `json:"cidr"`
	SBLID     string `json:"sblid"`
	RIR       string `json:"rir"`
	Timestamp int64  `json:"timestamp"`
	Records   int    `json:"records"`
	Copyright string `json:"copyright"`
	Terms     string `json:"terms"`
}

func (p *feedParser) dropJSON(s string) error {
	var rec dropRecord
	if err := json.Unmarshal([]byte(s), &rec); err != nil {
		return lineErrorf(ErrSyntax, "%v", err)
	}
	if rec.Type == "metadata" {
		if rec.Timestamp > 0 {
			p.meta.Timestamp = time.Unix(rec.Timestamp, 0).UTC()
		}
		p.meta.Records = rec.Records
		p.meta.Copyright = rec.Copyright
		p.meta.Terms = rec.Terms
		return nil
	}
	if rec.Type != "" {
		return lineErrorf(ErrSyntax, "unknown record type %q", rec.Type)
	}
	if rec.CIDR == "" {
		return lineErrorf(ErrSyntax, "record without cidr")
	}
	if _, err := netip.ParsePrefix(rec.CIDR); err != nil {
		return lineErrorf(ErrSyntax, "%v", err)
	}
	return p.add(rec.CIDR, entryMeta{id: rec.SBLID, rir: rec.RIR})
}

// add parses an address, CIDR or range and adds it with meta m.
func (p *feedParser) add(s string, m entryMeta) error {
	from, to, err := parseExtent(s)
	if err != nil {
		return err
	}
	m.single = !strings.ContainsAny(s, "/-")
	return p.b.Add(from, to, p.metas.id(m))
}

// parseExtent parses "IP", "CIDR" or "IP-IP" into an inclusive range.
// IPv4-mapped IPv6 input is unmapped; zones are refused; a /0 or a range
// spanning a whole family is refused with ErrWholeSpace.
func parseExtent(s string) (from, to netip.Addr, err error) {
	switch {
	case s == "":
		return from, to, lineErrorf(ErrSyntax, "missing address")
	case strings.Contains(s, "/"):
		p, perr := netip.ParsePrefix(s)
		if perr != nil {
			return from, to, lineErrorf(ErrSyntax, "%v", perr)
		}
		if p.Addr().Is4In6() && p.Bits() < 96 {
			return from, to, lineErrorf(ErrSyntax, "IPv4-mapped prefix shorter than /96")
		}
		r := prefix.RangeOf(prefix.Unmap(p))
		from, to = r.From(), r.To()
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		if from, err = parseAddr(strings.TrimSpace(a)); err != nil {
			return from, to, err
		}
		if to, err = parseAddr(strings.TrimSpace(b)); err != nil {
			return from, to, err
		}
		if from.Is4() != to.Is4() {
			return from, to, lineErrorf(ErrSyntax, "range mixes address families")
		}
		if to.Less(from) {
			return from, to, lineErrorf(ErrSyntax, "range end before start")
		}
	default:
		if from, err = parseAddr(s); err != nil {
			return from, to, err
		}
		to = from
	}
	if p, ok := prefix.RangeFrom(from, to).Prefix(); ok && p.Bits() == 0 {
		return from, to, ErrWholeSpace
	}
	return from, to, nil
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, lineErrorf(ErrSyntax, "%v", err)
	}
	if a.Zone() != "" {
		return a, lineErrorf(ErrSyntax, "zoned address")
	}
	return a.Unmap(), nil
}
