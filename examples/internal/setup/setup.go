// Package setup turns the command-line flags shared by the example programs
// (-resolver, -zones, -feed, -zonefile, and the lease-check files -vrps,
// -rir-stats, -origins, -asn-drop with -expect-origin) into prefixvet
// sources, so that vet, rescore and service accept the same words and report
// bad input the same way.
package setup

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

// Flags are the source-selecting flags. The zero value selects the catalog's
// default DNSBL zones through the system's resolver.
//
// Feeds given as URLs are fetched by a [sources.Fetcher] that Flags keeps
// across calls of Sources, so a program that rebuilds its sources for every
// run (rescore -interval) stays polite: conditional GET, at most one fetch
// per [sources.DefaultMinInterval], the last good copy kept on failure.
type Flags struct {
	Resolvers []string // -resolver, repeatable; empty means /etc/resolv.conf
	Zones     string   // -zones: catalog names, a JSON file, "none", or empty for the default set
	Feeds     []string // -feed [FORMAT:]PATH|URL, repeatable
	Zonefiles []string // -zonefile TYPE:ZONE:PATH, repeatable
	Lease     LeaseFlags

	// CacheSize is not a flag but the program's choice: the number of
	// answers the DNS client keeps, as [dnsclient.Client.CacheSize] (0
	// means its default, negative no cache). A program that builds its
	// sources for one Scorer call, which asks each (address, zone) question
	// once, never reads an answer back, and storing every answer costs CPU
	// that the run then lacks for queries (vet turns the cache off).
	CacheSize int

	fetchers map[string]*sources.Fetcher // by URL
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// Register defines the flags on fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.Var((*listFlag)(&f.Resolvers), "resolver", "DNS resolver `host:port` to query (repeatable; default: the system's, from /etc/resolv.conf; use your own caching resolver, never a public one)")
	fs.StringVar(&f.Zones, "zones", "", "DNSBL zones: comma-separated catalog zones or aliases, a JSON `file` of zone definitions, or \"none\" (default: the catalog's default set)")
	fs.Var((*listFlag)(&f.Feeds), "feed", "blocklist feed `[FORMAT:]PATH|URL`, FORMAT one of plain, drop, ipsum, detected when omitted (repeatable)")
	fs.Var((*listFlag)(&f.Zonefiles), "zonefile", "local zone mirror `TYPE:ZONE:PATH` in rbldnsd format, TYPE one of ip4set, ip4tset, ip4trie, ip6trie, ip6tset (repeatable)")
	f.Lease.register(fs)
}

// InputError marks an error in what the user asked for (a bad flag value, a
// missing file), as opposed to a failure while running.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputf(format string, a ...any) error { return &InputError{fmt.Errorf(format, a...)} }

// Sources builds the sources. Warnings (feed lines skipped) go to warn.
// release closes the DNS client (its sockets); it is never nil and safe to call
// whatever the error. Errors are *InputError.
func (f *Flags) Sources(ctx context.Context, warn io.Writer) (srcs []reputation.Source, release func(), err error) {
	client := &dnsclient.Client{Servers: f.Resolvers, CacheSize: f.CacheSize}
	release = func() { client.Close() }

	zones, err := SelectZones(f.Zones)
	if err != nil {
		return nil, release, &InputError{err}
	}
	for _, z := range zones {
		srcs = append(srcs, &sources.DNSBL{Zone: z, Client: client})
	}
	for _, spec := range f.Feeds {
		s, err := f.loadFeed(ctx, spec, warn)
		if err != nil {
			return nil, release, &InputError{err}
		}
		srcs = append(srcs, s)
	}
	for _, spec := range f.Zonefiles {
		m, err := LoadZonefile(spec, warn)
		if err != nil {
			return nil, release, &InputError{err}
		}
		srcs = append(srcs, m)
	}
	lease, err := f.leaseSources(ctx, warn)
	if err != nil {
		return nil, release, &InputError{err}
	}
	srcs = append(srcs, lease...)
	if len(srcs) == 0 {
		return nil, release, inputf("no sources: -zones none needs at least one -feed, -zonefile, -vrps, -rir-stats or -origins")
	}
	return srcs, release, nil
}

