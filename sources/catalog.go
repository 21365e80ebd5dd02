package sources

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/prefixvet/prefixvet/reputation"
)

// Catalog facts were gathered in the project's fact sheet on DNSBLs (kept
// outside this repository); each entry's Refs cite the sources of its facts
// by URL (the ref constants below). Severities map the
// fact sheet's 0..10 lease-vetting weights (which are the author's reasoning,
// not the lists'): 10 (hijacked or criminal netblocks) is Critical, 7-9 High,
// 4-6 Medium, 1-3 Low, 0 and tenant-behaviour classes (Tor, open resolvers,
// VPNs) Info, and whitelist codes Allow. Policy listings (PBL, generic rDNS)
// are Low: they describe how a block was declared, not abuse.

// The sources the catalog's facts come from, cited in each zone's Refs: a
// URL, or, for a fact taken from code or logs without a public page, what
// the source is.
const (
	refSpamhausZones      = "https://docs.spamhaus.com/datasets/docs/source/10-data-type-documentation/datasets/040-zones.html"
	refSpamhaus788        = "https://www.spamhaus.org/news/article/788"
	refSpamhausLegacy     = "https://www.spamhaus.com/resource-center/help-for-spamhaus-projects-legacy-blocklist-users/"
	refSpamhausUsage      = "https://www.spamhaus.org/organization/dnsblusage/"
	refSpamhausDQS        = "https://github.com/spamhaus/rspamd-dqs"
	refSpamhausCSS        = "https://www.spamhaus.org/css/"
	refSpamhausZEN        = "https://www.spamhaus.org/zen/"
	refSpamhausFAQ        = "https://www.spamhaus.org/faq/section/DNSBL%20Usage"
	refSpiderfootSpamhaus = "https://github.com/smicallef/spiderfoot/blob/0f815a2/modules/sfp_spamhaus.py"
	refDQSErrorCodes      = "Spamhaus DQS error codes as handled by three independent code bases (not public pages)"
	refRspamd             = "https://github.com/rspamd/rspamd/blob/eaac8e9/conf/modules.d/rbl.conf"
	refSpamAssassin       = "https://github.com/apache/spamassassin/blob/f7fe7b8/rules/20_dnsbl_tests.cf"
	refHaraka             = "https://github.com/haraka/haraka-plugin-dns-list/blob/8d0ba36/config/dns-list.ini"
	refHarakaLog          = "a Haraka 3.3.1 log in a public repository, entries of 2026-07-23 (not a public page)"
	refNERD               = "https://github.com/CESNET/NERD/blob/e5694d0/etc/dns_blacklists.yml"
	refSpiderfoot         = "https://github.com/smicallef/spiderfoot/tree/master/modules"
	refAbusix             = "https://docs.abusix.com/docs/guardian-mail/production-zones"
	refMailspike          = "https://mailspike.org/usage.html"
	refBarracuda          = "https://www.barracudacentral.org/rbl/how-to-use"
	refUCEPROTECT         = "https://whatismyipaddress.com/uceprotect"
	refBackscatterer      = "https://help.returnpath.com/ (Backscatterer article)"
	refPSBL               = "https://psbl.surriel.com/howto"
	refSpamCop            = "https://www.spamcop.net/bl.shtml"
	refS5H                = "https://www.s5h.net/rblcheck"
	ref0spam              = "https://0spam.org/how-does-the-0spam-service-work"
	refHostkarma          = "https://www.suped.com/ (Hostkarma page)"
	refSpamRATS           = "https://www.spamrats.com/lists.php"
	refDroneBL            = "https://dronebl.org/docs/howtouse"
	refEFnet              = "https://whoisping.com/rbl_details/26"
	refTorDan             = "DNSBL client code that lists the zone (no documentation retrieved)"
	refBlocklistDE        = "https://www.blocklist.de/de/rbldns.html"
	refGBUdb              = "https://dnsbl.com/2015/08/status-of-truncategbudbnet-alive"
	refNordSpam           = "https://www.nordspam.com/usage"
	refSuomiSpam          = "https://www.suped.com/learn/blocklists/suomispam-blacklist-bl"
	refSpamEatingMonkey   = "https://spameatingmonkey.com/faq.html"
	refDNSWL              = "https://github.com/apache/spamassassin/blob/f7fe7b8/rules/25_dnswl.cf"
	refSenderScore        = "https://github.com/rspamd/rspamd/commit/ce71021"
	refSORBS              = "The Register's statement of 2024-06 on SORBS, as quoted by techzine.eu and spamtacular.com"
	refNJABL              = "https://en.wikipedia.org/wiki/Not_Just_Another_Bogus_List"
	refAHBL               = "https://ahbl.org/documents/dnsbl"
	refNiX                = "https://github.com/rspamd/rspamd/commit/1bfa262"
	refINPS               = "https://dnsbl.com/ (status post, 2020)"
	refUBL                = "https://dnsbl.com/ (status post, 2024)"
	refDSBL               = "https://www.vamsoft.com/company/news/dsbl-shutdown"
)

// Shorthands used only to build the catalog.
const (
	sevAllow    = reputation.SeverityAllow
	sevInfo     = reputation.SeverityInfo
	sevLow      = reputation.SeverityLow
	sevMedium   = reputation.SeverityMedium
	sevHigh     = reputation.SeverityHigh
	sevCritical = reputation.SeverityCritical
	scAddr      = reputation.ScopeAddress
	scRange     = reputation.ScopeRange
	scASN       = reputation.ScopeASN
)

// lo returns 127.b.c.d.
func lo(b, c, d byte) netip.Addr { return netip.AddrFrom4([4]byte{127, b, c, d}) }

