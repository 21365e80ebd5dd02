package sources

// Health probes of DNSBL zones: the RFC 5782 test points, and what a
// failed probe tells a person.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/prefixvet/prefixvet/reputation"
)

// Probe checks the zone's RFC 5782 test points (§5, §7): the positive test
// point (127.0.0.2, or ::ffff:7f00:2 as an IPv6 query for a zone that answers
// only for IPv6) must be listed with any code in 127.0.0.0/8, and the negative
// one (127.0.0.1 or ::ffff:7f00:1) must not be, unless Zone.LoopbackListed.
//
// The outcome is [reputation.StatusOK] (or [reputation.StatusDegraded] when
// the test points took longer than [ProbeSlow]); [reputation.StatusDead] when
// the zone lists the negative test point (it lists the world), does not list
// the positive one (a dead list, or a resolver the list silently blocks) or
// answers outside 127/8, with Err wrapping [ErrBrokenList]; a zone with Dead
// set is dead with [ErrDeadList]; [reputation.StatusRefused] for error codes,
// the REFUSED rcode and a rejected key, with Detail naming the resolver (the
// Client's String method, if any) and the code; and
// [reputation.StatusUnreachable] for timeouts and SERVFAIL.
//
// A completed probe is cached for [ProbeCacheTTL]; concurrent calls share one
// probe. A probe cut short by ctx reports [reputation.StatusUnreachable]
// (it could not tell) with an error wrapping ctx's error as Lookup's does,
// and is not cached; the Scorer reads such an outcome as the caller's
// cancellation, not as the zone's health. Probe ignores the rate-limit back-off, since it is how a
// caller learns whether the zone is usable, but honours the rate limit.
func (bl *DNSBL) Probe(ctx context.Context) reputation.Health {
	if bl.Zone.Dead != "" {
		return reputation.Health{Status: reputation.StatusDead, Detail: bl.Zone.Zone + ": " + bl.Zone.Dead,
			Err: fmt.Errorf("%w: %s: %s", ErrDeadList, bl.Zone.Zone, bl.Zone.Dead)}
	}
	st := bl.init()
	for {
		st.probeMu.Lock()
		if st.probed && time.Since(st.probeAt) < ProbeCacheTTL {
			h := st.probeDone
			st.probeMu.Unlock()
			return h
		}
		if wait := st.probeWait; wait != nil {
			st.probeMu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				err := bl.waitFailed(ctx, "probe", context.Cause(ctx))
				return reputation.Health{Status: reputation.StatusUnreachable, Detail: err.Error(), Err: err}
			}
		}
		done := make(chan struct{})
		st.probeWait = done
		st.probeMu.Unlock()

		h := bl.probe(ctx, st)

		st.probeMu.Lock()
		if ctx.Err() == nil {
			st.probed, st.probeAt, st.probeDone = true, time.Now(), h
		}
		st.probeWait = nil
		st.probeMu.Unlock()
		close(done)
		if bl.Logger != nil {
			bl.Logger.DebugContext(ctx, "dnsbl: probe", "zone", bl.Zone.Zone, "status", h.Status, "detail", h.Detail)
		}
		return h
	}
}

func (bl *DNSBL) probe(ctx context.Context, st *dnsblState) reputation.Health {
	if bl.Client == nil {
		err := fmt.Errorf("%w (zone %s)", ErrNoClient, bl.Zone.Zone)
		return reputation.Health{Status: reputation.StatusUnreachable, Detail: err.Error(), Err: err}
	}
	start := time.Now()
	pos, neg := bl.Zone.TestPoints()
	l, err := bl.probeOne(ctx, st, pos)
	if err != nil {
		return bl.probeFailure(pos, err)
	}
	if !l.Listed {
		err := fmt.Errorf("%w: %s: positive test point %s is not listed", ErrBrokenList, bl.Zone.Zone, pos)
		return reputation.Health{Status: reputation.StatusDead,
			Detail: fmt.Sprintf("%s does not list its test point %s via %s: the list is dead or the resolver is silently blocked", bl.Zone.Zone, pos, bl.resolverName()),
			Err:    err}
	}
	nl, err := bl.probeOne(ctx, st, neg)
	if err != nil {
		return bl.probeFailure(neg, err)
	}
	if nl.Listed && !bl.Zone.LoopbackListed {
		err := fmt.Errorf("%w: %s: negative test point %s is listed (%s)", ErrBrokenList, bl.Zone.Zone, neg, joinAddrs(nl.Codes()))
		return reputation.Health{Status: reputation.StatusDead,
			Detail: fmt.Sprintf("%s lists its negative test point %s (%s): it lists the world", bl.Zone.Zone, neg, joinAddrs(nl.Codes())),
			Err:    err}
	}
	if d := time.Since(start); d > ProbeSlow {
		return reputation.Health{Status: reputation.StatusDegraded,
			Detail: fmt.Sprintf("%s answered its test points correctly but slowly (%s) via %s", bl.Zone.Zone, d.Round(time.Millisecond), bl.resolverName())}
	}
	return reputation.Health{Status: reputation.StatusOK,
		Detail: fmt.Sprintf("%s lists %s (%s) and not %s", bl.Zone.Zone, pos, joinAddrs(l.Codes()), neg)}
}

