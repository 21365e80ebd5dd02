package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/prefixvet/prefixvet/reputation"
)

// The store is one bbolt file with four buckets:
//
//	meta    "schema" -> "1", "last_run" -> uint64 (big-endian): the last committed run
//	blocks  block (netip.Prefix text) -> JSON storedBlock: label and latest report
//	events  run (uint64 BE) ++ seq (uint32 BE) -> JSON event: the append-only log
//	runs    run (uint64 BE) -> JSON runRecord: one summary per committed run
//
// A run reads the last committed state, scores, and then writes its events,
// the new reports, the removed blocks and its run record in one read-write
// transaction, so a run is either entirely in the store or not at all.
//
// The bucket and key names are functions rather than []byte variables, so
// that no code can change them (bbolt wants []byte, which cannot be const).
func bucketMeta() []byte   { return []byte("meta") }
func bucketBlocks() []byte { return []byte("blocks") }
func bucketEvents() []byte { return []byte("events") }
func bucketRuns() []byte   { return []byte("runs") }
func keySchema() []byte    { return []byte("schema") }
func keyLastRun() []byte   { return []byte("last_run") }

const schemaVersion = "1"

// lockTimeout bounds the wait for the store's file lock, held by another
// rescore process while it runs.
const lockTimeout = 5 * time.Second

// storeError marks a failure of the store: exit status 4.
type storeError struct{ err error }

func (e *storeError) Error() string { return "store: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// storedBlock is what the store keeps per block.
type storedBlock struct {
	Label    string             `json:"label,omitempty"`
	FirstRun uint64             `json:"first_run"`
	LastRun  uint64             `json:"last_run"`
	Report   *reputation.Report `json:"report"`
}

// runRecord summarizes one committed run.
type runRecord struct {
	Run      uint64                     `json:"run"`
	Started  time.Time                  `json:"started"`
	Finished time.Time                  `json:"finished"`
	Blocks   int                        `json:"blocks"`
	Events   int                        `json:"events"`
	Verdicts map[reputation.Verdict]int `json:"verdicts"`
}

// state is the last committed state of the store.
type state struct {
	LastRun uint64
	Blocks  map[netip.Prefix]storedBlock
}

type store struct {
	db   *bolt.DB
	path string
}

// damagedError reports a store that is not a consistent rescore history.
type damagedError struct {
	path   string
	reason string
}

func (e *damagedError) Error() string {
	return fmt.Sprintf("%s is damaged: %s; restore it from a backup, or move it away to start a new history", e.path, e.reason)
}

func damaged(path, format string, a ...any) error {
	return &storeError{&damagedError{path: path, reason: fmt.Sprintf(format, a...)}}
}

// openStore opens the store at path, creating it if the file does not
// exist. An existing file is checked before it is used: its page structure
// (checkFile, then bbolt's Tx.Check), its buckets and the shape of every
// stored value. Any damage is a *storeError naming the file; an empty file
// is damage too (a store is never empty once created), not a new history.
func openStore(path string) (*store, error) {
	size, err := fileSize(path)
	if err != nil {
		return nil, &storeError{err}
	}
	switch {
	case size == 0:
		return nil, damaged(path, "the file is empty (0 bytes), but a history store never is")
	case size > 0:
		if err := checkStore(path, size); err != nil {
			return nil, err
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, &storeError{fmt.Errorf("%s is locked by another process (another rescore run?)", path)}
		}
		return nil, &storeError{fmt.Errorf("open %s: %w", path, err)}
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if size > 0 {
			return nil // checked: every bucket is there
		}
		for _, b := range [][]byte{bucketMeta(), bucketBlocks(), bucketEvents(), bucketRuns()} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta()).Put(keySchema(), []byte(schemaVersion))
	})
	if err != nil {
		db.Close()
		return nil, &storeError{err}
	}
	return &store{db: db, path: path}, nil
}

// checkStore checks an existing store file read-only: the page structure,
// then bbolt's consistency check, then the rescore buckets and values.
func checkStore(path string, size int64) error {
	fh, err := os.Open(path)
	if err != nil {
		return &storeError{err}
	}
	err = checkFile(fh, size)
	fh.Close()
	if err != nil {
		return damaged(path, "%v", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return &storeError{fmt.Errorf("%s is locked by another process (another rescore run?)", path)}
		}
		return damaged(path, "%v", err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		// Read Check's channel to the end: it walks the pages in a
		// goroutine of its own, which must be done before the file is
		// unmapped.
		var first error
		for err := range tx.Check() {
			if first == nil {
				first = err
			}
		}
		if first != nil {
			return first
		}
		return validate(tx)
	})
	if err != nil {
		return damaged(path, "%v", err)
	}
	return nil
}

