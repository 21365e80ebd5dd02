package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/reputation"
)

// spaces is a reader of n blank bytes that counts what was read from it,
// so a test can send a body far larger than the limit without holding it
// in memory, and check how much of it the handler consumed.
type spaces struct {
	n, read int64
}

func (s *spaces) Read(p []byte) (int, error) {
	if s.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), s.n)
	for i := range p[:k] {
		p[i] = ' '
	}
	s.n -= k
	s.read += k
	return int(k), nil
}

func postReader(t *testing.T, srv http.Handler, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), "POST", "/v1/score", body)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}

// The issue: a valid object followed by 4 GB of white space and "junk" was
// answered 200 after the whole body was read, because Decoder.More dropped
// the size-limit error and the rest of the body was read without the limit.
func TestBodyLimitHoldsForEveryByte(t *testing.T) {
	t.Parallel()
	const maxBody = 256
	obj := `{"prefix": "198.51.100.0/24"}`
	tests := []struct {
		name    string
		pad     int64  // blank bytes after the object
		tail    string // after the blanks
		status  int
		errText string
	}{
		{name: "object_only", pad: 0, status: 200},
		{name: "blanks_within_limit", pad: maxBody - int64(len(obj)), status: 200},
		{name: "junk_within_limit", pad: 10, tail: "junk", status: 400, errText: "bad JSON"},
		{name: "second_object_within_limit", pad: 1, tail: "{}", status: 400, errText: "bad JSON"},
		{name: "blanks_one_past_limit", pad: maxBody - int64(len(obj)) + 1, status: 413, errText: "request body too large"},
		{name: "64MiB_blanks_then_junk", pad: 64 << 20, tail: "junk", status: 413, errText: "request body too large"},
		{name: "64MiB_blanks_only", pad: 64 << 20, status: 413, errText: "request body too large"},
	}
	srv := newServer(&reputation.Scorer{Sources: []reputation.Source{feed(t)}, AllowSpecial: true}, config{MaxBody: maxBody}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pad := &spaces{n: tt.pad}
			rec := postReader(t, srv, io.MultiReader(strings.NewReader(obj), pad, strings.NewReader(tt.tail)))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if read := int64(len(obj)) + pad.read; read > 2*maxBody+64<<10 {
				t.Errorf("the handler read %d bytes of the body, want about the %d-byte limit", read, maxBody)
			}
			if tt.errText != "" {
				var e errorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error != tt.errText {
					t.Errorf("error body %s (%v), want error %q", rec.Body, err, tt.errText)
				}
			}
		})
	}
}

// The same over a real connection: the server answers 413 without reading
// the rest of a large body.
func TestBodyLimitOverHTTP(t *testing.T) {
	t.Parallel()
	ts := start(t, newServer(&reputation.Scorer{Sources: []reputation.Source{feed(t)}, AllowSpecial: true}, config{MaxBody: 256}, nil))
	pad := &spaces{n: 32 << 20}
	req, err := http.NewRequestWithContext(t.Context(), "POST", ts.URL+"/v1/score",
		io.MultiReader(strings.NewReader(`{"prefix": "198.51.100.0/24"}`), pad, strings.NewReader("junk")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

func TestContentTypeMustBeJSON(t *testing.T) {
	t.Parallel()
	srv := newServer(&reputation.Scorer{Sources: []reputation.Source{feed(t)}, AllowSpecial: true}, config{}, nil)
	tests := []struct {
		name, ct string
		status   int
	}{
		{name: "json", ct: "application/json", status: 200},
		{name: "json_charset", ct: "application/json; charset=utf-8", status: 200},
		{name: "json_upper_case", ct: "Application/JSON", status: 200},
		{name: "none", ct: "", status: 415},
		{name: "form", ct: "application/x-www-form-urlencoded", status: 415},
		{name: "multipart", ct: "multipart/form-data; boundary=x", status: 415},
		{name: "text_plain", ct: "text/plain", status: 415},
		{name: "garbage", ct: "json;;;", status: 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequestWithContext(t.Context(), "POST", "/v1/score", strings.NewReader(`{"prefix": "198.51.100.0/24"}`))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Errorf("Content-Type %q: status %d, want %d; body %s", tt.ct, rec.Code, tt.status, rec.Body)
			}
			if tt.status == 415 && !strings.Contains(rec.Body.String(), "application/json") {
				t.Errorf("415 body %s does not name application/json", rec.Body)
			}
		})
	}
}

// A body that stops arriving gets 408 when the server's read timeout
// expires, not 400 "bad JSON".
func TestSlowBodyIs408(t *testing.T) {
	t.Parallel()
	ts := httptest.NewUnstartedServer(newServer(&reputation.Scorer{Sources: []reputation.Source{feed(t)}, AllowSpecial: true}, config{}, nil))
	ts.Config.ReadTimeout = 300e6 // 300ms
	ts.Start()
	t.Cleanup(ts.Close)
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"prefix\": ")
	// The response arrives when the server gives up on the body.
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !bytes.Contains(b, []byte("too slow")) {
		t.Errorf("status %d, body %s; want 408", resp.StatusCode, b)
	}
}
