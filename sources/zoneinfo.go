package sources

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strings"

	"github.com/prefixvet/prefixvet/reputation"
)

// Code gives the meaning of one return code of a DNSBL zone.
type Code struct {
	// Addr is the A-record answer this entry decodes, such as 127.0.0.2.
	Addr netip.Addr `json:"code"`
	// Category, Severity and Scope become the [reputation.Evidence] of a
	// listing with this code.
	Category string              `json:"category"`
	Severity reputation.Severity `json:"severity"`
	Scope    reputation.Scope    `json:"scope"`
	// Description is a short human text, such as "Spamhaus SBL: spam source".
	Description string `json:"description,omitempty"`
}

// ErrorKind says which failure an error return code signals.
type ErrorKind string

// Error kinds, each mapped to a sentinel error.
const (
	ErrorRefused     ErrorKind = "refused"      // [ErrRefused]
	ErrorRateLimited ErrorKind = "rate-limited" // [ErrRateLimited]
	ErrorBadKey      ErrorKind = "bad-key"      // [ErrBadKey]
	ErrorUnknownZone ErrorKind = "unknown-zone" // [ErrUnknownZone]
)

// Err returns the sentinel error for k; unknown kinds map to [ErrRefused],
// the conservative reading (an error, never a listing).
func (k ErrorKind) Err() error {
	switch k {
	case ErrorRateLimited:
		return ErrRateLimited
	case ErrorBadKey:
		return ErrBadKey
	case ErrorUnknownZone:
		return ErrUnknownZone
	}
	return ErrRefused
}

// ErrorCode marks answers that are errors and must never be read as listings,
// such as Spamhaus' 127.255.255.0/24.
type ErrorCode struct {
	// Prefix is the set of answers this entry covers; a single code is a
	// /32. The most specific matching entry wins.
	Prefix      netip.Prefix `json:"prefix"`
	Kind        ErrorKind    `json:"kind"`
	Description string       `json:"description,omitempty"`
}

// ZoneInfo describes a DNSBL zone: what it lists, what its answers mean and
// how it may be queried. The built-in catalog is a list of ZoneInfo values;
// callers may define their own. The zero value is not a usable zone: Zone is
// required.
type ZoneInfo struct {
	// Zone is the DNS zone queried, such as "zen.spamhaus.org", without a
	// trailing dot. Required.
	Zone string `json:"zone"`
	// Name is a human name, such as "Spamhaus ZEN"; empty means Zone.
	Name string `json:"name,omitempty"`
	// Aliases are short names a user may type, such as "zen".
	Aliases []string `json:"aliases,omitempty"`
	// Lists says in a few words what the zone lists.
	Lists string `json:"lists,omitempty"`
	// IPv4 and IPv6 report which address families the zone answers for.
	IPv4 bool `json:"ipv4"`
	IPv6 bool `json:"ipv6"`
	// Codes gives the meaning of each documented return code.
	Codes []Code `json:"codes,omitempty"`
	// Default is the meaning of an answer inside 127.0.0.0/8 that matches
	// neither Codes nor Errors (RFC 5782: any such answer means listed).
	// A zero Default means [reputation.DefaultCategory] ("listed"),
	// [reputation.DefaultSeverity] (medium) and ScopeAddress.
	Default Code `json:"default,omitzero"`
	// Errors lists the answers that are errors, never listings.
	Errors []ErrorCode `json:"errors,omitempty"`
	// LoopbackListed marks zones that answer for 127.0.0.1 by design
	// (hostkarma's "white" code), an exception to RFC 5782 §5: the health
	// probe does not call such a zone dead for listing 127.0.0.1.
	LoopbackListed bool `json:"loopback_listed,omitempty"`
	// TXT asks for the TXT record of listed answers (one extra query each).
	TXT bool `json:"txt,omitempty"`
	// DelistURL is a URL pattern where "{ip}" is replaced by the listed
	// address; empty if the list publishes none.
	DelistURL string `json:"delist_url,omitempty"`
	// KeyedZone is the zone pattern of a keyed mirror, where "{key}" is
	// replaced by the access key, such as "{key}.zen.dq.spamhaus.net".
	KeyedZone string `json:"keyed_zone,omitempty"`
	// Rate is the most queries per second to send to the zone; 0 means no
	// limit.
	Rate float64 `json:"rate,omitempty"`
	// Budget is the most address lookups in one run; 0 means no limit.
	Budget int `json:"budget,omitempty"`
	// Policy summarises the usage terms.
	Policy string `json:"policy,omitempty"`
	// Dead, when non-empty, says why the zone must not be queried (shut
	// down, lists the world). Dead zones are refused with [ErrDeadList].
	Dead string `json:"dead,omitempty"`
	// Refs cites where these facts come from: URLs, or what the source is
	// when it has no public page.
	Refs []string `json:"refs,omitempty"`
}

