// Package dnsclient is the DNS transport of prefixvet's DNSBL lookups: a
// client built on github.com/miekg/dns that asks many questions at once over
// a few long-lived UDP sockets and never returns an answer it has not
// checked.
//
// # Usage
//
// The zero [Client] asks the nameservers of /etc/resolv.conf; set
// [Client.Servers] to ask others. [Client.Exchange] implements the
// sources.Exchanger seam:
//
//	c := &dnsclient.Client{Servers: []string{"127.0.0.1:5353"}}
//	defer c.Close()
//	m, err := c.Exchange(ctx, "2.0.0.127.bl.example.org.", dns.TypeA)
//
// There is no built-in public resolver: DNSBL operators refuse queries from
// the big public resolvers, so the resolver is the caller's or the system's.
//
// # Answers
//
// An answer counts only if its ID, question name (case-insensitively), type
// and class are the query's; anything else is discarded and counted
// ([Stats].Mismatches, Unmatched, Malformed) while the wait goes on, so an
// answer for another name is never returned. Every rcode is an answer:
// NXDOMAIN, SERVFAIL and REFUSED are returned as messages for the caller to
// interpret. A truncated UDP answer is asked again over TCP.
//
// # Timeouts and retries
//
// The first attempt to a server waits srtt + 4·rttvar of that server
// (RFC 6298), at least [Client.MinTimeout] and at most [Client.Timeout];
// each retry doubles the wait and goes to the next server. Timeouts are kept
// by one sweeper goroutine per client rather than a timer per query, so one
// fires up to a quarter of the shortest first-attempt timeout late (1 to
// 10 ms). A late answer to
// an earlier attempt is still accepted. When every attempt is lost the
// error wraps [ErrTimeout]; a lost packet is never read as "no data".
//
// # Throughput
//
// Each server gets [Client.Sockets] connected UDP sockets with random
// source ports; each query gets a random 16-bit ID (math/rand/v2, seeded by
// the runtime's ChaCha8 generator) not in use on its socket, and a reader
// goroutine per socket hands answers to the waiting query. The number of
// queries in flight per server follows an additive-increase,
// multiplicative-decrease window, like TCP's congestion window: it grows
// while answers come back and halves when a query times out, so a server
// that drops packets under load (rbldnsd's single socket overflows above a
// few hundred queries in flight) is sent fewer at once instead of losing
// answers. A query that finds the window full waits in line with its
// packet ready, and whichever query frees a slot sends it, so that waiting
// costs no extra wake-up. The readers parse the usual DNSBL answers (A
// records, or NXDOMAIN with a SOA) in one allocation, sharing the question's
// name string with the caller; any other answer goes through miekg/dns's
// Msg.Unpack, and both give the same message.
//
// # Caching
//
// Answers are cached by (name, type) for the smallest TTL of their answer
// records; NXDOMAIN and NODATA answers for the smaller of their SOA's TTL
// and MINIMUM (RFC 2308); both capped by [Client.MaxTTL]. SERVFAIL, REFUSED
// and errors are never cached. Identical questions in flight are sent once
// and each caller gets its own copy; a caller whose context ends returns at
// once while the question goes on for the others.
//
// # Concurrency
//
// A Client is safe for concurrent use. It starts one reader goroutine per
// socket and the timeout sweeper on first use (the one exception to "no
// background goroutines in the library": a multiplexed socket needs a
// reader; the sweeper sleeps while no query is in flight); [Client.Close]
// ends the exchanges in progress, stops the readers and the sweeper and
// closes the sockets, and every goroutine of the client has returned when it
// returns.
package dnsclient