// code returns the Code for answer 127.0.0.d.
func code(d byte, cat string, sev reputation.Severity, sc reputation.Scope, desc string) Code {
	return Code{Addr: lo(0, 0, d), Category: cat, Severity: sev, Scope: sc, Description: desc}
}

// errCode returns an ErrorCode for 127.b.c.d/bits.
func errCode(b, c, d byte, bits int, kind ErrorKind, desc string) ErrorCode {
	return ErrorCode{Prefix: netip.PrefixFrom(lo(b, c, d), bits), Kind: kind, Description: desc}
}

// spamhausErrors are the error codes of every Spamhaus zone (SH-788, TYPO,
// DQS-ERR): the whole of 127.255.255.0/24 is an error, never a listing.
func spamhausErrors() []ErrorCode {
	return []ErrorCode{
		errCode(255, 255, 0, 24, ErrorRefused, "Spamhaus error range 127.255.255.0/24"),
		errCode(255, 255, 250, 32, ErrorBadKey, "DQS key disabled"),
		errCode(255, 255, 251, 32, ErrorBadKey, "DQS key rejected or in use elsewhere"),
		errCode(255, 255, 252, 32, ErrorUnknownZone, "typo in the zone name"),
		errCode(255, 255, 254, 32, ErrorRefused, "query via a public/open resolver or unattributable rDNS"),
		errCode(255, 255, 255, 32, ErrorRateLimited, "excessive number of queries"),
	}
}

func spamhausCodes(want ...byte) []Code {
	all := []Code{
		code(2, "spam", sevHigh, scAddr, "Spamhaus SBL: spam source or spam operation (IPs and ranges)"),
		code(3, "spam", sevMedium, scAddr, "Spamhaus CSS: low-reputation sender, automatic"),
		code(4, "exploited", sevMedium, scAddr, "Spamhaus XBL: exploited or infected host"),
		code(5, "exploited", sevMedium, scAddr, "Spamhaus XBL (127.0.0.5, unused per current docs)"),
		code(6, "exploited", sevMedium, scAddr, "Spamhaus XBL (127.0.0.6, unused per current docs)"),
		code(7, "exploited", sevMedium, scAddr, "Spamhaus XBL (127.0.0.7, unused per current docs)"),
		code(9, "hijacked", sevCritical, scRange, "Spamhaus DROP: hijacked or criminal netblock"),
		code(10, "policy", sevLow, scRange, "Spamhaus PBL: end-user range declared by the ISP"),
		code(11, "policy", sevLow, scRange, "Spamhaus PBL: end-user range listed by Spamhaus"),
		code(30, "botnet-controller", sevHigh, scAddr, "Spamhaus BCL: botnet controller"),
	}
	var out []Code
	for _, c := range all {
		if slices.Contains(want, c.Addr.As4()[3]) {
			out = append(out, c)
		}
	}
	return out
}

const (
	spamhausPolicy = "Free only for non-commercial use below 100k SMTP connections and 300k queries a day, " +
		"and never through public resolvers (use your own non-forwarding resolver); " +
		"otherwise use DQS (set Key) or a datafeed"
	spamhausDelist = "https://check.spamhaus.org/query/ip/{ip}"
)

func spamhaus(zone, name, lists, dqs string, aliases []string, codes []Code, refs ...string) ZoneInfo {
	return ZoneInfo{
		Zone: zone, Name: name, Aliases: aliases, Lists: lists, IPv4: true, IPv6: true,
		Codes: codes, Errors: spamhausErrors(), TXT: true, DelistURL: spamhausDelist,
		KeyedZone: "{key}." + dqs + ".dq.spamhaus.net", Policy: spamhausPolicy,
		Refs: append([]string{refSpamhausZones, refSpamhaus788, refSpamhausLegacy, refSpamhausUsage, refSpiderfootSpamhaus, refDQSErrorCodes, refSpamhausDQS}, refs...),
	}
}

func dead(zone, name, why string, aliases []string, refs ...string) ZoneInfo {
	return ZoneInfo{Zone: zone, Name: name, Aliases: aliases, IPv4: true, Dead: why, Refs: refs}
}

