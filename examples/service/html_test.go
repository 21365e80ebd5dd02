package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/reputation"
)

func TestScoreHTML(t *testing.T) {
	t.Parallel()
	srv := newServer(&reputation.Scorer{Sources: []reputation.Source{feed(t), mirror(t)}, AllowSpecial: true}, config{}, nil)
	post := func(accept string) *http.Response {
		req := httptest.NewRequestWithContext(t.Context(), "POST", "/v1/score", strings.NewReader(`{"prefix": "198.51.100.0/24"}`))
		req.Header.Set("Content-Type", "application/json")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Result()
	}
	tests := []struct {
		name   string
		accept string
		html   bool
	}{
		{"none", "", false},
		{"json", "application/json", false},
		{"any", "*/*", false},
		{"html", "text/html", true},
		{"browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true},
		{"json_preferred", "text/html;q=0.5, application/json", false},
		{"html_preferred", "application/json;q=0.4, text/html", true},
		{"same_quality_json_first", "application/json, text/html", false},
		{"html_refused", "text/html;q=0", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := post(tc.accept)
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if v := resp.Header.Get("Vary"); v != "Accept" {
				t.Errorf("Vary = %q, want Accept", v)
			}
			ct := resp.Header.Get("Content-Type")
			if !tc.html {
				var rep reputation.Report
				if ct != "application/json" || json.Unmarshal(body, &rep) != nil {
					t.Errorf("Accept %q: Content-Type %q, body %.100s; want the JSON report", tc.accept, ct, body)
				}
				return
			}
			if ct != "text/html; charset=utf-8" {
				t.Fatalf("Accept %q: Content-Type %q, want text/html", tc.accept, ct)
			}
			m := regexp.MustCompile(`<script type="application/json" id="prefixvet-report">(.*?)</script>`).FindSubmatch(body)
			var rep reputation.Report
			if m == nil || json.Unmarshal(m[1], &rep) != nil {
				t.Fatalf("page has no embedded report: %.300s", body)
			}
			if rep.Prefix.String() != "198.51.100.0/24" || !strings.Contains(string(body), "198.51.100.9") {
				t.Errorf("page is not the report of 198.51.100.0/24 (embedded %s)", rep.Prefix)
			}
		})
	}
}
