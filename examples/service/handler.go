package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prefixvet/prefixvet/examples/internal/metrics"
	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/reputation/htmlreport"
)

// Limits of the handler, with their defaults.
const (
	defaultMaxBody        = 4 << 10
	defaultMaxConcurrent  = 4
	defaultRequestTimeout = 30 * time.Second
	// minBitsV4 and minBitsV6: shorter prefixes are refused as unreasonable.
	minBitsV4 = 8
	minBitsV6 = 16
	// retryAfter is the Retry-After of a 429, in seconds.
	retryAfter = 1
	// defaultMaxPerClient is the number of blocks one client may have
	// scored at once.
	defaultMaxPerClient = 2
)

// config holds the handler's limits. A zero field means its default.
type config struct {
	MaxBody        int64         // request body bytes; larger bodies get 413
	MaxConcurrent  int           // scoring requests at once; more get 429
	MaxPerClient   int           // scoring requests of one client at once; more get 429
	RequestTimeout time.Duration // scoring time; then the partial report
	// Token, if not empty, is the bearer token that /v1/score and /metrics
	// require (Authorization: Bearer TOKEN); others get 401.
	Token string
	// Metrics receives what the service observes; nil means metrics of
	// the scorer's sources made by newServer.
	Metrics *metrics.Metrics
	// ClientHeader, if not empty, names the request header that carries the
	// client's address, set by a trusted reverse proxy (X-Forwarded-For:
	// its last address; any other header: its whole value). Empty means the
	// client is the connection's remote address.
	ClientHeader string
}

// server is the HTTP face of a reputation.Scorer. Build it with newServer;
// it is safe for concurrent use.
type server struct {
	scorer  *reputation.Scorer
	cfg     config
	sem     chan struct{}
	clients clientLimit
	metrics *metrics.Metrics
	token   [sha256.Size]byte // of cfg.Token
	log     *slog.Logger
	mux     *http.ServeMux
}

// newServer returns the handler of the service for s. Special-purpose
// space is scored only if s.AllowSpecial is set; larger blocks than
// s.MaxAddrs are sampled. log receives one access record per request; nil
// means silent.
func newServer(s *reputation.Scorer, cfg config, log *slog.Logger) *server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = defaultMaxBody
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = defaultMaxConcurrent
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = defaultRequestTimeout
	}
	if cfg.MaxPerClient <= 0 {
		cfg.MaxPerClient = defaultMaxPerClient
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &server{scorer: s, cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent), log: log, mux: http.NewServeMux()}
	srv.clients = clientLimit{max: cfg.MaxPerClient, n: map[string]int{}}
	srv.token = sha256.Sum256([]byte(cfg.Token))
	srv.metrics = cfg.Metrics
	if srv.metrics == nil {
		srv.metrics = metrics.New(s.Sources)
	}
	srv.metrics.EnableHTTP()
	srv.mux.HandleFunc("/metrics", srv.serveMetrics)
	srv.mux.HandleFunc("/v1/score", srv.score)
	srv.mux.HandleFunc("/healthz", srv.healthz)
	srv.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found", "endpoints: POST /v1/score, GET /healthz, GET /metrics", nil)
	})
	return srv
}

// ServeHTTP serves a request and writes its access record.
func (srv *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	srv.mux.ServeHTTP(rec, r)
	srv.metrics.HTTPRequest(handlerName(r.URL.Path), rec.status)
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", rec.status),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", time.Since(start)),
		slog.String("remote", r.RemoteAddr),
	}
	srv.log.LogAttrs(r.Context(), slog.LevelInfo, "request", append(attrs, rec.attrs...)...)
}

// handlerName is the handler label of prefixvet_http_requests_total: the
// path of a known endpoint, "other" for the rest (so that scanners cannot
// create a series per path they try).
func handlerName(path string) string {
	switch path {
	case "/v1/score", "/healthz", "/metrics":
		return path
	}
	return "other"
}

// serveMetrics serves GET /metrics in the Prometheus formats.
func (srv *server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed", r.Method+" /metrics: use GET", nil)
		return
	}
	if !srv.authorized(w, r) {
		return
	}
	srv.metrics.Handler().ServeHTTP(w, r)
}