// validate checks the buckets and the shape of every value in them.
func validate(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketMeta(), bucketBlocks(), bucketEvents(), bucketRuns()} {
		if tx.Bucket(b) == nil {
			return fmt.Errorf("bucket %q is missing (not a rescore history store?)", b)
		}
	}
	meta := tx.Bucket(bucketMeta())
	if v := meta.Get(keySchema()); string(v) != schemaVersion {
		return fmt.Errorf("schema %q, this rescore reads %q", v, schemaVersion)
	}
	last, err := lastRun(meta)
	if err != nil {
		return err
	}
	if _, err := readBlocks(tx, last); err != nil {
		return err
	}
	err = tx.Bucket(bucketRuns()).ForEach(func(k, v []byte) error {
		_, err := decodeRun(k, v, last)
		return err
	})
	if err != nil {
		return err
	}
	// Events are many (a run of 15,000 blocks can write megabytes of
	// them): their keys are checked here, their values when they are read
	// (eventsSince).
	return tx.Bucket(bucketEvents()).ForEach(func(k, _ []byte) error {
		if len(k) != 12 {
			return fmt.Errorf("event key %x is %d bytes, want 12", k, len(k))
		}
		if run := binary.BigEndian.Uint64(k); run == 0 || run > last {
			return fmt.Errorf("event of run %d, after the last run %d", run, last)
		}
		return nil
	})
}

// lastRun reads the id of the last committed run (0 for none).
func lastRun(meta *bolt.Bucket) (uint64, error) {
	v := meta.Get(keyLastRun())
	switch {
	case v == nil:
		return 0, nil
	case len(v) != 8:
		return 0, fmt.Errorf("last_run is %d bytes, want 8", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// readBlocks reads and checks every stored block.
func readBlocks(tx *bolt.Tx, last uint64) (map[netip.Prefix]storedBlock, error) {
	out := map[netip.Prefix]storedBlock{}
	err := tx.Bucket(bucketBlocks()).ForEach(func(k, v []byte) error {
		p, err := netip.ParsePrefix(string(k))
		if err != nil || p != p.Masked() || p.String() != string(k) {
			return fmt.Errorf("bad block key %q", k)
		}
		var b storedBlock
		if err := json.Unmarshal(v, &b); err != nil {
			return fmt.Errorf("block %s: %w", p, err)
		}
		switch {
		case b.Report == nil || b.Report.Prefix != p:
			return fmt.Errorf("block %s: no report for the block", p)
		case !knownVerdict(b.Report.Verdict):
			return fmt.Errorf("block %s: unknown verdict %q", p, b.Report.Verdict)
		case b.FirstRun == 0 || b.FirstRun > b.LastRun || b.LastRun > last:
			return fmt.Errorf("block %s: runs %d..%d do not fit the last run %d", p, b.FirstRun, b.LastRun, last)
		}
		out[p] = b
		return nil
	})
	return out, err
}

func knownVerdict(v reputation.Verdict) bool {
	switch v {
	case reputation.VerdictClean, reputation.VerdictReview, reputation.VerdictReject, reputation.VerdictIncomplete:
		return true
	}
	return false
}

func decodeRun(k, v []byte, last uint64) (runRecord, error) {
	var r runRecord
	if len(k) != 8 {
		return r, fmt.Errorf("run key %x is %d bytes, want 8", k, len(k))
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("run %d: %w", binary.BigEndian.Uint64(k), err)
	}
	if r.Run != binary.BigEndian.Uint64(k) || r.Run == 0 || r.Run > last {
		return r, fmt.Errorf("run record %d stored under run %d (last run %d)", r.Run, binary.BigEndian.Uint64(k), last)
	}
	return r, nil
}

func decodeEvent(k, v []byte, last uint64) (event, error) {
	var e event
	if len(k) != 12 {
		return e, fmt.Errorf("event key %x is %d bytes, want 12", k, len(k))
	}
	run, seq := binary.BigEndian.Uint64(k), binary.BigEndian.Uint32(k[8:])
	// Details stay raw JSON, so a replayed event prints byte for byte as
	// it was first printed (decoded into an any, its keys would be sorted).
	var raw struct {
		event
		Details json.RawMessage `json:"details,omitempty"`
	}
	if err := json.Unmarshal(v, &raw); err != nil {
		return e, fmt.Errorf("event %d/%d: %w", run, seq, err)
	}
	e = raw.event
	if len(raw.Details) > 0 {
		e.Details = raw.Details
	}
	if e.Run != run || e.Seq != int(seq) || run == 0 || run > last || !e.Block.IsValid() || e.Kind == "" {
		return e, fmt.Errorf("event %d/%d does not match its key or the last run %d", run, seq, last)
	}
	return e, nil
}

// close closes the store; a second call does nothing.
func (s *store) close() error {
	if s.db == nil {
		return nil
	}
	db := s.db
	s.db = nil
	if err := db.Close(); err != nil {
		return &storeError{err}
	}
	return nil
}

// load reads the last committed state.
func (s *store) load() (state, error) {
	var st state
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if st.LastRun, err = lastRun(tx.Bucket(bucketMeta())); err != nil {
			return err
		}
		st.Blocks, err = readBlocks(tx, st.LastRun)
		return err
	})
	if err != nil {
		return state{}, damaged(s.path, "%v", err)
	}
	if st.LastRun == math.MaxUint64 {
		return state{}, &storeError{fmt.Errorf("%s: the last run id is %d, the largest there is; start a new history", s.path, st.LastRun)}
	}
	return st, nil
}

// commit writes one run in a single transaction: its events, the new
// reports (put), the removed blocks (deleted), its run record and the new
// last run. It fails, writing nothing, if another process committed a run
// since st was loaded. beforeCommit, if set, is called inside the
// transaction after every write and before the commit (a test hook).
//
// keep, if positive, is the number of runs whose events and run records
// are kept: older ones are deleted in the same transaction.
func (s *store) commit(rec runRecord, events []event, put map[netip.Prefix]storedBlock, removed []netip.Prefix, keep uint64, beforeCommit func()) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta())
		last, err := lastRun(meta)
		if err != nil {
			return err
		}
		if last+1 != rec.Run {
			return fmt.Errorf("run %d was committed by another process meanwhile; run again", last+1)
		}
		evb := tx.Bucket(bucketEvents())
		for _, e := range events {
			v, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := evb.Put(eventKey(e.Run, e.Seq), v); err != nil {
				return err
			}
		}
		blb := tx.Bucket(bucketBlocks())
		for p, b := range put {
			v, err := json.Marshal(b)
			if err != nil {
				return err
			}
			if err := blb.Put([]byte(p.String()), v); err != nil {
				return err
			}
		}
		for _, p := range removed {
			if err := blb.Delete([]byte(p.String())); err != nil {
				return err
			}
		}
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketRuns()).Put(binary.BigEndian.AppendUint64(nil, rec.Run), v); err != nil {
			return err
		}
		if err := meta.Put(keyLastRun(), binary.BigEndian.AppendUint64(nil, rec.Run)); err != nil {
			return err
		}
		if keep > 0 && rec.Run > keep {
			if err := prune(tx, rec.Run-keep); err != nil {
				return err
			}
		}
		if beforeCommit != nil {
			beforeCommit()
		}
		return nil
	})
	if err != nil {
		return &storeError{err}
	}
	return nil
}

