package dnsclient

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// socketBuffer is the receive buffer asked for each UDP socket.
const socketBuffer = 1 << 20

// minWindow is the smallest in-flight window a loss can cut a server to.
const minWindow = 4

// upstream is one server: its UDP sockets, its in-flight window and its
// round-trip estimate.
type upstream struct {
	st    *state
	addr  string
	raddr *net.UDPAddr

	sockOnce sync.Once
	sockErr  error
	socks    []*udpSock
	next     atomic.Uint32

	fails atomic.Int32 // consecutive timeouts, for choosing where to start

	mu       sync.Mutex
	inflight int
	cwnd     float64
	ssthresh float64
	maxWin   float64
	lastCut  time.Duration // st.clock() of the last cut; -1 before any
	queue    []*outbound
	srtt     time.Duration
	rttvar   time.Duration
	hasRTT   bool
}

// sock returns one of the server's UDP sockets (round robin), opening them
// and starting their readers on first use.
func (u *upstream) sock() (*udpSock, error) {
	u.sockOnce.Do(func() {
		for range u.st.nsocks {
			conn, err := net.DialUDP("udp", nil, u.raddr)
			if err != nil {
				u.sockErr = err
				return
			}
			// A large receive buffer keeps answers that arrive while
			// the reader is descheduled; the kernel caps it at
			// net.core.rmem_max. Failure only costs retries.
			_ = conn.SetReadBuffer(socketBuffer)
			s := &udpSock{conn: conn, pending: make(map[uint16]pend)}
			u.socks = append(u.socks, s)
			u.st.addSock(s)
			u.st.readers.Add(1)
			go u.st.read(s)
		}
	})
	if u.sockErr != nil && len(u.socks) == 0 {
		return nil, u.sockErr
	}
	return u.socks[int(u.next.Add(1))%len(u.socks)], nil
}

func (u *upstream) closeSocks() {
	// Serialise with a concurrent first use, which would otherwise open
	// sockets after this close.
	u.sockOnce.Do(func() { u.sockErr = ErrClosed })
	for _, s := range u.socks {
		s.conn.Close()
	}
}

// outbound is an attempt waiting in its server's queue for a window slot:
// registered on s under id (not yet timed), its packet ready. The
// goroutine that grants it the slot sends it (see state.transmit).
type outbound struct {
	s       *udpSock
	id      uint16
	seq     uint64
	pkt     []byte
	timeout time.Duration
	retry   bool
	done    chan struct{} // buffered: a token once the packet is sent
	inLine  bool          // in u.queue; guarded by u.mu
}

// tryAcquire takes a slot of the in-flight window if one is free and no
// one waits for it. Either way it returns rto(), read under the same lock.
func (u *upstream) tryAcquire() (bool, time.Duration) {
	u.mu.Lock()
	defer u.mu.Unlock()
	rto := u.rtoLocked()
	if len(u.queue) == 0 && u.inflight < int(u.cwnd) {
		u.inflight++
		return true, rto
	}
	return false, rto
}

// enqueue puts o in line for a slot, in FIFO order; a retry (urgent) goes
// to the head of the line, so that a loss does not also cost the wait
// behind every question queued since. It reports true, without queueing,
// if a slot is free now: the caller then holds it and sends o itself.
func (u *upstream) enqueue(o *outbound, urgent bool) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.queue) == 0 && u.inflight < int(u.cwnd) {
		u.inflight++
		return true
	}
	o.inLine = true
	if urgent {
		u.queue = slices.Insert(u.queue, 0, o)
	} else {
		u.queue = append(u.queue, o)
	}
	return false
}

// dequeue takes o out of the line; false if it was granted a slot (and so
// is being, or has been, sent).
func (u *upstream) dequeue(o *outbound) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !o.inLine {
		return false
	}
	o.inLine = false
	if i := slices.Index(u.queue, o); i >= 0 {
		u.queue = slices.Delete(u.queue, i, i+1)
	}
	return true
}

