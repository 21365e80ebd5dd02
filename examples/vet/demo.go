package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

// demoFS holds the sample zones and feeds; see demo/README.md.
//
//go:embed demo/*.zone demo/*.json demo/*.txt
var demoFS embed.FS

// demoBlock is a block the demo vets and the verdict its data is built for.
type demoBlock struct {
	prefix netip.Prefix
	want   reputation.Verdict
	why    string
}

func demoBlocks() []demoBlock {
	return []demoBlock{
		{netip.MustParsePrefix("192.0.2.0/25"), reputation.VerdictClean, "nothing listed anywhere"},
		{netip.MustParsePrefix("192.0.2.128/25"), reputation.VerdictIncomplete, "one list fails (SERVFAIL) for it"},
		{netip.MustParsePrefix("198.51.100.0/24"), reputation.VerdictReview, "spam sources, an allocation, a bot"},
		{netip.MustParsePrefix("203.0.113.0/24"), reputation.VerdictReject, "on DROP, announced by an AS on ASN-DROP"},
		{netip.MustParsePrefix("2001:db8:beef::/56"), reputation.VerdictReview, "66 of its 256 /64s listed"},
		{netip.MustParsePrefix("2001:db8:a50::/48"), reputation.VerdictReject, "an AS0 ROA: its holder says never route it"},
		{netip.MustParsePrefix("2001:db8:f00::/48"), reputation.VerdictReject, "RIR lists it available: nobody can lease it"},
	}
}

// demoExpectOrigin is the AS the demo's lessee would announce its blocks
// from (-expect-origin).
const demoExpectOrigin = 64500

// demoZoneInfo describes the demo zones as the catalog describes real ones:
// what each return code means and which answers are errors.
func demoZoneInfo(name, lists string, code sources.Code, v6 bool) sources.ZoneInfo {
	return sources.ZoneInfo{
		Zone:      name,
		Lists:     lists,
		IPv4:      true,
		IPv6:      v6,
		Codes:     []sources.Code{code},
		Errors:    spamhausStyleErrors(),
		TXT:       true,
		DelistURL: "https://" + name + "/lookup?ip={ip}",
	}
}

// spamhausStyleErrors are the refusal codes of the demo zones: without them,
// the refused zone's 127.255.255.254 would read as a listing.
func spamhausStyleErrors() []sources.ErrorCode {
	return []sources.ErrorCode{
		{Prefix: netip.MustParsePrefix("127.255.255.0/24"), Kind: sources.ErrorRefused, Description: "query refused"},
		{Prefix: netip.MustParsePrefix("127.255.255.255/32"), Kind: sources.ErrorRateLimited, Description: "excessive queries"},
	}
}

func code(a string, category string, sev reputation.Severity, scope reputation.Scope) sources.Code {
	return sources.Code{Addr: netip.MustParseAddr(a), Category: category, Severity: sev, Scope: scope}
}

// runDemo serves the demo zones on loopback and vets the demo blocks.
func runDemo(ctx context.Context, o *options, stdout, stderr io.Writer) int {
	srcs, stop, err := demoSources()
	if err != nil {
		fmt.Fprintf(stderr, "vet: demo: %v\n", err)
		return exitListed
	}
	defer stop()
	blocks := demoBlocks()
	ps := make([]netip.Prefix, len(blocks))
	for i, b := range blocks {
		ps[i] = b.prefix
	}
	o.allowSpecial = true // the demo lives in documentation space
	if !o.jsonOut {
		fmt.Fprintln(stdout, "prefixvet demo: sample DNSBL zones served on 127.0.0.1, sample DROP and ipsum")
		fmt.Fprintln(stdout, "feeds, one local zone mirror, and the registry and routing files a broker checks")
		fmt.Fprintln(stdout, "before a lease (RPKI VRPs, RIR delegated statistics, pfx2as origins, ASN-DROP),")
		fmt.Fprintln(stdout, "for a lessee announcing from AS64500. Two zones misbehave on purpose: one")
		fmt.Fprintln(stdout, "refuses the resolver, one lists the world; neither may count.")
		fmt.Fprintln(stdout)
	}
	reports, err := vet(ctx, o, srcs, ps, stdout, stderr)
	if he := (*htmlError)(nil); errors.As(err, &he) {
		fmt.Fprintf(stderr, "vet: demo: %v\n", err)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "vet: demo: %v\n", err)
		return exitListed
	}
	ok := true
	w := stderr
	if !o.jsonOut {
		w = stdout
		fmt.Fprintln(w, "Demo summary:")
	}
	for i, b := range blocks {
		got := reputation.Verdict("none")
		if i < len(reports) && reports[i] != nil {
			got = reports[i].Verdict
		}
		mark := "ok"
		if got != b.want {
			mark, ok = "UNEXPECTED, expected "+string(b.want)+":", false
		}
		fmt.Fprintf(w, "  %-19s %-10s %s %s\n", b.prefix, got, mark, b.why)
	}
	if !ok {
		return exitListed
	}
	return exitClean
}

