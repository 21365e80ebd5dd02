package setup

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

// A URL feed is fetched once and then kept: rebuilding the sources for the
// next run sends no request within the minimum interval, and the feed still
// answers.
func TestSources_keepsFetchers(t *testing.T) {
	t.Parallel()
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		w.Header().Set("ETag", `"v1"`)
		w.Write([]byte("198.51.100.7\n"))
	}))
	t.Cleanup(srv.Close)

	f := &Flags{Zones: "none", Feeds: []string{"plain:" + srv.URL + "/feed.txt"}}
	var warn bytes.Buffer
	for run := range 3 {
		srcs, closeFn, err := f.Sources(t.Context(), &warn)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		l, err := srcs[0].Lookup(t.Context(), netip.MustParseAddr("198.51.100.7"))
		closeFn()
		if err != nil || !l.Listed {
			t.Fatalf("run %d: Lookup = %+v, %v; want listed", run, l, err)
		}
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("the feed was fetched %d times in three runs, want once (minimum interval)", n)
	}
	if warn.Len() != 0 {
		t.Errorf("unexpected warnings: %s", warn.String())
	}
}

// A first fetch that fails is an error naming the feed.
func TestSources_unreachableFeed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	f := &Flags{Zones: "none", Feeds: []string{srv.URL + "/feed.txt"}}
	_, closeFn, err := f.Sources(t.Context(), &bytes.Buffer{})
	closeFn()
	if err == nil || !strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("err = %v, want an error naming the feed URL", err)
	}
}