// release gives back a slot, and sends the attempts it lets through.
func (u *upstream) release() {
	var buf [4]*outbound
	u.mu.Lock()
	u.inflight--
	granted := u.grantLocked(buf[:0])
	u.mu.Unlock()
	u.st.sendGranted(granted)
}

// grantLocked gives the free slots to the head of the line and returns the
// attempts granted, which the caller sends once u.mu is unlocked.
func (u *upstream) grantLocked(out []*outbound) []*outbound {
	for len(u.queue) > 0 && u.inflight < int(u.cwnd) {
		u.queue[0].inLine = false
		out = append(out, u.queue[0])
		u.queue[0] = nil
		u.queue = u.queue[1:]
		u.inflight++
	}
	return out
}

// sendGranted sends attempts granted a slot, on behalf of their queries,
// and hands each its token. A send error reaches the query through the
// sweeper, as an immediate timeout carrying the error.
func (st *state) sendGranted(granted []*outbound) {
	for _, o := range granted {
		st.arm(o)
		if err := st.transmit(o.s, o.pkt, o.retry); err != nil {
			o.s.fail(o, err)
			st.armed()
		}
		o.done <- struct{}{}
	}
}

// arm starts the clock of a queued attempt as it is sent.
func (st *state) arm(o *outbound) {
	now := st.clock()
	s := o.s
	s.mu.Lock()
	if e, ok := s.pending[o.id]; ok && e.seq == o.seq {
		e.sent, e.deadline = now, now+o.timeout
		s.pending[o.id] = e
	}
	s.mu.Unlock()
	st.armed()
}

// transmit sends pkt on s.
func (st *state) transmit(s *udpSock, pkt []byte, retry bool) error {
	if _, err := s.conn.Write(pkt); err != nil {
		return fmt.Errorf("dnsclient: send to %s: %w", s.conn.RemoteAddr(), err)
	}
	st.stats.sent.Add(1)
	if retry {
		st.stats.retries.Add(1)
	}
	return nil
}

// rtoLocked returns the timeout of a first attempt: srtt + 4·rttvar
// (RFC 6298) clamped to [MinTimeout, Timeout], or InitialTimeout before any
// sample. u.mu is held.
func (u *upstream) rtoLocked() time.Duration {
	if !u.hasRTT {
		return u.st.initTimeout
	}
	return min(max(u.srtt+4*u.rttvar, u.st.minTimeout), u.st.timeout)
}

// onAnswer records an answer that took rtt: it gives back the attempt's
// slot if held, updates the round-trip estimate and widens the window (by
// one per answer below the slow-start threshold, by one per window above
// it); then it sends the attempts the freed room lets through.
func (u *upstream) onAnswer(rtt time.Duration, held bool) {
	u.fails.Store(0)
	u.mu.Lock()
	if held {
		u.inflight--
	}
	if !u.hasRTT {
		u.srtt, u.rttvar, u.hasRTT = rtt, rtt/2, true
	} else {
		d := u.srtt - rtt
		if d < 0 {
			d = -d
		}
		u.rttvar += (d - u.rttvar) / 4
		u.srtt += (rtt - u.srtt) / 8
	}
	if u.cwnd < u.ssthresh {
		u.cwnd++
	} else {
		u.cwnd += 1 / u.cwnd
	}
	u.cwnd = min(u.cwnd, u.maxWin)
	var buf [4]*outbound
	granted := u.grantLocked(buf[:0])
	u.mu.Unlock()
	u.st.sendGranted(granted)
}

// onTimeout records a query sent at sent that got no answer in time: the
// window is halved, at most once per window of queries (losses of queries
// sent before the last cut do not cut again).
func (u *upstream) onTimeout(sent, now time.Duration) {
	u.fails.Add(1)
	u.mu.Lock()
	if sent > u.lastCut {
		u.ssthresh = max(u.cwnd/2, minWindow)
		u.cwnd = u.ssthresh
		u.lastCut = now
	}
	u.mu.Unlock()
}

// window reports the current window, for Stats.
func (u *upstream) window() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return int(u.cwnd)
}

