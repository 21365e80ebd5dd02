// Command service runs prefixvet inside a small HTTP JSON service: post a
// block, get its explained reputation report.
//
// Usage:
//
//	service [source flags] [-listen 127.0.0.1:8080] [flags]
//
// The source flags -resolver, -zones, -feed, -zonefile, -vrps, -rir-stats,
// -origins, -asn-drop and -expect-origin select the sources as for the vet
// command (see examples/internal/setup); they are loaded once at start and
// the zones are probed then (the outcome is logged).
//
// # Endpoints
//
// POST /v1/score with Content-Type application/json and the body
// {"prefix": "198.51.100.0/24"} returns
// the reputation.Report as JSON with status 200. The prefix may be written
// in any form prefix.Parse accepts (a CIDR block, an address, a range, a
// netmask) but must be one CIDR block. A block with more than -max-addrs
// addresses is still scored, but sampled: per-address sources are asked
// about -max-addrs addresses drawn uniformly (the report says "sampled":
// true, with the seed and addresses_checked); IPv6 blocks wider than a /64
// are always sampled one address per /64. When -request-timeout expires the
// response is still 200 with the partial report: verdict "incomplete",
// "interrupted": true, and the lookups that got no answer in "unknown". It
// is never "clean"; a client retries later or alerts, as for any incomplete
// verdict. (A 504 would discard the answers obtained.)
//
// With "Accept: text/html" (preferred over application/json) the same
// report comes as a self-contained HTML page (package reputation/htmlreport)
// with the report's JSON embedded; errors stay JSON.
//
// GET /healthz probes the sources (reputation.Scorer.Probe) and returns
// {"status": "ok"|"unavailable", "usable": N, "sources": [...]}: 200 when at
// least one source is usable, 503 otherwise.
//
// GET /metrics serves Prometheus metrics (prefixvet_*: lookups by source
// and outcome, source health, reports by verdict, scoring duration, DNS
// client counters, rate-limit waits, HTTP requests by code; the list is in
// examples/internal/metrics). With -token-file it needs the token, as
// /v1/score does: Prometheus sends it with "authorization: {credentials_file: ...}".
//
// Errors are JSON objects {"error": "...", "detail": "..."}:
//
//	400  bad JSON, unknown field, missing prefix, unparsable prefix, a range
//	     that spans several CIDR blocks (then "blocks" lists them), or a block
//	     wider than an IPv4 /8 or an IPv6 /16
//	404  unknown path
//	405  wrong method (the Allow header names the right one)
//	408  the body did not arrive within the read timeout (30 s)
//	413  body larger than -max-body, whatever its bytes (white space too)
//	415  Content-Type is not application/json (browsers cannot send that
//	     cross-site without a CORS preflight, which the service never grants)
//	401  -token-file is set and the request lacks "Authorization: Bearer TOKEN"
//	422  special-purpose space (documentation, private, ...) without
//	     -allow-special; the detail names the registry entries
//	429  -max-concurrent blocks are being scored already, or this client
//	     has -max-per-client blocks being scored; Retry-After: 1
//	503  no source is usable (the detail names each one and why)
//
// # Exposure
//
// One request of 24 bytes can fan out to thousands of DNSBL queries (an
// IPv4 /20 is 4,096 addresses times each zone), which list operators count
// against the resolver's address. The service therefore listens on
// 127.0.0.1:8080 by default and must not be reachable by anyone who has no
// business scoring blocks: it refuses to start on a non-loopback -listen
// address without -token-file. With a token, /v1/score and /metrics answer
// 401 to requests without "Authorization: Bearer TOKEN" (compared in
// constant time); /healthz stays open for load balancers (its probes are
// cached by the sources). The token file holds one line of at least 16
// characters; generate it with e.g. "openssl rand -hex 32".
//
// Two limits protect the DNSBLs and the other clients: -max-concurrent
// blocks are scored at once over all clients, and -max-per-client at once
// for one client (429 past either). A client is the connection's remote
// address, or its /64 for IPv6.
//
// # Behind a reverse proxy
//
// Run the service on loopback with a token, and let the proxy terminate TLS
// and pass the Authorization header through. Every request then comes from
// the proxy's address, so the per-client limit would treat all clients as
// one: set -client-header to the header in which the proxy writes the
// client's address. Only do so when every request passes through that
// proxy, since a client that reaches the service directly could write any
// address there. With X-Forwarded-For the last address is used (the one
// the proxy appended); configure the proxy to append, not to pass the
// client's own list. For nginx:
//
//	location / {
//	    proxy_pass http://127.0.0.1:8080;
//	    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
//	    client_max_body_size 4k;
//	    proxy_read_timeout 60s;
//	}
//
// with "service -token-file /etc/prefixvet/token -client-header X-Forwarded-For".
// The proxy's read timeout should exceed -request-timeout, since a request
// that times out still returns 200 with the partial report.
//
// # Flags
//
//	-listen ADDR           address to listen on (default 127.0.0.1:8080; a
//	                       non-loopback address needs -token-file)
//	-max-body N            largest request body in bytes (default 4096)
//	-max-addrs N           blocks with more addresses are sampled (default 4096)
//	-max-concurrent N      blocks scored at once (default 4)
//	-max-per-client N      blocks one client may have scored at once (default 2)
//	-token-file FILE       bearer token required by /v1/score and /metrics
//	-client-header NAME    trusted proxy header with the client's address
//	-request-timeout D     scoring time of one request (default 30s)
//	-timeout D             time limit of one lookup (default 5s)
//	-shutdown-timeout D    grace period for requests in flight on SIGTERM (default 40s)
//	-allow-special         score special-purpose space
//
// Every request is logged to standard error (log/slog, text). On SIGINT or
// SIGTERM the service stops accepting connections and waits up to
// -shutdown-timeout for the requests in flight (http.Server.Shutdown).
//
// # Exit status
//
//	0  stopped by SIGINT or SIGTERM after a clean shutdown
//	1  the listener failed, or requests were still running at the shutdown deadline
//	2  usage or input error
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prefixvet/prefixvet/examples/internal/metrics"
	"github.com/prefixvet/prefixvet/examples/internal/setup"
	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the parsed command line.
