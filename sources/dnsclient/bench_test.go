package dnsclient_test

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/sources/dnsbltest"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

// BenchmarkExchange measures Exchange against the in-process server over
// loopback, cache off (every question goes on the wire), and from the cache.
func BenchmarkExchange(b *testing.B) {
	recs := dnsbltest.Records{}
	const n = 1024
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("%d.%d.18.198.bl.example.org.", i%256, i/256)
		if i%7 == 0 {
			recs[names[i]] = dnsbltest.Record{A: []netip.Addr{netip.MustParseAddr("127.0.0.2")}}
		}
	}
	srv := dnsbltest.Start(b, recs)
	for _, bc := range []struct {
		name      string
		cacheSize int
		parallel  int
	}{
		{name: "wire_serial", cacheSize: -1},
		{name: "wire_parallel_64", cacheSize: -1, parallel: 64},
		{name: "cache_parallel_64", cacheSize: 0, parallel: 64},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := &dnsclient.Client{Servers: []string{srv.Addr}, CacheSize: bc.cacheSize}
			defer c.Close()
			b.ReportAllocs()
			var k atomic.Uint64
			ask := func() {
				name := names[k.Add(1)%n]
				if _, err := c.Exchange(b.Context(), name, dns.TypeA); err != nil {
					b.Error(err)
				}
			}
			if bc.parallel == 0 {
				for b.Loop() {
					ask()
				}
				return
			}
			b.SetParallelism(bc.parallel)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ask()
				}
			})
		})
	}
}
