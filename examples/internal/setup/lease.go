package setup

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

// LeaseFlags are the lease-readiness flags: registry, RPKI and routing
// files checked next to the blocklists. The zero value adds no source.
type LeaseFlags struct {
	VRPs         string   // -vrps PATH|URL: RPKI VRPs (rpki-client or Routinator JSON, CSV)
	RIRStats     []string // -rir-stats PATH|URL, repeatable: RIR delegated statistics
	Origins      string   // -origins PATH|URL: a pfx2as prefix-to-origin table
	ASNDrop      string   // -asn-drop PATH|URL: Spamhaus ASN-DROP (needs -origins)
	ExpectOrigin uint32   // -expect-origin ASN: the AS the block will be announced from; 0 unknown
}

// asnFlag is a flag.Value for an AS number written AS64500 or 64500.
type asnFlag struct{ v *uint32 }

func (a asnFlag) String() string {
	if a.v == nil || *a.v == 0 {
		return ""
	}
	return "AS" + strconv.FormatUint(uint64(*a.v), 10)
}

func (a asnFlag) Set(s string) error {
	n, err := sources.ParseASN(s)
	if err != nil {
		return err
	}
	*a.v = n
	return nil
}

func (l *LeaseFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.VRPs, "vrps", "", "RPKI VRPs `PATH|URL` (rpki-client or Routinator JSON, or CSV): AS0 ROAs reject, ROAs for other origins than -expect-origin are high")
	fs.Var((*listFlag)(&l.RIRStats), "rir-stats", "RIR delegated statistics `PATH|URL` (delegated-RIR-extended-latest; repeatable, one per RIR): available or reserved space rejects")
	fs.StringVar(&l.Origins, "origins", "", "prefix-to-origin table `PATH|URL` (CAIDA RouteViews pfx2as): who announces the block; another origin than -expect-origin is high")
	fs.StringVar(&l.ASNDrop, "asn-drop", "", "Spamhaus ASN-DROP `PATH|URL` (asndrop.json; needs -origins): a block announced by a listed AS rejects")
	fs.Var(asnFlag{&l.ExpectOrigin}, "expect-origin", "the `ASN` the block will be announced from (AS64500 or 64500); ROAs and announcements of other origins count against it")
}

// leaseSources loads the lease-readiness sources the flags name.
func (f *Flags) leaseSources(ctx context.Context, warn io.Writer) ([]reputation.Source, error) {
	l := &f.Lease
	if l.ASNDrop != "" && l.Origins == "" {
		return nil, fmt.Errorf("-asn-drop needs -origins: ASN-DROP lists ASes, and the pfx2as table says which AS announces the block")
	}
	var out []reputation.Source
	if l.VRPs != "" {
		s, err := f.loadLease(ctx, "-vrps", l.VRPs, warn, func(r io.Reader, name string) (reputation.Source, error) {
			v, err := sources.ReadVRPs(r, sources.VRPConfig{Name: name, ExpectOrigin: l.ExpectOrigin})
			return orNil(v, err)
		}, sources.DefaultVRPName)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	names := map[string]bool{}
	for _, loc := range l.RIRStats {
		name := filepath.Base(loc)
		if names[name] || strings.Contains(loc, "://") {
			name = loc
		}
		names[name] = true
		s, err := f.loadLease(ctx, "-rir-stats", loc, warn, func(r io.Reader, name string) (reputation.Source, error) {
			s, err := sources.ReadRIRStats(r, sources.RIRStatsConfig{Name: name})
			return orNil(s, err)
		}, name)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if l.Origins != "" {
		routes, err := f.loadLease(ctx, "-origins", l.Origins, warn, func(r io.Reader, name string) (reputation.Source, error) {
			o, err := sources.ReadOrigins(r, sources.OriginsConfig{Name: name, ExpectOrigin: l.ExpectOrigin})
			return orNil(o, err)
		}, sources.DefaultOriginsName)
		if err != nil {
			return nil, err
		}
		out = append(out, routes)
		if l.ASNDrop != "" {
			rl := routes.(sources.RouteLookuper) // *sources.Origins or a *sources.Fetcher serving one
			s, err := f.loadLease(ctx, "-asn-drop", l.ASNDrop, warn, func(r io.Reader, name string) (reputation.Source, error) {
				d, err := sources.ReadASNDrop(r, sources.ASNDropConfig{Name: name, Routes: rl})
				return orNil(d, err)
			}, sources.DefaultASNDropName)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// orNil returns a nil Source, not a non-nil interface holding a nil
// pointer, when a loader failed.
func orNil[U any, T interface {
	*U
	reputation.Source
}](s T, err error) (reputation.Source, error) {
	if s == nil {
		return nil, err
	}
	return s, err
}

// loadLease loads one lease file from a path, or from a URL through a
// Fetcher kept in f (refreshed by [Flags.Refresh]).
func (f *Flags) loadLease(ctx context.Context, flagName, loc string, warn io.Writer, read func(io.Reader, string) (reputation.Source, error), name string) (reputation.Source, error) {
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		key := flagName + " " + loc
		fe := f.fetchers[key]
		if fe == nil {
			fe = &sources.Fetcher{URL: loc, Config: sources.FeedConfig{Name: name}, Client: &http.Client{}, UserAgent: "prefixvet", Read: read}
		}
		if err := fe.Refresh(ctx); err != nil {
			if fe.Source() == nil {
				return nil, fmt.Errorf("%s %s: %w", flagName, loc, err)
			}
			fmt.Fprintf(warn, "warning: %s %s: refresh failed, keeping the copy fetched before: %v\n", flagName, loc, err)
		}
		if f.fetchers == nil {
			f.fetchers = map[string]*sources.Fetcher{}
		}
		f.fetchers[key] = fe
		return fe, nil
	}
	fh, err := os.Open(loc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	defer fh.Close()
	s, err := read(fh, name)
	if s == nil {
		return nil, fmt.Errorf("%s %s: %w", flagName, loc, err)
	}
	if err != nil { // malformed lines do not stop a load, but the user hears of them
		fmt.Fprintf(warn, "warning: %s %s: some lines were skipped: %v\n", flagName, loc, err)
	}
	return s, nil
}
