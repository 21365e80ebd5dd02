// Package metrics exports what the example programs learn while scoring as
// Prometheus metrics, built with the Prometheus Go client library: the
// service serves them on /metrics, rescore writes them for its last run to a
// file for node_exporter's textfile collector.
//
// Every name starts with prefixvet_. The families:
//
//	prefixvet_lookups_total{source,outcome}          counter: listed, not_listed, or the
//	                                                 error kind of a lookup that got no answer
//	                                                 (refused, rate_limited, bad_key, unknown_zone,
//	                                                 servfail, timeout, bogus_answer, unsupported,
//	                                                 canceled, error)
//	prefixvet_source_status{source,status}           gauge: 1 for the source's last known
//	                                                 status (ok, degraded, refused, dead,
//	                                                 unreachable), 0 for the others
//	prefixvet_reports_total{verdict}                 counter: reports by verdict
//	prefixvet_scoring_duration_seconds               histogram: time to score one block
//	prefixvet_dns_queries_total{resolver}            counter: exchanges asked of the DNS client
//	prefixvet_dns_sent_total{resolver}               counter: UDP queries sent
//	prefixvet_dns_retries_total{resolver}            counter: UDP queries sent again
//	prefixvet_dns_timeouts_total{resolver}           counter: attempts without an answer in time
//	prefixvet_dns_tcp_fallbacks_total{resolver}      counter: truncated answers asked again over TCP
//	prefixvet_dns_cache_hits_total{resolver}         counter: answers from the cache
//	prefixvet_dns_shared_total{resolver}             counter: answers shared with an identical query in flight
//	prefixvet_dns_discarded_total{resolver,reason}   counter: answers dropped (mismatch, unmatched, malformed)
//	prefixvet_dns_errors_total{resolver}             counter: exchanges that failed
//	prefixvet_rate_limit_waits_total{source}         counter: queries that waited for the zone's rate limit
//	prefixvet_rate_limit_wait_seconds_total{source}  counter: the time they waited
//	prefixvet_http_requests_total{handler,code}      counter: HTTP requests (service only)
//
// The lookup counters come from the reports themselves (their sources and
// unknown lookups), so they agree with what a client was told. The DNS and
// rate-limit counters are read from the sources' Stats methods when the
// metrics are gathered; the library itself does not depend on Prometheus.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

// Metrics holds the metric families of one program. It is safe for
// concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	lookups  *prometheus.CounterVec
	status   *prometheus.GaugeVec
	reports  *prometheus.CounterVec
	duration prometheus.Histogram
	http     *prometheus.CounterVec
}

// New returns the metrics of a program scoring with srcs, registered in a
// registry of their own (not the global default one). The DNS client and
// rate-limit counters are those of the [sources.DNSBL]s among srcs.
func New(srcs []reputation.Source) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prefixvet_lookups_total",
			Help: "Lookups by source and outcome: listed, not_listed, or the kind of error of a lookup that got no answer.",
		}, []string{"source", "outcome"}),
		status: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "prefixvet_source_status",
			Help: "1 for the last known health status of each source, 0 for the other statuses.",
		}, []string{"source", "status"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prefixvet_reports_total",
			Help: "Reports by verdict.",
		}, []string{"verdict"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "prefixvet_scoring_duration_seconds",
			Help:    "Time to score one block.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		http: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prefixvet_http_requests_total",
			Help: "HTTP requests by handler and status code.",
		}, []string{"handler", "code"}),
	}
	m.reg.MustRegister(m.lookups, m.status, m.reports, m.duration, newStatsCollector(srcs))
	for _, s := range srcs {
		m.setStatus(s.Name(), reputation.StatusOK)
		for _, v := range []string{"listed", "not_listed"} {
			m.lookups.WithLabelValues(s.Name(), v)
		}
	}
	for _, v := range []reputation.Verdict{reputation.VerdictClean, reputation.VerdictReview, reputation.VerdictReject, reputation.VerdictIncomplete} {
		m.reports.WithLabelValues(string(v))
	}
	return m
}

// EnableHTTP registers prefixvet_http_requests_total; only a server calls
// it, so that rescore's file does not carry an always-empty family.
func (m *Metrics) EnableHTTP() {
	m.reg.MustRegister(m.http)
}

// Observe counts one report: its verdict, its duration, each source's
// lookups by outcome and each source's status.
func (m *Metrics) Observe(rep *reputation.Report) {
	m.reports.WithLabelValues(string(rep.Verdict)).Inc()
	m.duration.Observe(float64(rep.DurationMS) / 1000)
	for _, s := range rep.Sources {
		m.setStatus(s.Name, s.Status)
		m.lookups.WithLabelValues(s.Name, "listed").Add(float64(s.Listed))
		m.lookups.WithLabelValues(s.Name, "not_listed").Add(float64(max(0, s.Queried-s.Listed-s.Errors)))
	}
	for _, u := range rep.Unknown {
		m.lookups.WithLabelValues(u.Source, Outcome(u.Err)).Inc()
	}
}

// ObserveHealth records the statuses of a probe (reputation.Scorer.Probe).
func (m *Metrics) ObserveHealth(srs []reputation.SourceReport) {
	for _, s := range srs {
		m.setStatus(s.Name, s.Status)
	}
}

