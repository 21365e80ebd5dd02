package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

// scrape parses a text exposition into "name{l1=v1,l2=v2}" -> value, with
// labels in the order the exposition gives them (sorted by name). A
// histogram contributes name_count and name_sum.
func scrape(t *testing.T, text string) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing the exposition: %v\n%s", err, text)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "prefixvet_") {
			t.Errorf("metric %s lacks the prefixvet_ prefix", name)
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			key := name + "{" + strings.Join(ls, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[name+"_count{"+strings.Join(ls, ",")+"}"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// failing answers every lookup with an error of the kind the address's
// last octet selects: .1 timeout, .2 refused, others not listed.
type failing struct{}

func (failing) Name() string { return "failing" }

func (failing) Lookup(_ context.Context, a netip.Addr) (reputation.Listing, error) {
	switch a.As4()[3] {
	case 1:
		return reputation.Listing{}, fmt.Errorf("%w: no answer for %s", sources.ErrTimeout, a)
	case 2:
		return reputation.Listing{}, fmt.Errorf("%w: for %s", sources.ErrRefused, a)
	}
	return reputation.Listing{}, nil
}

// The service is scraped after scoring, and every value is checked against
// the report the client got (and the DNS client's own counters).
func TestMetricsAgreeWithTheReport(t *testing.T) {
	t.Parallel()
	client := &dnsclient.Client{Servers: []string{dnsServer(t, false)}}
	t.Cleanup(func() { client.Close() })
	bl := &sources.DNSBL{Zone: sources.ZoneInfo{Zone: "bl.example.org", IPv4: true, Rate: 1000}, Client: client}
	srcs := []reputation.Source{bl, feed(t), failing{}}
	ts := start(t, newServer(&reputation.Scorer{Sources: srcs, AllowSpecial: true}, config{}, nil))

	r := do(t, "POST", ts.URL+"/v1/score", `{"prefix": "203.0.113.0/29"}`)
	if r.status != 200 {
		t.Fatalf("score: %d %s", r.status, r.body)
	}
	rep := decodeReport(t, r)
	if r := do(t, "POST", ts.URL+"/v1/score", `{"prefix": "nonsense"}`); r.status != 400 {
		t.Fatalf("bad request: %d", r.status)
	}
	m := do(t, "GET", ts.URL+"/metrics", "")
	if m.status != 200 {
		t.Fatalf("metrics: %d %s", m.status, m.body)
	}
	got := scrape(t, string(m.body))

	want := map[string]float64{
		"prefixvet_reports_total{verdict=" + string(rep.Verdict) + "}":     1,
		"prefixvet_scoring_duration_seconds_count{}":                       1,
		"prefixvet_http_requests_total{code=200,handler=/v1/score}":        1,
		"prefixvet_http_requests_total{code=400,handler=/v1/score}":        1,
		"prefixvet_source_status{source=bl.example.org,status=ok}":         1,
		"prefixvet_source_status{source=bl.example.org,status=refused}":    0,
		"prefixvet_lookups_total{outcome=timeout,source=failing}":          1,
		"prefixvet_lookups_total{outcome=refused,source=failing}":          1,
		"prefixvet_rate_limit_waits_total{source=bl.example.org}":          float64(bl.Stats().RateLimitWaits),
		"prefixvet_dns_queries_total{resolver=" + client.String() + "}":    float64(client.Stats().Queries),
		"prefixvet_dns_sent_total{resolver=" + client.String() + "}":       float64(client.Stats().Sent),
		"prefixvet_dns_cache_hits_total{resolver=" + client.String() + "}": float64(client.Stats().CacheHits),
	}
	for _, s := range rep.Sources {
		want["prefixvet_lookups_total{outcome=listed,source="+s.Name+"}"] = float64(s.Listed)
		want["prefixvet_lookups_total{outcome=not_listed,source="+s.Name+"}"] = float64(s.Queried - s.Listed - s.Errors)
		want["prefixvet_source_status{source="+s.Name+",status="+string(s.Status)+"}"] = 1
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	// The report's own numbers, as a sanity check of the fixture: the feed
	// lists the /30, the DNSBL answered 8 lookups, 2 of 8 failed.
	if got["prefixvet_lookups_total{outcome=listed,source=feed}"] != 1 ||
		got["prefixvet_lookups_total{outcome=not_listed,source=bl.example.org}"] != 8 ||
		got["prefixvet_lookups_total{outcome=not_listed,source=failing}"] != 6 {
		t.Errorf("lookup counters do not match the fixture:\n%s", m.body)
	}
	if got["prefixvet_dns_queries_total{resolver="+client.String()+"}"] < 8 {
		t.Errorf("the DNS client counted fewer queries than the 8 lookups")
	}
}

func TestMetricsNeedTheToken(t *testing.T) {
	t.Parallel()
	ts := start(t, newServer(&reputation.Scorer{Sources: []reputation.Source{feed(t)}}, config{Token: "0123456789abcdef"}, nil))
	if r := do(t, "GET", ts.URL+"/metrics", ""); r.status != 401 {
		t.Errorf("/metrics without the token: %d, want 401", r.status)
	}
}
