// Package sources provides the places prefixvet learns that an address or a
// block is listed: DNSBL zones queried over DNS, blocklist feeds held in
// memory, and local copies of DNSBL zones loaded from rbldnsd data files.
// Every source implements [reputation.Source].
package sources