// udpSock is one connected UDP socket (random source port) and the queries
// waiting on it, by ID.
type udpSock struct {
	conn *net.UDPConn

	mu      sync.Mutex
	pending map[uint16]pend
	seq     uint64 // registrations so far
}

// pend is a registration: the waiter and a number unique on the socket, so
// that a waiter recycled and registered again under the same ID is told
// apart from its former self, and the attempt's times.
type pend struct {
	w   *waiter
	seq uint64
	// sent is the state.clock() reading when the attempt was sent; 0
	// while it waits for a window slot.
	sent time.Duration
	// deadline is the state.clock() reading at which the sweeper tells
	// the waiter that the attempt timed out; 0 while it waits for a
	// slot, or once told.
	deadline time.Duration
	err      error // the send failed (the deadline is then immediate)
}

// register gives w a random ID not in use on s, for an attempt sent at
// sent that times out at deadline (state.clock() readings; 0 and 0 for an
// attempt that waits for a window slot, see state.arm). It returns the ID
// and the registration's sequence number.
func (s *udpSock) register(w *waiter, sent, deadline time.Duration) (uint16, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	for {
		id := uint16(rand.Uint32())
		if _, busy := s.pending[id]; !busy {
			s.pending[id] = pend{w: w, seq: s.seq, sent: sent, deadline: deadline}
			return id, s.seq
		}
	}
}

// fail marks the queued attempt o as not sent because of err: the sweeper
// tells its waiter at once.
func (s *udpSock) fail(o *outbound, err error) {
	s.mu.Lock()
	if e, ok := s.pending[o.id]; ok && e.seq == o.seq {
		e.deadline, e.err = 1, err
		s.pending[o.id] = e
	}
	s.mu.Unlock()
}

func (s *udpSock) unregister(id uint16) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

// reply is a response packet that matched a waiter's ID and question, or
// (timeout set, msg nil) the sweeper's word that the attempt under that ID
// timed out.
type reply struct {
	msg     *dns.Msg
	pkt     []byte // wire form, kept only when the cache is on
	sock    *udpSock
	id      uint16
	rtt     time.Duration // of an answer
	sent    time.Duration // of a timeout: when the attempt was sent
	timeout bool
	err     error // of a timeout: the attempt could not be sent
	closed  bool  // the client is closing: the waiter gives up
}

// waiter is one query waiting for its answer, possibly under several IDs
// (one per attempt).
type waiter struct {
	q    []byte // wire question
	name string // the question's name, as asked (fully qualified)
	ch   chan reply
}

// read dispatches the packets arriving on s to their waiters until s is
// closed. A packet whose ID is not pending, or whose question differs from
// the waiter's, is counted and dropped.
func (st *state) read(s *udpSock) {
	defer st.readers.Done()
	buf := make([]byte, 65535)
	var names nameCache
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// ICMP errors (connection refused) and the like: the
			// queries concerned time out and move to another server.
			continue
		}
		if n < headerLen {
			st.stats.malformed.Add(1)
			continue
		}
		id := binary.BigEndian.Uint16(buf)
		// The question is compared under the lock: a waiter's question
		// changes only while it is registered nowhere.
		s.mu.Lock()
		e := s.pending[id]
		match := e.w != nil && matchResponse(e.w.q, buf[:n])
		var qname string
		if match {
			qname = e.w.name
		}
		s.mu.Unlock()
		if e.w == nil {
			st.stats.unmatched.Add(1)
			continue
		}
		if !match {
			st.stats.mismatches.Add(1)
			if st.log != nil {
				st.log.Debug("dnsclient: discarded answer with wrong question", "server", s.conn.RemoteAddr().String(), "id", id)
			}
			continue
		}
		// Parse here, in a long-lived goroutine, rather than in the
		// waiting one: it keeps the waiters' stacks small.
		m, err := unpack(buf[:n], qname, &names)
		if err != nil {
			st.stats.malformed.Add(1)
			if st.log != nil {
				st.log.Debug("dnsclient: discarded malformed answer", "server", s.conn.RemoteAddr().String(), "err", err)
			}
			continue
		}
		var pkt []byte
		if st.cache != nil {
			pkt = make([]byte, n)
			copy(pkt, buf[:n])
		}
		// Deliver only if the registration still stands (the waiter
		// may have given up the ID, or been recycled, meanwhile); under
		// the lock, so that a waiter whose IDs are unregistered gets
		// nothing more.
		now := st.clock()
		delivered := false
		s.mu.Lock()
		// An attempt still in line for a window slot has not been sent: an
		// "answer" to it is someone else's, and would upset the window.
		if cur, ok := s.pending[id]; ok && cur.w == e.w && cur.seq == e.seq && cur.sent > 0 {
			r := reply{msg: m, pkt: pkt, sock: s, id: id, rtt: now - cur.sent}
			select {
			case e.w.ch <- r:
				// The deadline stays: a timeout for an answered
				// attempt is ignored, and the waiter unregisters
				// it soon.
				delivered = true
			default:
			}
		}
		s.mu.Unlock()
		if !delivered {
			st.stats.unmatched.Add(1)
		}
	}
}