// Catalog returns the built-in catalog of DNSBL zones: the well-known public
// blocklists and whitelists with their return codes, error codes, scope,
// address families, usage policy and delisting URL, and the dead or unsafe
// zones (with Dead set) that must never be queried. Each call returns a new
// slice that the caller may modify.
//
// Keyed-only services (Abusix) are listed with their keyed zone; set
// [DNSBL.Key] to use them. Paid rsync-only lists (Invaluement) are not zones
// one can query and are absent.
func Catalog() []ZoneInfo {
	return []ZoneInfo{
		// §2.1 active blocklists.
		spamhaus("zen.spamhaus.org", "Spamhaus ZEN", "SBL, CSS, XBL and PBL combined; DROP and BCL marked", "zen",
			[]string{"zen", "spamhaus"}, spamhausCodes(2, 3, 4, 5, 6, 7, 9, 10, 11, 30), refSpamhausCSS, refRspamd, refSpamAssassin),
		spamhaus("sbl.spamhaus.org", "Spamhaus SBL", "spam sources and operations, with CSS, DROP and BCL", "sbl",
			[]string{"sbl"}, spamhausCodes(2, 3, 9, 30)),
		spamhaus("xbl.spamhaus.org", "Spamhaus XBL", "exploited and infected hosts (former CBL data)", "xbl",
			[]string{"xbl"}, spamhausCodes(4, 5, 6, 7), refSpamAssassin),
		spamhaus("pbl.spamhaus.org", "Spamhaus PBL", "end-user ranges that should not send mail directly", "pbl",
			[]string{"pbl"}, spamhausCodes(10, 11), refSpamhausFAQ),
		func() ZoneInfo {
			z := spamhaus("sbl-xbl.spamhaus.org", "Spamhaus SBL-XBL (legacy)", "legacy SBL plus XBL; ZEN replaces it", "sbl-xbl",
				[]string{"sbl-xbl"}, spamhausCodes(2, 3, 4, 5, 6, 7, 9, 30), refSpamhausZEN)
			z.Policy = "Legacy zone: use zen.spamhaus.org. " + spamhausPolicy
			return z
		}(),
		{
			Zone: "bl.spamcop.net", Name: "SpamCop", Aliases: []string{"spamcop"},
			Lists: "IPs reported by SpamCop users and spamtraps", IPv4: true,
			Codes:   []Code{code(2, "spam", sevLow, scAddr, "SpamCop: reported spam source")},
			Default: Code{Category: "spam", Severity: sevLow, Description: "SpamCop: undocumented answer"},
			TXT:     true, DelistURL: "https://www.spamcop.net/bl.shtml",
			Policy: "Free; SpamCop calls the list aggressive and advises tagging, not blocking; listings expire about 24 h after reports stop. " +
				"IPv6 support is unconfirmed, so only IPv4 is queried",
			Refs: []string{refSpamCop, refSpiderfoot, refHaraka, refHarakaLog},
		},
		{
			Zone: "b.barracudacentral.org", Name: "Barracuda BRBL", Aliases: []string{"barracuda", "brbl"},
			Lists: "Barracuda Reputation Block List (spamtraps and appliance telemetry)", IPv4: true,
			Codes:     []Code{code(2, "spam", sevMedium, scAddr, "Barracuda BRBL: poor reputation")},
			DelistURL: "https://www.barracudacentral.org/lookups",
			Policy:    "Free, but register the IPs of your DNS servers at barracudacentral.org; unregistered resolvers may be refused or rate limited",
			Refs:      []string{refBarracuda, refHarakaLog},
		},
		{
			Zone: "dnsbl-1.uceprotect.net", Name: "UCEPROTECT Level 1", Aliases: []string{"uceprotect-1", "uce1"},
			Lists: "single IPs that hit UCEPROTECT spamtraps", IPv4: true,
			Default:   Code{Category: "spam", Severity: sevLow, Scope: scAddr, Description: "UCEPROTECT L1: spamtrap hits from this IP"},
			DelistURL: "https://www.uceprotect.net/en/rblcheck.php",
			Policy:    "Free to query; automatic expiry once abuse stops; paid express delisting exists",
			Refs:      []string{refUCEPROTECT, refHarakaLog},
		},
		{
			Zone: "dnsbl-2.uceprotect.net", Name: "UCEPROTECT Level 2", Aliases: []string{"uceprotect-2", "uce2"},
			Lists: "whole allocations escalated when enough Level 1 IPs fall inside them within 7 days", IPv4: true,
			Default:   Code{Category: "spam", Severity: sevMedium, Scope: scRange, Description: "UCEPROTECT L2: the allocation holds too many Level 1 IPs"},
			DelistURL: "https://www.uceprotect.net/en/rblcheck.php",
			Policy:    "Free to query; removal needs the provider to clean up",
			Refs:      []string{refUCEPROTECT},
		},
		{
			Zone: "dnsbl-3.uceprotect.net", Name: "UCEPROTECT Level 3", Aliases: []string{"uceprotect-3", "uce3"},
			Lists: "whole ASNs with too many Level 1 and Level 2 listings", IPv4: true,
			Default:   Code{Category: "spam", Severity: sevLow, Scope: scASN, Description: "UCEPROTECT L3: the announcing ASN is listed"},
			DelistURL: "https://www.uceprotect.net/en/rblcheck.php",
			Policy:    "Free to query; describes the announcing ASN, which changes when the block is re-announced",
			Refs:      []string{refUCEPROTECT},
		},
		{
			Zone: "ips.backscatterer.org", Name: "Backscatterer", Aliases: []string{"backscatterer"},
			Lists: "hosts sending misdirected bounces or autoreplies", IPv4: true,
			Default: Code{Category: "backscatter", Severity: sevLow, Scope: scAddr, Description: "Backscatterer: sends misdirected bounces"},
			Policy:  "Free; meant only for null-sender mail; listings last 4 weeks; paid early removal",
			Refs:    []string{refBackscatterer, refHaraka},
		},
		{
			Zone: "psbl.surriel.com", Name: "PSBL", Aliases: []string{"psbl"},
			Lists: "IPs that sent mail to spamtraps and are not known mail servers", IPv4: true,
			Codes:     []Code{code(2, "spam", sevLow, scAddr, "PSBL: spamtrap hits")},
			DelistURL: "http://psbl.org/remove",
			Policy:    "Free for anybody; anyone can delist any IP; rsync mirror available",
			Refs:      []string{refPSBL, refHarakaLog},
		},
		{
			Zone: "bl.mailspike.net", Name: "Mailspike BL", Aliases: []string{"mailspike"},
			Lists: "spam-wave participants (z) and the worst reputation levels (L3-L5)", IPv4: true,
			Codes: []Code{
				code(2, "spam", sevMedium, scAddr, "Mailspike Z: part of a distributed spam wave"),
				code(10, "spam", sevMedium, scAddr, "Mailspike L5: worst reputation"),
				code(11, "spam", sevMedium, scAddr, "Mailspike L4: very bad reputation"),
				code(12, "spam", sevLow, scAddr, "Mailspike L3: bad reputation"),
			},
			Policy: "Free up to 100k messages and 100k queries a day; rsync for larger use",
			Refs:   []string{refMailspike, refSpamAssassin, refRspamd},
		},
		{
			Zone: "z.mailspike.net", Name: "Mailspike Z", Aliases: []string{"mailspike-z"},
			Lists: "IPs in a distributed spam wave (zero-hour)", IPv4: true,
			Codes:  []Code{code(2, "spam", sevMedium, scAddr, "Mailspike Z: part of a distributed spam wave")},
			Policy: "Free up to 100k messages and 100k queries a day",
			Refs:   []string{refMailspike},
		},
		{
			Zone: "rep.mailspike.net", Name: "Mailspike reputation", Aliases: []string{"mailspike-rep"},
			Lists: "graded reputation of every scored IP, from L5 (worst) to H5 (excellent)", IPv4: true,
			Codes: []Code{
				code(10, "spam", sevMedium, scAddr, "Mailspike L5: worst reputation"),
				code(11, "spam", sevMedium, scAddr, "Mailspike L4: very bad reputation"),
				code(12, "spam", sevLow, scAddr, "Mailspike L3: bad reputation"),
				code(13, "spam", sevLow, scAddr, "Mailspike L2: suspicious reputation"),
				code(14, "reputation", sevInfo, scAddr, "Mailspike L1: slightly poor reputation"),
				code(15, "reputation", sevInfo, scAddr, "Mailspike neutral reputation"),
				code(16, "reputation", sevInfo, scAddr, "Mailspike H1: slightly good reputation"),
				code(17, "whitelist", sevAllow, scAddr, "Mailspike H2: good reputation"),
				code(18, "whitelist", sevAllow, scAddr, "Mailspike H3: very good reputation"),
				code(19, "whitelist", sevAllow, scAddr, "Mailspike H4: excellent reputation"),
				code(20, "whitelist", sevAllow, scAddr, "Mailspike H5: best reputation"),
			},
			Policy: "Free up to 100k messages and 100k queries a day",
			Refs:   []string{refMailspike, refRspamd},
		},
		{
			Zone: "all.s5h.net", Name: "s5h.net", Aliases: []string{"s5h"},
			Lists: "spam sources seen in mail or HTTP", IPv4: true, IPv6: true,
			Default:   Code{Category: "spam", Severity: sevLow, Scope: scAddr, Description: "s5h: spam source"},
			DelistURL: "http://www.usenix.org.uk/content/rblremove",
			Policy:    "Free; self-delisting by fetching the removal URL from the listed IP",
			Refs:      []string{refS5H},
		},
		{
			Zone: "bl.0spam.org", Name: "0spam BL", Aliases: []string{"0spam"},
			Lists: "IPs hitting 0spam spamtraps", IPv4: true,
			Default:   Code{Category: "spam", Severity: sevMedium, Scope: scAddr, Description: "0spam: spamtrap hits"},
			DelistURL: "https://check.0spam.org/q?ipaddr={ip}",
			Policy:    "Free, donation funded; delisting needs an account",
			Refs:      []string{ref0spam},
		},
		{
			Zone: "nbl.0spam.org", Name: "0spam NBL", Aliases: []string{"0spam-nbl"},
			Lists: "/24 networks with many spamtrap hits", IPv4: true,
			Default:   Code{Category: "spam", Severity: sevMedium, Scope: scRange, Description: "0spam NBL: the /24 has many spamtrap hits"},
			DelistURL: "https://check.0spam.org/q?ipaddr={ip}",
			Policy:    "Free, donation funded; delisting needs an account",
			Refs:      []string{ref0spam},
		},
		{
			Zone: "hostkarma.junkemailfilter.com", Name: "Hostkarma", Aliases: []string{"hostkarma"},
			Lists: "multi-colour reputation; 127.0.0.1 is its whitelist code", IPv4: true,
			Codes: []Code{
				code(1, "whitelist", sevAllow, scAddr, "Hostkarma white"),
				code(2, "spam", sevMedium, scAddr, "Hostkarma black"),
				code(3, "reputation", sevInfo, scAddr, "Hostkarma yellow: mixed"),
				code(4, "spam", sevLow, scAddr, "Hostkarma brown: spam below the black threshold"),
				code(5, "reputation", sevInfo, scAddr, "Hostkarma NOBL: not to be blacklisted"),
				{Addr: lo(0, 1, 1), Category: "behaviour", Severity: sevInfo, Description: "Hostkarma QUIT behaviour 1"},
				{Addr: lo(0, 1, 2), Category: "behaviour", Severity: sevInfo, Description: "Hostkarma QUIT behaviour 2"},
				{Addr: lo(0, 1, 3), Category: "behaviour", Severity: sevInfo, Description: "Hostkarma QUIT behaviour 3"},
				{Addr: lo(0, 2, 1), Category: "age", Severity: sevInfo, Description: "Hostkarma age bucket 1"},
				{Addr: lo(0, 2, 2), Category: "age", Severity: sevInfo, Description: "Hostkarma age bucket 2"},
				{Addr: lo(0, 2, 3), Category: "age", Severity: sevInfo, Description: "Hostkarma age bucket 3"},
			},
			LoopbackListed: true,
			Policy:         "Free (unverified); status disputed: one source says discontinued, a 2026 log shows it passing its test points",
			Refs:           []string{refHostkarma, refHaraka, refHarakaLog},
		},
		abusix("combined", "Abusix combined", "black, exploit and policy lists combined", true),
		abusix("black", "Abusix black", "spamtrap hitters and near-trap hitters", true),
		abusix("exploit", "Abusix exploit", "exploited hosts", true),
		abusix("dynamic", "Abusix policy", "every IPv4 address with generic or no rDNS", false),
		rats("all", "SpamRATS (all)", "all SpamRATS lists combined"),
		rats("spam", "SpamRATS Spam", "confirmed abusive senders"),
		rats("dyna", "SpamRATS Dyna", "IPs with dynamic or home-user rDNS"),
		rats("noptr", "SpamRATS NoPtr", "IPs without rDNS"),
		rats("auth", "SpamRATS Auth", "password-guessing sources"),
		{
			Zone: "dnsbl.dronebl.org", Name: "DroneBL", Aliases: []string{"dronebl"},
			Lists: "drones, proxies and compromised hosts (IRC-centric), by class", IPv4: true,
			Codes: []Code{
				code(2, "sample", sevMedium, scAddr, "DroneBL class 2: sample"),
				code(3, "drone", sevMedium, scAddr, "DroneBL class 3: IRC drone"),
				code(5, "bottler", sevMedium, scAddr, "DroneBL class 5: bottler"),
				code(6, "spambot", sevMedium, scAddr, "DroneBL class 6: unknown worm or spambot"),
				code(7, "ddos", sevHigh, scAddr, "DroneBL class 7: DDoS drone"),
				code(8, "proxy", sevMedium, scAddr, "DroneBL class 8: open SOCKS proxy"),
				code(9, "proxy", sevMedium, scAddr, "DroneBL class 9: open HTTP proxy"),
				code(10, "proxy", sevMedium, scAddr, "DroneBL class 10: proxychain"),
				code(11, "proxy", sevMedium, scAddr, "DroneBL class 11: web page proxy"),
				code(12, "open-resolver", sevInfo, scAddr, "DroneBL class 12: open DNS resolver"),
				code(13, "brute-force", sevMedium, scAddr, "DroneBL class 13: brute-force attacker"),
				code(14, "proxy", sevMedium, scAddr, "DroneBL class 14: open WinGate proxy"),
				code(15, "exploited", sevHigh, scAddr, "DroneBL class 15: compromised router or gateway"),
				code(16, "worm", sevHigh, scAddr, "DroneBL class 16: autorooting worm"),
				code(17, "botnet", sevHigh, scAddr, "DroneBL class 17: automatically detected botnet IP"),
				code(18, "irc", sevMedium, scAddr, "DroneBL class 18: DNS/MX hostname seen on IRC"),
				code(19, "vpn", sevInfo, scAddr, "DroneBL class 19: abused VPN service"),
				code(255, "uncategorized", sevMedium, scAddr, "DroneBL class 255: uncategorized"),
			},
			Default:   Code{Category: "drone", Severity: sevMedium, Description: "DroneBL: undocumented class"},
			DelistURL: "https://dronebl.org/lookup",
			Policy:    "Free for commercial and non-commercial use; rbldnsd export available",
			Refs:      []string{refDroneBL, refSpiderfoot},
		},
		{
			Zone: "rbl.efnetrbl.org", Name: "EFnet RBL", Aliases: []string{"efnetrbl"},
			Lists: "EFnet IRC: open proxies, spamtraps, Tor, drones", IPv4: true,
			Codes: []Code{
				code(1, "proxy", sevLow, scAddr, "EFnet RBL: open proxy"),
				code(2, "spam", sevLow, scAddr, "EFnet RBL: spamtrap666"),
				code(3, "spam", sevLow, scAddr, "EFnet RBL: spamtrap50"),
				code(4, "tor", sevInfo, scAddr, "EFnet RBL: Tor node"),
				code(5, "drone", sevLow, scAddr, "EFnet RBL: drone or flooding"),
			},
			LoopbackListed: false,
			DelistURL:      "https://rbl.efnetrbl.org/?i={ip}",
			Policy:         "Free; proxy and trap entries last 7 days, Tor 10 days",
			Refs:           []string{refEFnet},
		},
		{
			Zone: "tor.dan.me.uk", Name: "dan.me.uk Tor nodes", Aliases: []string{"tor-dan"},
			Lists: "all Tor nodes", IPv4: true,
			Default: Code{Category: "tor", Severity: sevInfo, Scope: scAddr, Description: "Tor node (tenant behaviour, not block reputation)"},
			Policy:  "Free; no official documentation retrieved",
			Refs:    []string{refTorDan},
		},
		{
			Zone: "torexit.dan.me.uk", Name: "dan.me.uk Tor exits", Aliases: []string{"torexit-dan"},
			Lists: "Tor exit nodes", IPv4: true,
			Default: Code{Category: "tor", Severity: sevInfo, Scope: scAddr, Description: "Tor exit node (tenant behaviour, not block reputation)"},
			Policy:  "Free; no official documentation retrieved",
			Refs:    []string{refTorDan},
		},
		{
			Zone: "bl.blocklist.de", Name: "blocklist.de", Aliases: []string{"blocklist.de", "blocklistde"},
			Lists: "attackers reported by fail2ban users, by service", IPv4: true,
			Codes:     blocklistDECodes(),
			Default:   Code{Category: "attack", Severity: sevLow, Description: "blocklist.de: undocumented service"},
			TXT:       true,
			DelistURL: "http://www.blocklist.de/en/view.html?ip={ip}",
			Policy:    "Free; entries kept 48 h. IPv6 off, as in rspamd since 2022",
			Refs:      []string{refBlocklistDE, refRspamd},
		},
		{
			Zone: "truncate.gbudb.net", Name: "GBUdb truncate", Aliases: []string{"gbudb"},
			Lists: "IPs whose GBUdb history is almost entirely spam or malware", IPv4: true,
			Codes:     []Code{code(2, "spam", sevMedium, scAddr, "GBUdb truncate: almost only spam or malware")},
			DelistURL: "https://www.gbudb.com/truncate/index.jsp",
			Policy:    "Free, as-is; status disputed: one source says discontinued, others show it operating in 2026",
			Refs:      []string{refGBUdb, refHarakaLog},
		},
		{
			Zone: "bl.nordspam.com", Name: "Nordspam", Aliases: []string{"nordspam"},
			Lists: "spam and abuse aimed at Nordic and EU countries, manually moderated", IPv4: true, IPv6: true,
			Codes:     []Code{code(2, "spam", sevMedium, scAddr, "Nordspam: spam source")},
			TXT:       true,
			DelistURL: "mailto:delist@nordspam.com",
			Budget:    10000,
			Policy:    "Free for commercial and non-commercial use; contact them above 10,000 queries a day (hence the budget); listings never expire",
			Refs:      []string{refNordSpam},
		},
		{
			Zone: "bl.suomispam.net", Name: "Suomispam", Aliases: []string{"suomispam"},
			Lists: "Finnish-related spam, also networks, snowshoe ranges and bulletproof hosters", IPv4: true,
			Default: Code{Category: "spam", Severity: sevMedium, Scope: scAddr, Description: "Suomispam: listed"},
			Policy:  "Private reputation service; codes not documented",
			Refs:    []string{refSuomiSpam},
		},
		{
			Zone: "bl.spameatingmonkey.net", Name: "SEM-BLACK", Aliases: []string{"sem", "spameatingmonkey"},
			Lists: "spamtrap hits and policy listings", IPv4: true,
			Codes:  []Code{code(2, "spam", sevLow, scAddr, "SEM-BLACK: spamtrap hits")},
			Rate:   5,
			Budget: 100000,
			Policy: "Contact them above 100k queries a day or 5 queries/s sustained (hence rate and budget); never use <cc>.country.spameatingmonkey.net",
			Refs:   []string{refSpamEatingMonkey, refRspamd},
		},
		{
			Zone: "bl.ipv6.spameatingmonkey.net", Name: "SEM-BLACK IPv6", Aliases: []string{"sem6"},
			Lists: "SEM-BLACK for IPv6", IPv6: true,
			Codes:  []Code{code(2, "spam", sevLow, scAddr, "SEM-BLACK IPv6: spamtrap hits")},
			Rate:   5,
			Budget: 100000,
			Policy: "Contact them above 100k queries a day or 5 queries/s sustained",
			Refs:   []string{refSpamEatingMonkey},
		},
		{
			Zone: "backscatter.spameatingmonkey.net", Name: "SEM-BACKSCATTER", Aliases: []string{"sem-backscatter"},
			Lists: "hosts sending backscatter", IPv4: true,
			Codes:  []Code{code(2, "backscatter", sevLow, scAddr, "SEM-BACKSCATTER: sends backscatter")},
			Rate:   5,
			Budget: 100000,
			Policy: "Contact them above 100k queries a day or 5 queries/s sustained",
			Refs:   []string{refSpamEatingMonkey},
		},
		{
			Zone: "bl.score.senderscore.com", Name: "Validity RPBL", Aliases: []string{"senderscore-rpbl"},
			Lists: "Validity Return Path block list flags", IPv4: true,
			Default: Code{Category: "spam", Severity: sevMedium, Scope: scAddr, Description: "Validity RPBL: flagged"},
			Errors:  []ErrorCode{errCode(255, 255, 255, 32, ErrorRefused, "blocked or unregistered querying IP")},
			Policy:  "Querying IPs must be registered at my.validity.com; rspamd turned it off by default in 2026",
			Refs:    []string{refSenderScore, refSpamAssassin},
		},
		{
			Zone: "score.senderscore.com", Name: "Validity Sender Score", Aliases: []string{"senderscore"},
			Lists: "Sender Score of the IP as 127.0.4.<0-100>", IPv4: true,
			Default: Code{Category: "score", Severity: sevInfo, Scope: scAddr, Description: "Sender Score 127.0.4.<score>"},
			Errors:  []ErrorCode{errCode(255, 255, 255, 32, ErrorRefused, "blocked or unregistered querying IP")},
			Policy:  "Querying IPs must be registered at my.validity.com",
			Refs:    []string{refSenderScore},
		},
		{
			Zone: "bip.virusfree.cz", Name: "virusfree.cz BIP", Aliases: []string{"virusfree"},
			Lists: "botnet IPs", IPv4: true, IPv6: true,
			Codes:  []Code{code(2, "botnet", sevMedium, scAddr, "virusfree.cz: botnet IP")},
			Policy: "Free (unverified)",
			Refs:   []string{refRspamd},
		},
		{
			Zone: "dnsbl.justspam.org", Name: "JustSpam", Aliases: []string{"justspam"},
			Lists: "spam sources", IPv4: true,
			Default: Code{Category: "spam", Severity: sevLow, Scope: scAddr, Description: "JustSpam: spam source"},
			Policy:  "Unknown",
			Refs:    []string{refHaraka, refHarakaLog},
		},

		// §2.2 whitelists.
		{
			Zone: "list.dnswl.org", Name: "DNSWL", Aliases: []string{"dnswl"},
			Lists: "whitelisted mail senders, as 127.0.<category>.<trust>", IPv4: true, IPv6: true,
			Codes: []Code{
				{Addr: lo(0, 10, 0), Category: "whitelist", Severity: sevAllow, Description: "DNSWL special case, trust none (the test entry)"},
			},
			Default: Code{Category: "whitelist", Severity: sevAllow, Scope: scAddr, Description: "DNSWL: whitelisted sender"},
			Errors: []ErrorCode{
				errCode(0, 0, 255, 32, ErrorRateLimited, "blocked or over quota"),
				// rspamd (2023) treats every 127.0.10.x as "blocked", since an over-quota
				// client may get 127.0.10.3 for every query; 127.0.10.0 is kept as the
				// answer of the test entry so the probe can pass.
				errCode(0, 10, 1, 32, ErrorRateLimited, "possible over-quota answer (127.0.10.x)"),
				errCode(0, 10, 2, 31, ErrorRateLimited, "possible over-quota answer (127.0.10.x)"),
			},
			Policy: "Free tier with a quota (size not documented)",
			Refs:   []string{refDNSWL, refRspamd, refSpamAssassin, refHaraka, refHarakaLog},
		},
		{
			Zone: "wl.mailspike.net", Name: "Mailspike WL", Aliases: []string{"mailspike-wl"},
			Lists: "senders with good Mailspike reputation (H2-H5)", IPv4: true,
			Codes: []Code{
				code(17, "whitelist", sevAllow, scAddr, "Mailspike H2: good reputation"),
				code(18, "whitelist", sevAllow, scAddr, "Mailspike H3: very good reputation"),
				code(19, "whitelist", sevAllow, scAddr, "Mailspike H4: excellent reputation"),
				code(20, "whitelist", sevAllow, scAddr, "Mailspike H5: best reputation"),
			},
			Default: Code{Category: "whitelist", Severity: sevAllow, Description: "Mailspike WL: whitelisted"},
			Policy:  "Free up to 100k messages and 100k queries a day",
			Refs:    []string{refMailspike, refSpamAssassin},
		},

		// §2.2 and §2.3: dead, unsafe or discontinued zones, refused by name.
		dead("swl.spamhaus.org", "Spamhaus SWL", "probably discontinued: rspamd dropped it 2016-11-22 and Spamhaus stopped the related DWL zones 2018-12-12",
			nil, refRspamd, refSpamAssassin),
		dead("dnsbl.sorbs.net", refSORBS, "decommissioned by Proofpoint 2024-06-05; empty answers look clean and a future owner could add a wildcard; use zen.spamhaus.org or bl.spamcop.net",
			[]string{"sorbs"}, refSORBS),
		dead("dnsbl.njabl.org", refNJABL, "shut down 2013-03-01; a domain squatter added a wildcard in January 2024, so it lists the world",
			[]string{"njabl", "combined.njabl.org"}, refNJABL),
		dead("dnsbl.ahbl.org", refAHBL, "shut down 2015-01-01; it lists the world", []string{"ahbl"}, refAHBL),
		dead("tor.ahbl.org", "AHBL Tor", "shut down 2015-01-01; it lists the world; use tor.dan.me.uk", nil, refAHBL),
		dead("ix.dnsbl.manitu.net", "NiX Spam", "shut down 2025-01-16", []string{"nixspam"}, refNiX),
		dead("db.wpbl.info", "WPBL", "discontinued; its DNS servers no longer answer (noted 2025-10-14)", []string{"wpbl"}, refNERD),
		dead("dnsbl.inps.de", "inps.de", "shut down 2020-05-25", nil, refINPS),
		dead("ubl.unsubscore.com", "Lashback UBL", "offline (no later than 2024-06)", []string{"lashback"}, refUBL),
		dead("list.dsbl.org", refDSBL, "stopped May 2008; servers offline since 2009-03-09", []string{"dsbl"}, refDSBL),
		dead("cbl.abuseat.org", "CBL", "legacy: the data is in Spamhaus XBL and the zone is served by Spamhaus; use xbl.spamhaus.org or zen.spamhaus.org",
			[]string{"cbl"}, refSpamAssassin),
		dead("spam.abuse.ch", "abuse.ch spam", "removed from rspamd 2019-02-05; status unknown", nil, refRspamd),
		dead("dnsbl.anonmails.de", "anonmails.de", "only seen in lists of zones in code; nothing authoritative; excluded until verified", nil),
		dead("country.spameatingmonkey.net", "SEM country lists", "<cc>.country.spameatingmonkey.net lists whole countries; never use it to vet a block", nil, refSpamEatingMonkey),
	}
}

