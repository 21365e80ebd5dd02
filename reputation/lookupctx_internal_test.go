package reputation

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestLookupCtx_deadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := &lookupWorker{parent: t.Context()}
		defer w.close()
		c := w.start(time.Second)
		if d, ok := c.Deadline(); !ok || !d.Equal(time.Now().Add(time.Second)) {
			t.Errorf("Deadline = %v %v, want now+1s", d, ok)
		}
		if c.Err() != nil {
			t.Fatalf("fresh context: Err = %v", c.Err())
		}
		start := time.Now()
		<-c.Done()
		if el := time.Since(start); el != time.Second {
			t.Errorf("Done closed after %v, want 1s", el)
		}
		if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(c), context.DeadlineExceeded) {
			t.Errorf("Err = %v, Cause = %v; want DeadlineExceeded", c.Err(), context.Cause(c))
		}
		w.finish(c)
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("finish changed Err to %v", c.Err())
		}
	})
}

func TestLookupCtx_parentDeadlineWins(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		w := &lookupWorker{parent: parent}
		defer w.close()
		c := w.start(time.Hour)
		if d, _ := c.Deadline(); !d.Equal(time.Now().Add(time.Second)) {
			t.Errorf("Deadline = %v, want the parent's", d)
		}
		<-c.Done()
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("Err = %v", c.Err())
		}
	})
}

func TestLookupCtx_parentCancelWithCause(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cause := errors.New("shutting down")
		parent, cancel := context.WithCancelCause(t.Context())
		w := &lookupWorker{parent: parent}
		defer w.close()
		c := w.start(time.Hour)
		time.AfterFunc(time.Minute, func() { cancel(cause) })
		<-c.Done()
		if !errors.Is(c.Err(), context.Canceled) || !errors.Is(context.Cause(c), cause) {
			t.Errorf("Err = %v, Cause = %v; want Canceled and the cause", c.Err(), context.Cause(c))
		}
		// A lookup started after the cancel is done at once.
		w.finish(c)
		c2 := w.start(time.Hour)
		select {
		case <-c2.Done():
		default:
			t.Error("context started after the parent's cancel is not done")
		}
		w.finish(c2)
	})
}

func TestLookupCtx_derivedContextsFollow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := &lookupWorker{parent: t.Context()}
		defer w.close()
		c := w.start(time.Second)
		child, cancel := context.WithTimeout(c, time.Hour)
		defer cancel()
		var ran atomic.Bool
		context.AfterFunc(c, func() { ran.Store(true) })
		stopped := context.AfterFunc(c, func() { t.Error("stopped AfterFunc ran") })
		if !stopped() {
			t.Error("stop of a pending AfterFunc returned false")
		}
		<-child.Done()
		synctest.Wait()
		if !errors.Is(child.Err(), context.DeadlineExceeded) || !ran.Load() {
			t.Errorf("child Err = %v, AfterFunc ran = %v", child.Err(), ran.Load())
		}
		w.finish(c)
	})
}

func TestLookupCtx_finishCancels(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := &lookupWorker{parent: t.Context()}
		defer w.close()
		c := w.start(time.Hour)
		w.finish(c)
		<-c.Done()
		if !errors.Is(c.Err(), context.Canceled) {
			t.Errorf("Err after finish = %v, want Canceled", c.Err())
		}
		if w.timer != nil || w.stopParent != nil {
			t.Error("a context nobody waited on armed the timer")
		}
		// The next lookup's deadline is not disturbed by the previous one.
		c2 := w.start(2 * time.Second)
		start := time.Now()
		<-c2.Done()
		if el := time.Since(start); el != 2*time.Second {
			t.Errorf("second lookup done after %v, want 2s", el)
		}
		w.finish(c2)
	})
}

// derivingSource waits on a context derived from the lookup's, as a DNS
// client with its own timeout does.
type derivingSource struct{}

func (derivingSource) Name() string { return "deriving" }

func (derivingSource) Lookup(ctx context.Context, _ netip.Addr) (Listing, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	<-ctx.Done()
	return Listing{}, ctx.Err()
}

func TestScore_timeoutReachesDerivedContexts(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &Scorer{Sources: []Source{derivingSource{}}, Timeout: time.Second, Concurrency: 4, AllowSpecial: true}
		start := time.Now()
		rep, err := s.Score(t.Context(), netip.MustParsePrefix("192.0.2.0/28"))
		if err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el != 4*time.Second {
			t.Errorf("16 lookups of 1s each, 4 at a time, took %v; want 4s", el)
		}
		if len(rep.Unknown) != 16 || !errors.Is(rep.Unknown[0].Err, context.DeadlineExceeded) {
			t.Errorf("unknown %d, first %v; want 16 wrapping DeadlineExceeded", len(rep.Unknown), rep.Unknown[0].Err)
		}
	})
}