// demoSources loads the embedded data, starts the demo DNS server and
// returns the sources: five DNSBL zones over DNS (two of them broken on
// purpose), one local zone mirror and two feeds.
func demoSources() ([]reputation.Source, func(), error) {
	mirror := func(file string, typ sources.Dataset, z sources.ZoneInfo, name string) (*sources.Mirror, error) {
		b, err := demoFS.ReadFile("demo/" + file)
		if err != nil {
			return nil, err
		}
		m, err := sources.ReadMirror(bytes.NewReader(b), sources.MirrorConfig{Type: typ, Zone: z, Name: name, Strict: true})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return m, nil
	}
	spamZ := demoZoneInfo("spam.demo.example.org", "spam sources", code("127.0.0.2", "spam", reputation.SeverityMedium, reputation.ScopeAddress), false)
	exploitZ := demoZoneInfo("exploit.demo.example.org", "compromised hosts", code("127.0.0.4", "exploited", reputation.SeverityHigh, reputation.ScopeAddress), false)
	v6Z := demoZoneInfo("v6.demo.example.org", "IPv6 spam networks", code("127.0.0.2", "spam", reputation.SeverityHigh, reputation.ScopeAddress), true)
	v6Z.IPv4 = false // an ip6trie zone: probed with the IPv6 test points
	flakyZ := demoZoneInfo("flaky.demo.example.org", "spam sources (server fails for part of the space)", code("127.0.0.2", "spam", reputation.SeverityLow, reputation.ScopeAddress), false)
	refusedZ := demoZoneInfo("refused.demo.example.org", "refuses this resolver", code("127.0.0.2", "spam", reputation.SeverityMedium, reputation.ScopeAddress), false)
	deadZ := demoZoneInfo("dead.demo.example.org", "shut down, lists the world", code("127.0.0.2", "spam", reputation.SeverityMedium, reputation.ScopeAddress), false)
	allocZ := demoZoneInfo("alloc.demo.example.org", "whole allocations", code("127.0.0.2", "allocation", reputation.SeverityHigh, reputation.ScopeRange), false)

	spamData, err := mirror("spam.zone", sources.DatasetIP4Set, spamZ, spamZ.Zone)
	if err != nil {
		return nil, nil, err
	}
	exploitData, err := mirror("exploit.zone", sources.DatasetIP4TSet, exploitZ, exploitZ.Zone)
	if err != nil {
		return nil, nil, err
	}
	v6Data, err := mirror("v6.zone", sources.DatasetIP6Trie, v6Z, v6Z.Zone)
	if err != nil {
		return nil, nil, err
	}
	flakyData, err := mirror("flaky.zone", sources.DatasetIP4Set, flakyZ, flakyZ.Zone)
	if err != nil {
		return nil, nil, err
	}
	alloc, err := mirror("alloc.zone", sources.DatasetIP4Set, allocZ, allocZ.Zone+" (local mirror)")
	if err != nil {
		return nil, nil, err
	}

	srv, err := startDemoServer([]demoZone{
		{name: spamZ.Zone + ".", data: spamData},
		{name: exploitZ.Zone + ".", data: exploitData},
		{name: v6Z.Zone + ".", data: v6Data},
		{name: flakyZ.Zone + ".", data: flakyData, mode: modeFlaky, flaky: netip.MustParsePrefix("192.0.2.128/25")},
		{name: refusedZ.Zone + ".", mode: modeRefused},
		{name: deadZ.Zone + ".", mode: modeWorld},
	})
	if err != nil {
		return nil, nil, err
	}
	// The client's defaults: a busy machine must not turn a slow answer
	// into "unknown" and change a demo verdict.
	client := &dnsclient.Client{Servers: []string{srv.Addr()}}
	stop := func() {
		client.Close()
		srv.Close()
	}

	drop, err := demoFeed("drop_v4.json", sources.FeedConfig{Name: "demo DROP", Format: sources.FormatDROP})
	if err != nil {
		stop()
		return nil, nil, err
	}
	ipsum, err := demoFeed("ipsum.txt", sources.FeedConfig{Name: "demo ipsum", Format: sources.FormatIPsum, Category: "attacks", Severity: reputation.SeverityLow, Scope: reputation.ScopeAddress})
	if err != nil {
		stop()
		return nil, nil, err
	}
	var srcs []reputation.Source
	for _, z := range []sources.ZoneInfo{spamZ, exploitZ, v6Z, flakyZ, refusedZ, deadZ} {
		srcs = append(srcs, &sources.DNSBL{Zone: z, Client: client})
	}
	srcs = append(srcs, alloc, drop, ipsum)
	lease, err := demoLeaseSources()
	if err != nil {
		stop()
		return nil, nil, err
	}
	return append(srcs, lease...), stop, nil
}

