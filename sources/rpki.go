package sources

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/prefixvet/prefixvet/reputation"
)

// Evidence categories of the lease-readiness sources.
const (
	// CategoryRPKIAS0: an AS0 ROA covers part of the block; its holder says
	// it must not be routed (RFC 6483 §4, RFC 7607). Critical.
	CategoryRPKIAS0 = "rpki-as0"
	// CategoryRPKIForeignOrigin: a ROA authorises an origin other than the
	// expected one; the lessee's announcement would be RPKI-invalid (or
	// share the space with that AS). High.
	CategoryRPKIForeignOrigin = "rpki-foreign-origin"
	// CategoryRPKIROA: a ROA for the expected origin, a ROA when no origin
	// is expected, or no ROA at all. Info.
	CategoryRPKIROA = "rpki-roa"
	// CategoryRIRUnallocated: the RIR lists part of the block as available
	// or reserved. Critical.
	CategoryRIRUnallocated = "rir-unallocated"
	// CategoryRIRDelegated: the RIR lists the space as allocated or
	// assigned (registry, country, date). Info.
	CategoryRIRDelegated = "rir-delegated"
	// CategoryASNDrop: the block, or a prefix inside it, is announced by an
	// AS on Spamhaus ASN-DROP. Critical, scope ASN.
	CategoryASNDrop = "asn-drop"
	// CategoryForeignOrigin: an origin other than the expected one
	// announces the block or part of it today. High.
	CategoryForeignOrigin = "foreign-origin"
	// CategoryAnnounced: who announces the block today. Info.
	CategoryAnnounced = "announced"
)

// DefaultVRPName is the source name of [VRPs] when [VRPConfig.Name] is empty.
const DefaultVRPName = "rpki"

// VRPConfig says how to load RPKI validated ROA payloads. The zero value
// loads any supported format with no expected origin.
type VRPConfig struct {
	// Name is the source name; empty means [DefaultVRPName].
	Name string
	// ExpectOrigin is the AS the block will be announced from; 0 means
	// unknown, and then no ROA counts as foreign.
	ExpectOrigin uint32
	// Strict makes the first malformed ROA fail the load.
	Strict bool
	// MaxBytes caps the input size; 0 means [DefaultMaxBytes].
	MaxBytes int64
	// MaxLineBytes caps one CSV line and one JSON string or number; 0 means
	// [DefaultMaxLineBytes].
	MaxLineBytes int
}

// roa is one VRP in 24 bytes.
type roa struct {
	key    pkey
	maxLen uint8
	asn    uint32
	ta     uint16 // index into VRPs.tas
}

// VRPs is a set of RPKI validated ROA payloads held in memory, as exported
// by rpki-client or Routinator. It implements [reputation.Source],
// [reputation.PrefixLookuper] and [reputation.Describer]. A VRPs is immutable
// and safe for concurrent use.
//
// For a block it reports the ROAs that cover the block or lie inside it:
//
//   - an AS0 ROA anywhere in the block: [CategoryRPKIAS0], critical ("must
//     not be routed", RFC 6483 §4, RFC 7607). An AS0 ROA speaks for its
//     prefix and every more specific one, so its maxLength does not narrow
//     it;
//   - with [VRPConfig.ExpectOrigin] set, a ROA for another AS:
//     [CategoryRPKIForeignOrigin], high. The reason says whether an
//     announcement of the block from the expected AS would be RPKI-invalid
//     (RFC 6811: no ROA of that AS covers the block with a maxLength at
//     least the block's length) or only shared with that AS;
//   - a ROA for the expected AS, or any ROA when no origin is expected:
//     [CategoryRPKIROA], info. Its reason says when the ROA's maxLength is
//     shorter than the block, so that the block itself cannot be announced
//     under it;
//   - no ROA anywhere in the block: one [CategoryRPKIROA] info match for the
//     whole block, "no ROA".
type VRPs struct {
	name   string
	expect uint32
	roas   []roa
	tas    []string
	idx    *nested
	v4, v6 bool
}

var (
	_ reputation.Source         = (*VRPs)(nil)
	_ reputation.PrefixLookuper = (*VRPs)(nil)
	_ reputation.Describer      = (*VRPs)(nil)
)

