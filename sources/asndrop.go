package sources

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
)

// DefaultASNDropName is the source name of [ASNDrop] when
// [ASNDropConfig.Name] is empty.
const DefaultASNDropName = "asn-drop"

// ErrNoRoutes: an [ASNDrop] was built without a route table to map blocks to
// their origin ASes.
var ErrNoRoutes = errors.New("sources: ASN-DROP needs a prefix-to-origin table")

// ASNDropConfig says how to load Spamhaus ASN-DROP.
type ASNDropConfig struct {
	// Name is the source name; empty means [DefaultASNDropName].
	Name string
	// Routes maps a block to the ASes that announce it, usually an
	// [*Origins] (or a [Fetcher] serving one). Required.
	Routes RouteLookuper
	// Strict makes the first malformed line fail the load.
	Strict bool
	// MaxBytes caps the input size; 0 means [DefaultMaxBytes].
	MaxBytes int64
	// MaxLineBytes caps one line; 0 means [DefaultMaxLineBytes].
	MaxLineBytes int
}

// ASNEntry is what ASN-DROP says about one AS.
type ASNEntry struct {
	ASN    uint32 `json:"asn"`
	RIR    string `json:"rir,omitempty"`
	Domain string `json:"domain,omitempty"`
	CC     string `json:"cc,omitempty"`
	ASName string `json:"asname,omitempty"`
}

// ASNDrop is Spamhaus ASN-DROP, the ASes "controlled by spammers or cyber
// criminals", held in memory together with the route table that maps a
// block to its origins. It implements [reputation.Source],
// [reputation.PrefixLookuper] and [reputation.Describer]. An ASNDrop is
// immutable and safe for concurrent use if its Routes is.
//
// For a block, every extent announced (the block, a prefix covering it or
// one inside it) by an AS on the list gives [CategoryASNDrop], critical,
// scope [reputation.ScopeASN].
type ASNDrop struct {
	name    string
	routes  RouteLookuper
	entries map[uint32]ASNEntry
	meta    FeedMeta
}

var (
	_ reputation.Source         = (*ASNDrop)(nil)
	_ reputation.PrefixLookuper = (*ASNDrop)(nil)
	_ reputation.Describer      = (*ASNDrop)(nil)
)