// SelectZones resolves a -zones value: empty means the catalog's default
// set, "none" means no DNSBL, an existing file is read as zone definitions
// (the catalog's JSON format), anything else is a comma-separated list of
// catalog zones or aliases.
func SelectZones(spec string) ([]sources.ZoneInfo, error) {
	switch spec {
	case "":
		return sources.DefaultZones(), nil
	case "none":
		return nil, nil
	}
	if fi, err := os.Stat(spec); err == nil && !fi.IsDir() {
		fh, err := os.Open(spec)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		zs, err := sources.ReadZoneInfos(fh)
		if err != nil {
			return nil, fmt.Errorf("-zones %s: %w", spec, err)
		}
		return zs, nil
	}
	var out []sources.ZoneInfo
	for _, name := range strings.Split(spec, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		z, err := sources.LookupZone(name)
		if err != nil {
			return nil, fmt.Errorf("-zones: %w", err)
		}
		out = append(out, z)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-zones %q names no zone", spec)
	}
	return out, nil
}

// Refresh refreshes the feeds given as URLs (each no more often than its
// minimum interval allows); a failed refresh keeps the last good copy and is
// reported on warn. Long-running programs call it now and then.
func (f *Flags) Refresh(ctx context.Context, warn io.Writer) {
	for key, fe := range f.fetchers {
		if !strings.HasPrefix(key, "-") {
			key = "-feed " + key // feeds are keyed by URL alone
		}
		if err := fe.Refresh(ctx); err != nil {
			fmt.Fprintf(warn, "warning: %s: refresh failed, keeping the copy fetched before: %v\n", key, err)
		}
	}
}

// loadFeed loads one -feed value, [FORMAT:]PATH or [FORMAT:]URL. A URL's
// Fetcher is kept in f and refreshed on later calls.
func (f *Flags) loadFeed(ctx context.Context, spec string, warn io.Writer) (reputation.Source, error) {
	cfg := sources.FeedConfig{}
	loc := spec
	if i := strings.Index(spec, ":"); i > 0 {
		if f, err := sources.ParseFormat(spec[:i]); err == nil {
			cfg.Format, loc = f, spec[i+1:]
		}
	}
	if loc == "" {
		return nil, fmt.Errorf("-feed %q: missing path or URL", spec)
	}
	cfg.Name = loc
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		fe := f.fetchers[loc]
		if fe == nil {
			fe = &sources.Fetcher{URL: loc, Config: cfg, Client: &http.Client{}, UserAgent: "prefixvet"}
		}
		if err := fe.Refresh(ctx); err != nil {
			if fe.List() == nil {
				return nil, fmt.Errorf("-feed %s: %w", loc, err)
			}
			fmt.Fprintf(warn, "warning: -feed %s: refresh failed, keeping the copy fetched before: %v\n", loc, err)
		}
		if f.fetchers == nil {
			f.fetchers = map[string]*sources.Fetcher{}
		}
		f.fetchers[loc] = fe
		return fe, nil
	}
	fh, err := os.Open(loc)
	if err != nil {
		return nil, fmt.Errorf("-feed: %w", err)
	}
	defer fh.Close()
	l, err := sources.ReadList(fh, cfg)
	if l == nil {
		return nil, fmt.Errorf("-feed %s: %w", loc, err)
	}
	if err != nil { // malformed lines do not stop a load, but the user hears of them
		fmt.Fprintf(warn, "warning: -feed %s: some lines were skipped: %v\n", loc, err)
	}
	return l, nil
}

// LoadZonefile loads one -zonefile TYPE:ZONE:PATH. A ZONE the catalog knows
// decodes its return codes as the live zone does; another ZONE reads every
// answer as a plain listing.
func LoadZonefile(spec string, warn io.Writer) (reputation.Source, error) {
	parts := strings.SplitN(spec, ":", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return nil, fmt.Errorf("-zonefile %q: want TYPE:ZONE:PATH, e.g. ip4set:bl.example.org:bl.zone", spec)
	}
	z, err := sources.LookupZone(parts[1])
	if err != nil {
		if errors.Is(err, sources.ErrDeadList) {
			return nil, fmt.Errorf("-zonefile: %w", err)
		}
		z = sources.ZoneInfo{Zone: parts[1], IPv4: true, IPv6: true}
	}
	fh, err := os.Open(parts[2])
	if err != nil {
		return nil, fmt.Errorf("-zonefile: %w", err)
	}
	defer fh.Close()
	m, err := sources.ReadMirror(fh, sources.MirrorConfig{Type: sources.Dataset(parts[0]), Zone: z, Name: parts[1] + " (local)"})
	if m == nil {
		return nil, fmt.Errorf("-zonefile %s: %w", spec, err)
	}
	if err != nil {
		fmt.Fprintf(warn, "warning: -zonefile %s: some lines were skipped: %v\n", parts[2], err)
	}
	return m, nil
}
