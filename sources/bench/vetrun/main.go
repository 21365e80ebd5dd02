// Command vetrun measures the whole vet run as a user runs it: the
// throughput of examples/vet, timed from process start to exit, against a
// DNSBL server on loopback (rbldnsd, started by vetrun.sh beside it), next
// to dnsperf against the same server in the same run.
//
// It has two modes:
//
//	vetrun -write -data DIR [-txt]
//
// writes the benchmark data into DIR: eight rbldnsd ip4set zones
// z0..z7.bench.example.org over 198.18.0.0/20 (RFC 2544 benchmarking space:
// four /22 blocks, 4096 addresses), each listing its RFC 5782 test point
// 127.0.0.2 and a known deterministic subset of the blocks; zones.json, the
// zone definitions for vet's -zones flag (with -txt, every zone asks for the
// TXT reason of listed answers, one more query each); and queries.txt,
// every (address, zone) question in dnsperf's format.
//
//	vetrun -server 127.0.0.1:PORT -vet BIN -data DIR [-concurrency 64,256] [-runs 5]
//
// measures, for each concurrency setting in turn, first the physical limit
// with dnsperf against the same server for -dnsperf-time, then -runs runs of
//
//	BIN -json -resolver 127.0.0.1:PORT -zones DIR/zones.json -allow-special -concurrency N \
//	    198.18.0.0/22 198.18.4.0/22 198.18.8.0/22 198.18.12.0/22
//
// each timed from process start to exit (32,768 address lookups, plus the
// 16 probe queries and, with -txt, one TXT query per listed answer). It
// prints the median and best run as lookups per second, the ratio of the
// median to dnsperf's queries per second, and the count of wrong and missing
// listings in vet's JSON, checked against the zone data: a listing the data
// does not have, or with another code, or (when the zones ask for TXT)
// without the zone's text, is wrong; a listed (address, zone)
// pair that no listing covers, or any lookup vet reports as unknown, is
// missing; omitted listings (Scorer.MaxListings) count as missing. It
// exits 1 if any listing was wrong or missing or any run failed. Each vet
// run is bounded by -maxtime, each dnsperf run by its -l.
//
// With -base BIN, each row also runs a second vet binary (another
// revision, say) -runs times, alternating with -vet so that both meet the
// same machine, checks its output the same way, and prints its median and
// ratio next to the first.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	nZones = 8
	nAddrs = 4096 // 198.18.0.0/20, four /22 blocks
	suffix = ".bench.example.org"
)

// blocks returns the prefixes vet is asked about.
func blocks() []string {
	return []string{"198.18.0.0/22", "198.18.4.0/22", "198.18.8.0/22", "198.18.12.0/22"}
}

// zoneName returns the name of zone z.
func zoneName(z int) string { return fmt.Sprintf("z%d%s", z, suffix) }

// addr returns the i-th address of 198.18.0.0/20.
func addr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}) }

// index returns the position of a in 198.18.0.0/20, or -1.
func index(a netip.Addr) int {
	if !a.Is4() {
		return -1
	}
	b := a.As4()
	if b[0] != 198 || b[1] != 18 || b[2] >= 16 {
		return -1
	}
	return int(b[2])<<8 | int(b[3])
}

// inRange reports whether address i lies in the /26 that zone z lists as a
// range: 198.18.(2z).0/26.
func inRange(z, i int) bool { return i >= z*512 && i < z*512+64 }

// expected returns the code zone z answers for address i, if listed: the
// range code 127.0.0.10 inside the zone's /26, else 127.0.0.(2+z%5) for
// every 13th address (shifted by z). One address in thirteen keeps each
// block's listings under the Scorer's default MaxListings, so that every
// listing is in the report and can be checked.
func expected(z, i int) (netip.Addr, bool) {
	if inRange(z, i) {
		return netip.AddrFrom4([4]byte{127, 0, 0, 10}), true
	}
	if (i+z)%13 == 0 {
		return netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + z%5)}), true
	}
	return netip.Addr{}, false
}

// reasonOf returns the TXT text zone z gives address i (which it lists),
// or "" without txt.
func reasonOf(z, i int, txt bool) string {
	switch {
	case !txt:
		return ""
	case inRange(z, i):
		return fmt.Sprintf("range listed in zone %d", z)
	}
	return fmt.Sprintf("listed in zone %d", z)
}

// zonesAskTXT reports whether the zone definitions in file ask for TXT.
func zonesAskTXT(file string) (bool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return false, err
	}
	var zs []struct {
		TXT bool `json:"txt"`
	}
	if err := json.Unmarshal(b, &zs); err != nil {
		return false, fmt.Errorf("%s: %w", file, err)
	}
	return len(zs) > 0 && zs[0].TXT, nil
}