// DisplayName returns Name, or Zone when Name is empty.
func (z *ZoneInfo) DisplayName() string {
	if z.Name != "" {
		return z.Name
	}
	return z.Zone
}

// Delist returns the delisting URL for addr, or "" if the zone has none.
func (z *ZoneInfo) Delist(addr netip.Addr) string {
	if z.DelistURL == "" {
		return ""
	}
	return strings.ReplaceAll(z.DelistURL, "{ip}", addr.String())
}

// Decode turns the A-record answers of a lookup into evidence. It returns an
// error, never evidence, when any answer is an error (the error wraps the
// matching sentinel) or lies outside 127.0.0.0/8 (wrapping [ErrBogusAnswer]):
// one refusal in an answer makes the whole answer untrustworthy. Answers are
// decoded in order; duplicates are dropped.
//
// An answer is an error when it matches an entry of Errors (the most specific
// wins) or, for every zone, when it is not one of the zone's documented Codes
// and it is:
//
//   - inside 127.255.255.0/24, the range lists use for errors (RFC 5782 §2.1
//     keeps 127.0.0.0/8 for listings, and Spamhaus, whose conventions other
//     lists copy, documents the whole /24 as errors): 127.255.255.252 is
//     [ErrUnknownZone], 127.255.255.254 [ErrRefused], 127.255.255.255
//     [ErrRateLimited], any other code there [ErrRefused];
//   - 127.0.0.1, unless LoopbackListed: RFC 5782 reserves it as the address
//     that is never listed, so such an answer comes from a resolver that
//     rewrites answers or from a broken list ([ErrBogusAnswer]).
func (z *ZoneInfo) Decode(answers []netip.Addr) ([]reputation.Evidence, error) {
	for _, a := range answers {
		a = a.Unmap()
		if !a.Is4() || !loopback8().Contains(a) {
			return nil, &queryError{err: ErrBogusAnswer, zone: z.Zone, what: " answered " + a.String() + ", outside 127.0.0.0/8"}
		}
		if ec, ok := z.errorCode(a); ok {
			msg := ec.Description
			if msg == "" {
				msg = string(ec.Kind)
			}
			return nil, &queryError{err: ec.Kind.Err(), zone: z.Zone, what: " answered " + a.String() + " (" + msg + ")"}
		}
		if a == loopbackAddr() && !z.LoopbackListed && !z.documents(a) {
			return nil, &queryError{err: ErrBogusAnswer, zone: z.Zone, what: " answered 127.0.0.1, which RFC 5782 reserves as never listed (a resolver rewriting answers, or a broken list)"}
		}
	}
	out := make([]reputation.Evidence, 0, len(answers))
	for i, a := range answers {
		a = a.Unmap()
		dup := false
		for _, b := range answers[:i] {
			if b.Unmap() == a {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		c := z.code(a)
		out = append(out, reputation.Evidence{Code: a, Category: c.Category, Severity: c.Severity, Scope: c.Scope})
	}
	return out, nil
}

// errorCode returns the error entry that answer a falls under: the most
// specific entry of z.Errors containing a, else, unless z documents a as a
// listing code, the error every zone gives to 127.255.255.0/24 (see Decode).
func (z *ZoneInfo) errorCode(a netip.Addr) (ErrorCode, bool) {
	best, found := ErrorCode{}, false
	for _, e := range z.Errors {
		if e.Prefix.Contains(a) && (!found || e.Prefix.Bits() > best.Prefix.Bits()) {
			best, found = e, true
		}
	}
	if found || !errorRange().Contains(a) || z.documents(a) {
		return best, found
	}
	return defaultErrorCode(a), true
}

// documents reports whether a is one of z's documented listing codes.
func (z *ZoneInfo) documents(a netip.Addr) bool {
	for _, c := range z.Codes {
		if c.Addr == a {
			return true
		}
	}
	return false
}

// errorRange is 127.255.255.0/24, the answers lists use for errors.
func errorRange() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{127, 255, 255, 0}), 24)
}

