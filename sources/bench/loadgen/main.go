// Command loadgen measures the throughput and correctness of
// [github.com/prefixvet/prefixvet/sources/dnsclient.Client] against a DNSBL
// server on loopback (rbldnsd, started by dnsbl.sh beside it).
//
// It has two modes:
//
//	loadgen -zones DIR
//
// writes the benchmark data into DIR: eight rbldnsd ip4set zones
// z0..z7.bench.example.org over 198.18.0.0/20 (RFC 2544 benchmarking space,
// 4096 addresses), each listing a known deterministic subset, plus
// queries.txt, every (address, zone) question in dnsperf's format.
//
//	loadgen -server 127.0.0.1:PORT -queries DIR/queries.txt [-concurrency 16,64,256,1024]
//
// measures, for each concurrency setting in turn, first the physical limit
// with dnsperf against the same server for -dnsperf-time (so that both
// figures of a row are taken moments apart on a shared machine), then the
// client: passes over every (address, zone) question (32768), each through a
// fresh client (cache off, so the wire is measured), until -client-time has
// passed (at least one pass, at most 50). Every answer is checked against the
// zone data. It prints both queries/s, their ratio and the count of wrong
// and missing answers, and exits 1 if any answer was wrong or missing. Each
// pass is bounded by -maxtime, each dnsperf run by its -l.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

const (
	nZones = 8
	nAddrs = 4096 // 198.18.0.0/20
	suffix = ".bench.example.org"
)

// zoneName returns the name of zone z.
func zoneName(z int) string { return fmt.Sprintf("z%d%s", z, suffix) }

// addr returns the i-th address of 198.18.0.0/20.
func addr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}) }

// inRange reports whether address i lies in the /26 that zone z lists as a
// range: 198.18.(2z).0/26.
func inRange(z, i int) bool { return i >= z*512 && i < z*512+64 }

// expected returns the code zone z answers for address i, if listed: the
// range code 127.0.0.10 inside the zone's /26, else 127.0.0.(2+z%5) for
// every 7th address (shifted by z).
func expected(z, i int) (netip.Addr, bool) {
	if inRange(z, i) {
		return netip.AddrFrom4([4]byte{127, 0, 0, 10}), true
	}
	if (i+z)%7 == 0 {
		return netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + z%5)}), true
	}
	return netip.Addr{}, false
}

func qname(z, i int) string {
	a := addr(i).As4()
	return fmt.Sprintf("%d.%d.%d.%d.%s.", a[3], a[2], a[1], a[0], zoneName(z))
}

func writeZones(dir string) error {
	var q strings.Builder
	for z := range nZones {
		var b strings.Builder
		fmt.Fprintf(&b, "$SOA 60 ns%s. hostmaster%s. 1 3600 600 86400 60\n", suffix, suffix)
		fmt.Fprintf(&b, "$NS 60 ns%s.\n", suffix)
		fmt.Fprintf(&b, "$TTL 60\n")
		fmt.Fprintf(&b, ":127.0.0.2:listed in zone %d\n", z)
		fmt.Fprintf(&b, "198.18.%d.0/26 :127.0.0.10:range listed in zone %d\n", 2*z, z)
		for i := range nAddrs {
			if code, ok := expected(z, i); ok && !inRange(z, i) {
				fmt.Fprintf(&b, "%s :%s:listed in zone %d\n", addr(i), code, z)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("z%d.zone", z)), []byte(b.String()), 0o644); err != nil {
			return err
		}
		for i := range nAddrs {
			fmt.Fprintf(&q, "%s A\n", strings.TrimSuffix(qname(z, i), "."))
		}
	}
	return os.WriteFile(filepath.Join(dir, "queries.txt"), []byte(q.String()), 0o644)
}

type result struct {
	n, wrong, missing int
	elapsed           time.Duration
	stats             dnsclient.Stats
	firstWrong        string
}

// pass asks every question once at concurrency c through a fresh client.
// tuning holds the client fields the flags may set.
type tuning struct {
	sockets     int
	minTimeout  time.Duration
	maxInFlight int
}

// allNames returns every question, zone-major: names[z*nAddrs+i] is
// qname(z, i). It is built once so that the load loop measures the client,
// not fmt.
func allNames() []string {
	out := make([]string, 0, nZones*nAddrs)
	for z := range nZones {
		for i := range nAddrs {
			out = append(out, qname(z, i))
		}
	}
	return out
}

