package sources

import (
	"fmt"
	"net/netip"
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
	// A zero Default means Category "listed", SeverityMedium, ScopeAddress.
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
	// Refs cites where these facts come from.
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
// error, never evidence, when any answer is an error code of the zone (the
// error wraps the matching sentinel) or lies outside 127.0.0.0/8 (wrapping
// [ErrBogusAnswer]): one refusal in an answer makes the whole answer
// untrustworthy. Answers are decoded in order; duplicates are dropped.
func (z *ZoneInfo) Decode(answers []netip.Addr) ([]reputation.Evidence, error) {
	loopback := netip.PrefixFrom(netip.AddrFrom4([4]byte{127, 0, 0, 0}), 8)
	for _, a := range answers {
		a = a.Unmap()
		if !a.Is4() || !loopback.Contains(a) {
			return nil, fmt.Errorf("%w: %s answered %s, outside 127.0.0.0/8", ErrBogusAnswer, z.Zone, a)
		}
		if ec, ok := z.errorCode(a); ok {
			msg := ec.Description
			if msg == "" {
				msg = string(ec.Kind)
			}
			return nil, fmt.Errorf("%w: %s answered %s (%s)", ec.Kind.Err(), z.Zone, a, msg)
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

// errorCode returns the most specific error entry containing a.
func (z *ZoneInfo) errorCode(a netip.Addr) (ErrorCode, bool) {
	best, found := ErrorCode{}, false
	for _, e := range z.Errors {
		if e.Prefix.Contains(a) && (!found || e.Prefix.Bits() > best.Prefix.Bits()) {
			best, found = e, true
		}
	}
	return best, found
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
		c.Category = "listed"
		c.Severity = reputation.SeverityMedium
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