func loopbackAddr() netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, 1}) }

// defaultErrorCode is the meaning of an undocumented answer a inside
// errorRange, for zones whose definition says nothing about it.
func defaultErrorCode(a netip.Addr) ErrorCode {
	e := ErrorCode{Prefix: netip.PrefixFrom(a, 32), Kind: ErrorRefused, Description: "undocumented error code"}
	switch a.As4()[3] {
	case 252:
		e.Kind, e.Description = ErrorUnknownZone, "wrong zone name"
	case 254:
		e.Kind, e.Description = ErrorRefused, "query refused (public or unattributable resolver)"
	case 255:
		e.Kind, e.Description = ErrorRateLimited, "too many queries"
	}
	return e
}

// code returns the meaning of a non-error answer.
func (z *ZoneInfo) code(a netip.Addr) Code {
	for _, c := range z.Codes {
		if c.Addr == a {
			return c
		}
	}
	c := z.Default
	if c.Category == "" {
		c.Category = reputation.DefaultCategory
		c.Severity = reputation.DefaultSeverity
	}
	return c
}

// Description returns the human description of answer a, or "".
func (z *ZoneInfo) Description(a netip.Addr) string {
	for _, c := range z.Codes {
		if c.Addr == a {
			return c.Description
		}
	}
	return z.Default.Description
}

// ZoneError reports a problem with one zone definition: a field that fails
// validation, or a syntax error in a zone file read by [ReadZoneInfos].
type ZoneError struct {
	// Line is the 1-based line of the entry (or of the syntax error) in a
	// zone file; 0 when the definition was not read from a file.
	Line int
	// Zone is the entry's Zone, or "" when it has none or is unknown.
	Zone string
	// Field is the JSON name of the offending field, such as
	// "codes[2].code"; "" for a problem with the whole entry or file.
	Field string
	// Err says what is wrong.
	Err error
}