type options struct {
	src             setup.Flags
	listen          string
	maxBody         int64
	maxAddrs        int
	maxConcurrent   int
	maxPerClient    int
	tokenFile       string
	token           string
	clientHeader    string
	requestTimeout  time.Duration
	timeout         time.Duration
	shutdownTimeout time.Duration
	allowSpecial    bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.src.Register(fs)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "`address` to listen on")
	fs.Int64Var(&o.maxBody, "max-body", defaultMaxBody, "largest request body in `bytes` (larger: 413)")
	fs.IntVar(&o.maxAddrs, "max-addrs", reputation.DefaultMaxAddrs, "blocks with more addresses are scored by sampling this many")
	fs.IntVar(&o.maxConcurrent, "max-concurrent", defaultMaxConcurrent, "blocks scored at once (more: 429 with Retry-After)")
	fs.IntVar(&o.maxPerClient, "max-per-client", defaultMaxPerClient, "blocks one client (an address, or an IPv6 /64) may have scored at once (more: 429)")
	fs.StringVar(&o.tokenFile, "token-file", "", "`file` holding the bearer token that /v1/score and /metrics require; required to listen on a non-loopback address")
	fs.StringVar(&o.clientHeader, "client-header", "", "request `header` with the client's address, set by a trusted reverse proxy (X-Forwarded-For: its last address); default: the connection's address")
	fs.DurationVar(&o.requestTimeout, "request-timeout", defaultRequestTimeout, "scoring time of one request; then the partial report, verdict incomplete")
	fs.DurationVar(&o.timeout, "timeout", reputation.DefaultTimeout, "time limit of one lookup")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", defaultRequestTimeout+10*time.Second, "grace period for requests in flight on SIGTERM")
	fs.BoolVar(&o.allowSpecial, "allow-special", false, "score special-purpose space (private, documentation, ...) instead of refusing it with 422")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: service [source flags] [-listen 127.0.0.1:8080] [flags]

service scores IP blocks over HTTP:
  POST /v1/score  {"prefix": "198.51.100.0/24"}  -> 200 and the report as JSON
  GET  /healthz                                   -> 200 if a source is usable, else 503
  GET  /metrics                                   -> Prometheus metrics (prefixvet_*)
