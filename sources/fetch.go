package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
)

// Fetch defaults.
const (
	// DefaultMinInterval is the least time between two fetches of a feed
	// when [Fetcher.MinInterval] is 0. Spamhaus asks for at least an hour
	// between DROP downloads and firewalls faster fetchers.
	DefaultMinInterval = time.Hour
	// DefaultFetchTimeout bounds one fetch, body included, when
	// [Fetcher.Timeout] is 0.
	DefaultFetchTimeout = 2 * time.Minute
)

// ErrNotLoaded: a [Fetcher] was asked for an answer before any fetch
// succeeded.
var ErrNotLoaded = errors.New("sources: feed not loaded yet")

// ErrRedirect: a [Fetcher] refused to follow a redirect to another host,
// or from https to http (see [Fetcher.AnyRedirect]).
var ErrRedirect = errors.New("sources: redirect refused")

// Fetcher keeps a [List] (or another in-memory source, see Read) loaded
// from a URL up to date. It implements [reputation.Source],
// [reputation.PrefixLookuper], [reputation.Describer] and [RouteLookuper] by
// delegating to the current one, so a Scorer can hold the Fetcher while the
// caller refreshes it.
//
// There is no background goroutine: the caller calls [Fetcher.Refresh] when
// it likes (a ticker, a cron job). Refresh is polite by construction: it
// sends a conditional GET (If-None-Match, If-Modified-Since), does nothing if
// the last attempt is more recent than MinInterval, caps the size and time of
// the download, and on any failure keeps the last good List and reports the
// error. The new List is published atomically; lookups never block.
//
// Set the fields before first use; a Fetcher must not be copied after first
// use. Its methods are safe for concurrent use.
type Fetcher struct {
	// URL is the feed address. Required.
	URL string
	// Client performs the requests; nil means [http.DefaultClient].
	Client *http.Client
	// Config says how to parse the feed; Config.Name is the source name
	// (empty means URL).
	Config FeedConfig
	// MinInterval is the least time between two attempts; 0 means
	// [DefaultMinInterval], a negative value means no minimum.
	MinInterval time.Duration
	// Timeout bounds one fetch; 0 means [DefaultFetchTimeout].
	Timeout time.Duration
	// UserAgent is sent when not empty (some feeds refuse unnamed clients).
	UserAgent string
	// AnyRedirect lets redirects go to any host, and from https to http.
	// The default (false) follows a redirect only to the same host name
	// and never downgrades https, failing with [ErrRedirect] otherwise.
	// Client.CheckRedirect, if set, is consulted as well.
	AnyRedirect bool
	// Read parses a downloaded body into the source to serve, named name
	// (the Fetcher's Name); nil means [ReadList] with Config. Like ReadList
	// it returns a usable source with the parse errors of skipped lines, or
	// nil and an error. Set it to serve [VRPs], [RIRStats], [Origins] or
	// [ASNDrop] through the same polite download.
	Read func(r io.Reader, name string) (reputation.Source, error)

	_       [0]sync.Mutex // no copy (vet)
	mu      sync.Mutex    // serialises Refresh
	current atomic.Pointer[served]
	status  atomic.Pointer[FetchStatus]
	etag    string
	lastMod string
	tried   time.Time
}

// served is the source a Fetcher currently serves.
type served struct{ src reputation.Source }

// FetchStatus is the outcome of the latest [Fetcher.Refresh].
type FetchStatus struct {
	// Attempted is when the last request was sent.
	Attempted time.Time
	// Updated is when the List last changed or was confirmed unchanged
	// (304 Not Modified).
	Updated time.Time
	// NotModified reports that the last attempt got 304 Not Modified.
	NotModified bool
	// Err is the error of the last attempt, or the parse errors of a List
	// that loaded with malformed lines; nil after a clean success.
	Err error
}

// Name returns Config.Name, or URL when it is empty.
func (f *Fetcher) Name() string {
	if f.Config.Name != "" {
		return f.Config.Name
	}
	return f.URL
}

// List returns the current List, or nil before the first successful fetch
// or when the Fetcher serves another kind of source.
func (f *Fetcher) List() *List {
	l, _ := f.Source().(*List)
	return l
}

// Source returns the current source, or nil before the first successful
// fetch.
func (f *Fetcher) Source() reputation.Source {
	if s := f.current.Load(); s != nil {
		return s.src
	}
	return nil
}

// Status returns the outcome of the latest refresh (the zero FetchStatus
// before the first).
func (f *Fetcher) Status() FetchStatus {
	if s := f.status.Load(); s != nil {
		return *s
	}
	return FetchStatus{}
}

// Refresh fetches the feed if MinInterval has passed since the last attempt
// (otherwise it returns nil at once without a request). On 304 Not Modified
// the current List stays. On success the new List replaces the old one
// atomically; if it loaded with malformed lines, Refresh returns those parse
// errors. On failure (transport error, a status other than 200 or 304, a feed
// that does not parse, over the size cap or empty) the last good List stays
// in use and Refresh returns the error, which [Fetcher.Status] also reports.
func (f *Fetcher) Refresh(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	minIv := f.MinInterval
	if minIv == 0 {
		minIv = DefaultMinInterval
	}
	now := time.Now()
	if !f.tried.IsZero() && minIv > 0 && now.Sub(f.tried) < minIv {
		return nil
	}
	f.tried = now
	st := FetchStatus{Attempted: now}
	if old := f.status.Load(); old != nil {
		st.Updated = old.Updated
	}
	err := f.fetch(ctx, &st)
	if err != nil {
		err = fmt.Errorf("sources: fetch %s: %w", f.Name(), err)
		if f.current.Load() != nil {
			err = fmt.Errorf("%w (keeping the list loaded at %s)", err, st.Updated.Format(time.RFC3339))
		}
		st.Err = err
	}
	f.status.Store(&st)
	return err
}

