package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
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
var (
	bucketMeta   = []byte("meta")
	bucketBlocks = []byte("blocks")
	bucketEvents = []byte("events")
	bucketRuns   = []byte("runs")
	keySchema    = []byte("schema")
	keyLastRun   = []byte("last_run")
)

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

type store struct{ db *bolt.DB }

// openStore opens (creating if needed) the store at path.
func openStore(path string) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, &storeError{fmt.Errorf("%s is locked by another process (another rescore run?)", path)}
		}
		return nil, &storeError{fmt.Errorf("open %s: %w", path, err)}
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketBlocks, bucketEvents, bucketRuns} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keySchema); {
		case v == nil:
			return meta.Put(keySchema, []byte(schemaVersion))
		case string(v) != schemaVersion:
			return fmt.Errorf("%s has schema %q, this rescore reads %q", path, v, schemaVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, &storeError{err}
	}
	return &store{db: db}, nil
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
	st := state{Blocks: make(map[netip.Prefix]storedBlock)}
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyLastRun); v != nil {
			st.LastRun = binary.BigEndian.Uint64(v)
		}
		return tx.Bucket(bucketBlocks).ForEach(func(k, v []byte) error {
			p, err := netip.ParsePrefix(string(k))
			if err != nil {
				return fmt.Errorf("bad block key %q: %w", k, err)
			}
			var b storedBlock
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("block %s: %w", p, err)
			}
			st.Blocks[p] = b
			return nil
		})
	})
	if err != nil {
		return state{}, &storeError{err}
	}
	return st, nil
}

// commit writes one run in a single transaction: its events, the new
// reports (put), the removed blocks (deleted), its run record and the new
// last run. It fails, writing nothing, if another process committed a run
// since st was loaded. beforeCommit, if set, is called inside the
// transaction after every write and before the commit (a test hook).
func (s *store) commit(rec runRecord, events []event, put map[netip.Prefix]storedBlock, removed []netip.Prefix, beforeCommit func()) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var last uint64
		if v := meta.Get(keyLastRun); v != nil {
			last = binary.BigEndian.Uint64(v)
		}
		if last+1 != rec.Run {
			return fmt.Errorf("run %d was committed by another process meanwhile; run again", last+1)
		}
		evb := tx.Bucket(bucketEvents)
		for _, e := range events {
			v, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := evb.Put(eventKey(e.Run, e.Seq), v); err != nil {
				return err
			}
		}
		blb := tx.Bucket(bucketBlocks)
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
		if err := tx.Bucket(bucketRuns).Put(binary.BigEndian.AppendUint64(nil, rec.Run), v); err != nil {
			return err
		}
		if err := meta.Put(keyLastRun, binary.BigEndian.AppendUint64(nil, rec.Run)); err != nil {
			return err
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

// eventKey is the key of an event: run then sequence, big-endian, so that
// the log iterates in the order it was written.
func eventKey(run uint64, seq int) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 12), run)
	return binary.BigEndian.AppendUint32(k, uint32(seq))
}
