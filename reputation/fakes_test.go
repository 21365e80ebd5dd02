package reputation_test

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
)

// fake is a per-address Source with fixed answers, injected errors and
// delays. It records its calls and the high-water mark of calls in flight.
type fake struct {
	name    string
	listed  map[netip.Addr]reputation.Listing
	listFn  func(netip.Addr) (reputation.Listing, bool) // consulted when listed has no entry
	errFn   func(netip.Addr) error                      // consulted after errs
	errs    map[netip.Addr]error
	errAll  error
	delay   time.Duration
	delayFn func(netip.Addr) time.Duration // overrides delay when set

	calls    atomic.Int64
	inflight atomic.Int64
	high     atomic.Int64
	mu       sync.Mutex
	asked    map[netip.Addr]int
	limit    *atomic.Int64 // optional shared in-flight counter
	limitHi  *atomic.Int64 // and its high-water mark
}

func (f *fake) Name() string { return f.name }

func raise(hi *atomic.Int64, n int64) {
	for {
		h := hi.Load()
		if n <= h || hi.CompareAndSwap(h, n) {
			return
		}
	}
}

func (f *fake) Lookup(ctx context.Context, a netip.Addr) (reputation.Listing, error) {
	f.calls.Add(1)
	raise(&f.high, f.inflight.Add(1))
	defer f.inflight.Add(-1)
	if f.limit != nil {
		raise(f.limitHi, f.limit.Add(1))
		defer f.limit.Add(-1)
	}
	if f.asked != nil {
		f.mu.Lock()
		f.asked[a]++
		f.mu.Unlock()
	}
	d := f.delay
	if f.delayFn != nil {
		d = f.delayFn(a)
	}
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return reputation.Listing{}, ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return reputation.Listing{}, err
	}
	if f.errAll != nil {
		return reputation.Listing{}, f.errAll
	}
	if err := f.errs[a]; err != nil {
		return reputation.Listing{}, err
	}
	if f.errFn != nil {
		if err := f.errFn(a); err != nil {
			return reputation.Listing{}, err
		}
	}
	if l, ok := f.listed[a]; ok {
		return l, nil
	}
	if f.listFn != nil {
		if l, ok := f.listFn(a); ok {
			return l, nil
		}
	}
	return reputation.Listing{}, nil
}

// described is a fake that implements Describer.
type described struct {
	*fake
	info reputation.Info
}

func (d described) Info() reputation.Info { return d.info }

// probed is a fake that implements Prober.
type probed struct {
	*fake
	health reputation.Health
	probes *atomic.Int64
}

func (p probed) Probe(ctx context.Context) reputation.Health {
	if p.probes != nil {
		p.probes.Add(1)
	}
	return p.health
}

// feed is a whole-block source (PrefixLookuper) holding extents in memory.
type feed struct {
	name        string
	kind        reputation.Kind
	entries     []reputation.Match
	err         error
	prefixCalls atomic.Int64
	addrCalls   atomic.Int64
}

func (f *feed) Name() string { return f.name }

func (f *feed) Info() reputation.Info {
	k := f.kind
	if k == "" {
		k = reputation.KindFeed
	}
	return reputation.Info{Kind: k, IPv4: true, IPv6: true}
}

// Lookup answers per address; the Scorer must never call it on a feed.
func (f *feed) Lookup(ctx context.Context, a netip.Addr) (reputation.Listing, error) {
	f.addrCalls.Add(1)
	for _, m := range f.entries {
		if m.Prefix.Contains(a) {
			return m.Listing, nil
		}
	}
	return reputation.Listing{}, nil
}

func (f *feed) LookupPrefix(ctx context.Context, p netip.Prefix) ([]reputation.Match, error) {
	f.prefixCalls.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	var out []reputation.Match
	for _, m := range f.entries {
		if m.Prefix.Overlaps(p) {
			out = append(out, m)
		}
	}
	return out, nil
}

func mpp(s string) netip.Prefix {
	p := netip.MustParsePrefix(s)
	if p != p.Masked() {
		panic("non-canonical prefix " + s)
	}
	return p
}

func mpa(s string) netip.Addr { return netip.MustParseAddr(s) }

// spam returns a DNSBL-style listing with one code.
func spam(code string, sev reputation.Severity) reputation.Listing {
	return reputation.Listing{
		Listed:    true,
		Evidence:  []reputation.Evidence{{Code: mpa(code), Category: "spam", Severity: sev}},
		Reason:    "listed for spam",
		DelistURL: "https://bl.example.org/lookup",
	}
}

// entry returns a feed extent with one evidence.
func entry(p, category string, sev reputation.Severity, scope reputation.Scope, id string) reputation.Match {
	return reputation.Match{Prefix: mpp(p), Listing: reputation.Listing{
		Listed:   true,
		Evidence: []reputation.Evidence{{Category: category, Severity: sev, Scope: scope, ID: id}},
	}}
}
