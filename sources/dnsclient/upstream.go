package dnsclient

import (
	"encoding/binary"
	"errors"
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
	queue    []chan struct{}
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

// acquire takes one slot of the in-flight window, waiting in FIFO order;
// a retry (urgent) goes to the head of the line, so that a loss does not
// also cost the wait behind every question queued since.
func (u *upstream) acquire(cancel, closed <-chan struct{}, urgent bool) error {
	u.mu.Lock()
	if len(u.queue) == 0 && u.inflight < int(u.cwnd) {
		u.inflight++
		u.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	if urgent {
		u.queue = slices.Insert(u.queue, 0, ch)
	} else {
		u.queue = append(u.queue, ch)
	}
	u.mu.Unlock()
	var err error
	select {
	case <-ch:
		return nil
	case <-cancel:
		err = errCanceled
	case <-closed:
		err = ErrClosed
	}
	{
		u.mu.Lock()
		select {
		case <-ch: // granted meanwhile: give it back
			u.inflight--
			u.grantLocked()
		default:
			if i := slices.Index(u.queue, ch); i >= 0 {
				u.queue = slices.Delete(u.queue, i, i+1)
			}
		}
		u.mu.Unlock()
		return err
	}
}

// errCanceled: the caller's context ended while waiting for a window slot.
var errCanceled = errors.New("dnsclient: canceled")

func (u *upstream) release() {
	u.mu.Lock()
	u.inflight--
	u.grantLocked()
	u.mu.Unlock()
}

func (u *upstream) grantLocked() {
	for len(u.queue) > 0 && u.inflight < int(u.cwnd) {
		close(u.queue[0])
		u.queue[0] = nil
		u.queue = u.queue[1:]
		u.inflight++
	}
}

// rto returns the timeout of a first attempt: srtt + 4·rttvar (RFC 6298)
// clamped to [MinTimeout, Timeout], or InitialTimeout before any sample.
func (u *upstream) rto() time.Duration {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.hasRTT {
		return u.st.initTimeout
	}
	return min(max(u.srtt+4*u.rttvar, u.st.minTimeout), u.st.timeout)
}

// onAnswer records an answer that took rtt: it updates the round-trip
// estimate and widens the window (by one per answer below the slow-start
// threshold, by one per window above it).
func (u *upstream) onAnswer(rtt time.Duration) {
	u.fails.Store(0)
	u.mu.Lock()
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
	u.grantLocked()
	u.mu.Unlock()
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
// apart from its former self, and the attempt's deadline.
type pend struct {
	w   *waiter
	seq uint64
	// deadline is the state.clock() reading at which the sweeper tells
	// the waiter that the attempt timed out; 0 once told, or once
	// answered.
	deadline time.Duration
}

// register gives w a random ID not in use on s, for an attempt that times
// out at deadline (a state.clock() reading).
func (s *udpSock) register(w *waiter, deadline time.Duration) uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	for {
		id := uint16(rand.Uint32())
		if _, busy := s.pending[id]; !busy {
			s.pending[id] = pend{w: w, seq: s.seq, deadline: deadline}
			return id
		}
	}
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
	at      time.Duration // state.clock() on arrival
	timeout bool
}

// waiter is one query waiting for its answer, possibly under several IDs
// (one per attempt).
type waiter struct {
	q  []byte // wire question
	ch chan reply
}

// read dispatches the packets arriving on s to their waiters until s is
// closed. A packet whose ID is not pending, or whose question differs from
// the waiter's, is counted and dropped.
func (st *state) read(s *udpSock) {
	defer st.readers.Done()
	buf := make([]byte, 65535)
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
		m := new(dns.Msg)
		if err := m.Unpack(buf[:n]); err != nil {
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
		r := reply{msg: m, pkt: pkt, sock: s, id: id, at: st.clock()}
		delivered := false
		s.mu.Lock()
		if cur, ok := s.pending[id]; ok && cur.w == e.w && cur.seq == e.seq {
			select {
			case e.w.ch <- r:
				delivered = true
				cur.deadline = 0 // answered: no timeout
				s.pending[id] = cur
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
			case e.w.ch <- reply{sock: s, id: id, timeout: true}:
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