func writeData(dir string, txt bool) error {
	var q strings.Builder
	type zoneDef struct {
		Zone string `json:"zone"`
		IPv4 bool   `json:"ipv4"`
		IPv6 bool   `json:"ipv6"`
		TXT  bool   `json:"txt,omitempty"`
	}
	var defs []zoneDef
	for z := range nZones {
		var b strings.Builder
		fmt.Fprintf(&b, "$SOA 60 ns%s. hostmaster%s. 1 3600 600 86400 60\n", suffix, suffix)
		fmt.Fprintf(&b, "$NS 60 ns%s.\n", suffix)
		fmt.Fprintf(&b, "$TTL 60\n")
		fmt.Fprintf(&b, ":127.0.0.2:listed in zone %d\n", z)
		fmt.Fprintf(&b, "127.0.0.2\n") // the RFC 5782 test point vet probes
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
			a := addr(i).As4()
			fmt.Fprintf(&q, "%d.%d.%d.%d.%s A\n", a[3], a[2], a[1], a[0], zoneName(z))
		}
		defs = append(defs, zoneDef{Zone: zoneName(z), IPv4: true, TXT: txt})
	}
	js, err := json.MarshalIndent(defs, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "zones.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "queries.txt"), []byte(q.String()), 0o644)
}

// report is the part of vet's JSON report that the check reads.
type report struct {
	Prefix   netip.Prefix `json:"prefix"`
	Listings []struct {
		Address netip.Addr   `json:"address"`
		Prefix  netip.Prefix `json:"prefix"`
		Source  string       `json:"source"`
		Codes   []netip.Addr `json:"codes"`
		Reason  string       `json:"reason"`
	} `json:"listings"`
	Omitted map[string]int `json:"omitted"`
	Unknown []struct {
		Address netip.Addr `json:"address"`
		Source  string     `json:"source"`
		Error   string     `json:"error"`
	} `json:"unknown"`
}

// check compares vet's output, one JSON report per line, with the zone data
// and returns the counts of wrong and missing listings, and the first of
// each as an example. With txt, every listing must carry the zone's TXT
// text for its first address; without, none may carry a reason.
func check(out []byte, txt bool) (wrong, missing int, example string, err error) {
	var seen [nZones][nAddrs]bool
	note := func(s string) {
		if example == "" {
			example = s
		}
	}
	zoneOf := make(map[string]int, nZones)
	for z := range nZones {
		zoneOf[zoneName(z)] = z
	}
	var got []netip.Prefix
	for line := range bytes.Lines(out) {
		var r report
		if err := json.Unmarshal(line, &r); err != nil {
			return 0, 0, "", fmt.Errorf("vet output: %w", err)
		}
		got = append(got, r.Prefix)
		for src, n := range r.Omitted {
			missing += n
			note(fmt.Sprintf("%s: %d listings of %s omitted", r.Prefix, n, src))
		}
		for _, u := range r.Unknown {
			missing++
			note(fmt.Sprintf("unknown: %s %s: %s", u.Source, u.Address, u.Error))
		}
		for _, l := range r.Listings {
			z, ok := zoneOf[l.Source]
			p := l.Prefix
			if !p.IsValid() {
				p = netip.PrefixFrom(l.Address, l.Address.BitLen())
			}
			if !ok || !p.IsValid() || len(l.Codes) != 1 {
				wrong++
				note(fmt.Sprintf("unexpected listing %+v", l))
				continue
			}
			if want := reasonOf(z, index(p.Masked().Addr()), txt); l.Reason != want {
				wrong++
				note(fmt.Sprintf("listing %s %s: reason %q, want %q", l.Source, p, l.Reason, want))
				continue
			}
			for a := p.Masked().Addr(); p.Contains(a); a = a.Next() {
				i := index(a)
				if i < 0 {
					wrong++
					note(fmt.Sprintf("listing outside the blocks: %+v", l))
					break
				}
				if code, listed := expected(z, i); !listed || code != l.Codes[0] {
					wrong++
					note(fmt.Sprintf("wrong listing: %s %s %v", l.Source, a, l.Codes))
					continue
				}
				seen[z][i] = true
			}
		}
	}
	if want := blockPrefixes(); !slices.Equal(got, want) {
		return 0, 0, "", fmt.Errorf("vet reported blocks %v, want %v", got, want)
	}
	for z := range nZones {
		for i := range nAddrs {
			if _, listed := expected(z, i); listed && !seen[z][i] {
				missing++
				note(fmt.Sprintf("missing listing: %s %s", zoneName(z), addr(i)))
			}
		}
	}
	return wrong, missing, example, nil
}

func blockPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, 4)
	for _, b := range blocks() {
		out = append(out, netip.MustParsePrefix(b))
	}
	return out
}

// runVet runs vet once and returns its wall time from process start to exit
// and its standard output.
func runVet(bin, server, zones string, c int, maxTime time.Duration) (time.Duration, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), maxTime)
	defer cancel()
	args := append([]string{"-json", "-resolver", server, "-zones", zones, "-allow-special",
		"-concurrency", strconv.Itoa(c)}, blocks()...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	elapsed := time.Since(start)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 && ctx.Err() == nil {
		err = nil // exit status 1: some block is review or reject, as the data says
	}
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w\n%s", bin, err, stderr.Bytes())
	}
	return elapsed, stdout.Bytes(), nil
}