func abusix(sub, name, lists string, v6 bool) ZoneInfo {
	z := ZoneInfo{
		Zone: sub + ".mail.abusix.zone", Name: name, Aliases: []string{"abusix-" + sub}, Lists: lists,
		IPv4: true, IPv6: v6, KeyedZone: "{key}." + sub + ".mail.abusix.zone",
		Policy: "Needs an API key (set Key); usage billed per query; rsync zone files available",
		Refs:   []string{refAbusix, refSpiderfoot},
	}
	black := []Code{
		code(2, "spam", sevHigh, scAddr, "Abusix black: primary spamtrap hits"),
		code(3, "spam", sevMedium, scAddr, "Abusix black: heuristic, near trap hitters"),
		code(200, "spam", sevHigh, scAddr, "Abusix black: manual, semi-permanent"),
	}
	exploit := []Code{
		code(4, "exploited", sevMedium, scAddr, "Abusix exploit: exploited host"),
		code(5, "forged", sevLow, scAddr, "Abusix: forged (SpiderFoot mapping)"),
		code(6, "backscatter", sevLow, scAddr, "Abusix: backscatter (SpiderFoot mapping)"),
	}
	policy := []Code{
		code(11, "policy", sevLow, scAddr, "Abusix policy: generic rDNS"),
		code(12, "policy", sevLow, scAddr, "Abusix policy: no rDNS"),
		code(100, "policy", sevLow, scAddr, "Abusix: noip (SpiderFoot mapping)"),
	}
	switch sub {
	case "black":
		z.Codes = black
	case "exploit":
		z.Codes = exploit
	case "dynamic":
		z.Codes = policy
	default:
		z.Codes = slices.Concat(black, exploit, policy)
		z.Aliases = append(z.Aliases, "abusix")
	}
	return z
}

