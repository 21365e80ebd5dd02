package sources

import (
	"context"

	"github.com/miekg/dns"
)

// Exchanger asks one DNS question and returns the answer. It is the seam
// between DNSBL zones and the DNS transport: [github.com/prefixvet/prefixvet/sources/dnsclient.Client]
// implements it, and tests may substitute a fake.
//
// Exchange returns a response whose ID, question name, type and class have
// been checked against the question, whatever its rcode: NXDOMAIN, SERVFAIL
// and REFUSED come back as a *dns.Msg with a nil error, for the caller to
// interpret. A non-nil error means no valid response was obtained (timeout,
// network error, every answer malformed); it wraps ctx.Err() when ctx ended
// the exchange. name is a fully qualified domain name. Implementations are
// safe for concurrent use.
type Exchanger interface {
	Exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error)
}