func (bl *DNSBL) probeOne(ctx context.Context, st *dnsblState, addr netip.Addr) (reputation.Listing, error) {
	if err := st.inflight.Acquire(ctx, 1); err != nil {
		return reputation.Listing{}, bl.waitFailed(ctx, "waiting to query "+addr.String(), err)
	}
	defer st.inflight.Release(1)
	return bl.lookup(ctx, st, addr, false)
}

// probeFailure classifies a probe query that returned an error.
func (bl *DNSBL) probeFailure(point netip.Addr, err error) reputation.Health {
	res := bl.resolverName()
	switch {
	case unusableClient(err):
		return reputation.Health{Status: reputation.StatusUnreachable,
			Detail: fmt.Sprintf("cannot query test point %s: %s", point, bl.redact(err.Error())), Err: err}
	case errors.Is(err, ErrResolverRefused):
		// The REFUSED rcode comes from the resolver asked, not from the
		// list: it does not serve this client (or this zone).
		return reputation.Health{Status: reputation.StatusRefused,
			Detail: fmt.Sprintf("%s answered REFUSED for test point %s: the resolver refuses this client or zone (check its access control), not the list operator", res, point), Err: err}
	case errors.Is(err, ErrRefused), errors.Is(err, ErrRateLimited), errors.Is(err, ErrBadKey), errors.Is(err, ErrUnknownZone):
		return reputation.Health{Status: reputation.StatusRefused,
			Detail: fmt.Sprintf("%s refused by the list operator at test point %s: %s", res, point, shortCause(err)), Err: err}
	case errors.Is(err, ErrBogusAnswer):
		return reputation.Health{Status: reputation.StatusDead,
			Detail: fmt.Sprintf("bogus answer for test point %s via %s: %s", point, res, shortCause(err)),
			Err:    fmt.Errorf("%w: %w", ErrBrokenList, err)}
	}
	return reputation.Health{Status: reputation.StatusUnreachable,
		Detail: fmt.Sprintf("no usable answer for test point %s from %s: %s", point, res, shortCause(err)), Err: err}
}

// shortCause says in a few words why a query failed, for a health detail
// that a person reads next to the zone's name (the full chain stays in
// Health.Err): the rcode, "no answer in time", or what the zone answered
// (for an error code, "ZONE answered CODE (meaning)"). Other errors are
// given whole.
func shortCause(err error) string {
	var rc *RcodeError
	var qe *queryError
	switch {
	case errors.As(err, &rc):
		return dns.RcodeToString[rc.Rcode]
	case errors.Is(err, ErrTimeout):
		return "no answer in time"
	case errors.As(err, &qe):
		return qe.short()
	}
	return err.Error()
}

// resolverName names the resolver for reports: "resolver" and the server
// addresses when the Client can list them (a *dnsclient.Client), else its
// String form when it has one, else just "resolver".
func (bl *DNSBL) resolverName() string {
	switch c := bl.Client.(type) {
	case interface{ ServerAddrs() []string }:
		if addrs := c.ServerAddrs(); len(addrs) > 0 {
			return "resolver " + bl.redact(strings.Join(addrs, ", "))
		}
	case fmt.Stringer:
		return "resolver " + bl.redact(c.String())
	}
	return "resolver"
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