// addSock makes s known to the sweeper, starting it with the first socket.
func (st *state) addSock(s *udpSock) {
	st.smu.Lock()
	st.socks = append(st.socks, s)
	first := len(st.socks) == 1
	st.smu.Unlock()
	if first {
		st.readers.Add(1)
		go st.sweep()
	}
}

// armed tells the sweeper that an attempt with a deadline is pending.
func (st *state) armed() {
	if st.sweepIdle.Load() && st.sweepIdle.CompareAndSwap(true, false) {
		st.kick <- struct{}{} // buffered; only the CAS winner sends
	}
}

// sweep times out attempts: one goroutine and one timer per client rather
// than a timer per query. While attempts are pending it wakes every
// st.tick and tells each waiter whose attempt is past its deadline (so a
// timeout fires up to one tick late); when none are, it sleeps until the
// next attempt is registered. It returns when the client is closed.
func (st *state) sweep() {
	defer st.readers.Done()
	t := time.NewTimer(st.tick)
	defer t.Stop()
	for {
		select {
		case <-st.kick:
		case <-st.ctx.Done():
			return
		}
		for {
			t.Reset(st.tick)
			select {
			case <-t.C:
			case <-st.ctx.Done():
				return
			}
			if st.expire(st.clock()) > 0 {
				continue
			}
			// Go idle, unless an attempt was armed meanwhile and its
			// sender saw the sweeper busy (and so sent no kick).
			st.sweepIdle.Store(true)
			if st.expire(st.clock()) > 0 && st.sweepIdle.CompareAndSwap(true, false) {
				continue
			}
			break
		}
	}
}

// expire tells the waiters of the attempts past their deadline at now, and
// returns how many attempts are still armed.
func (st *state) expire(now time.Duration) int {
	st.smu.Lock()
	socks := st.socks
	st.smu.Unlock()
	armed := 0
	for _, s := range socks {
		s.mu.Lock()
		for id, e := range s.pending {
			if e.deadline == 0 {
				continue
			}
			if e.deadline > now {
				armed++
				continue
			}
			select {
			case e.w.ch <- reply{sock: s, id: id, timeout: true, sent: e.sent, err: e.err}:
				e.deadline = 0
				s.pending[id] = e
			default:
				armed++ // channel full: try again next tick
			}
		}
		s.mu.Unlock()
	}
	return armed
}

// wakeWaiters tells every query registered on a socket that the client is
// closing. A query whose channel is full is told on a later call.
func (st *state) wakeWaiters() {
	st.smu.Lock()
	socks := st.socks
	st.smu.Unlock()
	for _, s := range socks {
		s.mu.Lock()
		for id, e := range s.pending {
			select {
			case e.w.ch <- reply{sock: s, id: id, closed: true}:
			default:
			}
		}
		s.mu.Unlock()
	}
}
