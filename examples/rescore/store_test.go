package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bigStore writes a store of a few runs over 200 blocks (about 100 KiB),
// and returns the fixture and the store's bytes.
func bigStore(t *testing.T) (*fixture, []byte) {
	t.Helper()
	f := newFixture(t)
	var inv strings.Builder
	for i := range 200 {
		fmt.Fprintf(&inv, "192.0.2.%d/32 host %d\n", i, i)
	}
	zones := []string{zoneV1, zoneV2, zoneV3}
	for run := range 3 {
		f.write(t, zones[run], inv.String())
		if code, _, stderr := runRescore(t, f.args("-json")...); code == exitStore || code == exitUsage {
			t.Fatalf("building the store, run %d: exit %d\n%s", run+1, code, stderr)
		}
	}
	data, err := os.ReadFile(f.db)
	if err != nil {
		t.Fatal(err)
	}
	return f, data
}

// wantDamaged runs rescore on the fixture's store and wants exit 4 with a
// message naming the file. A panic would end the test binary.
func wantDamaged(t *testing.T, f *fixture, what string) {
	t.Helper()
	code, out, stderr := runRescore(t, f.args("-json")...)
	if code != exitStore || out != "" || !strings.Contains(stderr, f.db) || !strings.Contains(stderr, "damaged") {
		t.Errorf("%s: exit %d, %d bytes on stdout, stderr %q; want %d, nothing printed and a message naming %s as damaged", what, code, len(out), stderr, exitStore, f.db)
	}
}

func TestDamagedStoreIsExit4(t *testing.T) {
	t.Parallel()
	_, data := bigStore(t)
	tests := []struct {
		name string
		data func() []byte
	}{
		{name: "empty_file", data: func() []byte { return nil }},
		{name: "truncated_8KiB", data: func() []byte { return data[:8<<10] }},
		{name: "truncated_16KiB", data: func() []byte { return data[:16<<10] }},
		{name: "truncated_half", data: func() []byte { return data[:len(data)/2] }},
		{name: "short_header", data: func() []byte { return data[:100] }},
		{name: "garbage", data: func() []byte { return bytes.Repeat([]byte("not a store "), 1000) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newFixture(t)
			if err := os.WriteFile(g.db, tt.data(), 0o600); err != nil {
				t.Fatal(err)
			}
			wantDamaged(t, g, tt.name)
			if st, err := os.Stat(g.db); err != nil || st.Size() != int64(len(tt.data())) {
				t.Errorf("the damaged file was modified (%v)", err)
			}
		})
	}
}

// setMeta overwrites a key of the meta bucket, as a damaged or hostile file
// could hold it.
func setMeta(t *testing.T, path string, key, value []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta()).Put(key, value) }); err != nil {
		t.Fatal(err)
	}
}

func TestBadStoredValuesAreExit4(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		bucket    []byte
		key, val  []byte
		wantInErr string
	}{
		{name: "short_last_run", bucket: bucketMeta(), key: keyLastRun(), val: []byte{1, 2, 3}, wantInErr: "last_run is 3 bytes"},
		{name: "long_last_run", bucket: bucketMeta(), key: keyLastRun(), val: make([]byte, 9), wantInErr: "last_run is 9 bytes"},
		{name: "block_not_json", bucket: bucketBlocks(), key: []byte("192.0.2.0/24"), val: []byte("{"), wantInErr: "block 192.0.2.0/24"},
		{name: "block_without_report", bucket: bucketBlocks(), key: []byte("192.0.2.0/24"), val: []byte(`{"first_run":1,"last_run":1}`), wantInErr: "no report"},
		{name: "block_bad_key", bucket: bucketBlocks(), key: []byte("192.0.2.1/24"), val: []byte(`{}`), wantInErr: "bad block key"},
		{name: "block_from_the_future", bucket: bucketBlocks(), key: []byte("192.0.2.0/24"), val: []byte(`{"first_run":1,"last_run":7,"report":{"prefix":"192.0.2.0/24","verdict":"clean"}}`), wantInErr: "do not fit"},
		{name: "event_short_key", bucket: bucketEvents(), key: []byte{0, 0, 0, 1}, val: []byte(`{}`), wantInErr: "event key"},
		{name: "run_not_json", bucket: bucketRuns(), key: binary.BigEndian.AppendUint64(nil, 1), val: []byte("x"), wantInErr: "run 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if code, _, stderr := runRescore(t, f.args()...); code != exitOK {
				t.Fatalf("run 1: exit %d\n%s", code, stderr)
			}
			db, err := bolt.Open(f.db, 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(tt.bucket).Put(tt.key, tt.val) })
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			wantDamaged(t, f, tt.name)
			_, _, stderr := runRescore(t, f.args()...)
			if !strings.Contains(stderr, tt.wantInErr) {
				t.Errorf("stderr %q does not say %q", stderr, tt.wantInErr)
			}
		})
	}
}