func rats(sub, name, lists string) ZoneInfo {
	codes := []Code{
		code(36, "policy", sevLow, scAddr, "SpamRATS Dyna: dynamic or home-user rDNS"),
		code(37, "policy", sevLow, scAddr, "SpamRATS NoPtr: no rDNS"),
		code(38, "spam", sevMedium, scAddr, "SpamRATS Spam: confirmed abusive sender"),
		code(43, "brute-force", sevLow, scAddr, "SpamRATS Auth: password guessing"),
	}
	if sub != "all" {
		i := map[string]int{"dyna": 0, "noptr": 1, "spam": 2, "auth": 3}[sub]
		codes = codes[i : i+1]
	}
	return ZoneInfo{
		Zone: sub + ".spamrats.com", Name: name, Aliases: []string{"spamrats-" + sub}, Lists: lists, IPv4: true,
		Codes: codes, DelistURL: "https://www.spamrats.com/removal.php",
		Policy: "Free if you qualify under their terms; strictly for mail servers; codes from third-party code, not the official page",
		Refs:   []string{refSpamRATS},
	}
}

func blocklistDECodes() []Code {
	services := []string{"amavis", "apacheddos", "asterisk", "badbot", "ftp", "imap", "ircbot", "mail", "pop3", "regbot",
		"rfi-attack", "sasl", "ssh", "w00tw00t", "portflood", "sql-injection", "webmin", "trigger-spam", "manual",
		"bruteforcelogin", "mysql"}
	out := make([]Code, len(services))
	for i, s := range services {
		out[i] = code(byte(i+2), "attack", sevLow, scAddr, "blocklist.de: "+s+" attacks")
	}
	return out
}