// ReadVRPs loads VRPs from r, in any of these formats, told apart by their
// first bytes:
//
//   - rpki-client JSON: {"metadata":{...},"roas":[{"asn":"AS65101" or
//     65101,"prefix":"192.0.2.0/23","maxLength":24,"ta":"ripe"},...]};
//   - Routinator "json" (the same shape) and "jsonext" (a "source" array in
//     place of "ta");
//   - CSV with the header ASN,IP Prefix,Max Length,Trust Anchor (the header
//     may be missing; columns after the fourth are ignored).
//
// Unknown JSON fields and arrays ("aspas", "bgpsec_keys", "routerKeys") are
// ignored. A missing maxLength means the prefix length.
//
// A malformed ROA (a bad prefix or AS, a maxLength outside the prefix
// length..32 or 128) is skipped: ReadVRPs returns the usable VRPs and an
// [errors.Join] of [*ParseError] values naming the line, as [ReadList] does.
// JSON that is not well formed fails the whole load with a *ParseError
// (a truncated VRP file could hide an AS0 ROA), as do an input over the
// size cap ([ErrTooLarge]), no ROA at all ([ErrEmpty]) and a file of another
// known kind ([ErrWrongFormat]).
func ReadVRPs(r io.Reader, cfg VRPConfig) (*VRPs, error) {
	name := cmp.Or(cfg.Name, DefaultVRPName)
	size := sizeHint(r)
	ld, err := newLoader(r, name, cfg.MaxBytes, cfg.MaxLineBytes, cfg.Strict, kindVRPJSON, kindVRPCSV)
	if err != nil {
		return nil, err
	}
	b := &vrpBuilder{name: name, taIdx: map[string]uint16{}}
	// The shortest ROAs: about 60 bytes in JSON, 25 in CSV.
	if ld.kind == kindVRPJSON {
		b.roas = make([]roa, 0, capHint(size, 60))
	} else {
		b.roas = make([]roa, 0, capHint(size, 25))
	}
	if ld.kind == kindVRPJSON {
		err = b.readJSON(ld)
	} else {
		err = ld.lines(b.csvLine)
	}
	if err != nil {
		return nil, err
	}
	if len(b.roas) == 0 {
		return nil, errors.Join(fmt.Errorf("%w: VRPs %s", ErrEmpty, name), ld.errs.err())
	}
	// The capacity came from the input size; give back what it overshot.
	v := &VRPs{name: name, expect: cfg.ExpectOrigin, roas: trimCap(b.roas), tas: b.tas}
	for i := range v.roas {
		if v.roas[i].key.v4 {
			v.v4 = true
		} else {
			v.v6 = true
		}
	}
	if v.idx, err = buildNested(v.roas, func(r roa) pkey { return r.key }); err != nil {
		return nil, fmt.Errorf("sources: VRPs %s: %w", name, err)
	}
	return v, ld.errs.err()
}

type vrpBuilder struct {
	name  string
	roas  []roa
	tas   []string
	taIdx map[string]uint16
	lines int
}

// add validates and appends one ROA.
func (b *vrpBuilder) add(asn uint32, prefix string, maxLen int, hasMax bool, ta string) error {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return lineErrorf(ErrSyntax, "%v", err)
	}
	if p.Addr().Is4In6() {
		return lineErrorf(ErrSyntax, "IPv4-mapped prefix %s", p)
	}
	if p != p.Masked() {
		return lineErrorf(ErrSyntax, "prefix %s has host bits set (want %s)", p, p.Masked())
	}
	if p.Bits() == 0 && asn != 0 {
		return lineErrorf(ErrWholeSpace, "ROA for %s", p)
	}
	if !hasMax {
		maxLen = p.Bits()
	}
	if maxLen < p.Bits() || maxLen > p.Addr().BitLen() {
		return lineErrorf(ErrSyntax, "maxLength %d outside %d..%d for %s", maxLen, p.Bits(), p.Addr().BitLen(), p)
	}
	ti, ok := b.taIdx[ta]
	if !ok {
		if len(b.tas) >= 1<<16 {
			return lineErrorf(ErrSyntax, "too many trust anchors")
		}
		ti = uint16(len(b.tas))
		b.tas = append(b.tas, ta)
		b.taIdx[ta] = ti
	}
	b.roas = append(b.roas, roa{key: pkeyOf(p), maxLen: uint8(maxLen), asn: asn, ta: ti})
	return nil
}

// internTA returns the trust anchor name tok as a string shared by every
// ROA of that anchor.
func (b *vrpBuilder) internTA(tok []byte) string {
	if i, ok := b.taIdx[string(tok)]; ok {
		return b.tas[i]
	}
	return string(tok)
}