func (f *Fetcher) fetch(ctx context.Context, st *FetchStatus) error {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return err
	}
	if f.current.Load() != nil {
		if f.etag != "" {
			req.Header.Set("If-None-Match", f.etag)
		}
		if f.lastMod != "" {
			req.Header.Set("If-Modified-Since", f.lastMod)
		}
	}
	if f.UserAgent != "" {
		req.Header.Set("User-Agent", f.UserAgent)
	}
	client := f.client(req.URL)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	maxBytes := f.Config.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if resp.StatusCode == http.StatusOK && resp.ContentLength > maxBytes {
		return fmt.Errorf("%w: Content-Length %d is over the cap of %d bytes", ErrTooLarge, resp.ContentLength, maxBytes)
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && f.current.Load() != nil:
		st.NotModified = true
		st.Updated = time.Now()
		return nil
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("unexpected HTTP status %s", resp.Status)
	}
	var src reputation.Source
	if f.Read != nil {
		// ReadList caps its input itself; other readers get the cap here.
		body := &limitedReader{r: resp.Body, n: maxBytes}
		src, err = f.Read(body, f.Name())
		if body.over {
			return fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, f.Name(), maxBytes)
		}
	} else {
		cfg := f.Config
		cfg.Name = f.Name()
		var l *List
		if l, err = ReadList(resp.Body, cfg); l != nil {
			src = l
		}
	}
	if src == nil {
		if err == nil {
			err = fmt.Errorf("%w: %s", ErrEmpty, f.Name())
		}
		return err
	}
	f.current.Store(&served{src})
	f.etag = resp.Header.Get("ETag")
	f.lastMod = resp.Header.Get("Last-Modified")
	st.Updated = time.Now()
	st.Err = err
	return err
}

// client returns the client to fetch orig with: f.Client (or
// http.DefaultClient) with the redirect policy added.
func (f *Fetcher) client(orig *url.URL) *http.Client {
	base := f.Client
	if base == nil {
		base = http.DefaultClient
	}
	if f.AnyRedirect {
		return base
	}
	c := *base // a shallow copy shares the Transport and its connections
	next := base.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		to := req.URL
		switch {
		case !strings.EqualFold(to.Hostname(), orig.Hostname()):
			return fmt.Errorf("%w: %s redirects to another host (%s); set AnyRedirect to follow it", ErrRedirect, orig.Redacted(), to.Redacted())
		case orig.Scheme == "https" && to.Scheme != "https":
			return fmt.Errorf("%w: %s redirects from https to %s", ErrRedirect, orig.Redacted(), to.Redacted())
		case next != nil:
			return next(req, via)
		case len(via) >= 10:
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

func (f *Fetcher) source() (reputation.Source, error) {
	if s := f.Source(); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNotLoaded, f.Name())
}

// Lookup delegates to the current source; before the first successful fetch
// it fails with [ErrNotLoaded].
func (f *Fetcher) Lookup(ctx context.Context, addr netip.Addr) (reputation.Listing, error) {
	s, err := f.source()
	if err != nil {
		return reputation.Listing{}, err
	}
	return s.Lookup(ctx, addr)
}

// LookupPrefix delegates to the current source; before the first successful
// fetch it fails with [ErrNotLoaded]; it fails too when the source does not
// answer for prefixes.
func (f *Fetcher) LookupPrefix(ctx context.Context, p netip.Prefix) ([]reputation.Match, error) {
	s, err := f.source()
	if err != nil {
		return nil, err
	}
	pl, ok := s.(reputation.PrefixLookuper)
	if !ok {
		return nil, fmt.Errorf("sources: %s answers per address, not per prefix", f.Name())
	}
	return pl.LookupPrefix(ctx, p)
}

// LookupRoutes delegates to the current source, an [*Origins]; before the
// first successful fetch it fails with [ErrNotLoaded]; it fails too when the
// source is not a route table.
func (f *Fetcher) LookupRoutes(ctx context.Context, p netip.Prefix) ([]RouteMatch, error) {
	s, err := f.source()
	if err != nil {
		return nil, err
	}
	rl, ok := s.(RouteLookuper)
	if !ok {
		return nil, fmt.Errorf("sources: %s is not a prefix-to-origin table", f.Name())
	}
	return rl.LookupRoutes(ctx, p)
}

// Info reports the current source's Info ([reputation.KindFeed] and both
// families before the first fetch).
func (f *Fetcher) Info() reputation.Info {
	if d, ok := f.Source().(reputation.Describer); ok {
		return d.Info()
	}
	return reputation.Info{Kind: reputation.KindFeed, IPv4: true, IPv6: true}
}

var (
	_ reputation.Source         = (*Fetcher)(nil)
	_ reputation.PrefixLookuper = (*Fetcher)(nil)
	_ reputation.Describer      = (*Fetcher)(nil)
	_ RouteLookuper             = (*Fetcher)(nil)
)