// Error returns text such as
// `line 12: zone "bl.example.org": codes[2].code: 127.1.2.3 ...`.
func (e *ZoneError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Zone != "" {
		fmt.Fprintf(&b, "zone %q: ", e.Zone)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ZoneError) Unwrap() error { return e.Err }

// Validate reports whether z is a usable zone definition. It returns nil, or
// the [errors.Join] of one [*ZoneError] per problem found:
//
//   - Zone is required and must be a DNS name without a trailing dot;
//     KeyedZone, if set, must contain "{key}";
//   - at least one of IPv4 and IPv6 must be set;
//   - every code (Codes, and Default when its Category is set) must be an
//     address inside 127.0.0.0/8 with a category, a known severity and
//     scope; codes must not repeat nor fall inside an error prefix;
//   - every error prefix must lie inside 127.0.0.0/8 and have a known kind;
//   - Rate and Budget must not be negative; aliases must be non-empty and
//     distinct; DelistURL must be an http, https or mailto URL.
func (z *ZoneInfo) Validate() error {
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, &ZoneError{Zone: z.Zone, Field: field, Err: fmt.Errorf(format, args...)})
	}
	switch {
	case z.Zone == "":
		bad("zone", "required")
	case strings.HasSuffix(z.Zone, "."):
		bad("zone", "%q must not end with a dot", z.Zone)
	case strings.Contains(z.Zone, "{key}"):
		bad("zone", "%q: put a keyed mirror in keyed_zone", z.Zone)
	case !validDomain(z.Zone):
		bad("zone", "%q is not a valid DNS name", z.Zone)
	}
	if z.KeyedZone != "" {
		if !strings.Contains(z.KeyedZone, "{key}") {
			bad("keyed_zone", "%q must contain {key}", z.KeyedZone)
		} else if k := strings.ReplaceAll(z.KeyedZone, "{key}", "k"); strings.HasSuffix(k, ".") || !validDomain(k) {
			bad("keyed_zone", "%q is not a valid DNS name pattern", z.KeyedZone)
		}
	}
	if !z.IPv4 && !z.IPv6 {
		bad("ipv4", "the zone must answer for IPv4, IPv6 or both")
	}
	seenAlias := map[string]bool{}
	for i, a := range z.Aliases {
		switch {
		case strings.TrimSpace(a) == "":
			bad(fmt.Sprintf("aliases[%d]", i), "empty alias")
		case seenAlias[strings.ToLower(a)]:
			bad(fmt.Sprintf("aliases[%d]", i), "duplicate alias %q", a)
		}
		seenAlias[strings.ToLower(a)] = true
	}
	seen := map[netip.Addr]bool{}
	for i, c := range z.Codes {
		field := fmt.Sprintf("codes[%d]", i)
		if err := validCode(c); err != nil {
			bad(field, "%v", err)
			continue
		}
		if seen[c.Addr] {
			bad(field+".code", "duplicate code %s", c.Addr)
		}
		seen[c.Addr] = true
		if ec, ok := z.errorCode(c.Addr); ok {
			bad(field+".code", "code %s lies inside error prefix %s", c.Addr, ec.Prefix)
		}
	}
	if z.Default != (Code{}) {
		d := z.Default
		if !d.Addr.IsValid() {
			d.Addr = netip.AddrFrom4([4]byte{127, 0, 0, 2}) // Default needs no address
		}
		if err := validCode(d); err != nil {
			bad("default", "%v", err)
		}
	}
	for i, e := range z.Errors {
		field := fmt.Sprintf("errors[%d]", i)
		switch {
		case !e.Prefix.IsValid():
			bad(field+".prefix", "missing or invalid prefix")
		case e.Prefix != e.Prefix.Masked():
			bad(field+".prefix", "%s has host bits set (did you mean %s?)", e.Prefix, e.Prefix.Masked())
		case !e.Prefix.Addr().Is4() || e.Prefix.Bits() < 8 || !loopback8().Contains(e.Prefix.Addr()):
			bad(field+".prefix", "%s is not inside 127.0.0.0/8", e.Prefix)
		}
		switch e.Kind {
		case ErrorRefused, ErrorRateLimited, ErrorBadKey, ErrorUnknownZone:
		default:
			bad(field+".kind", "unknown kind %q (want refused, rate-limited, bad-key or unknown-zone)", e.Kind)
		}
	}
	if z.Rate < 0 || math.IsNaN(z.Rate) || math.IsInf(z.Rate, 0) {
		bad("rate", "%v is not a rate (queries per second, 0 for no limit)", z.Rate)
	}
	if z.Budget < 0 {
		bad("budget", "%d is negative", z.Budget)
	}
	if z.DelistURL != "" {
		u, err := url.Parse(z.DelistURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto") {
			bad("delist_url", "%q is not an http, https or mailto URL", z.DelistURL)
		}
	}
	return errors.Join(errs...)
}

func loopback8() netip.Prefix { return netip.PrefixFrom(netip.AddrFrom4([4]byte{127, 0, 0, 0}), 8) }

func validCode(c Code) error {
	switch {
	case !c.Addr.IsValid():
		return errors.New("code: missing or invalid address")
	case !c.Addr.Is4() || !loopback8().Contains(c.Addr):
		return fmt.Errorf("code: %s is not inside 127.0.0.0/8", c.Addr)
	case c.Category == "":
		return errors.New("category: required")
	case c.Category != strings.ToLower(c.Category):
		return fmt.Errorf("category: %q must be lower case", c.Category)
	case c.Severity < reputation.SeverityAllow || c.Severity > reputation.SeverityCritical:
		return fmt.Errorf("severity: invalid value %d", int(c.Severity))
	case c.Scope > reputation.ScopeASN:
		return fmt.Errorf("scope: invalid value %d", int(c.Scope))
	}
	return nil
}

// validDomain reports whether s is a DNS name of letters, digits, '-' and
// '_' labels, with at least two labels.
func validDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// TestPoints returns the RFC 5782 §5 test points probed for the zone: the
// IPv4 points for a zone that answers for IPv4, else the IPv6 points (the
// IPv4-mapped addresses, queried as IPv6 nibble names).
func (z *ZoneInfo) TestPoints() (listed, notListed netip.Addr) {
	if !z.IPv4 && z.IPv6 {
		return netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 0x7f, 15: 2}),
			netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 0x7f, 15: 1})
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 2}), netip.AddrFrom4([4]byte{127, 0, 0, 1})
}