Errors are {"error": ..., "detail": ...}: 400 bad request, 401 no or wrong
bearer token, 404, 405, 408 body too slow, 413 body too large, 415 not
application/json, 422 special-purpose space, 429 too busy overall or for this
client (Retry-After), 503 no usable source. On request timeout: 200 with
the partial report, verdict incomplete. Blocks larger than -max-addrs are sampled.

The service listens on 127.0.0.1 by default. Do not expose it without a
token: a non-loopback -listen needs -token-file. Behind a reverse proxy, see
-client-header and the package documentation.

Exit status: 0 clean shutdown on SIGINT/SIGTERM; 1 listener failure or
requests cut at the shutdown deadline; 2 usage or input error.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments %q: blocks are posted to /v1/score", fs.Args())
	case o.maxBody < 1:
		return nil, fmt.Errorf("-max-body must be at least 1, got %d", o.maxBody)
	case o.maxAddrs < 1:
		return nil, fmt.Errorf("-max-addrs must be at least 1, got %d", o.maxAddrs)
	case o.maxConcurrent < 1:
		return nil, fmt.Errorf("-max-concurrent must be at least 1, got %d", o.maxConcurrent)
	case o.maxPerClient < 1:
		return nil, fmt.Errorf("-max-per-client must be at least 1, got %d", o.maxPerClient)
	case o.requestTimeout <= 0 || o.timeout <= 0 || o.shutdownTimeout <= 0:
		return nil, errors.New("-request-timeout, -timeout and -shutdown-timeout must be positive")
	}
	if o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("-token-file: %w", err)
		}
		o.token = strings.TrimSpace(string(b))
		if len(o.token) < minTokenLen || strings.ContainsAny(o.token, " \t\r\n") {
			return nil, fmt.Errorf("-token-file %s: the token must be one line of at least %d characters without spaces", o.tokenFile, minTokenLen)
		}
	}
	if o.token == "" && !loopback(o.listen) {
		return nil, fmt.Errorf("-listen %s is not a loopback address: give a -token-file (one POST fans out to thousands of DNSBL queries, so the service must not be open to anyone who can reach it)", o.listen)
	}
	return o, nil
}

// minTokenLen is the shortest bearer token accepted.
const minTokenLen = 16

// loopback reports whether the listen address only accepts connections
// from this host.
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "service: %v\n", err)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	srcs, cleanup, err := o.src.Sources(ctx, stderr)
	defer cleanup()
	if err != nil {
		fmt.Fprintf(stderr, "service: %v\n", err)
		return exitUsage
	}
	scorer := &reputation.Scorer{
		Sources:      srcs,
		Timeout:      o.timeout,
		MaxAddrs:     o.maxAddrs,
		AllowSpecial: o.allowSpecial,
	}
	m := metrics.New(srcs)
	probe := scorer.Probe(ctx)
	m.ObserveHealth(probe)
	usable := 0
	for _, s := range probe {
		log.Info("source", "name", s.Name, "kind", s.Kind, "status", s.Status, "detail", s.Detail)
		if s.Status.Usable() {
			usable++
		}
	}
	if usable == 0 {
		log.Warn("no source is usable: /healthz answers 503 and scoring 503 until one is")
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		fmt.Fprintf(stderr, "service: %v\n", err)
		return exitFail
	}
	hs := &http.Server{
		Handler: newServer(scorer, config{
			MaxBody: o.maxBody, MaxConcurrent: o.maxConcurrent, MaxPerClient: o.maxPerClient,
			RequestTimeout: o.requestTimeout, Token: o.token, ClientHeader: o.clientHeader, Metrics: m,
		}, log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      o.requestTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// URL feeds are refreshed in the background, as politely as the
	// Fetcher allows; the scorer holds the same Fetchers, so it sees each
	// new copy atomically.
	refreshCtx, stopRefresh := context.WithCancel(ctx)
	defer stopRefresh()
	go func() {
		t := time.NewTicker(sources.DefaultMinInterval)
		defer t.Stop()
		for {
			select {
			case <-refreshCtx.Done():
				return
			case <-t.C:
				o.src.Refresh(refreshCtx, stderr)
			}
		}
	}()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-served:
		fmt.Fprintf(stderr, "service: %v\n", err)
		return exitFail
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", o.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "service: shutdown: %v\n", err)
		hs.Close()
		return exitFail
	}
	<-served // http.ErrServerClosed
	log.Info("stopped")
	return exitOK
}