// DefaultZones returns the default set of zones to query when the caller
// names none, a new slice on each call. The set is chosen for vetting an IP
// block before leasing it: every zone is free to query at modest volume,
// answered its test points in 2026, and lists behaviour that sticks to
// addresses or allocations rather than to the current tenant's mail setup.
//
//   - zen.spamhaus.org: the reference list (SBL, CSS, XBL, PBL, DROP); free
//     only for non-commercial use through your own resolver, else set a DQS
//     key.
//   - bl.spamcop.net: fast-expiring user reports; a current-abuse signal.
//   - b.barracudacentral.org: large trap network; register your resolver.
//   - dnsbl-1.uceprotect.net and dnsbl-2.uceprotect.net: single IPs and whole
//     allocations; level 2 speaks directly about the block.
//   - psbl.surriel.com, bl.mailspike.net, all.s5h.net: independent trap
//     networks (s5h also answers for IPv6).
//   - dnsbl.dronebl.org and bl.blocklist.de: compromised hosts and attackers
//     beyond mail, which matter for a block that will host servers.
//
// Left out: keyed or paid services (Abusix, Invaluement), lists that need
// registration to answer at all (Validity), policy-only and tenant-behaviour
// lists (PBL alone, SpamRATS Dyna/NoPtr, Tor lists), UCEPROTECT level 3 (it
// describes the announcing ASN, not the block), lists with small free
// budgets (Nordspam, SEM) and lists whose status is disputed (Hostkarma,
// GBUdb).
func DefaultZones() []ZoneInfo {
	names := []string{
		"zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org",
		"dnsbl-1.uceprotect.net", "dnsbl-2.uceprotect.net", "psbl.surriel.com",
		"bl.mailspike.net", "all.s5h.net", "dnsbl.dronebl.org", "bl.blocklist.de",
	}
	all := Catalog()
	out := make([]ZoneInfo, 0, len(names))
	for _, n := range names {
		for _, z := range all {
			if z.Zone == n {
				out = append(out, z)
			}
		}
	}
	return out
}