// medianBest returns the median and the shortest of ds, which it sorts.
func medianBest(ds []time.Duration) (median, best time.Duration) {
	slices.SortFunc(ds, cmp.Compare)
	return ds[len(ds)/2], ds[0]
}

// dnsperf runs dnsperf against server for secs seconds and returns its
// queries/s.
func dnsperf(server, queries string, inFlight, secs int) (float64, error) {
	host, port, err := net.SplitHostPort(server)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+30)*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "dnsperf", "-s", host, "-p", port, "-d", queries,
		"-c", "1", "-q", strconv.Itoa(inFlight), "-l", strconv.Itoa(secs), "-t", "2").Output()
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if strings.HasPrefix(strings.TrimSpace(line), "Queries per second:") && len(f) >= 4 {
			return strconv.ParseFloat(f[3], 64)
		}
	}
	return 0, fmt.Errorf("no queries/s in dnsperf output:\n%s", out)
}

func main() {
	data := flag.String("data", "", "benchmark data `DIR`: written there with -write, read from there otherwise")
	write := flag.Bool("write", false, "write the zone files, zones.json and queries.txt into -data and exit")
	txt := flag.Bool("txt", false, "with -write: the zones ask for the TXT reason of listed answers")
	server := flag.String("server", "", "rbldnsd address ip:port")
	vet := flag.String("vet", "", "the vet binary")
	conc := flag.String("concurrency", "64,256", "comma-separated vet -concurrency settings")
	runs := flag.Int("runs", 5, "vet runs per concurrency setting")
	perfTime := flag.Int("dnsperf-time", 3, "dnsperf run time in seconds per concurrency")
	perfInFlight := flag.Int("dnsperf-q", 100, "dnsperf -q (queries in flight)")
	maxTime := flag.Duration("maxtime", 60*time.Second, "time limit of one vet run")
	base := flag.String("base", "", "a second vet `binary` (say, of another revision) run in the same rows, alternating with -vet, and reported next to it")
	flag.Parse()

	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "vetrun:", err)
		os.Exit(1)
	}
	if *data == "" {
		fmt.Fprintln(os.Stderr, "vetrun: -data DIR required")
		os.Exit(2)
	}
	if *write {
		if err := writeData(*data, *txt); err != nil {
			fail(err)
		}
		return
	}
	if *server == "" || *vet == "" || *runs < 1 {
		fmt.Fprintln(os.Stderr, "vetrun: -server, -vet and -runs >= 1 required")
		os.Exit(2)
	}
	txtOn, err := zonesAskTXT(filepath.Join(*data, "zones.json"))
	if err != nil {
		fail(err)
	}
	fmt.Printf("%-11s %11s %12s %12s %6s %6s %8s %7s %8s",
		"concurrency", "dnsperf_qps", "vet_qps_med", "vet_qps_best", "ratio", "best", "wall_med", "wrong", "missing")
	if *base != "" {
		fmt.Printf(" %12s %10s", "base_qps_med", "base_ratio")
	}
	fmt.Println()
	failed := false
	for _, f := range strings.Split(*conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c <= 0 {
			fmt.Fprintf(os.Stderr, "vetrun: bad concurrency %q\n", f)
			os.Exit(2)
		}
		limit, err := dnsperf(*server, filepath.Join(*data, "queries.txt"), *perfInFlight, *perfTime)
		if err != nil {
			fail(fmt.Errorf("dnsperf: %w", err))
		}
		var walls, baseWalls []time.Duration
		wrong, missing := 0, 0
		for range *runs {
			bins := []string{*vet}
			if *base != "" {
				bins = append(bins, *base)
			}
			for k, bin := range bins {
				d, out, err := runVet(bin, *server, filepath.Join(*data, "zones.json"), c, *maxTime)
				if err != nil {
					fail(err)
				}
				w, m, example, err := check(out, txtOn)
				if err != nil {
					fail(err)
				}
				if example != "" {
					fmt.Fprintf(os.Stderr, "vetrun: %s at concurrency %d: %s\n", bin, c, example)
				}
				wrong += w
				missing += m
				if k == 0 {
					walls = append(walls, d)
				} else {
					baseWalls = append(baseWalls, d)
				}
			}
		}
		lookups := float64(nZones * nAddrs)
		med, best := medianBest(walls)
		qps, bestQPS := lookups/med.Seconds(), lookups/best.Seconds()
		fmt.Printf("%-11d %11.0f %12.0f %12.0f %6.2f %6.2f %7.3fs %7d %8d",
			c, limit, qps, bestQPS, qps/limit, bestQPS/limit, med.Seconds(), wrong, missing)
		if *base != "" {
			bmed, _ := medianBest(baseWalls)
			fmt.Printf(" %12.0f %10.2f", lookups/bmed.Seconds(), lookups/bmed.Seconds()/limit)
		}
		fmt.Println()
		if wrong > 0 || missing > 0 {
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
