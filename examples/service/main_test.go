package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

// feed is an in-memory blocklist: one address and one /30 listed.
func feed(t *testing.T) *sources.List {
	t.Helper()
	l, err := sources.ReadList(strings.NewReader("198.51.100.7\n203.0.113.0/30\n"), sources.FeedConfig{Name: "feed", Format: sources.FormatPlain})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// mirror is an in-memory rbldnsd zone copy listing 198.51.100.9.
func mirror(t *testing.T) *sources.Mirror {
	t.Helper()
	m, err := sources.ReadMirror(strings.NewReader(":127.0.0.2:spam\n198.51.100.9\n"), sources.MirrorConfig{Type: sources.DatasetIP4Set, Zone: sources.ZoneInfo{Zone: "bl.example.org", IPv4: true}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fakeSource is a per-address source. If release is set, each lookup waits
// for it to be closed (or for ctx); entered gets a value when a lookup
// starts; inFlight and maxInFlight count concurrent lookups.
type fakeSource struct {
	name        string
	entered     chan struct{}
	release     chan struct{}
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
}

func (f *fakeSource) Name() string { return f.name }

func (f *fakeSource) Lookup(ctx context.Context, _ netip.Addr) (reputation.Listing, error) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxInFlight.Load()
		if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if f.entered != nil {
		select {
		case f.entered <- struct{}{}:
		default:
		}
	}
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return reputation.Listing{}, ctx.Err()
		}
	}
	return reputation.Listing{}, nil
}

// start serves srv with httptest.
func start(t *testing.T, srv *server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func decodeReport(t *testing.T, r response) *reputation.Report {
	t.Helper()
	var rep reputation.Report
	if err := json.Unmarshal(r.body, &rep); err != nil {
		t.Fatalf("report %s: %v", r.body, err)
	}
	return &rep
}

func TestScoreStatuses(t *testing.T) {
	t.Parallel()
	allow := start(t, newServer(&reputation.Scorer{Sources: []reputation.Source{feed(t), mirror(t)}, AllowSpecial: true}, config{MaxBody: 256}, nil))
	strict := start(t, newServer(&reputation.Scorer{Sources: []reputation.Source{feed(t)}}, config{}, nil))

	tests := []struct {
		name    string
		srv     *httptest.Server
		method  string
		path    string
		body    string
		status  int
		error   string   // error field, for errors
		detail  []string // substrings of detail
		verdict reputation.Verdict
		prefix  string
	}{
		{name: "cidr", body: `{"prefix": "198.51.100.0/24"}`, status: 200, verdict: reputation.VerdictClean, prefix: "198.51.100.0/24"},
		{name: "range_of_one_block", body: `{"prefix": "203.0.113.0-203.0.113.3"}`, status: 200, verdict: reputation.VerdictReview, prefix: "203.0.113.0/30"},
		{name: "single_address", body: "{\"prefix\": \"198.51.100.9\"}\n", status: 200, verdict: reputation.VerdictReview, prefix: "198.51.100.9/32"},
		{name: "range_of_several_blocks", body: `{"prefix": "198.51.100.1-198.51.100.6"}`, status: 400, error: "not one CIDR block", detail: []string{"spans 4 CIDR blocks"}},
		{name: "bad_json", body: `{"prefix": `, status: 400, error: "bad JSON"},
		{name: "empty_body", body: ``, status: 400, error: "bad JSON", detail: []string{"empty body"}},
		{name: "trailing_data", body: `{"prefix": "198.51.100.0/24"} x`, status: 400, error: "bad JSON", detail: []string{"after the JSON object"}},
		{name: "wrong_type", body: `{"prefix": 24}`, status: 400, error: "bad JSON", detail: []string{`"prefix" must be a string`}},
		{name: "unknown_field", body: `{"prefix": "198.51.100.0/24", "sample": 3}`, status: 400, error: "unknown field", detail: []string{`"sample"`}},
		{name: "missing_prefix", body: `{}`, status: 400, error: "missing prefix"},
		{name: "bad_prefix", body: `{"prefix": "198.51.100.0/33"}`, status: 400, error: "bad prefix", detail: []string{`prefix.Parse("198.51.100.0/33")`}},
		{name: "host_bits", body: `{"prefix": "198.51.100.1/24"}`, status: 400, error: "bad prefix", detail: []string{"198.51.100.0/24"}},
		{name: "v4_wider_than_8", body: `{"prefix": "64.0.0.0/7"}`, status: 400, error: "block too wide"},
		{name: "v6_wider_than_16", body: `{"prefix": "2000::/15"}`, status: 400, error: "block too wide"},
		{name: "body_too_large", body: `{"prefix": "198.51.100.0/24"` + strings.Repeat(" ", 300) + `}`, status: 413, error: "request body too large", detail: []string{"256 bytes"}},
		{name: "special_purpose", srv: strict, body: `{"prefix": "198.51.100.0/24"}`, status: 422, error: "special-purpose address space", detail: []string{"Documentation (TEST-NET-2)", "RFC 5737", "-allow-special"}},
		{name: "special_purpose_inside", srv: strict, body: `{"prefix": "192.168.0.0/15"}`, status: 422, error: "special-purpose address space", detail: []string{"Private-Use"}},
		{name: "get_score", method: "GET", status: 405, error: "method not allowed"},
		{name: "post_healthz", method: "POST", path: "/healthz", status: 405, error: "method not allowed"},
		{name: "unknown_path", method: "GET", path: "/v2/score", status: 404, error: "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, method, path := tt.srv, tt.method, tt.path
			if srv == nil {
				srv = allow
			}
			if method == "" {
				method = "POST"
			}
			if path == "" {
				path = "/v1/score"
			}
			r := do(t, method, srv.URL+path, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if tt.status == 200 {
				rep := decodeReport(t, r)
				if rep.Verdict != tt.verdict || rep.Prefix.String() != tt.prefix {
					t.Errorf("report of %s: verdict %s, want %s %s", rep.Prefix, rep.Verdict, tt.prefix, tt.verdict)
				}
				return
			}
			var e errorBody
			dec := json.NewDecoder(bytes.NewReader(r.body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&e); err != nil {
				t.Fatalf("error body %s: %v", r.body, err)
			}
			if e.Error != tt.error || e.Detail == "" {
				t.Errorf("error %q with detail %q, want %q and a detail", e.Error, e.Detail, tt.error)
			}
			for _, d := range tt.detail {
				if !strings.Contains(e.Detail, d) {
					t.Errorf("detail %q lacks %q", e.Detail, d)
				}
			}
			if tt.status == 405 && r.header.Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
}

func TestRangeOfSeveralBlocksListsThem(t *testing.T) {
	t.Parallel()
	ts := start(t, newServer(&reputation.Scorer{Sources: []reputation.Source{feed(t)}, AllowSpecial: true}, config{}, nil))
	r := do(t, "POST", ts.URL+"/v1/score", `{"prefix": "198.51.100.1-198.51.100.6"}`)
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil || r.status != 400 {
		t.Fatalf("status %d, body %s (%v); want 400", r.status, r.body, err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("198.51.100.1/32"), netip.MustParsePrefix("198.51.100.2/31"), netip.MustParsePrefix("198.51.100.4/31"), netip.MustParsePrefix("198.51.100.6/32")}
	if diff := cmp.Diff(want, e.Blocks, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
	if !strings.Contains(e.Detail, "spans 4 CIDR blocks") {
		t.Errorf("detail %q does not say how many blocks", e.Detail)
	}
}

func TestLargeBlocksAreSampled(t *testing.T) {
	t.Parallel()
	fake := &fakeSource{name: "fake"}
	ts := start(t, newServer(&reputation.Scorer{Sources: []reputation.Source{fake}, AllowSpecial: true, MaxAddrs: 64}, config{}, nil))
	tests := []struct {
		name    string
		prefix  string
		sampled bool
		checked int
	}{
		{name: "v4_26_whole", prefix: "198.51.100.0/26", sampled: false, checked: 64},
		{name: "v4_24_sampled", prefix: "198.51.100.0/24", sampled: true, checked: 64},
		{name: "v6_48_sampled", prefix: "2001:db8::/48", sampled: true, checked: 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, "POST", ts.URL+"/v1/score", `{"prefix": "`+tt.prefix+`"}`)
			if r.status != 200 {
				t.Fatalf("status %d, body %s", r.status, r.body)
			}
			rep := decodeReport(t, r)
			if rep.Sampled != tt.sampled || rep.AddressesChecked != tt.checked || rep.Verdict != reputation.VerdictClean {
				t.Errorf("sampled %v, checked %d, verdict %s; want %v, %d, clean", rep.Sampled, rep.AddressesChecked, rep.Verdict, tt.sampled, tt.checked)
			}
		})
	}
}

func TestConcurrentScoringIsLimited(t *testing.T) {
	t.Parallel()
	slow := &fakeSource{name: "slow", entered: make(chan struct{}, 1), release: make(chan struct{})}
	ts := start(t, newServer(&reputation.Scorer{Sources: []reputation.Source{slow}, AllowSpecial: true}, config{MaxConcurrent: 1}, nil))

	first := make(chan response, 1)
	go func() { first <- do(t, "POST", ts.URL+"/v1/score", `{"prefix": "198.51.100.0/30"}`) }()
	select {
	case <-slow.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request never reached the source")
	}
	r := do(t, "POST", ts.URL+"/v1/score", `{"prefix": "203.0.113.0/30"}`)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" {
		t.Errorf("second request: status %d, Retry-After %q; want 429 and 1", r.status, r.header.Get("Retry-After"))
	}
	// Health checks are not limited.
	if h := do(t, "GET", ts.URL+"/healthz", ""); h.status != 200 {
		t.Errorf("healthz while busy: %d, want 200", h.status)
	}
	close(slow.release)
	if r := <-first; r.status != 200 || decodeReport(t, r).Verdict != reputation.VerdictClean {
		t.Errorf("first request: status %d, body %s; want 200 clean", r.status, r.body)
	}
	// The slot is free again.
	if r := do(t, "POST", ts.URL+"/v1/score", `{"prefix": "203.0.113.0/30"}`); r.status != 200 {
		t.Errorf("after the first finished: status %d, want 200", r.status)
	}
}

func TestRequestTimeoutGivesThePartialReport(t *testing.T) {
	t.Parallel()
	stuck := &fakeSource{name: "stuck", release: make(chan struct{})} // never released
	ts := start(t, newServer(&reputation.Scorer{Sources: []reputation.Source{stuck}, AllowSpecial: true, Timeout: -1}, config{RequestTimeout: 100 * time.Millisecond}, nil))
	begin := time.Now()
	r := do(t, "POST", ts.URL+"/v1/score", `{"prefix": "198.51.100.0/30"}`)
	if r.status != 200 {
		t.Fatalf("status %d, body %s; want 200 with the partial report", r.status, r.body)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("the request took %s, want about the 100ms request timeout", d)
	}
	rep := decodeReport(t, r)
	if rep.Verdict != reputation.VerdictIncomplete || !rep.Interrupted || rep.LookupsAnswered != 0 {
		t.Errorf("verdict %s, interrupted %v, answered %d; want incomplete, true, 0", rep.Verdict, rep.Interrupted, rep.LookupsAnswered)
	}
}

// dnsServer serves bl.example.org on 127.0.0.1: refusing every query, or
// as a healthy DNSBL that lists only the RFC 5782 test point 127.0.0.2.
func dnsServer(t *testing.T, refuse bool) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		switch q := r.Question[0]; {
		case refuse:
			m.SetRcode(r, dns.RcodeRefused)
		case strings.EqualFold(q.Name, "2.0.0.127.bl.example.org.") && q.Qtype == dns.TypeA:
			m.SetReply(r)
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 2)})
		default:
			m.SetRcode(r, dns.RcodeNameError)
		}
		w.WriteMsg(m) //nolint:errcheck // a lost answer is a test failure elsewhere
	})
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe() //nolint:errcheck // stopped by Shutdown
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func dnsbl(t *testing.T, addr string) *sources.DNSBL {
	t.Helper()
	c := &dnsclient.Client{Servers: []string{addr}, Timeout: time.Second}
	t.Cleanup(func() { c.Close() })
	return &sources.DNSBL{Zone: sources.ZoneInfo{Zone: "bl.example.org", IPv4: true}, Client: c}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		refuse      bool
		status      int
		health      string
		source      reputation.Status
		scoreStatus int
	}{
		{name: "dnsbl_healthy", refuse: false, status: 200, health: "ok", source: reputation.StatusOK, scoreStatus: 200},
		{name: "dnsbl_refuses", refuse: true, status: 503, health: "unavailable", source: reputation.StatusRefused, scoreStatus: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bl := dnsbl(t, dnsServer(t, tt.refuse))
			ts := start(t, newServer(&reputation.Scorer{Sources: []reputation.Source{bl}, AllowSpecial: true}, config{}, nil))
			r := do(t, "GET", ts.URL+"/healthz", "")
			var h health
			if err := json.Unmarshal(r.body, &h); err != nil {
				t.Fatalf("healthz body %s: %v", r.body, err)
			}
			if r.status != tt.status || h.Status != tt.health || len(h.Sources) != 1 || h.Sources[0].Status != tt.source {
				t.Errorf("healthz: %d %s; want %d, %q, one source %s", r.status, r.body, tt.status, tt.health, tt.source)
			}
			if tt.refuse && h.Sources[0].Detail == "" {
				t.Errorf("a refused source has no detail: %s", r.body)
			}
			s := do(t, "POST", ts.URL+"/v1/score", `{"prefix": "198.51.100.0/30"}`)
			if s.status != tt.scoreStatus {
				t.Errorf("score: status %d, body %s; want %d", s.status, s.body, tt.scoreStatus)
			}
			if tt.scoreStatus == 200 {
				if rep := decodeReport(t, s); rep.Verdict != reputation.VerdictClean || rep.LookupsAnswered != 4 {
					t.Errorf("score through the DNSBL: verdict %s, %d answered; want clean, 4", rep.Verdict, rep.LookupsAnswered)
				}
			} else if !strings.Contains(string(s.body), "no usable sources") || !strings.Contains(string(s.body), "bl.example.org") {
				t.Errorf("score error %s does not name the unusable source", s.body)
			}
		})
	}
}

