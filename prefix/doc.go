// Package prefix turns what operators type into validated IP ranges, walks
// and samples their addresses, and builds DNSBL query names. It is the
// foundation of prefixvet: every other package takes its inputs from here.
//
// The API speaks only [net/netip]. [Range] is a small comparable value, like
// [netip.Prefix], for an inclusive range of addresses of one family; a CIDR
// prefix is the common case, but a pasted "from-to" range need not be one.
//
// # Usage
//
//	r, err := prefix.Parse("203.0.113.0/24")
//	if err != nil {
//		return err // prefix.Parse("…"): reason, with a hint
//	}
//	for p := range r.Prefixes() { // the minimal CIDR cover of r
//		if err := prefix.CheckVettable(p); err != nil {
//			return err // errors.Is(err, prefix.ErrSpecialPurpose)
//		}
//	}
//	for a := range r.All() { // every address, ascending, no allocation
//		name := prefix.AppendQueryName(buf[:0], a, "bl.example.org.")
//		…
//	}
//
// # Parsing
//
// [Parse] accepts a CIDR prefix, a single address, a "from-to" range, a
// prefix with a netmask, IPv6 in any standard notation (embedded IPv4
// included) and contiguous segment ranges or wildcards ("203.0.113.*"), with
// surrounding white space. The lenient parsing is done by
// github.com/seancfoley/ipaddress-go; none of its types appear in this API.
// Parse refuses what would mislead, with an error that reads
// prefix.Parse("…"): reason: host bits set (the error names the masked
// prefix), empty input, garbage, an end before the start, mixed families,
// non-contiguous netmasks, and ambiguous forms such as IPv4 leading zeros.
// [Range.String] gives a form Parse reads back.
//
// [RangeOf] and [RangeFrom] build a Range from netip values. [Range.Len]
// counts addresses without overflow, reporting when the count does not fit
// in a uint64 (an IPv6 /0 has 2^128 addresses). [Range.All] iterates
// addresses, [Range.Prefixes] spans the range into CIDR blocks
// ([Range.AppendPrefixes] into a caller's buffer), [Range.WidestPrefix]
// finds the block of that cover which holds an address, and [Split] cuts a
// prefix into sub-prefixes of one length, such as the /24s of a /20. The last
// address of a prefix p is RangeOf(p).To(). [Unmap] turns an IPv4-mapped IPv6
// prefix into the IPv4 prefix it stands for. RangeOf, AppendPrefixes (while
// the buffer has room), WidestPrefix and Unmap do not allocate.
//
// # Special-purpose space
//
// [SpecialPurpose] classifies a prefix against the IANA IPv4 and IPv6
// special-purpose address registries (RFC 6890 and updates: private-use,
// CGNAT shared space, loopback, link-local, documentation, benchmarking,
// 240.0.0.0/4, unique-local, and more) and the multicast blocks.
// [CheckVettable] turns a match into an error wrapping [ErrSpecialPurpose].
// A prefix that contains such a block overlaps it and is refused as well:
// 0.0.0.0/0 or 192.0.0.0/8 cannot be vetted whole. Parse does not refuse
// special-purpose space; vetting code calls CheckVettable, and tests or
// demos that use documentation space deliberately skip it.
//
// # Sampling
//
// Large prefixes are vetted by sampling. [Sample] draws n distinct
// addresses uniformly from a prefix of any size, IPv6 ::/0 included, and
// [SampleSubnets] draws n distinct sub-prefixes (for IPv6, /64s, the unit
// most DNSBLs list) with one address in each. Both are reproducible: the
// same prefix, count and seed give the same addresses, in ascending order.
//
// # Query names
//
// [AppendQueryName] builds the RFC 5782 query name of an address in a DNSBL
// zone, appending to a caller's buffer so that a hot loop does not allocate:
// reversed decimal octets for IPv4, 32 reversed nibbles for IPv6. An
// IPv4-mapped IPv6 address such as ::ffff:127.0.0.2 is queried as IPv6, as
// RFC 5782's IPv6 test point requires.
//
// # Concurrency
//
// Everything in this package is safe for concurrent use: Range is an
// immutable value and the functions keep no state.
package prefix
