package sources_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/dnsbltest"
	"github.com/prefixvet/prefixvet/sources/dnsclient"
)

// TestScore_callerCancellationIsNotAnOutage scores a block with real DNSBLs
// over the production client against a loopback server that answers
// slowly, and gives up before the probes can finish: with a context
// cancelled before the call, and with a deadline that expires during the
// probe. A client that hangs up is not a resolver outage: the error wraps
// the context's error and neither sources.ErrTimeout nor
// ErrNoUsableZones, and every zone keeps status ok.
func TestScore_callerCancellationIsNotAnOutage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ctx     func(context.Context) (context.Context, context.CancelFunc)
		wantErr error
	}{
		{name: "cancelled_before_the_call", wantErr: context.Canceled, ctx: func(parent context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(parent)
			cancel()
			return ctx, cancel
		}},
		{name: "deadline_during_the_probe", wantErr: context.DeadlineExceeded, ctx: func(parent context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(parent, 100*time.Millisecond)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := dnsbltest.Start(t, dnsbltest.Records{
				"2.0.0.127.bl.example.org.":  {A: []netip.Addr{mpa("127.0.0.2")}},
				"2.0.0.127.bl2.example.org.": {A: []netip.Addr{mpa("127.0.0.2")}},
			})
			srv.SetFault("", dnsbltest.Fault{Delay: 2 * time.Second}) // far beyond the deadline
			c := &dnsclient.Client{Servers: []string{srv.Addr}}
			t.Cleanup(func() { c.Close() })
			z1, z2 := testZone(), testZone()
			z2.Zone = "bl2.example.org"
			s := &reputation.Scorer{AllowSpecial: true, Sources: []reputation.Source{
				&sources.DNSBL{Zone: z1, Client: c}, &sources.DNSBL{Zone: z2, Client: c},
			}}
			ctx, cancel := tt.ctx(t.Context())
			defer cancel()
			rep, err := s.Score(ctx, mpp("192.0.2.0/30"))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Score error = %v, want one wrapping %v", err, tt.wantErr)
			}
			if errors.Is(err, sources.ErrTimeout) || errors.Is(err, reputation.ErrNoUsableZones) || errors.Is(err, reputation.ErrNoUsableSources) {
				t.Errorf("Score error = %v; the caller's cancellation must not read as ErrTimeout or a source failure", err)
			}
			if rep == nil {
				t.Fatal("no partial report")
			}
			if rep.Verdict != reputation.VerdictIncomplete || !rep.Interrupted {
				t.Errorf("verdict %s, interrupted %v; want incomplete and interrupted", rep.Verdict, rep.Interrupted)
			}
			for _, sr := range rep.Sources {
				if sr.Status != reputation.StatusOK {
					t.Errorf("source %s status %s (%s), want ok: the caller gave up, not the zone", sr.Name, sr.Status, sr.Detail)
				}
			}
			// A health endpoint whose request is cancelled says the same.
			for _, sr := range s.Probe(ctx) {
				if sr.Status != reputation.StatusOK {
					t.Errorf("Probe: source %s status %s (%s), want ok", sr.Name, sr.Status, sr.Detail)
				}
			}
		})
	}
}

// TestDNSBL_cancelledLookupIsNotATimeout: DNSBL.Lookup with a cancelled
// context wraps context.Canceled and the cause, never ErrTimeout; a
// deadline stays a timeout (the Scorer's per-lookup limit is one).
func TestDNSBL_cancelledLookupIsNotATimeout(t *testing.T) {
	t.Parallel()
	srv := dnsbltest.Start(t, nil)
	srv.SetFault("", dnsbltest.Fault{Delay: 2 * time.Second})
	c := &dnsclient.Client{Servers: []string{srv.Addr}}
	t.Cleanup(func() { c.Close() })
	bl := &sources.DNSBL{Zone: testZone(), Client: c}

	cause := errors.New("client hung up")
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(cause)
	_, err := bl.Lookup(ctx, mpa("192.0.2.1"))
	if !errors.Is(err, context.Canceled) || !errors.Is(err, cause) || errors.Is(err, sources.ErrTimeout) {
		t.Errorf("Lookup(cancelled) error = %v, want Canceled and the cause, not ErrTimeout", err)
	}
	h := bl.Probe(ctx)
	if h.Status.Usable() || !errors.Is(h.Err, context.Canceled) || errors.Is(h.Err, sources.ErrTimeout) {
		t.Errorf("Probe(cancelled) = %s, %v; want not usable (it could not tell) with an error wrapping Canceled, not ErrTimeout", h.Status, h.Err)
	}

	dctx, dcancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer dcancel()
	_, err = bl.Lookup(dctx, mpa("192.0.2.1"))
	if !errors.Is(err, sources.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lookup(deadline) error = %v, want ErrTimeout and DeadlineExceeded", err)
	}
}
