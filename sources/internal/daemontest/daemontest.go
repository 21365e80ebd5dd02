// Package daemontest starts the DNS daemons that prefixvet's integration
// tests run against: rbldnsd serving zone files, and unbound as a caching
// resolver in front of it. Both listen on 127.0.0.1 high ports only and are
// killed when the test ends.
//
// A missing binary fails the test when the environment says CI=true (CI
// installs rbldnsd and unbound, so a missing one is a broken CI, never a
// reason to skip) and skips it otherwise.
package daemontest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// NeedBinary returns the path of the named program, failing the test under
// CI=true and skipping it otherwise when it is not installed.
func NeedBinary(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; it is required under CI=true (apt-get install %s)", name, name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

// FreePort returns a loopback port that is free for both UDP and TCP.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		pc.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free loopback port")
	return 0
}

// ReadableDir returns a temporary directory that an unprivileged daemon can
// read (t.TempDir is private to the test's user, and rbldnsd drops root).
func ReadableDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Rbldnsd serves the datasets named by specs ("zone:type:file", file
// relative to dir) on a loopback port, waits until it answers queries for the
// first spec's zone, and returns its "host:port". dir must be readable by an
// unprivileged user (see [ReadableDir]): run as root, rbldnsd switches to the
// rbldns (or nobody) user.
func Rbldnsd(t testing.TB, dir string, specs ...string) string {
	t.Helper()
	if len(specs) == 0 {
		t.Fatal("daemontest.Rbldnsd: no zone specs")
	}
	bin := NeedBinary(t, "rbldnsd")
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"-n", "-b", fmt.Sprintf("127.0.0.1/%d", port), "-w", dir, "-t", "300", "-c", "0"}
	if os.Geteuid() == 0 { // rbldnsd refuses to keep root
		u := "rbldns"
		if _, err := user.Lookup(u); err != nil {
			u = "nobody"
		}
		args = append(args, "-u", u)
	}
	cmd := exec.Command(bin, append(args, specs...)...)
	exited, output := daemon(t, cmd)
	zone := strings.SplitN(specs[0], ":", 2)[0]
	waitAnswers(t, addr, zone, exited, output)
	return addr
}

// Unbound runs unbound as a caching resolver on a loopback port with a stub
// zone for each of zones pointing at upstream ("host:port"), waits until it
// answers for the first zone, and returns its "host:port".
func Unbound(t testing.TB, upstream string, zones ...string) string {
	t.Helper()
	if len(zones) == 0 {
		t.Fatal("daemontest.Unbound: no zones")
	}
	bin := NeedBinary(t, "unbound")
	dir := t.TempDir()
	port := FreePort(t)
	host, upPort, err := net.SplitHostPort(upstream)
	if err != nil {
		t.Fatal(err)
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, `server:
	interface: 127.0.0.1
	port: %d
	do-ip6: no
	do-daemonize: no
	chroot: ""
	username: ""
	directory: "%s"
	pidfile: "%s"
	use-syslog: no
	logfile: ""
	verbosity: 1
	num-threads: 1
	so-reuseport: no
	access-control: 127.0.0.0/8 allow
	do-not-query-localhost: no
	module-config: "iterator"
	qname-minimisation: no
	rrset-roundrobin: no
	harden-referral-path: no
	val-permissive-mode: yes
	auto-trust-anchor-file: ""
	trust-anchor-file: ""
	root-hints: ""
remote-control:
	control-enable: no
`, port, dir, filepath.Join(dir, "unbound.pid"))
	for _, z := range zones {
		fmt.Fprintf(&conf, "stub-zone:\n\tname: %q\n\tstub-addr: %s@%s\n", z, host, upPort)
	}
	cfg := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(cfg, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-d", "-c", cfg)
	exited, output := daemon(t, cmd)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitAnswers(t, addr, zones[0], exited, output)
	return addr
}

// daemon runs cmd until the test ends, collecting its output for failure
// messages.
func daemon(t testing.TB, cmd *exec.Cmd) (exited <-chan struct{}, output func() string) {
	t.Helper()
	var mu sync.Mutex
	var out bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			mu.Lock()
			t.Logf("%s output:\n%s", filepath.Base(cmd.Path), out.String())
			mu.Unlock()
		}
	})
	return done, func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// waitAnswers waits up to ten seconds until the server at addr answers the
// RFC 5782 test point of zone with NOERROR or NXDOMAIN: a zone that is still
// loading gets REFUSED or SERVFAIL.
func waitAnswers(t testing.TB, addr, zone string, exited <-chan struct{}, output func() string) {
	t.Helper()
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn("2.0.0.127."+zone), dns.TypeA)
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, _, err := c.Exchange(q, addr)
		if err == nil && (m.Rcode == dns.RcodeSuccess || m.Rcode == dns.RcodeNameError) {
			return
		}
		select {
		case <-exited:
			t.Fatalf("server at %s exited: %s", addr, output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %s does not answer (last: %v, %v): %s", addr, m, err, output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