// LookupZone returns the catalog entry for name, which may be a zone such as
// "zen.spamhaus.org" or an alias such as "zen"; case and a trailing dot are
// ignored. A dead or unsafe zone, or a name under one (such as
// "spam.dnsbl.sorbs.net"), returns an error wrapping [ErrDeadList] that says
// why. An unknown name returns an error wrapping [ErrNotInCatalog] that says
// how to see the catalog.
func LookupZone(name string) (ZoneInfo, error) {
	n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	all := Catalog()
	for _, z := range all {
		match := strings.EqualFold(z.Zone, n) || slices.ContainsFunc(z.Aliases, func(a string) bool { return strings.EqualFold(a, n) })
		if !match && z.Dead != "" {
			match = strings.HasSuffix(n, "."+strings.ToLower(z.Zone))
		}
		if !match {
			continue
		}
		if z.Dead != "" {
			return ZoneInfo{}, fmt.Errorf("%w: %s: %s", ErrDeadList, z.Zone, z.Dead)
		}
		return z, nil
	}
	return ZoneInfo{}, fmt.Errorf("%w: %q; "+
		"see sources.Catalog (go doc github.com/prefixvet/prefixvet/sources Catalog) for the known zones, "+
		"or define it in a zone file read by sources.ReadZoneInfos", ErrNotInCatalog, name)
}
