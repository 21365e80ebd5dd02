package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/prefixvet/prefixvet/prefix"
	"github.com/prefixvet/prefixvet/reputation"
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
)

// config holds the handler's limits. A zero field means its default.
type config struct {
	MaxBody        int64         // request body bytes; larger bodies get 413
	MaxConcurrent  int           // scoring requests at once; more get 429
	RequestTimeout time.Duration // scoring time; then the partial report
}

// server is the HTTP face of a reputation.Scorer. Build it with newServer;
// it is safe for concurrent use.
type server struct {
	scorer *reputation.Scorer
	cfg    config
	sem    chan struct{}
	log    *slog.Logger
	mux    *http.ServeMux
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
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &server{scorer: s, cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent), log: log, mux: http.NewServeMux()}
	srv.mux.HandleFunc("/v1/score", srv.score)
	srv.mux.HandleFunc("/healthz", srv.healthz)
	srv.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found", "endpoints: POST /v1/score, GET /healthz", nil)
	})
	return srv
}

// ServeHTTP serves a request and writes its access record.
func (srv *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	srv.mux.ServeHTTP(rec, r)
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
	writeJSON(w, http.StatusOK, rep)
}

// decode reads the request body. A non-zero status is an error response.
func (srv *server) decode(w http.ResponseWriter, r *http.Request) (req scoreRequest, status int, msg, detail string) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, srv.cfg.MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
	}
	if err == nil {
		// Read to the end, so that an oversized trailer is caught too.
		if _, err2 := io.Copy(io.Discard, dec.Buffered()); err2 == nil {
			_, err = io.Copy(io.Discard, r.Body)
		}
	}
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return req, http.StatusRequestEntityTooLarge, "request body too large", fmt.Sprintf("the body may hold at most %d bytes", tooLarge.Limit)
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