// csvLine reads one line of the CSV export.
func (b *vrpBuilder) csvLine(_ int, raw []byte) error {
	s := strings.TrimSpace(string(raw))
	if s == "" || s[0] == '#' {
		return nil
	}
	b.lines++
	f := strings.Split(s, ",")
	if b.lines == 1 && strings.EqualFold(strings.TrimSpace(f[0]), "ASN") {
		return nil // header
	}
	if len(f) < 3 {
		return lineErrorf(ErrSyntax, "want ASN,IP Prefix,Max Length[,Trust Anchor]")
	}
	asn, err := ParseASN(f[0])
	if err != nil {
		return err
	}
	ml := strings.TrimSpace(f[2])
	maxLen, err := strconv.Atoi(ml)
	if err != nil && ml != "" {
		return lineErrorf(ErrSyntax, "bad maxLength %q", ml)
	}
	ta := ""
	if len(f) > 3 {
		ta = strings.TrimSpace(f[3])
	}
	return b.add(asn, strings.TrimSpace(f[1]), maxLen, ml != "", ta)
}

// readJSON reads the rpki-client/Routinator JSON document, streaming the
// "roas" array so that memory stays proportional to the ROAs kept.
func (b *vrpBuilder) readJSON(ld *loader) error {
	j := &jsonReader{br: ld.br, line: 1, maxTok: ld.maxLine}
	fail := func(err error) error {
		if ld.lr.over {
			return ld.tooLarge()
		}
		return &ParseError{Name: b.name, Line: j.line, Text: "", Err: err}
	}
	if err := j.expect('{'); err != nil {
		return fail(err)
	}
	err := j.object(func(key []byte) error {
		if string(key) != "roas" {
			return j.skip(0)
		}
		return j.array(func() error {
			line := j.line
			var asn uint32
			var prefix, ta string
			var maxLen int
			var hasMax, hasASN bool
			var bad error
			err := j.object(func(k []byte) error {
				var err error
				var tok []byte
				switch string(k) {
				case "asn":
					if tok, _, err = j.scalar(); err == nil {
						hasASN = true
						if asn, err = ParseASN(string(tok)); err != nil {
							bad, err = err, nil
						}
					}
				case "prefix":
					if tok, _, err = j.scalar(); err == nil {
						prefix = string(tok)
					}
				case "maxLength":
					if tok, _, err = j.scalar(); err == nil {
						hasMax = true
						if maxLen, err = strconv.Atoi(string(tok)); err != nil {
							bad, err = lineErrorf(ErrSyntax, "bad maxLength %q", tok), nil
						}
					}
				case "ta":
					if tok, _, err = j.scalar(); err == nil {
						ta = b.internTA(tok)
					}
				case "source":
					// Routinator jsonext: [{"type":"roa","tal":"ripe",...}]
					err = j.array(func() error {
						return j.object(func(k []byte) error {
							if string(k) != "tal" || ta != "" {
								return j.skip(1)
							}
							tok, _, err := j.scalar()
							ta = b.internTA(tok)
							return err
						})
					})
				default:
					err = j.skip(0)
				}
				return err
			})
			if err != nil {
				return err
			}
			switch {
			case bad != nil:
			case !hasASN:
				bad = lineErrorf(ErrSyntax, "ROA without asn")
			case prefix == "":
				bad = lineErrorf(ErrSyntax, "ROA without prefix")
			default:
				bad = b.add(asn, prefix, maxLen, hasMax, ta)
			}
			if bad != nil {
				return ld.errs.add(line, []byte(prefix), bad)
			}
			return nil
		})
	})
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return err
		}
		return fail(err)
	}
	return nil
}

// Name returns the source name.
func (v *VRPs) Name() string { return v.name }

// Len returns the number of VRPs loaded.
func (v *VRPs) Len() int { return len(v.roas) }

// ExpectOrigin returns the expected origin AS (0: unknown).
func (v *VRPs) ExpectOrigin() uint32 { return v.expect }

// Info reports [reputation.KindFeed] (a downloaded file held in memory) and
// both address families: a block of a family without VRPs is answered "no
// ROA".
func (v *VRPs) Info() reputation.Info {
	return reputation.Info{Kind: reputation.KindFeed, IPv4: true, IPv6: true}
}