// demoLeaseSources loads the demo's registry, RPKI and routing files: an
// AS0 ROA over 2001:db8:a50::/48, 2001:db8:f00::/48 listed as available by
// the RIR, and 203.0.113.0/24 announced by an AS on ASN-DROP.
func demoLeaseSources() ([]reputation.Source, error) {
	read := func(file string) (*bytes.Reader, error) {
		b, err := demoFS.ReadFile("demo/" + file)
		return bytes.NewReader(b), err
	}
	r, err := read("vrps.json")
	if err != nil {
		return nil, err
	}
	vrps, err := sources.ReadVRPs(r, sources.VRPConfig{Name: "demo RPKI", ExpectOrigin: demoExpectOrigin, Strict: true})
	if err != nil {
		return nil, fmt.Errorf("vrps.json: %w", err)
	}
	if r, err = read("delegated-ripencc-extended.txt"); err != nil {
		return nil, err
	}
	rir, err := sources.ReadRIRStats(r, sources.RIRStatsConfig{Name: "demo RIR stats", Strict: true})
	if err != nil {
		return nil, fmt.Errorf("delegated-ripencc-extended.txt: %w", err)
	}
	if r, err = read("pfx2as.txt"); err != nil {
		return nil, err
	}
	origins, err := sources.ReadOrigins(r, sources.OriginsConfig{Name: "demo origins", ExpectOrigin: demoExpectOrigin, Strict: true})
	if err != nil {
		return nil, fmt.Errorf("pfx2as.txt: %w", err)
	}
	if r, err = read("asndrop.json"); err != nil {
		return nil, err
	}
	drop, err := sources.ReadASNDrop(r, sources.ASNDropConfig{Name: "demo ASN-DROP", Routes: origins, Strict: true})
	if err != nil {
		return nil, fmt.Errorf("asndrop.json: %w", err)
	}
	return []reputation.Source{vrps, rir, origins, drop}, nil
}

func demoFeed(file string, cfg sources.FeedConfig) (*sources.List, error) {
	b, err := demoFS.ReadFile("demo/" + file)
	if err != nil {
		return nil, err
	}
	cfg.Strict = true
	l, err := sources.ReadList(bytes.NewReader(b), cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return l, nil
}
