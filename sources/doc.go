// Package sources provides the places prefixvet learns that an address or a
// block is listed: DNSBL zones queried over DNS, blocklist feeds held in
// memory, and local copies of DNSBL zones loaded from rbldnsd data files.
// Every source implements [reputation.Source].
//
// # Usage
//
// A DNSBL zone is a [DNSBL] value: a zone definition (usually from the
// built-in catalog) plus the [Exchanger] that carries its queries to your
// resolver. Probe it once, then look addresses up:
//
//	zone, err := sources.LookupZone("zen.spamhaus.org")
//	if err != nil { ... }
//	bl := &sources.DNSBL{Zone: zone, Client: client}
//	if h := bl.Probe(ctx); !h.Status.Usable() {
//		// do not score this zone; h.Detail says why
//	}
//	l, err := bl.Lookup(ctx, netip.MustParseAddr("192.0.2.1"))
//
// Use your own caching, non-forwarding resolver (unbound, for example): list
// operators refuse or silently blank queries that arrive through public
// resolvers, and this package never defaults to one.
//
// # DNSBL zones
//
// A [ZoneInfo] says what a zone's answers mean: the category, severity and
// scope of each return code ([Code]), which answers are errors and never
// listings ([ErrorCode], such as Spamhaus' 127.255.255.0/24), the address
// families it serves, whether to fetch TXT reasons, a delisting URL pattern,
// a keyed-mirror pattern for an access key, a query rate and a per-run
// budget. Query names follow RFC 5782: reversed octets for IPv4, 32
// reversed nibbles for IPv6; an IPv4-mapped IPv6 address is an IPv6 query.
//
// Every [DNSBL.Lookup] ends in one of three outcomes, and unknown is never
// folded into the other two:
//
//   - listed: an A answer inside 127.0.0.0/8 that is not an error code,
//     decoded by [ZoneInfo.Decode] into one [reputation.Evidence] per code;
//   - not listed: NXDOMAIN, or NOERROR without an A record for the name
//     asked (the zero [reputation.Listing], nil error);
//   - unknown: an error wrapping a sentinel (see Errors).
//
// Users define their own zones in a JSON file read by [ReadZoneInfos] and
// checked by [ZoneInfo.Validate].
//
// # Health probes
//
// [DNSBL.Probe] checks the RFC 5782 §5 test points before a zone is trusted
// (§7): 127.0.0.2 must be listed with any code in 127/8 and 127.0.0.1 must
// not be (::ffff:7f00:2 and ::ffff:7f00:1 for IPv6-only zones). A zone that
// lists 127.0.0.1 lists the world and is dead; one that does not list
// 127.0.0.2 is dead too, or your resolver is silently blocked. Error codes,
// REFUSED and rejected keys make it refused; timeouts and SERVFAIL make it
// unreachable. Zones with a documented exception set
// [ZoneInfo.LoopbackListed]. Results are cached for [ProbeCacheTTL].
//
// # Catalog
//
// [Catalog] returns the well-known public zones with their codes, error
// codes, scope, IPv6 support, policy and delisting URL, each citing its
// sources in Refs, and the zones known to be dead or unsafe (SORBS, NJABL,
// AHBL, NiX Spam, ...), which [LookupZone] refuses by name with
// [ErrDeadList]. [DefaultZones] is a documented default set for vetting a
// block. The catalog describes zones; which zones to query, and through
// which resolver, stays the caller's choice. Check each list's usage terms:
// several are free only below a query volume or for non-commercial use.
//
// # Feeds
//
// [ReadList] loads a blocklist feed (plain or FireHOL netsets, Spamhaus DROP
// JSON lines or text, ipsum) from an io.Reader into an immutable [List]. The
// format is chosen in [FeedConfig] or detected ([DetectFormat]); each entry
// carries its meaning (category, severity, scope, SBL id, ipsum count).
// Malformed lines are skipped and returned as an errors.Join of [*ParseError]
// next to the usable List; FeedConfig.Strict fails on the first. Bogon feeds
// (Category "bogon") are informational, never abuse. [Fetcher] keeps a List
// fresh over HTTP with conditional GET, a minimum interval
// ([DefaultMinInterval], one hour), a size cap and the last good List kept on
// failure; the caller calls [Fetcher.Refresh]. Loads are streamed and capped
// by bytes ([DefaultMaxBytes]) and by entries ([DefaultMaxEntries]), so a
// hostile feed costs what the caps allow; a Content-Length over the size
// cap is refused unread, and redirects to another host or from https to
// http are refused ([ErrRedirect]) unless [Fetcher.AnyRedirect] is set.
//
// # Zone mirrors
//
// [ReadMirror] loads an rbldnsd data file (ip4set, ip4tset, ip4trie, ip6trie,
// ip6tset) into a [Mirror] that answers exactly as rbldnsd would from the
// same file (checked against rbldnsd in the tests), decoded with the zone's
// [ZoneInfo]. Lists and Mirrors answer for a whole prefix at once
// ([reputation.PrefixLookuper]) with non-overlapping extents, exclusions cut
// out, so the Scorer never walks a feed address by address.
//
// # Lease readiness: registry, RPKI and routing files
//
// Before a block is leased, brokers check more than blocklists. Four loaders
// read the files operators already download, and each result is a
// whole-block source whose evidence joins the same report:
//
//   - [ReadVRPs]: RPKI VRPs (rpki-client or Routinator JSON, CSV). An AS0 ROA
//     anywhere in the block is [CategoryRPKIAS0], critical; with
//     [VRPConfig.ExpectOrigin], a ROA for another AS is
//     [CategoryRPKIForeignOrigin], high; the expected origin's ROA, or no
//     ROA, is [CategoryRPKIROA], info. maxLength is honoured (RFC 6811).
//   - [ReadRIRStats]: one RIR's delegated statistics. Available or reserved
//     space is [CategoryRIRUnallocated], critical; allocations are
//     [CategoryRIRDelegated], info, with registry, country and date.
//   - [ReadOrigins]: a pfx2as table (MOAS and AS sets). Every origin is
//     [CategoryAnnounced], info; with [OriginsConfig.ExpectOrigin], another
//     origin is [CategoryForeignOrigin], high.
//   - [ReadASNDrop]: Spamhaus ASN-DROP over a [RouteLookuper] (an [*Origins]):
//     a block, or a prefix inside it, announced by a listed AS is
//     [CategoryASNDrop], critical, scope ASN.
//
// The default [reputation.Policy] rejects a block with any evidence of
// rpki-as0, rir-unallocated or asn-drop, whatever else the report says.
// Each loader streams its input with the size and line caps of feeds,
// returns [*ParseError]s with line numbers, and refuses a file of another of
// these kinds with [ErrWrongFormat] naming the kind it expected. A full
// rpki-client export, the five RIR files and a pfx2as table each load in
// about a second of CPU time, in 34, 28 and 65 MiB of heap
// (sources/bench/lease.sh). [Fetcher.Read] serves any of them from a URL.
//
// # Errors
//
// Lookups that obtain no answer return errors wrapping a sentinel, to test
// with [errors.Is]: [ErrRefused], [ErrRateLimited], [ErrBadKey],
// [ErrUnknownZone] (the zone's error codes and the REFUSED rcode),
// [ErrServFail] (SERVFAIL and other failure rcodes, as a [*RcodeError]),
// [ErrTimeout] (no answer; also wraps the context's error), [ErrBogusAnswer]
// (an answer outside 127/8 or for another name), [ErrUnsupported] (address
// family), [ErrDeadList] and [ErrNoClient]. Probes report [ErrBrokenList]
// for failed test points. An access key never appears in any error, log
// record, health detail or formatted value.
//
// # Concurrency
//
// A [DNSBL] is safe for concurrent use once its fields are set, and must not
// be copied after first use. Each DNSBL caps its lookups in flight
// ([DNSBL.MaxInFlight]) and paces its queries to [ZoneInfo.Rate] with one
// context-aware token bucket shared by every query to the zone (A, TXT,
// probes, every Score call); [DNSBL.Wait] lets the Scorer wait for it before
// a lookup's timeout starts. After a "rate limited" answer it stops
// querying for [RateLimitBackoff]. Concurrent probes of one DNSBL share a
// single probe. The package starts no background goroutines.
package sources
