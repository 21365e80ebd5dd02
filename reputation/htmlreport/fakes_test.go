package htmlreport_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"

	"github.com/prefixvet/prefixvet/reputation"
)

// src is a per-address source with fixed answers; with whole set it answers
// for whole blocks (a feed), returning one /32 or /128 extent per listed
// address.
type src struct {
	name   string
	listed func(netip.Addr) (reputation.Evidence, bool)
	fail   func(netip.Addr) bool
	kind   reputation.Kind
	reason string
	delist string            // the delisting URL; "" means https://NAME/lookup?ip=ADDR
	status reputation.Status // the probe's answer; "" means no probe (OK)
}

var errServFail = errors.New("server failure")

func (s *src) Name() string { return s.name }

func (s *src) Info() reputation.Info {
	k := s.kind
	if k == "" {
		k = reputation.KindDNSBL
	}
	return reputation.Info{Kind: k, IPv4: true, IPv6: true}
}

func (s *src) Lookup(ctx context.Context, a netip.Addr) (reputation.Listing, error) {
	if err := ctx.Err(); err != nil {
		return reputation.Listing{}, err
	}
	if s.fail != nil && s.fail(a) {
		return reputation.Listing{}, errServFail
	}
	if e, ok := s.listed(a); ok {
		u := s.delist
		if u == "" {
			u = "https://" + s.name + "/lookup?ip=" + a.String()
		}
		return reputation.Listing{Listed: true, Evidence: []reputation.Evidence{e}, Reason: s.reason, DelistURL: u}, nil
	}
	return reputation.Listing{}, nil
}

func (s *src) Probe(context.Context) reputation.Health {
	if s.status == "" {
		return reputation.Health{Status: reputation.StatusOK}
	}
	return reputation.Health{Status: s.status, Detail: s.name + " refused the resolver"}
}

// feed is src answering for whole blocks by walking them (the blocks of
// these tests are small enough).
type feed struct{ *src }

func (f feed) LookupPrefix(ctx context.Context, p netip.Prefix) ([]reputation.Match, error) {
	var out []reputation.Match
	for a := p.Addr(); p.Contains(a); a = a.Next() {
		l, err := f.Lookup(ctx, a)
		if err != nil {
			return nil, err
		}
		if l.Listed {
			out = append(out, reputation.Match{Prefix: netip.PrefixFrom(a, a.BitLen()), Listing: l})
		}
	}
	return out, nil
}

func spam(code string) reputation.Evidence {
	return reputation.Evidence{Code: netip.MustParseAddr(code), Category: "spam", Severity: reputation.SeverityMedium}
}

// every lists the addresses whose last byte is a multiple of n.
func every(n int, e reputation.Evidence) func(netip.Addr) (reputation.Evidence, bool) {
	return func(a netip.Addr) (reputation.Evidence, bool) {
		b := a.As16()
		return e, int(b[15])%n == 0
	}
}

// share lists a pseudo-random share of addresses, the same ones for the
// same seed.
func share(p float64, seed uint64, e reputation.Evidence) func(netip.Addr) (reputation.Evidence, bool) {
	return func(a netip.Addr) (reputation.Evidence, bool) {
		b := a.As16()
		var x uint64
		for _, c := range b[8:] {
			x = x<<8 | uint64(c)
		}
		r := rand.New(rand.NewPCG(seed, x))
		return e, r.Float64() < p
	}
}

func never(netip.Addr) (reputation.Evidence, bool) { return reputation.Evidence{}, false }

// bgCtx is the context of fixtures built once for benchmarks.
func bgCtx() context.Context { return context.Background() }
