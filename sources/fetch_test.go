package sources_test

import (
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prefixvet/prefixvet/sources"
)

// feedServer serves body with an ETag and Last-Modified, honours conditional
// requests with 304, and can be told to fail.
type feedServer struct {
	body     atomic.Pointer[string]
	fail     atomic.Bool
	requests atomic.Int32
	cond     atomic.Int32 // requests that carried both conditional headers
}

const testLastMod = "Mon, 02 Jan 2006 15:04:05 GMT"

func etagOf(body string) string { return fmt.Sprintf(`"%08x"`, crc32.ChecksumIEEE([]byte(body))) }

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.fail.Load() {
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	}
	if r.Header.Get("User-Agent") != "prefixvet-test" {
		http.Error(w, "no user agent", http.StatusForbidden)
		return
	}
	inm, ims := r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
	if inm != "" && ims != "" {
		s.cond.Add(1)
	}
	body := *s.body.Load()
	if inm == etagOf(body) && ims == testLastMod {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etagOf(body))
	w.Header().Set("Last-Modified", testLastMod)
	fmt.Fprint(w, body)
}

func newFeedServer(t *testing.T, body string) (*feedServer, *httptest.Server) {
	t.Helper()
	fs := &feedServer{}
	fs.body.Store(&body)
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	return fs, srv
}

func TestFetcherConditionalGet(t *testing.T) {
	t.Parallel()
	fs, srv := newFeedServer(t, "192.0.2.0/24\n")
	f := &sources.Fetcher{URL: srv.URL, Client: srv.Client(), MinInterval: -1, UserAgent: "prefixvet-test", Config: sources.FeedConfig{Name: "test-feed"}}
	ctx := t.Context()
	if _, err := f.Lookup(ctx, netip.MustParseAddr("192.0.2.1")); !errors.Is(err, sources.ErrNotLoaded) {
		t.Fatalf("Lookup before load: err = %v, want ErrNotLoaded", err)
	}
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	first := f.List()
	if first == nil || first.Len() != 1 {
		t.Fatalf("List() = %v after first fetch", first)
	}
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := fs.cond.Load(); got != 1 {
		t.Errorf("conditional requests = %d, want 1", got)
	}
	if !f.Status().NotModified || f.List() != first {
		t.Errorf("after 304: NotModified=%v, list replaced=%v", f.Status().NotModified, f.List() != first)
	}
	lst, err := f.Lookup(ctx, netip.MustParseAddr("192.0.2.1"))
	if err != nil || !lst.Listed {
		t.Errorf("Lookup = %+v, %v; want listed", lst, err)
	}
	// A changed body is fetched and swapped in.
	changed := "changed"
	fs.body.Store(&changed)
	if err := f.Refresh(ctx); err == nil {
		t.Error("Refresh of an unparsable feed: want error")
	}
	if f.List() != first {
		t.Error("a failed parse replaced the last good list")
	}
	good := "198.51.100.0/24\n"
	fs.body.Store(&good)
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if f.List() == first {
		t.Error("new content was not swapped in")
	}
}

func TestFetcherMinInterval(t *testing.T) {
	t.Parallel()
	fs, srv := newFeedServer(t, "192.0.2.0/24\n")
	f := &sources.Fetcher{URL: srv.URL, Client: srv.Client(), UserAgent: "prefixvet-test"}
	for range 3 {
		if err := f.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if got := fs.requests.Load(); got != 1 {
		t.Errorf("requests = %d within the default minimum interval, want 1", got)
	}
}

func TestFetcherKeepsLastGood(t *testing.T) {
	t.Parallel()
	fs, srv := newFeedServer(t, "192.0.2.0/24\n")
	f := &sources.Fetcher{URL: srv.URL, Client: srv.Client(), MinInterval: -1, UserAgent: "prefixvet-test"}
	if err := f.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	fs.fail.Store(true)
	err := f.Refresh(t.Context())
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("Refresh against a failing server: err = %v, want the HTTP status", err)
	}
	if st := f.Status(); st.Err == nil || st.Updated.IsZero() {
		t.Errorf("Status = %+v, want the error and the last update time", st)
	}
	lst, err := f.Lookup(t.Context(), netip.MustParseAddr("192.0.2.9"))
	if err != nil || !lst.Listed {
		t.Errorf("Lookup after failure = %+v, %v; want the last good list to answer", lst, err)
	}
}

func TestFetcherSizeCap(t *testing.T) {
	t.Parallel()
	_, srv := newFeedServer(t, strings.Repeat("192.0.2.1\n", 1000))
	f := &sources.Fetcher{URL: srv.URL, Client: srv.Client(), MinInterval: -1, UserAgent: "prefixvet-test", Config: sources.FeedConfig{MaxBytes: 100}}
	if err := f.Refresh(t.Context()); !errors.Is(err, sources.ErrTooLarge) {
		t.Fatalf("Refresh = %v, want ErrTooLarge", err)
	}
	if f.List() != nil {
		t.Error("an oversized feed was loaded")
	}
}
