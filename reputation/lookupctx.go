package reputation

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// This file holds the per-lookup context. It behaves like the context of
// context.WithTimeout(parent, Timeout) -- Deadline, Done, Err, Value,
// context.Cause and context.AfterFunc work as usual, and contexts derived
// from it are cancelled with it without a goroutine -- but costs one
// allocation per lookup instead of four and touches no timer unless the
// source waits on Done: an in-memory source that never blocks pays for
// neither, a DNS source that waits gets its deadline from the worker's one
// reusable timer. When the lookup returns, its context is cancelled, as a
// deferred cancel() would.

// lookupWorker is the per-worker state shared by its lookups' contexts.
type lookupWorker struct {
	parent context.Context
	cur    atomic.Pointer[lookupCtx] // the lookup in progress

	mu         sync.Mutex  // guards timer and stopParent
	timer      *time.Timer // fires at the deadline of cur; made on first use
	stopParent func() bool // stops the parent-cancellation hook; set on first use
}

// start returns the context of a lookup bounded by timeout.
func (w *lookupWorker) start(timeout time.Duration) *lookupCtx {
	c := &lookupCtx{parent: w.parent, w: w, deadline: time.Now().Add(timeout)}
	w.cur.Store(c)
	return c
}

// finish cancels c once its lookup has returned.
func (w *lookupWorker) finish(c *lookupCtx) {
	c.expire(context.Canceled)
	w.cur.CompareAndSwap(c, nil)
}

// close releases the worker's timer and parent hook.
func (w *lookupWorker) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.stopParent != nil {
		w.stopParent()
	}
}

// arm makes sure c's Done channel closes at its deadline or when the parent
// is done, if c is still the lookup in progress.
func (w *lookupWorker) arm(c *lookupCtx) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur.Load() != c {
		return // finished already: finish closes its channel
	}
	if w.stopParent == nil && w.parent.Done() != nil {
		w.stopParent = context.AfterFunc(w.parent, w.parentDone)
	}
	if d := time.Until(c.deadline); w.timer == nil {
		w.timer = time.AfterFunc(d, w.fire)
	} else {
		w.timer.Reset(d)
	}
}

// fire runs at a deadline; it may be late or stale, so it checks the clock.
func (w *lookupWorker) fire() {
	if c := w.cur.Load(); c != nil && !time.Now().Before(c.deadline) {
		c.expire(context.DeadlineExceeded)
	}
}

func (w *lookupWorker) parentDone() {
	if c := w.cur.Load(); c != nil {
		c.expire(w.parent.Err())
	}
}

// lookupCtx is the context of one lookup.
type lookupCtx struct {
	parent   context.Context
	w        *lookupWorker
	deadline time.Time

	mu     sync.Mutex
	done   chan struct{} // made on first Done
	err    error         // set once, when done
	afters []*func()     // registered by AfterFunc
}

// Deadline returns the earlier of the lookup's and the parent's deadline.
func (c *lookupCtx) Deadline() (time.Time, bool) {
	if pd, ok := c.parent.Deadline(); ok && pd.Before(c.deadline) {
		return pd, true
	}
	return c.deadline, true
}

// Value returns the parent's value for key.
func (c *lookupCtx) Value(key any) any { return c.parent.Value(key) }

// Err returns nil, context.DeadlineExceeded once the lookup's deadline has
// passed, the parent's error once it is done, or context.Canceled once the
// lookup has returned.
func (c *lookupCtx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.check()
}

// check expires c if its parent is done or its deadline has passed.
func (c *lookupCtx) check() error {
	if err := c.parent.Err(); err != nil {
		return c.expire(err)
	}
	if !time.Now().Before(c.deadline) {
		return c.expire(context.DeadlineExceeded)
	}
	return nil
}

// Done returns a channel closed when Err becomes non-nil.
func (c *lookupCtx) Done() <-chan struct{} {
	c.mu.Lock()
	if d := c.done; d != nil {
		c.mu.Unlock()
		return d
	}
	d := make(chan struct{})
	c.done = d
	if c.err != nil {
		close(d)
		c.mu.Unlock()
		return d
	}
	c.mu.Unlock()
	c.w.arm(c)
	c.check()
	return d
}

// AfterFunc arranges for f to run in its own goroutine once c is done, like
// [context.AfterFunc]; the context package uses it so that contexts derived
// from c need no goroutine of their own.
func (c *lookupCtx) AfterFunc(f func()) (stop func() bool) {
	fp := &f
	c.Done() // arms the deadline and the parent hook
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	c.afters = append(c.afters, fp)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.afters, fp)
		if i < 0 {
			return false
		}
		c.afters = slices.Delete(c.afters, i, i+1)
		return true
	}
}

// expire makes c done with err (unless it is done already) and returns the
// error c ends with.
func (c *lookupCtx) expire(err error) error {
	c.mu.Lock()
	if c.err != nil {
		err = c.err
		c.mu.Unlock()
		return err
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for _, f := range afters {
		go (*f)()
	}
	return err
}