// Every DNSBL zone refused, a feed still answering: the report comes back
// (200), scored on the feed, and a block the feed alone finds clean is
// incomplete, never clean.
func TestScoreWithEveryZoneRefused(t *testing.T) {
	t.Parallel()
	bl := dnsbl(t, dnsServer(t, true))
	ts := start(t, newServer(&reputation.Scorer{Sources: []reputation.Source{bl, feed(t)}, AllowSpecial: true}, config{}, nil))
	r := do(t, "POST", ts.URL+"/v1/score", `{"prefix": "192.0.2.0/30"}`)
	if r.status != 200 {
		t.Fatalf("score: %d %s; want 200", r.status, r.body)
	}
	rep := decodeReport(t, r)
	if rep.Verdict != reputation.VerdictIncomplete || rep.Sources[0].Status != reputation.StatusRefused {
		t.Errorf("verdict %s, zone %s; want incomplete with the zone refused", rep.Verdict, rep.Sources[0].Status)
	}
}

func TestHealthzWithoutProbesIsOK(t *testing.T) {
	t.Parallel()
	ts := start(t, newServer(&reputation.Scorer{Sources: []reputation.Source{feed(t), mirror(t)}}, config{}, nil))
	r := do(t, "GET", ts.URL+"/healthz", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"usable":2`) {
		t.Errorf("healthz: %d %s; want 200 with two usable sources", r.status, r.body)
	}
}

// syncBuffer is a goroutine-safe bytes.Buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	srv := newServer(&reputation.Scorer{Sources: []reputation.Source{feed(t)}, AllowSpecial: true}, config{}, slog.New(slog.NewTextHandler(&logs, nil)))
	for _, body := range []string{`{"prefix": "203.0.113.0/30"}`, `{"prefix": "nonsense"}`} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequestWithContext(t.Context(), "POST", "/v1/score", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		srv.ServeHTTP(rec, req)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`msg=request method=POST path=/v1/score status=200 bytes=\d+ duration=\S+ remote=\S+ prefix=203\.0\.113\.0/30 verdict=review score=75`),
		regexp.MustCompile(`msg=request method=POST path=/v1/score status=400 .* error="bad prefix"`),
	}
	if len(lines) != len(want) {
		t.Fatalf("%d log lines, want %d:\n%s", len(lines), len(want), logs.String())
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("log line %q does not match %s", lines[i], re)
		}
	}
}

func TestRunServesAndShutsDownGracefully(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	feedPath := filepath.Join(dir, "feed.txt")
	if err := os.WriteFile(feedPath, []byte("203.0.113.0/30\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-zones", "none", "-feed", "plain:" + feedPath, "-listen", "127.0.0.1:0", "-allow-special"}, nil, io.Discard, &stderr)
	}()
	listening := regexp.MustCompile(`msg=listening addr=(\S+)`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("the service did not log its address; stderr:\n%s", stderr.String())
	}
	if r := do(t, "GET", "http://"+addr+"/healthz", ""); r.status != 200 {
		t.Errorf("healthz: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", "http://"+addr+"/v1/score", `{"prefix": "203.0.113.0/30"}`); r.status != 200 || decodeReport(t, r).Verdict != reputation.VerdictReview {
		t.Errorf("score: %d %s; want 200 review", r.status, r.body)
	}
	cancel() // SIGTERM
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after the signal, want %d; stderr:\n%s", code, exitOK, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the service did not stop within 10s of the signal")
	}
	if !strings.Contains(stderr.String(), "msg=stopped") {
		t.Errorf("no \"stopped\" record; stderr:\n%s", stderr.String())
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
		code int
	}{
		{name: "help", args: []string{"-h"}, want: "POST /v1/score", code: exitOK},
		{name: "bad_max_body", args: []string{"-max-body", "0"}, want: "-max-body", code: exitUsage},
		{name: "arguments", args: []string{"198.51.100.0/24"}, want: "posted to /v1/score", code: exitUsage},
		{name: "no_sources", args: []string{"-zones", "none"}, want: "no sources", code: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			code := run(t.Context(), tt.args, nil, io.Discard, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.code, tt.want)
			}
		})
	}
}