// ReadASNDrop loads Spamhaus ASN-DROP (asndrop.json): JSON lines
// {"asn":64666,"rir":"ripencc","domain":"example.org","cc":"NL",
// "asname":"EXAMPLE-AS"} and a {"type":"metadata",...} line. The asn may
// also be written "AS64666"; unknown fields are ignored. The older text form
// "AS64666 ; NL | EXAMPLE-AS" is read too.
//
// Malformed lines are skipped: ReadASNDrop returns the usable ASNDrop and an
// [errors.Join] of [*ParseError] values naming the line, as [ReadList] does.
// It fails, with a nil ASNDrop, when cfg.Routes is nil ([ErrNoRoutes]),
// when reading fails, when the input exceeds the size cap ([ErrTooLarge]),
// when it is a file of another known kind, such as Spamhaus DROP
// ([ErrWrongFormat]), or when no AS is listed ([ErrEmpty]).
func ReadASNDrop(r io.Reader, cfg ASNDropConfig) (*ASNDrop, error) {
	name := cmp.Or(cfg.Name, DefaultASNDropName)
	if cfg.Routes == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoRoutes, name)
	}
	ld, err := newLoader(r, name, cfg.MaxBytes, cfg.MaxLineBytes, cfg.Strict, kindASNDrop)
	if err != nil {
		return nil, err
	}
	d := &ASNDrop{name: name, routes: cfg.Routes, entries: map[uint32]ASNEntry{}}
	err = ld.lines(func(_ int, line []byte) error {
		line = bytes.TrimSpace(line)
		switch {
		case len(line) == 0 || line[0] == '#':
			return nil
		case line[0] == ';':
			if i := bytes.Index(line, []byte("(c)")); i >= 0 && d.meta.Copyright == "" {
				d.meta.Copyright = string(line[i:])
			}
			return nil
		case line[0] != '{':
			return d.textLine(string(line))
		}
		var rec struct {
			ASN       json.RawMessage `json:"asn"`
			RIR       string          `json:"rir"`
			Domain    string          `json:"domain"`
			CC        string          `json:"cc"`
			ASName    string          `json:"asname"`
			Type      string          `json:"type"`
			Timestamp int64           `json:"timestamp"`
			Records   int             `json:"records"`
			Copyright string          `json:"copyright"`
			Terms     string          `json:"terms"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return lineErrorf(ErrSyntax, "%v", err)
		}
		switch rec.Type {
		case "metadata":
			if rec.Timestamp > 0 {
				d.meta.Timestamp = time.Unix(rec.Timestamp, 0).UTC()
			}
			d.meta.Records, d.meta.Copyright, d.meta.Terms = rec.Records, rec.Copyright, rec.Terms
			return nil
		case "":
		default:
			return lineErrorf(ErrSyntax, "unknown record type %q", rec.Type)
		}
		if len(rec.ASN) == 0 {
			return lineErrorf(ErrSyntax, "record without asn")
		}
		asn, err := ParseASN(strings.Trim(string(rec.ASN), `"`))
		if err != nil {
			return err
		}
		d.entries[asn] = ASNEntry{ASN: asn, RIR: rec.RIR, Domain: rec.Domain, CC: rec.CC, ASName: rec.ASName}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(d.entries) == 0 {
		return nil, errors.Join(fmt.Errorf("%w: ASN-DROP %s", ErrEmpty, name), ld.errs.err())
	}
	return d, ld.errs.err()
}

// textLine reads the older "AS64666 ; NL | EXAMPLE-AS" form.
func (d *ASNDrop) textLine(s string) error {
	a, rest, ok := strings.Cut(s, ";")
	asn, err := ParseASN(a)
	if err != nil {
		return err
	}
	e := ASNEntry{ASN: asn}
	if ok {
		cc, n, _ := strings.Cut(rest, "|")
		e.CC, e.ASName = strings.TrimSpace(cc), strings.TrimSpace(n)
	}
	d.entries[asn] = e
	return nil
}

// Name returns the source name.
func (d *ASNDrop) Name() string { return d.name }

// Len returns the number of listed ASes.
func (d *ASNDrop) Len() int { return len(d.entries) }

// Meta returns what the file says about itself.
func (d *ASNDrop) Meta() FeedMeta { return d.meta }

// LookupASN reports whether asn is listed, and the entry.
func (d *ASNDrop) LookupASN(asn uint32) (ASNEntry, bool) {
	e, ok := d.entries[asn]
	return e, ok
}

// Info reports [reputation.KindFeed] and both families.
func (d *ASNDrop) Info() reputation.Info {
	return reputation.Info{Kind: reputation.KindFeed, IPv4: true, IPv6: true}
}

// Lookup answers for addr as [ASNDrop.LookupPrefix] does for its /32 or
// /128.
func (d *ASNDrop) Lookup(ctx context.Context, addr netip.Addr) (reputation.Listing, error) {
	ms, err := d.LookupPrefix(ctx, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
	if err != nil || len(ms) == 0 {
		return reputation.Listing{}, err
	}
	return ms[0].Listing, nil
}

// LookupPrefix returns the extents of p announced by a listed AS. It fails
// when ctx is done, p is invalid or the route table fails.
func (d *ASNDrop) LookupPrefix(ctx context.Context, p netip.Prefix) ([]reputation.Match, error) {
	rms, err := d.routes.LookupRoutes(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("sources: ASN-DROP %s: %w", d.name, err)
	}
	var out []reputation.Match
	for _, rm := range rms {
		var evs []reputation.Evidence
		var reasons []string
		for _, rt := range rm.Routes {
			for _, asn := range rt.Origins {
				en, ok := d.entries[asn]
				if !ok {
					continue
				}
				e := reputation.Evidence{Category: CategoryASNDrop, Severity: reputation.SeverityCritical, Scope: reputation.ScopeASN, ID: formatASN(asn)}
				if !slices.Contains(evs, e) {
					evs = append(evs, e)
				}
				reasons = append(reasons, fmt.Sprintf("%s announced by %s%s, which is on Spamhaus ASN-DROP", rt.Prefix, formatASN(asn), en.describe()))
			}
		}
		if len(evs) > 0 {
			out = append(out, reputation.Match{Prefix: rm.Prefix, Listing: reputation.Listing{Listed: true, Evidence: evs, Reason: strings.Join(reasons, "; ")}})
		}
	}
	return out, nil
}

// describe returns " (NAME, CC, domain)" with what the entry has.
func (e ASNEntry) describe() string {
	var parts []string
	for _, s := range []string{e.ASName, e.CC, e.Domain} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
