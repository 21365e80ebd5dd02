package reputation

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Source is anything that can say whether an address is listed: a DNSBL zone
// queried over DNS, a blocklist feed held in memory, a local copy of a zone.
//
// The contract, which every implementation must honour (it is what lets the
// [Scorer] tell "clean" from "we do not know"):
//
//   - Implementations are safe for concurrent use by multiple goroutines.
//   - Name returns a stable identifier, unique among the sources of one
//     Scorer. It keys policy weights, report entries and errors.
//   - Lookup reports on one address. "Not listed" is the zero [Listing] with a
//     nil error, never an error. A listed address returns a Listing with
//     Listed set and one [Evidence] per distinct meaning (per DNSBL return code,
//     per matching feed entry).
//   - A non-nil error means no answer was obtained (timeout, SERVFAIL, a
//     refusal by the list operator, a rate limit, a malformed answer). The
//     Scorer records it as unknown and never scores it as listed or as clean.
//     Errors should wrap a sentinel the caller can test with errors.Is.
//   - Lookup returns promptly once ctx is done, with an error that wraps
//     ctx.Err().
//   - addr has already been validated by the Scorer and, if it was an
//     IPv4-mapped IPv6 address, unmapped; implementations need not repeat it.
//
// Sources may implement the optional interfaces [PrefixLookuper] (answer for a
// whole block at once), [Prober] (health probe), [Describer] (kind, address
// families and query budget) and [Pacer] (a rate limit of its own). The Scorer discovers them by type assertion.
type Source interface {
	Name() string
	Lookup(ctx context.Context, addr netip.Addr) (Listing, error)
}

// PrefixLookuper is implemented by sources that hold their data in memory
// (feeds, local zone mirrors) and can answer for a whole prefix in one call.
// When a source implements it, the Scorer calls LookupPrefix once per block
// and never walks the block address by address for that source.
//
// LookupPrefix returns every listed extent that overlaps p: entries that
// cover p entirely (Match.Prefix contains p) and entries that lie inside it.
// Extents are CIDR prefixes; an entry published as a range is returned as the
// CIDR blocks it spans, and exclusions are already cut out. Extents returned
// by one call do not overlap. An empty result with a nil error means nothing
// in p is listed. The same error contract as [Source.Lookup] applies.
type PrefixLookuper interface {
	LookupPrefix(ctx context.Context, p netip.Prefix) ([]Match, error)
}

// Match is one listed extent returned by [PrefixLookuper.LookupPrefix].
type Match struct {
	// Prefix is the listed extent. It may be wider than the queried prefix
	// (the entry covers the whole block) or narrower (it lies inside it).
	Prefix netip.Prefix `json:"prefix"`
	// Listing describes the entry; Listing.Listed is always true.
	Listing
}

// Prober is implemented by sources whose health can be checked before they
// are trusted, such as DNSBL zones (RFC 5782 §5 test points). The Scorer
// probes each source once per run, before any lookup, and does not query a
// source whose status is not [StatusOK] or [StatusDegraded].
//
// Probe must not return a healthy status when it could not tell: a probe that
// timed out is [StatusUnreachable], never [StatusOK]. Probe returns promptly
// once ctx is done. When the caller's ctx is done and the probe found the
// source unusable with no error other than the context's (or none), the
// Scorer reads the outcome as the caller's cancellation: the source keeps
// [StatusOK] with a detail saying it was not probed.
type Prober interface {
	Probe(ctx context.Context) Health
}

// Pacer is implemented by sources that limit their own query rate, such as
// a DNSBL zone whose operator asks for at most so many queries a second.
// The Scorer calls Wait before each lookup of the source, before the
// lookup's timeout ([Scorer.Timeout]) starts, so waiting for the rate is
// never charged to the lookup: a slow source makes a run long, never
// incomplete. The limiter is the source's own, so it also paces what the
// Scorer does not see (other calls sharing the source, extra queries a
// lookup makes).
//
// Wait blocks until the source may be asked once more or ctx is done; it
// returns a non-nil error only when it cannot pace (ctx is done), and the
// Scorer then does not call Lookup.
type Pacer interface {
	Wait(ctx context.Context) error
}

// Describer is implemented by sources that tell the Scorer what they are and
// what they can answer. A source that does not implement it is treated as
// Info{Kind: KindOther, IPv4: true, IPv6: true}.
type Describer interface {
	Info() Info
}