// The issue: a last_run of 2^64-1 wrapped the next run id to 0.
func TestRunIDOverflowIsExit4(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if code, _, stderr := runRescore(t, f.args()...); code != exitOK {
		t.Fatalf("run 1: exit %d\n%s", code, stderr)
	}
	// Keep the store consistent otherwise: the blocks' runs must not
	// exceed last_run, which they do not.
	setMeta(t, f.db, keyLastRun(), binary.BigEndian.AppendUint64(nil, math.MaxUint64))
	code, out, stderr := runRescore(t, f.args()...)
	if code != exitStore || out != "" || !strings.Contains(stderr, "largest") || !strings.Contains(stderr, f.db) {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d, no event, the run id exhausted", code, out, stderr, exitStore)
	}
}

// Random byte corruptions of a real store: rescore never panics; it either
// reports the damage (exit 4, naming the file) or the damage is in bytes it
// never reads (free space, padding) and the run succeeds. The loop is
// bounded and seeded.
func TestRandomCorruptionsNeverPanic(t *testing.T) {
	t.Parallel()
	_, pristine := bigStore(t)
	n := 150 // about 15 s under -race on two shared cores
	if testing.Short() {
		n = 40
	}
	rng := rand.New(rand.NewPCG(42, 42))
	noticed := 0
	for i := range n {
		f := newFixture(t)
		data := bytes.Clone(pristine)
		for range 1 + rng.IntN(4) {
			data[rng.IntN(len(data))] = byte(rng.Uint32())
		}
		if err := os.WriteFile(f.db, data, 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runRescore(t, f.args("-json")...)
		switch code {
		case exitStore:
			noticed++
			if !strings.Contains(stderr, f.db) {
				t.Errorf("corruption %d: store error without the file name: %s", i, stderr)
			}
		case exitOK, exitListed, exitIncomplete:
		default:
			t.Errorf("corruption %d: exit %d; stderr:\n%s", i, code, stderr)
		}
	}
	t.Logf("%d of %d corrupted stores reported damaged (exit 4), the rest ran", noticed, n)
}

func TestKeepRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	zones := []string{zoneV1, zoneV2, zoneV3, zoneV1, zoneV2}
	for i, z := range zones {
		f.write(t, z, inventoryV1)
		if code, _, stderr := runRescore(t, f.args("-keep-runs", "2")...); code == exitStore || code == exitUsage {
			t.Fatalf("run %d: exit %d\n%s", i+1, code, stderr)
		}
	}
	h := readHistory(t, f.db)
	if h.lastRun != 5 || len(h.runs) != 2 || h.runs[0].Run != 4 {
		t.Errorf("last run %d, %d run records from %v; want 5 and the records of runs 4 and 5", h.lastRun, len(h.runs), h.runs)
	}
	for _, e := range h.events {
		if e.Run < 4 {
			t.Errorf("event %d/%d of a pruned run is still stored", e.Run, e.Seq)
		}
	}
	if len(h.blocks) != 3 {
		t.Errorf("%d blocks stored, want the inventory's 3 (pruning drops only events and run records)", len(h.blocks))
	}
	// Replaying pruned runs is refused; replaying kept ones works.
	if code, _, stderr := runRescore(t, "-db", f.db, "-replay-since", "1"); code != exitUsage || !strings.Contains(stderr, "oldest kept is run 4") {
		t.Errorf("replay of pruned runs: exit %d, stderr %q; want %d", code, stderr, exitUsage)
	}
	if code, out, stderr := runRescore(t, "-db", f.db, "-replay-since", "3"); code != exitOK || strings.Count(out, "\n") != len(h.events) {
		t.Errorf("replay of kept runs: exit %d, %d lines, want %d; stderr %s", code, strings.Count(out, "\n"), len(h.events), stderr)
	}
}

func TestMetricsFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	path := f.dir + "/rescore.prom"
	f.write(t, zoneV2, inventoryV1)
	code, _, stderr := runRescore(t, f.args("-metrics-file", path)...)
	if code != exitListed {
		t.Fatalf("exit %d, want %d\n%s", code, exitListed, stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	// The fixture's run: three blocks, one of them review (203.0.113.0/30
	// is listed as a whole), and 192.0.2.9 listed in 192.0.2.0/24.
	for _, want := range []string{
		`prefixvet_reports_total{verdict="clean"} 2`,
		`prefixvet_reports_total{verdict="review"} 1`,
		`prefixvet_lookups_total{outcome="listed",source="bl.example.org (local)"} 2`,
		`prefixvet_source_status{source="bl.example.org (local)",status="ok"} 1`,
		`prefixvet_scoring_duration_seconds_count 3`,
		`prefixvet_rescore_last_run 1`,
		"# TYPE prefixvet_lookups_total counter",
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics file lacks %q:\n%s", want, text)
		}
	}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "rescore.prom") && e.Name() != "rescore.prom" {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
