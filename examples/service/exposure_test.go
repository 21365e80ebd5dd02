package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
)

func TestBearerToken(t *testing.T) {
	t.Parallel()
	const token = "s3cret-token-0123456789"
	srv := newServer(&reputation.Scorer{Sources: []reputation.Source{feed(t)}, AllowSpecial: true}, config{Token: token}, nil)
	tests := []struct {
		name, method, path, auth string
		status                   int
	}{
		{name: "score_no_header", method: "POST", path: "/v1/score", status: 401},
		{name: "score_wrong_token", method: "POST", path: "/v1/score", auth: "Bearer s3cret-token-0123456780", status: 401},
		{name: "score_prefix_of_token", method: "POST", path: "/v1/score", auth: "Bearer s3cret", status: 401},
		{name: "score_basic_scheme", method: "POST", path: "/v1/score", auth: "Basic " + token, status: 401},
		{name: "score_right_token", method: "POST", path: "/v1/score", auth: "Bearer " + token, status: 200},
		{name: "healthz_is_open", method: "GET", path: "/healthz", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequestWithContext(t.Context(), tt.method, tt.path, strings.NewReader(`{"prefix": "198.51.100.0/24"}`))
			req.Header.Set("Content-Type", "application/json")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

func TestClientAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header, remote string
		values               []string
		want                 string
	}{
		{name: "remote_v4", remote: "192.0.2.1:4711", want: "192.0.2.1"},
		{name: "remote_v6_per_64", remote: "[2001:db8:1:2:3::9]:4711", want: "2001:db8:1:2::/64"},
		{name: "remote_mapped", remote: "[::ffff:192.0.2.1]:4711", want: "192.0.2.1"},
		{name: "header_not_trusted", remote: "192.0.2.1:1", values: []string{"198.51.100.1"}, want: "192.0.2.1"},
		{name: "xff_last_address", header: "X-Forwarded-For", remote: "127.0.0.1:1", values: []string{"198.51.100.1, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "xff_last_header_line", header: "X-Forwarded-For", remote: "127.0.0.1:1", values: []string{"198.51.100.1", "203.0.113.9"}, want: "203.0.113.9"},
		{name: "xff_garbage_is_the_proxy", header: "X-Forwarded-For", remote: "127.0.0.1:1", values: []string{"198.51.100.1, nonsense"}, want: "127.0.0.1"},
		{name: "xff_missing_is_the_proxy", header: "X-Forwarded-For", remote: "127.0.0.1:1", want: "127.0.0.1"},
		{name: "real_ip", header: "X-Real-IP", remote: "127.0.0.1:1", values: []string{"2001:db8::1"}, want: "2001:db8::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(&reputation.Scorer{}, config{ClientHeader: tt.header}, nil)
			r := httptest.NewRequestWithContext(t.Context(), "POST", "/v1/score", nil)
			r.RemoteAddr = tt.remote
			name := tt.header
			if name == "" {
				name = "X-Forwarded-For"
			}
			for _, v := range tt.values {
				r.Header.Add(name, v)
			}
			if got := srv.client(r); got != tt.want {
				t.Errorf("client = %q, want %q", got, tt.want)
			}
		})
	}
}

// One client cannot take every scoring slot: past -max-per-client it gets
// 429 while another client is still served.
func TestPerClientLimit(t *testing.T) {
	t.Parallel()
	slow := &fakeSource{name: "slow", entered: make(chan struct{}, 4), release: make(chan struct{})}
	ts := start(t, newServer(&reputation.Scorer{Sources: []reputation.Source{slow}, AllowSpecial: true},
		config{MaxConcurrent: 4, MaxPerClient: 1, ClientHeader: "X-Forwarded-For"}, nil))
	post := func(client string) response {
		req, err := http.NewRequestWithContext(t.Context(), "POST", ts.URL+"/v1/score", strings.NewReader(`{"prefix": "198.51.100.0/32"}`))
		if err != nil {
			t.Error(err)
			return response{}
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return response{}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{resp.StatusCode, resp.Header, b}
	}
	waitEntered := func() {
		t.Helper()
		select {
		case <-slow.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("a request never reached the source")
		}
	}
	first := make(chan response, 1)
	go func() { first <- post("192.0.2.1") }()
	waitEntered()
	if r := post("192.0.2.1"); r.status != 429 || !bytes.Contains(r.body, []byte("192.0.2.1 has 1 blocks")) {
		t.Errorf("second request of the same client: %d %s; want 429 naming the client", r.status, r.body)
	}
	other := make(chan response, 1)
	go func() { other <- post("198.51.100.1") }()
	waitEntered() // another client is not limited by the first one
	close(slow.release)
	for _, ch := range []chan response{first, other} {
		if r := <-ch; r.status != 200 {
			t.Errorf("status %d %s, want 200", r.status, r.body)
		}
	}
	if r := post("192.0.2.1"); r.status != 200 {
		t.Errorf("after its request finished the client got %d, want 200", r.status)
	}
}

func TestExposureNeedsAToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in the error; empty: accepted
	}{
		{name: "default_loopback", args: nil},
		{name: "localhost", args: []string{"-listen", "localhost:0"}},
		{name: "v6_loopback", args: []string{"-listen", "[::1]:0"}},
		{name: "all_interfaces", args: []string{"-listen", ":8080"}, want: "not a loopback address"},
		{name: "public_address", args: []string{"-listen", "192.0.2.1:8080"}, want: "-token-file"},
		{name: "public_with_token", args: []string{"-listen", "192.0.2.1:8080", "-token-file", good}},
		{name: "short_token", args: []string{"-token-file", short}, want: "at least 16 characters"},
		{name: "missing_token_file", args: []string{"-token-file", filepath.Join(dir, "nope")}, want: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, err := parseFlags(tt.args, io.Discard)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("parseFlags(%q): %v, want accepted", tt.args, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("parseFlags(%q) = %v, want an error with %q", tt.args, err, tt.want)
			case tt.name == "public_with_token" && o.token != "0123456789abcdef0123":
				t.Errorf("token %q, want the file's line", o.token)
			}
		})
	}
}