// HTTPRequest counts one HTTP request answered with code.
func (m *Metrics) HTTPRequest(handler string, code int) {
	m.http.WithLabelValues(handler, strconv.Itoa(code)).Inc()
}

func (m *Metrics) setStatus(source string, st reputation.Status) {
	statuses := [...]reputation.Status{reputation.StatusOK, reputation.StatusDegraded, reputation.StatusRefused, reputation.StatusDead, reputation.StatusUnreachable}
	for _, s := range statuses {
		v := 0.0
		if s == st {
			v = 1
		}
		m.status.WithLabelValues(source, string(s)).Set(v)
	}
}

// Registry returns the registry holding the metrics, for a program that adds
// its own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// WriteFile writes the metrics to path in the text format read by
// node_exporter's textfile collector, atomically: into a temporary file in
// the same directory, renamed over path when complete, so the collector
// never reads half a file.
func (m *Metrics) WriteFile(path string) error {
	return prometheus.WriteToTextfile(path, m.reg)
}

// Outcome names the kind of a lookup error, as in the outcome label of
// prefixvet_lookups_total.
func Outcome(err error) string {
	switch {
	case errors.Is(err, sources.ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, sources.ErrRefused):
		return "refused"
	case errors.Is(err, sources.ErrBadKey):
		return "bad_key"
	case errors.Is(err, sources.ErrUnknownZone):
		return "unknown_zone"
	case errors.Is(err, sources.ErrServFail):
		return "servfail"
	case errors.Is(err, sources.ErrBogusAnswer):
		return "bogus_answer"
	case errors.Is(err, sources.ErrUnsupported):
		return "unsupported"
	case errors.Is(err, sources.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "error"
}

// dnsStatser is what a DNS client offers to be counted ([dnsclient.Client]).
type dnsStatser interface {
	Stats() dnsclient.Stats
	String() string
}

// statsCollector reads the DNS clients' and the DNSBLs' counters when the
// metrics are gathered.
type statsCollector struct {
	clients []dnsStatser
	dnsbls  []*sources.DNSBL

	queries, sent, retries, timeouts, tcp, hits, shared, discarded, errs *prometheus.Desc
	waits, waited                                                        *prometheus.Desc
}

func newStatsCollector(srcs []reputation.Source) *statsCollector {
	c := &statsCollector{}
	seen := map[dnsStatser]bool{}
	for _, s := range srcs {
		bl, ok := s.(*sources.DNSBL)
		if !ok {
			continue
		}
		c.dnsbls = append(c.dnsbls, bl)
		if cl, ok := bl.Client.(dnsStatser); ok && !seen[cl] {
			seen[cl] = true
			c.clients = append(c.clients, cl)
		}
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	c.queries = desc("prefixvet_dns_queries_total", "Exchanges asked of the DNS client.", "resolver")
	c.sent = desc("prefixvet_dns_sent_total", "UDP queries sent.", "resolver")
	c.retries = desc("prefixvet_dns_retries_total", "UDP queries sent again after a first attempt.", "resolver")
	c.timeouts = desc("prefixvet_dns_timeouts_total", "Attempts that got no answer in time.", "resolver")
	c.tcp = desc("prefixvet_dns_tcp_fallbacks_total", "Truncated answers asked again over TCP.", "resolver")
	c.hits = desc("prefixvet_dns_cache_hits_total", "Answers taken from the cache.", "resolver")
	c.shared = desc("prefixvet_dns_shared_total", "Answers shared with an identical query in flight.", "resolver")
	c.discarded = desc("prefixvet_dns_discarded_total", "Answers discarded: mismatch (other question), unmatched (unknown ID), malformed.", "resolver", "reason")
	c.errs = desc("prefixvet_dns_errors_total", "Exchanges that ended with an error.", "resolver")
	c.waits = desc("prefixvet_rate_limit_waits_total", "Queries that waited for the zone's rate limit.", "source")
	c.waited = desc("prefixvet_rate_limit_wait_seconds_total", "Time queries waited for the zone's rate limit.", "source")
	return c
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queries, c.sent, c.retries, c.timeouts, c.tcp, c.hits, c.shared, c.discarded, c.errs, c.waits, c.waited} {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, cl := range c.clients {
		st, name := cl.Stats(), cl.String()
		counter(c.queries, st.Queries, name)
		counter(c.sent, st.Sent, name)
		counter(c.retries, st.Retries, name)
		counter(c.timeouts, st.Timeouts, name)
		counter(c.tcp, st.TCP, name)
		counter(c.hits, st.CacheHits, name)
		counter(c.shared, st.Shared, name)
		counter(c.discarded, st.Mismatches, name, "mismatch")
		counter(c.discarded, st.Unmatched, name, "unmatched")
		counter(c.discarded, st.Malformed, name, "malformed")
		counter(c.errs, st.Errors, name)
	}
	for _, bl := range c.dnsbls {
		st := bl.Stats()
		counter(c.waits, st.RateLimitWaits, bl.Name())
		ch <- prometheus.MustNewConstMetric(c.waited, prometheus.CounterValue, st.RateLimitWait.Seconds(), bl.Name())
	}
}
