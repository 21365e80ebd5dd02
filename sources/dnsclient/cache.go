package dnsclient

import (
	"sync"
	"time"

	"github.com/miekg/dns"
)

type cacheKey struct {
	name  string // lower case
	qtype uint16
}

type cacheEntry struct {
	pkt     []byte // wire form of the answer; each hit unpacks a fresh *dns.Msg
	stored  time.Time
	expires time.Time
}

// cache holds answers by (name, qtype) until their TTL ends. It is bounded:
// when full, an insert first drops expired entries it meets, then arbitrary
// ones (Go's map order), which is enough for a cache whose entries all expire
// within MaxTTL.
type cache struct {
	max    int
	maxTTL time.Duration

	mu sync.Mutex
	m  map[cacheKey]cacheEntry
}

func newCache(size int, maxTTL time.Duration) *cache {
	if size <= 0 {
		return nil
	}
	return &cache{max: size, maxTTL: maxTTL, m: make(map[cacheKey]cacheEntry)}
}

// get returns a fresh copy of the cached answer for k with TTLs lowered by
// the time spent in the cache, or nil.
func (c *cache) get(k cacheKey, now time.Time) *dns.Msg {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	e, ok := c.m[k]
	if ok && !now.Before(e.expires) {
		delete(c.m, k)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return nil
	}
	m := new(dns.Msg)
	if err := m.Unpack(e.pkt); err != nil {
		return nil // cannot happen: the packet was unpacked before it was stored
	}
	age := uint32(now.Sub(e.stored) / time.Second)
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			h := rr.Header()
			if h.Rrtype == dns.TypeOPT {
				continue
			}
			h.Ttl = max(h.Ttl, age) - age
		}
	}
	return m
}

// put stores pkt, the wire form of m, for the TTL cacheTTL gives m.
func (c *cache) put(k cacheKey, m *dns.Msg, pkt []byte, now time.Time) {
	if c == nil {
		return
	}
	ttl, ok := cacheTTL(m, c.maxTTL)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.m[k]; !exists && len(c.m) >= c.max {
		c.evictLocked(now)
	}
	c.m[k] = cacheEntry{pkt: pkt, stored: now, expires: now.Add(ttl)}
}

// evictLocked frees at least one slot: every expired entry among the first
// few visited, else the first visited.
func (c *cache) evictLocked(now time.Time) {
	var victim cacheKey
	found, n := false, 0
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
			found = true
		} else if n == 0 {
			victim = k
		}
		n++
		if n >= 8 {
			break
		}
	}
	if !found {
		delete(c.m, victim)
	}
}

// cacheTTL returns how long m may be cached, capped at maxTTL:
//   - NOERROR with answers: the smallest TTL among the answer records;
//   - NXDOMAIN, or NOERROR without answers (NODATA): the smaller of the TTL
//     and the MINIMUM field of the SOA in the authority section (RFC 2308);
//     without an SOA, not cached;
//   - anything else (SERVFAIL, REFUSED, truncated): not cached.
func cacheTTL(m *dns.Msg, maxTTL time.Duration) (time.Duration, bool) {
	if m.Truncated {
		return 0, false
	}
	var ttl uint32
	switch {
	case m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0:
		ttl = m.Answer[0].Header().Ttl
		for _, rr := range m.Answer[1:] {
			ttl = min(ttl, rr.Header().Ttl)
		}
	case m.Rcode == dns.RcodeNameError || m.Rcode == dns.RcodeSuccess:
		found := false
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				ttl = min(soa.Hdr.Ttl, soa.Minttl)
				found = true
				break
			}
		}
		if !found {
			return 0, false
		}
	default:
		return 0, false
	}
	if ttl == 0 {
		return 0, false
	}
	return min(time.Duration(ttl)*time.Second, maxTTL), true
}