// prune deletes the events and run records of runs up to and including
// upTo. Keys are collected first: deleting under a moving cursor skips keys.
func prune(tx *bolt.Tx, upTo uint64) error {
	for _, name := range [][]byte{bucketEvents(), bucketRuns()} {
		b := tx.Bucket(name)
		var dead [][]byte
		c := b.Cursor()
		for k, _ := c.First(); len(k) >= 8 && binary.BigEndian.Uint64(k) <= upTo; k, _ = c.Next() {
			dead = append(dead, bytes.Clone(k)) // a key's memory is bbolt's
		}
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// firstRun returns the oldest run whose record is kept (0 if none).
func (s *store) firstRun() (uint64, error) {
	var first uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketRuns()).Cursor().First(); len(k) == 8 {
			first = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return first, err
}

// eventsSince returns the committed events of the runs after run, in order,
// and the last committed run.
func (s *store) eventsSince(run uint64) (events []event, last uint64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if last, err = lastRun(tx.Bucket(bucketMeta())); err != nil {
			return err
		}
		if run == math.MaxUint64 {
			return nil
		}
		c := tx.Bucket(bucketEvents()).Cursor()
		for k, v := c.Seek(eventKey(run+1, 0)); k != nil; k, v = c.Next() {
			e, err := decodeEvent(k, v, last)
			if err != nil {
				return err
			}
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		return nil, 0, damaged(s.path, "%v", err)
	}
	return events, last, nil
}

// eventKey is the key of an event: run then sequence, big-endian, so that
// the log iterates in the order it was written.
func eventKey(run uint64, seq int) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 12), run)
	return binary.BigEndian.AppendUint32(k, uint32(seq))
}