// Kind says what sort of source produced an answer. It appears in reports.
type Kind string

// Kinds of source.
const (
	KindDNSBL Kind = "dnsbl" // a DNSBL zone queried over DNS
	KindFeed  Kind = "feed"  // a downloaded blocklist held in memory
	KindZone  Kind = "zone"  // a local copy of a DNSBL zone (rbldnsd data)
	KindOther Kind = "other" // anything else
)

// Info describes a source to the Scorer.
type Info struct {
	// Kind is the sort of source; empty means [KindOther].
	Kind Kind
	// IPv4 and IPv6 report which address families the source answers for.
	// The Scorer does not ask a source about a family it does not answer for,
	// and such lookups do not count towards coverage.
	IPv4, IPv6 bool
	// Budget is the largest number of per-address lookups the source accepts
	// in one run (one Score or ScoreAll call); 0 means no limit. The Scorer
	// samples a block rather than exceed it.
	Budget int
	// Rate is the most lookups per second the source accepts; 0 means no
	// limit. It is descriptive: the Scorer does not pace by it. A source
	// that limits its rate enforces the limit itself and implements
	// [Pacer], so that waiting is not charged to the per-lookup timeout.
	Rate float64
}

// Status is the health of a source as found by [Prober.Probe].
type Status string

// Health statuses. Only [StatusOK] and [StatusDegraded] sources are queried.
const (
	// StatusOK: the source answered its test points correctly.
	StatusOK Status = "ok"
	// StatusDegraded: the source is usable but something was off (slow, or
	// some answers were errors); it is still queried and the report says why.
	StatusDegraded Status = "degraded"
	// StatusRefused: the list operator refused the queries (e.g. Spamhaus
	// 127.255.255.254 for a public resolver, a bad access key, REFUSED).
	StatusRefused Status = "refused"
	// StatusDead: the zone lists the world (127.0.0.1 is listed) or does not
	// list its positive test point (the signature of a dead list or of a
	// resolver that is silently blocked).
	StatusDead Status = "dead"
	// StatusUnreachable: no usable answer at all (timeouts, SERVFAIL).
	StatusUnreachable Status = "unreachable"
)

// Usable reports whether a source with this status may be queried.
func (s Status) Usable() bool { return s == StatusOK || s == StatusDegraded }

// Health is the outcome of a [Prober.Probe].
type Health struct {
	Status Status `json:"status"`
	// Detail says why, in words a person can act on, for example
	// "resolver 127.0.0.1:53 refused by list operator (127.255.255.254)".
	// It never contains an access key.
	Detail string `json:"detail,omitempty"`
	// Err is the underlying error for statuses other than OK, if any.
	Err error `json:"-"`
}

// Listing is a source's answer about one address or one extent.
// The zero value means "not listed".
type Listing struct {
	// Listed reports whether the source lists the address. A whitelist that
	// vouches for the address also sets Listed; its evidence has
	// [SeverityAllow].
	Listed bool `json:"listed"`
	// Evidence holds one entry per distinct meaning of the listing: one per
	// DNSBL return code, one per matching feed entry. A source may share
	// this slice between answers (an in-memory feed returns the same one for
	// every address of an entry), so callers treat it as read-only.
	Evidence []Evidence `json:"evidence,omitempty"`
	// Reason is the list's own explanation (a DNSBL TXT record, a feed
	// comment); it may be empty.
	Reason string `json:"reason,omitempty"`
	// TTL is how long the answer may be cached; 0 if unknown.
	TTL time.Duration `json:"-"`
	// DelistURL is where a person can ask for removal or see the listing;
	// empty if the list publishes none.
	DelistURL string `json:"delist_url,omitempty"`
}

// Evidence is one decoded meaning of a listing.
type Evidence struct {
	// Code is the DNSBL A-record answer (such as 127.0.0.2); the zero Addr for
	// sources that have no return codes.
	Code netip.Addr `json:"code,omitzero"`
	// Category names what the list says about the address, in lower case:
	// "spam", "exploited", "hijacked", "policy", "bogon", "whitelist", ...
	Category string `json:"category"`
	// Severity is how much the category weighs; the Policy turns it into
	// points.
	Severity Severity `json:"severity"`
	// Scope is what one entry of the list covers.
	Scope Scope `json:"scope"`
	// ID is the list's own identifier for the entry, such as "SBL123456";
	// may be empty.
	ID string `json:"id,omitempty"`
	// Count is a feed-specific count (for ipsum, how many lists carry the
	// address); 0 when the feed has none.
	Count int `json:"count,omitempty"`
}

