package sources_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/dnsbltest"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

// A name the catalog does not know is ErrNotInCatalog, which is not the
// list's own "wrong zone name" answer (ErrUnknownZone).
func TestLookupZone_notInCatalog(t *testing.T) {
	t.Parallel()
	_, err := sources.LookupZone("bl.example.org")
	if !errors.Is(err, sources.ErrNotInCatalog) || errors.Is(err, sources.ErrUnknownZone) || errors.Is(err, sources.ErrDeadList) {
		t.Errorf("LookupZone(unknown) error = %v, want ErrNotInCatalog and neither ErrUnknownZone nor ErrDeadList", err)
	}
	if _, err := sources.LookupZone("zen"); err != nil {
		t.Errorf("LookupZone(zen) = %v", err)
	}
}

// The REFUSED rcode comes from the caller's resolver: the error and the
// probe's detail say so, and never blame the list operator.
func TestDNSBL_resolverRefusedIsTheResolvers(t *testing.T) {
	t.Parallel()
	srv := dnsbltest.Start(t, nil)
	srv.SetFault("", dnsbltest.Fault{Rcode: dns.RcodeRefused})
	c := &dnsclient.Client{Servers: []string{srv.Addr}, CacheSize: -1, Attempts: 1}
	t.Cleanup(func() { c.Close() })
	bl := &sources.DNSBL{Zone: testZone(), Client: c}
	_, err := bl.Lookup(t.Context(), mpa("198.51.100.7"))
	if !errors.Is(err, sources.ErrResolverRefused) || !errors.Is(err, sources.ErrRefused) || strings.Contains(err.Error(), "list operator") {
		t.Errorf("Lookup error = %v, want ErrResolverRefused (and ErrRefused) worded as the resolver's", err)
	}
	h := bl.Probe(t.Context())
	if h.Status != "refused" || !errors.Is(h.Err, sources.ErrResolverRefused) || strings.Contains(h.Detail, "refused by the list operator") ||
		!strings.Contains(h.Detail, "resolver "+srv.Addr) {
		t.Errorf("Probe = %s %q (%v), want refused, naming the resolver, not the list operator", h.Status, h.Detail, h.Err)
	}
	// A list's own refusal code still blames the list.
	srv.SetFault("", dnsbltest.Fault{Answer: []netip.Addr{mpa("127.255.255.254")}})
	_, err = bl.Lookup(t.Context(), mpa("198.51.100.8"))
	if !errors.Is(err, sources.ErrRefused) || errors.Is(err, sources.ErrResolverRefused) {
		t.Errorf("Lookup(127.255.255.254) error = %v, want ErrRefused only", err)
	}
}

// A client used after Close returns its own ErrClosed, and a DNSBL does not
// turn it into a timeout.
func TestDNSBL_closedClient(t *testing.T) {
	t.Parallel()
	srv := dnsbltest.Start(t, nil)
	c := &dnsclient.Client{Servers: []string{srv.Addr}}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	bl := &sources.DNSBL{Zone: testZone(), Client: c}
	start := time.Now()
	_, err := bl.Lookup(t.Context(), mpa("198.51.100.7"))
	if !errors.Is(err, dnsclient.ErrClosed) || errors.Is(err, sources.ErrTimeout) {
		t.Errorf("Lookup on a closed client = %v, want dnsclient.ErrClosed and not ErrTimeout", err)
	}
	if h := bl.Probe(t.Context()); !errors.Is(h.Err, dnsclient.ErrClosed) || strings.Contains(h.Detail, "no answer in time") {
		t.Errorf("Probe on a closed client = %s %q, want ErrClosed, not a timeout", h.Status, h.Detail)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v, want at once", d)
	}
	// Closed before any use, with a server it could never use: still ErrClosed.
	bad := &dnsclient.Client{Servers: []string{"localhost:5301"}}
	bad.Close()
	if _, err := bad.Exchange(t.Context(), "2.0.0.127.bl.example.org.", dns.TypeA); !errors.Is(err, dnsclient.ErrClosed) {
		t.Errorf("Exchange after Close = %v, want ErrClosed", err)
	}
}

// Server addresses are checked at first use: a host name, port 0 or an
// address no query can go to is ErrInvalidServer at once, not a timeout.
func TestDNSBL_invalidServer(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, server, want string }{
		{name: "host_name", server: "localhost:5301", want: "host name"},
		{name: "port_zero", server: "127.0.0.1:0", want: "port 0"},
		{name: "unspecified", server: "0.0.0.0:53", want: "cannot be sent a query"},
		{name: "multicast", server: "[ff02::1]:53", want: "cannot be sent a query"},
		{name: "garbage", server: "127.0.0.1:dns", want: "not ip:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &dnsclient.Client{Servers: []string{tt.server}}
			defer c.Close()
			bl := &sources.DNSBL{Zone: testZone(), Client: c}
			start := time.Now()
			_, err := bl.Lookup(t.Context(), mpa("198.51.100.7"))
			if !errors.Is(err, dnsclient.ErrInvalidServer) || errors.Is(err, sources.ErrTimeout) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Lookup via %q = %v, want ErrInvalidServer saying %q, not ErrTimeout", tt.server, err, tt.want)
			}
			h := bl.Probe(t.Context())
			if h.Status.Usable() || !errors.Is(h.Err, dnsclient.ErrInvalidServer) || !strings.Contains(h.Detail, tt.want) {
				t.Errorf("Probe via %q = %s %q, want unusable with the server's problem", tt.server, h.Status, h.Detail)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v, want at once", d)
			}
		})
	}
}
