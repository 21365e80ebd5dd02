package sources

import "errors"

// Sentinel errors. A lookup that fails returns an error wrapping one of these,
// so callers can branch with errors.Is; the error's text adds the zone, the
// address and the code or rcode seen.
var (
	// ErrRefused: the list operator refused the query (an error return
	// code such as Spamhaus 127.255.255.254 for a public or
	// unattributable resolver). The REFUSED rcode, which comes from the
	// resolver, is [ErrResolverRefused], which matches ErrRefused too.
	ErrRefused = errors.New("sources: query refused by list operator")
	// ErrResolverRefused: the resolver asked answered with the REFUSED
	// rcode -- it does not serve this client or this zone (its access
	// control), which is a problem of the caller's resolver, not of the
	// list. errors.Is(ErrResolverRefused, ErrRefused) holds, so code that
	// treats every refusal alike keeps working.
	ErrResolverRefused error = resolverRefused{}
	// ErrNotInCatalog: [LookupZone] does not know the name. It is the
	// catalog's answer, unlike [ErrUnknownZone], which is the list's own
	// "wrong zone name" answer to a query.
	ErrNotInCatalog = errors.New("sources: zone not in the built-in catalog")
	// ErrRateLimited: the list says the resolver sent too many queries
	// (Spamhaus 127.255.255.255, dnswl 127.0.0.255).
	ErrRateLimited = errors.New("sources: rate limited by list operator")
	// ErrBadKey: the access key of a keyed mirror was rejected (Spamhaus DQS
	// 127.255.255.250 and 127.255.255.251).
	ErrBadKey = errors.New("sources: access key rejected by list operator")
	// ErrUnknownZone: the list says the zone name is wrong (Spamhaus
	// 127.255.255.252, "typo in zone name").
	ErrUnknownZone = errors.New("sources: zone name not known to list operator")
	// ErrServFail: the resolver answered SERVFAIL (or another failure rcode).
	ErrServFail = errors.New("sources: server failure")
	// ErrTimeout: no answer arrived in time.
	ErrTimeout = errors.New("sources: query timed out")
	// ErrBogusAnswer: the answer cannot be a DNSBL answer (an A record
	// outside 127.0.0.0/8, a record for a different name than asked).
	ErrBogusAnswer = errors.New("sources: bogus answer")
	// ErrBrokenList: the zone failed its RFC 5782 test points (it lists
	// 127.0.0.1, so it lists the world, or it does not list 127.0.0.2).
	ErrBrokenList = errors.New("sources: list failed its test points")
	// ErrDeadList: the zone is known to be shut down or unsafe to query; the
	// catalog refuses it by name.
	ErrDeadList = errors.New("sources: list is dead or unsafe")
	// ErrUnsupported: the zone does not answer for this address family.
	ErrUnsupported = errors.New("sources: address family not supported by zone")
)

// queryError is what a zone's answer, or the lack of one, means when it is
// not a listing: the sentinel callers branch on, the zone, and what
// happened, kept apart so that a health detail can say what happened
// without the sentinel's words.
type queryError struct {
	err  error  // ErrRefused, ErrRateLimited, ErrBogusAnswer, ErrTimeout...
	zone string // the zone asked (never the keyed name)
	what string // follows the zone: " answered 127.255.255.254 (refused)", ": no answer for 192.0.2.1"
}

// Error returns "SENTINEL: ZONE WHAT", such as "sources: query refused by
// list operator: zen.example.org answered 127.255.255.254 (refused)".
func (e *queryError) Error() string { return e.err.Error() + ": " + e.zone + e.what }

// Unwrap returns the sentinel.
func (e *queryError) Unwrap() error { return e.err }

// short returns the text without the sentinel: "ZONE WHAT".
func (e *queryError) short() string { return e.zone + e.what }

// resolverRefused is ErrResolverRefused: its own text, and a refusal for
// errors.Is.
type resolverRefused struct{}

func (resolverRefused) Error() string        { return "sources: query refused by resolver" }
func (resolverRefused) Is(target error) bool { return target == ErrRefused }