// Severity grades a category. Its JSON form is its String form.
type Severity int8

// Severities, from whitelist evidence to listings that alone reject a block.
const (
	// SeverityAllow marks whitelist evidence. It never adds or removes points.
	SeverityAllow Severity = iota - 1
	// SeverityInfo is shown in reports but costs no points.
	SeverityInfo
	SeverityLow
	SeverityMedium
	SeverityHigh
	// SeverityCritical listings (a hijacked or criminal netblock) force the
	// verdict to reject when they cover the block.
	SeverityCritical
)

// String returns the lower-case name of s.
func (s Severity) String() string {
	switch s {
	case SeverityAllow:
		return "allow"
	case SeverityInfo:
		return "info"
	case SeverityLow:
		return "low"
	case SeverityMedium:
		return "medium"
	case SeverityHigh:
		return "high"
	case SeverityCritical:
		return "critical"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// ParseSeverity parses the String form of a Severity.
func ParseSeverity(s string) (Severity, error) {
	for v := SeverityAllow; v <= SeverityCritical; v++ {
		if v.String() == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("reputation: unknown severity %q (want one of allow, info, low, medium, high, critical)", s)
}

// MarshalText implements [encoding.TextMarshaler].
func (s Severity) MarshalText() ([]byte, error) {
	if s < SeverityAllow || s > SeverityCritical {
		return nil, fmt.Errorf("reputation: invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler].
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Scope says what one entry of a list covers. Its JSON form is its String
// form. The zero value is [ScopeAddress].
type Scope uint8

// Scopes. A listing whose scope is wider than an address (a UCEPROTECT level 2
// allocation, an ASN, a DROP netblock) describes the block as a whole: the
// Scorer counts it once for the block, not once per address.
const (
	ScopeAddress Scope = iota // one entry lists one address (or one IPv6 /64)
	ScopeRange                // one entry lists a range or allocation
	ScopeASN                  // one entry lists every block of an AS
)

// String returns the lower-case name of s.
func (s Scope) String() string {
	switch s {
	case ScopeAddress:
		return "address"
	case ScopeRange:
		return "range"
	case ScopeASN:
		return "asn"
	}
	return fmt.Sprintf("Scope(%d)", int(s))
}

// ParseScope parses the String form of a Scope.
func ParseScope(s string) (Scope, error) {
	for v := ScopeAddress; v <= ScopeASN; v++ {
		if v.String() == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("reputation: unknown scope %q (want one of address, range, asn)", s)
}

// MarshalText implements [encoding.TextMarshaler].
func (s Scope) MarshalText() ([]byte, error) {
	if s > ScopeASN {
		return nil, fmt.Errorf("reputation: invalid scope %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler].
func (s *Scope) UnmarshalText(b []byte) error {
	v, err := ParseScope(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Codes returns the DNSBL return codes of l, in evidence order, skipping
// evidence that has none.
func (l Listing) Codes() []netip.Addr {
	var out []netip.Addr
	for _, e := range l.Evidence {
		if e.Code.IsValid() {
			out = append(out, e.Code)
		}
	}
	return out
}

// ErrInvalidEvidence is wrapped by the [SourceError] of a lookup whose answer
// the Scorer cannot score: evidence with a Severity or Scope outside the
// defined values, or a Match without a valid prefix. Such a lookup is unknown,
// never scored as 0 points.
var ErrInvalidEvidence = errors.New("reputation: invalid evidence")

// check reports whether every piece of l's evidence can be scored.
func (l Listing) check() error {
	for i, e := range l.Evidence {
		if e.Severity < SeverityAllow || e.Severity > SeverityCritical {
			return fmt.Errorf("%w: evidence %d has severity %d (want %d..%d)", ErrInvalidEvidence, i, int(e.Severity), int(SeverityAllow), int(SeverityCritical))
		}
		if e.Scope > ScopeASN {
			return fmt.Errorf("%w: evidence %d has scope %d (want %d..%d)", ErrInvalidEvidence, i, int(e.Scope), int(ScopeAddress), int(ScopeASN))
		}
	}
	return nil
}

// check reports whether m can be scored.
func (m Match) check() error {
	if !m.Prefix.IsValid() {
		return fmt.Errorf("%w: a match has no valid prefix", ErrInvalidEvidence)
	}
	return m.Listing.check()
}