// recorder remembers the status and size of a response, and attributes
// the handlers add to the access record.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	attrs       []slog.Attr
}

func (rec *recorder) WriteHeader(code int) {
	if !rec.wroteHeader {
		rec.status, rec.wroteHeader = code, true
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	rec.wroteHeader = true
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

func logAttrs(w http.ResponseWriter, attrs ...slog.Attr) {
	if rec, ok := w.(*recorder); ok {
		rec.attrs = append(rec.attrs, attrs...)
	}
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error  string `json:"error"`
	Detail string `json:"detail"`
	// Blocks lists the CIDR blocks of a range that is not one block.
	Blocks []netip.Prefix `json:"blocks,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal error","detail":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client is gone; the access log has the status
}

func writeError(w http.ResponseWriter, status int, msg, detail string, blocks []netip.Prefix) {
	logAttrs(w, slog.String("error", msg))
	writeJSON(w, status, errorBody{Error: msg, Detail: detail, Blocks: blocks})
}

// scoreRequest is the body of POST /v1/score.
type scoreRequest struct {
	Prefix string `json:"prefix"`
}

// score serves POST /v1/score.
func (srv *server) score(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method not allowed", r.Method+" /v1/score: use POST with a JSON body {\"prefix\": \"198.51.100.0/24\"}", nil)
		return
	}
	if !srv.authorized(w, r) {
		return
	}
	req, status, msg, detail := srv.decode(w, r)
	if status != 0 {
		writeError(w, status, msg, detail, nil)
		return
	}
	p, ok := srv.checkPrefix(w, req.Prefix)
	if !ok {
		return
	}
	logAttrs(w, slog.String("prefix", p.String()))

	client := srv.client(r)
	if !srv.clients.acquire(client) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		writeError(w, http.StatusTooManyRequests, "too many requests from this client",
			fmt.Sprintf("%s has %d blocks being scored, the most one client may; retry after %d s", client, srv.cfg.MaxPerClient, retryAfter), nil)
		return
	}
	defer srv.clients.release(client)

	select {
	case srv.sem <- struct{}{}:
		defer func() { <-srv.sem }()
	default:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		writeError(w, http.StatusTooManyRequests, "too many requests",
			fmt.Sprintf("%d blocks are being scored, the most this service scores at once; retry after %d s", cap(srv.sem), retryAfter), nil)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), srv.cfg.RequestTimeout)
	defer cancel()
	rep, err := srv.scorer.Score(ctx, p)
	if rep != nil {
		srv.metrics.Observe(rep)
	}
	switch {
	case err == nil:
	case errors.Is(err, reputation.ErrNoUsableSources):
		writeError(w, http.StatusServiceUnavailable, "no usable sources", err.Error(), nil)
		return
	case errors.Is(err, prefix.ErrSpecialPurpose):
		writeError(w, http.StatusUnprocessableEntity, "special-purpose address space", err.Error(), nil)
		return
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "request cancelled", "the client went away before the block was scored", nil)
		return
	case rep != nil && errors.Is(err, reputation.ErrNoUsableZones):
		// Scored on feeds and mirrors only; the report's sources say why
		// each zone was not used, and its verdict is never clean.
		logAttrs(w, slog.String("warning", "no usable DNSBL zone"))
	case rep != nil && errors.Is(err, context.DeadlineExceeded):
		// The request timeout: the partial report, verdict incomplete,
		// interrupted set. It says what was checked; it is never clean.
		logAttrs(w, slog.String("partial", "request timeout"))
	default:
		writeError(w, http.StatusInternalServerError, "scoring failed", err.Error(), nil)
		return
	}
	logAttrs(w, slog.String("verdict", string(rep.Verdict)), slog.Float64("score", rep.Score))
	writeReport(w, r, rep)
}

// writeReport writes the report as JSON, or as the HTML page of package
// htmlreport when the request's Accept header prefers text/html.
func writeReport(w http.ResponseWriter, r *http.Request, rep *reputation.Report) {
	w.Header().Add("Vary", "Accept")
	if !prefersHTML(r.Header.Values("Accept")) {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	var page bytes.Buffer
	if err := htmlreport.Write(&page, []*reputation.Report{rep}, htmlreport.Options{}); err != nil {
		writeError(w, http.StatusInternalServerError, "internal error", "rendering the HTML page failed", nil)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(page.Bytes()) //nolint:errcheck // the client is gone; the access log has the status
}

// prefersHTML reports whether an Accept header asks for text/html rather
// than JSON: text/html is named with a higher quality than
// application/json, or the same quality and first. Wildcards choose JSON.
func prefersHTML(accept []string) bool {
	qHTML, qJSON := -1.0, -1.0
	htmlFirst := false
	for _, v := range accept {
		for _, part := range strings.Split(v, ",") {
			fields := strings.Split(part, ";")
			typ := strings.ToLower(strings.TrimSpace(fields[0]))
			q := 1.0
			for _, f := range fields[1:] {
				if k, val, ok := strings.Cut(strings.TrimSpace(f), "="); ok && strings.EqualFold(k, "q") {
					if x, err := strconv.ParseFloat(val, 64); err == nil {
						q = x
					}
				}
			}
			switch typ {
			case "text/html":
				if qHTML < 0 {
					htmlFirst = qJSON < 0
				}
				qHTML = max(qHTML, q)
			case "application/json":
				qJSON = max(qJSON, q)
			}
		}
	}
	return qHTML > 0 && (qHTML > qJSON || qHTML == qJSON && htmlFirst)
}

// decode reads the request body. A non-zero status is an error response.
//
// The whole body is read through http.MaxBytesReader before it is parsed,
// so the limit holds for every byte, whatever it is (a valid object followed
// by gigabytes of white space is 413 after MaxBody+1 bytes, not a 200 after
// the read timeout). Only white space may follow the object; anything else
// is 400. A body that stops arriving is 408 once the server's read timeout
// expires.
func (srv *server) decode(w http.ResponseWriter, r *http.Request) (req scoreRequest, status int, msg, detail string) {
	if status, msg, detail := checkContentType(r); status != 0 {
		return req, status, msg, detail
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, srv.cfg.MaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return req, http.StatusRequestEntityTooLarge, "request body too large", fmt.Sprintf("the body may hold at most %d bytes", tooLarge.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return req, http.StatusRequestTimeout, "request body too slow", "the body did not arrive within the server's read timeout"
	case err != nil:
		return req, http.StatusBadRequest, "bad request body", err.Error()
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(&req)
	if err == nil && len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0 {
		err = errors.New("unexpected data after the JSON object")
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return req, http.StatusBadRequest, "bad JSON", `empty body; send {"prefix": "198.51.100.0/24"}`
	case errors.As(err, &typeErr):
		return req, http.StatusBadRequest, "bad JSON", fmt.Sprintf("field %q must be a %s, got a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case err != nil && isUnknownField(err):
		return req, http.StatusBadRequest, "unknown field", err.Error() + `; the only field is "prefix"`
	case err != nil:
		return req, http.StatusBadRequest, "bad JSON", err.Error()
	case req.Prefix == "":
		return req, http.StatusBadRequest, "missing prefix", `send {"prefix": "198.51.100.0/24"}: a CIDR block, an address or a range that is one block`
	}
	return req, 0, "", ""
}

// checkContentType accepts only application/json (with any parameters,
// such as charset=utf-8). A browser can send a form (or text/plain) to any
// site without a CORS preflight; it cannot send application/json cross-site
// without one, so this check keeps web pages from making their visitors'
// browsers post blocks to the service.
func checkContentType(r *http.Request) (status int, msg, detail string) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		if ct == "" {
			ct = "none"
		}
		return http.StatusUnsupportedMediaType, "unsupported media type", fmt.Sprintf("Content-Type %s: send application/json", ct)
	}
	return 0, "", ""
}

func isUnknownField(err error) bool {
	const marker = "json: unknown field "
	s := err.Error()
	return len(s) >= len(marker) && s[:len(marker)] == marker
}

// checkPrefix parses the requested prefix and checks that it is one
// reasonable block that may be scored. It writes the error response and
// returns false otherwise.
func (srv *server) checkPrefix(w http.ResponseWriter, text string) (netip.Prefix, bool) {
	rg, err := prefix.Parse(text)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad prefix", err.Error(), nil)
		return netip.Prefix{}, false
	}
	var blocks []netip.Prefix
	for p := range rg.Prefixes() {
		blocks = append(blocks, p)
	}
	if len(blocks) != 1 {
		writeError(w, http.StatusBadRequest, "not one CIDR block",
			fmt.Sprintf("%s spans %d CIDR blocks; score each block with its own request", rg, len(blocks)), blocks)
		return netip.Prefix{}, false
	}
	p := prefix.Unmap(blocks[0])
	if p.Addr().Is4() && p.Bits() < minBitsV4 || p.Addr().Is6() && p.Bits() < minBitsV6 {
		writeError(w, http.StatusBadRequest, "block too wide",
			fmt.Sprintf("%s is wider than an IPv4 /%d or an IPv6 /%d; score its parts", p, minBitsV4, minBitsV6), nil)
		return netip.Prefix{}, false
	}
	if !srv.scorer.AllowSpecial {
		if err := prefix.CheckVettable(p); err != nil {
			writeError(w, http.StatusUnprocessableEntity, "special-purpose address space", err.Error()+" (the service was started without -allow-special)", nil)
			return netip.Prefix{}, false
		}
	}
	return p, true
}

// authorized checks the bearer token, if the service has one, in constant
// time (both sides are hashed first, so neither the content nor the length
// of the token leaks through timing). It writes 401 and returns false
// otherwise.
func (srv *server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if srv.cfg.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
	if ok && subtle.ConstantTimeCompare(sum[:], srv.token[:]) == 1 {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="prefixvet"`)
	writeError(w, http.StatusUnauthorized, "unauthorized", "send the service's token as Authorization: Bearer TOKEN", nil)
	return false
}

// client names the client of r for the per-client limit: its address, or
// its /64 for IPv6 (one host usually holds a whole /64). Behind a trusted
// reverse proxy (cfg.ClientHeader) the address comes from the proxy's
// header; a request without a usable header counts as the proxy itself.
func (srv *server) client(r *http.Request) string {
	if h := srv.cfg.ClientHeader; h != "" {
		v := r.Header.Values(h)
		if len(v) > 0 {
			last := v[len(v)-1]
			if strings.EqualFold(h, "X-Forwarded-For") {
				// The trusted proxy appends the address it saw; what
				// comes before it is whatever the client claimed.
				last = last[strings.LastIndexByte(last, ',')+1:]
			}
			if a, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return clientKey(a)
			}
		}
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return clientKey(ap.Addr())
	}
	return r.RemoteAddr
}

func clientKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return p.String()
	}
	return a.String()
}

// clientLimit counts the scoring requests in flight per client.
type clientLimit struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func (c *clientLimit) acquire(client string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[client] >= c.max {
		return false
	}
	c.n[client]++
	return true
}

func (c *clientLimit) release(client string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[client]--; c.n[client] <= 0 {
		delete(c.n, client)
	}
}

// health is the body of GET /healthz.
type health struct {
	// Status is "ok" when at least one source is usable, "unavailable"
	// otherwise.
	Status  string                    `json:"status"`
	Usable  int                       `json:"usable"`
	Sources []reputation.SourceReport `json:"sources"`
}

// healthz serves GET /healthz: the zone health (Scorer.Probe), 200 when
// at least one source is usable, 503 otherwise.
func (srv *server) healthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed", r.Method+" /healthz: use GET", nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), srv.cfg.RequestTimeout)
	defer cancel()
	h := health{Status: "unavailable", Sources: srv.scorer.Probe(ctx)}
	srv.metrics.ObserveHealth(h.Sources)
	for _, s := range h.Sources {
		if s.Status.Usable() {
			h.Usable++
		}
	}
	status := http.StatusServiceUnavailable
	if h.Usable > 0 {
		h.Status, status = "ok", http.StatusOK
	}
	logAttrs(w, slog.Int("usable_sources", h.Usable))
	writeJSON(w, status, h)
}
