package sources_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prefixvet/prefixvet/sources"
)

// addrLines writes "10.a.b.c\n" lines for every other address from
// 10.0.0.0 (so that no two entries merge into one range) until n lines
// are written or w fails; it returns the bytes written.
func addrLines(w io.Writer, n int) int64 {
	var total int64
	buf := make([]byte, 0, 64<<10)
	for i := range n {
		a := i * 2
		buf = fmt.Appendf(buf, "10.%d.%d.%d\n", a>>16&255, a>>8&255, a&255)
		if len(buf) > 60<<10 || i == n-1 {
			k, err := w.Write(buf)
			total += int64(k)
			if err != nil {
				return total
			}
			buf = buf[:0]
		}
	}
	return total
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestFetcherRedirects(t *testing.T) {
	t.Parallel()
	good := "192.0.2.1\n"
	target := serve(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, good) })
	// The same service on ::1: another host name for the same machine.
	ln6, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatalf("listening on ::1: %v", err)
	}
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, good) }))
	other.Listener.Close()
	other.Listener = ln6
	other.Start()
	t.Cleanup(other.Close)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/plain", http.StatusFound)
	}))
	t.Cleanup(tlsSrv.Close)
	redirector := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same-host":
			http.Redirect(w, r, target.URL+"/feed", http.StatusFound) // same name, other port
		case "/other-host":
			http.Redirect(w, r, other.URL+"/feed", http.StatusFound)
		case "/unroutable":
			http.Redirect(w, r, "http://192.0.2.1/feed", http.StatusFound) // refused before any dial
		}
	})
	tests := []struct {
		name   string
		url    string
		client *http.Client
		any    bool
		want   error
	}{
		{name: "same_host", url: redirector.URL + "/same-host", want: nil},
		{name: "other_host_refused", url: redirector.URL + "/other-host", want: sources.ErrRedirect},
		{name: "other_host_allowed", url: redirector.URL + "/other-host", any: true, want: nil},
		{name: "documentation_address_refused", url: redirector.URL + "/unroutable", want: sources.ErrRedirect},
		{name: "https_to_http_refused", url: tlsSrv.URL + "/", client: tlsSrv.Client(), want: sources.ErrRedirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &sources.Fetcher{URL: tt.url, Client: tt.client, AnyRedirect: tt.any, MinInterval: -1}
			err := f.Refresh(t.Context())
			if !errors.Is(err, tt.want) {
				t.Fatalf("Refresh = %v, want %v", err, tt.want)
			}
			if (f.List() != nil) != (tt.want == nil) {
				t.Errorf("list loaded: %v, want %v", f.List() != nil, tt.want == nil)
			}
		})
	}
}

// A Content-Length over the cap is refused from the headers: the body is
// never read.
func TestFetcherRefusesContentLengthOverCap(t *testing.T) {
	t.Parallel()
	var written atomic.Int64
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(64<<20))
		written.Store(addrLines(w, 8<<20)) // stops when the client hangs up
	})
	f := &sources.Fetcher{URL: srv.URL, MinInterval: -1, Config: sources.FeedConfig{MaxBytes: 1 << 20}}
	err := f.Refresh(t.Context())
	if !errors.Is(err, sources.ErrTooLarge) || !strings.Contains(err.Error(), "Content-Length") {
		t.Fatalf("Refresh = %v, want ErrTooLarge from the Content-Length", err)
	}
	srv.Close() // waits for the handler
	if n := written.Load(); n >= 64<<20 {
		t.Errorf("the server wrote its whole %d-byte body", n)
	}
}

// An endless body and a gzip bomb stop at the entry cap (and the size cap),
// and the last good list stays.
func TestFetcherHostileBodies(t *testing.T) {
	t.Parallel()
	// A gzip bomb: one compressed member of 64 Ki lines, repeated; gzip
	// readers decode concatenated members as one stream (64 MiB).
	var member, bomb bytes.Buffer
	zw := gzip.NewWriter(&member)
	addrLines(zw, 64<<10)
	zw.Close()
	for range 80 {
		bomb.Write(member.Bytes())
	}
	tests := []struct {
		name string
		h    http.HandlerFunc
		cfg  sources.FeedConfig
	}{
		{name: "endless_body_entry_cap", cfg: sources.FeedConfig{MaxEntries: 1000}, h: func(w http.ResponseWriter, _ *http.Request) {
			addrLines(w, 1<<30) // until the client hangs up
		}},
		{name: "endless_body_byte_cap", cfg: sources.FeedConfig{MaxBytes: 1 << 20}, h: func(w http.ResponseWriter, _ *http.Request) {
			addrLines(w, 1<<30)
		}},
		{name: "gzip_bomb_entry_cap", cfg: sources.FeedConfig{MaxEntries: 1000}, h: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb.Bytes()) //nolint:errcheck // the client hangs up
		}},
		{name: "gzip_bomb_byte_cap", cfg: sources.FeedConfig{MaxBytes: 1 << 20}, h: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb.Bytes()) //nolint:errcheck // the client hangs up
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hostile atomic.Bool
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if !hostile.Load() {
					fmt.Fprint(w, "192.0.2.1\n")
					return
				}
				tt.h(w, r)
			})
			f := &sources.Fetcher{URL: srv.URL, MinInterval: -1, Config: tt.cfg}
			if err := f.Refresh(t.Context()); err != nil {
				t.Fatal(err)
			}
			good := f.List()
			hostile.Store(true)
			if err := f.Refresh(t.Context()); !errors.Is(err, sources.ErrTooLarge) {
				t.Fatalf("Refresh = %v, want ErrTooLarge", err)
			}
			if f.List() != good {
				t.Error("the last good list was replaced")
			}
		})
	}
}