func pass(ctx context.Context, server string, names []string, c int, cfg tuning) result {
	client := &dnsclient.Client{
		Servers:     []string{server},
		CacheSize:   -1,
		Sockets:     cfg.sockets,
		MinTimeout:  cfg.minTimeout,
		MaxInFlight: cfg.maxInFlight,
	}
	defer client.Close()
	total := len(names)
	var next atomic.Int64
	var wrong, missing atomic.Int64
	var firstWrong sync.Once
	var res result
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= total || ctx.Err() != nil {
					return
				}
				z, i := k/nAddrs, k%nAddrs
				name := names[k]
				m, err := client.Exchange(ctx, name, dns.TypeA)
				if err != nil {
					missing.Add(1)
					continue
				}
				code, listed := expected(z, i)
				ok := false
				switch {
				case listed:
					ok = m.Rcode == dns.RcodeSuccess && len(m.Answer) == 1 && isA(m.Answer[0], name, code)
				default:
					ok = m.Rcode == dns.RcodeNameError && len(m.Answer) == 0
				}
				if !ok {
					wrong.Add(1)
					firstWrong.Do(func() { res.firstWrong = fmt.Sprintf("%s: %v", name, m) })
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.n = total
	res.wrong, res.missing = int(wrong.Load()), int(missing.Load())
	res.stats = client.Stats()
	return res
}

func isA(rr dns.RR, name string, want netip.Addr) bool {
	a, ok := rr.(*dns.A)
	if !ok || !strings.EqualFold(a.Hdr.Name, name) {
		return false
	}
	got, ok := netip.AddrFromSlice(a.A)
	return ok && got.Unmap() == want
}

// dnsperf runs dnsperf against server for secs seconds and returns its
// queries/s and its "lost" figure.
func dnsperf(server, queries string, inFlight, secs int) (float64, string, error) {
	host, port, err := net.SplitHostPort(server)
	if err != nil {
		return 0, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+30)*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "dnsperf", "-s", host, "-p", port, "-d", queries,
		"-c", "1", "-q", strconv.Itoa(inFlight), "-l", strconv.Itoa(secs), "-t", "2").Output()
	if err != nil {
		return 0, "", err
	}
	var qps float64
	lost := "?"
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "Queries per second:") && len(f) >= 4:
			qps, err = strconv.ParseFloat(f[3], 64)
			if err != nil {
				return 0, "", err
			}
		case strings.HasPrefix(strings.TrimSpace(line), "Queries lost:") && len(f) >= 3:
			lost = f[2]
		}
	}
	if qps == 0 {
		return 0, "", fmt.Errorf("no queries/s in output:\n%s", out)
	}
	return qps, lost, nil
}

func main() {
	zones := flag.String("zones", "", "write the zone files and queries.txt into this directory and exit")
	server := flag.String("server", "", "rbldnsd address ip:port")
	conc := flag.String("concurrency", "16,64,256,1024", "comma-separated concurrency settings")
	clientTime := flag.Duration("client-time", 3*time.Second, "measure the client for at least this long per concurrency")
	queries := flag.String("queries", "", "dnsperf query file; empty skips dnsperf")
	perfTime := flag.Int("dnsperf-time", 3, "dnsperf run time in seconds per concurrency")
	perfInFlight := flag.Int("dnsperf-q", 100, "dnsperf -q (queries in flight)")
	maxTime := flag.Duration("maxtime", 60*time.Second, "time limit of one pass")
	sockets := flag.Int("sockets", 0, "UDP sockets per server (0: client default)")
	minTimeout := flag.Duration("mintimeout", 0, "client MinTimeout (0: client default)")
	maxInFlight := flag.Int("maxinflight", 0, "client MaxInFlight (0: client default)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the client runs to this file")
	flag.Parse()

	if *zones != "" {
		if err := writeZones(*zones); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if *server == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -zones DIR or -server ip:port required")
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("%-11s %10s %10s %9s %6s %7s %8s %8s %8s %8s %9s\n", "concurrency", "dnsperf_qps", "dnsperf_lost", "client_qps", "ratio", "wrong", "missing", "retries", "timeouts", "discards", "questions")
	failed := false
	names := allNames()
	for _, f := range strings.Split(*conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c <= 0 {
			fmt.Fprintf(os.Stderr, "loadgen: bad concurrency %q\n", f)
			os.Exit(2)
		}
		var limit float64
		var lost string
		if *queries != "" {
			limit, lost, err = dnsperf(*server, *queries, *perfInFlight, *perfTime)
			if err != nil {
				fmt.Fprintln(os.Stderr, "loadgen: dnsperf:", err)
				os.Exit(1)
			}
		}
		var sum result
		for p := 0; p < 50 && (p == 0 || sum.elapsed < *clientTime); p++ {
			ctx, cancel := context.WithTimeout(context.Background(), *maxTime)
			r := pass(ctx, *server, names, c, tuning{sockets: *sockets, minTimeout: *minTimeout, maxInFlight: *maxInFlight})
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				fmt.Fprintf(os.Stderr, "loadgen: pass at concurrency %d hit -maxtime\n", c)
			}
			cancel()
			sum.n += r.n
			sum.elapsed += r.elapsed
			sum.wrong += r.wrong
			sum.missing += r.missing
			sum.stats.Retries += r.stats.Retries
			sum.stats.Timeouts += r.stats.Timeouts
			sum.stats.Mismatches += r.stats.Mismatches + r.stats.Unmatched + r.stats.Malformed
			if r.firstWrong != "" && sum.firstWrong == "" {
				sum.firstWrong = r.firstWrong
			}
		}
		qps := float64(sum.n) / sum.elapsed.Seconds()
		ratio := "-"
		if limit > 0 {
			ratio = fmt.Sprintf("%.2f", qps/limit)
		}
		fmt.Printf("%-11d %10.0f %10s %9.0f %6s %7d %8d %8d %8d %8d %9d\n", c, limit, lost, qps, ratio, sum.wrong, sum.missing, sum.stats.Retries, sum.stats.Timeouts, sum.stats.Mismatches, sum.n)
		if sum.firstWrong != "" {
			fmt.Fprintf(os.Stderr, "first wrong answer: %s\n", sum.firstWrong)
		}
		if sum.wrong > 0 || sum.missing > 0 {
			failed = true
		}
	}
	if failed {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}