// Lookup answers for addr as [VRPs.LookupPrefix] does for its /32 or /128,
// merging the evidence of the matches.
func (v *VRPs) Lookup(ctx context.Context, addr netip.Addr) (reputation.Listing, error) {
	ms, err := v.LookupPrefix(ctx, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
	if err != nil || len(ms) == 0 {
		return reputation.Listing{}, err
	}
	return ms[0].Listing, nil
}

// LookupPrefix returns, as non-overlapping extents, the ROAs that cover p or
// lie inside it, with one evidence per ROA (see [VRPs] for the categories),
// or one "no ROA" match for the whole of p. It fails only when ctx is done
// or p is invalid.
func (v *VRPs) LookupPrefix(ctx context.Context, p netip.Prefix) ([]reputation.Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sources: VRPs %s: %w", v.name, err)
	}
	p, err := canonicalBlock(p)
	if err != nil {
		return nil, err
	}
	valid := v.validFor(p)
	ms, err := lookupPrefix(v.idx.set, p, func(g uint32) reputation.Listing {
		var evs []reputation.Evidence
		var reasons []string
		v.idx.chain(int32(g), func(g int32) {
			from, to := v.idx.records(g)
			for i := from; i < to; i++ {
				e, r := v.evidence(&v.roas[i], p, valid)
				evs = append(evs, e)
				reasons = append(reasons, r)
			}
		})
		return reputation.Listing{Listed: true, Evidence: evs, Reason: strings.Join(reasons, "; ")}
	})
	if err != nil || len(ms) > 0 {
		return ms, err
	}
	return []reputation.Match{{Prefix: p, Listing: reputation.Listing{
		Listed:   true,
		Evidence: []reputation.Evidence{{Category: CategoryRPKIROA, Severity: reputation.SeverityInfo, Scope: reputation.ScopeRange}},
		Reason:   "no ROA covers " + p.String() + " or lies inside it",
	}}}, nil
}

// validFor reports whether an announcement of p from the expected origin
// would be RPKI-valid (RFC 6811): a ROA of that AS covers p with a
// maxLength of at least p's length.
func (v *VRPs) validFor(p netip.Prefix) bool {
	if v.expect == 0 {
		return false
	}
	k := pkeyOf(p)
	g, found := v.idx.set.Lookup(p.Addr())
	if !found {
		return false
	}
	ok := false
	v.idx.chain(int32(g), func(g int32) {
		if !v.idx.groupKey(g).contains(k) {
			return
		}
		from, to := v.idx.records(g)
		for i := from; i < to; i++ {
			if r := &v.roas[i]; r.asn == v.expect && int(r.maxLen) >= p.Bits() {
				ok = true
			}
		}
	})
	return ok
}

// evidence describes ROA r to a person vetting block p.
func (v *VRPs) evidence(r *roa, p netip.Prefix, valid bool) (reputation.Evidence, string) {
	rp := r.key.prefix()
	id := rp.String() + "-" + strconv.Itoa(int(r.maxLen)) + " => " + formatASN(r.asn)
	e := reputation.Evidence{Scope: reputation.ScopeRange, ID: id}
	where := "covers the block"
	if rp.Bits() > p.Bits() {
		where = "lies inside the block"
	}
	ta := ""
	if t := v.tas[r.ta]; t != "" {
		ta = " (" + t + ")"
	}
	switch {
	case r.asn == 0:
		e.Category, e.Severity = CategoryRPKIAS0, reputation.SeverityCritical
		return e, fmt.Sprintf("AS0 ROA %s%s %s: its holder says it must not be routed", rp, ta, where)
	case v.expect != 0 && r.asn != v.expect:
		e.Category, e.Severity = CategoryRPKIForeignOrigin, reputation.SeverityHigh
		s := fmt.Sprintf("ROA %s%s authorises %s, not %s", id, ta, formatASN(r.asn), formatASN(v.expect))
		switch {
		case rp.Bits() > p.Bits():
			return e, s + ": " + formatASN(v.expect) + " could not announce " + rp.String() + " validly"
		case valid:
			return e, s + ": " + formatASN(r.asn) + " may announce the block too"
		}
		return e, s + ": an announcement of " + p.String() + " from " + formatASN(v.expect) + " would be RPKI-invalid"
	}
	e.Category, e.Severity = CategoryRPKIROA, reputation.SeverityInfo
	s := fmt.Sprintf("ROA %s%s %s", id, ta, where)
	if rp.Bits() <= p.Bits() && int(r.maxLen) < p.Bits() {
		s += fmt.Sprintf(", but its maxLength %d is shorter than /%d: an announcement of %s under it would be RPKI-invalid", r.maxLen, p.Bits(), p)
	}
	return e, s
}
