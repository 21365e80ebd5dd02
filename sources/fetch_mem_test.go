package sources_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prefixvet/prefixvet/sources"
)

// memHelperEnv makes the test binary, run again by TestFetchPeakMemory,
// load one hostile input and print its memory figures.
const memHelperEnv = "PREFIXVET_FETCH_MEM_HELPER"

// memEntries is the size of the good list, and the entry cap (a cap at the
// size the feed is expected to have).
const memEntries = 200_000

// procKB reads a "Name: N kB" line of /proc/self/status.
func procKB(t *testing.T, name string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", name)
	return 0
}

// TestFetchMemoryHelper is not a test: TestFetchPeakMemory runs the test
// binary again with memHelperEnv set to a hostile input, and this function
// loads a good list of memEntries entries, then the hostile input, and
// prints "list=BYTES base=BYTES peak=BYTES": the heap of the good list, the
// RSS before the hostile load and the peak RSS of the process (VmHWM).
func TestFetchMemoryHelper(t *testing.T) {
	mode := os.Getenv(memHelperEnv)
	if mode == "" {
		t.Skip("run by TestFetchPeakMemory")
	}
	var good bytes.Buffer
	addrLines(&good, memEntries)
	var member bytes.Buffer
	zw := gzip.NewWriter(&member)
	addrLines(zw, 64<<10)
	zw.Close()
	var hostile atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !hostile.Load() {
			w.Write(good.Bytes()) //nolint:errcheck // a failed write fails the load
			return
		}
		switch mode {
		case "endless":
			addrLines(w, 1<<31-1)
		case "gzip_bomb": // 2 MiB compressed members expanding to about 1 GiB
			w.Header().Set("Content-Encoding", "gzip")
			for range 1 << 30 / (64 << 10 * 12) {
				if _, err := w.Write(member.Bytes()); err != nil {
					return
				}
			}
		}
	}))
	defer srv.Close()
	cfg := sources.FeedConfig{MaxEntries: memEntries}
	f := &sources.Fetcher{URL: srv.URL, MinInterval: -1, Config: cfg}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	if err := f.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	list := int64(ms.HeapAlloc - before)
	debug.FreeOSMemory()
	base := procKB(t, "VmRSS")
	hostile.Store(true)
	var err error
	switch mode {
	case "endless", "gzip_bomb":
		err = f.Refresh(t.Context())
	case "big_file": // 30 MB of distinct addresses, 15x the cap
		path := filepath.Join(t.TempDir(), "big.txt")
		fh, ferr := os.Create(path)
		if ferr != nil {
			t.Fatal(ferr)
		}
		addrLines(fh, memEntries*15)
		fh.Close()
		debug.FreeOSMemory()
		base = procKB(t, "VmRSS")
		fh, _ = os.Open(path)
		_, err = sources.ReadList(fh, cfg)
		fh.Close()
	}
	if !errors.Is(err, sources.ErrTooLarge) {
		t.Fatalf("hostile load: %v, want ErrTooLarge", err)
	}
	if f.List() == nil {
		t.Fatal("the good list was dropped")
	}
	fmt.Printf("list=%d base=%d peak=%d\n", list, base, procKB(t, "VmHWM"))
}

// The memory a hostile feed can take is bounded by the entry cap, not by
// the bytes it sends: an endless body, a gzip bomb and a file 15 times
// larger than the cap each add less than twice the good list's heap plus a
// small constant to the process's RSS, while the good list stays served.
// The issue measured 1.27 GB, 1.46 GB and 751 MB for the unscaled inputs
// with a 256 MiB byte cap and no entry cap. The helpers run one at a time
// (so not parallel subtests): three memory-heavy processes at once could
// push each other into swap on a small machine.
//
//nolint:tparallel // see above
func TestFetchPeakMemory(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	for _, mode := range []string{"endless", "gzip_bomb", "big_file"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFetchMemoryHelper$", "-test.v")
			cmd.Env = append(os.Environ(), memHelperEnv+"="+mode, "GOGC=100")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			var list, base, peak int64
			i := bytes.Index(out, []byte("list="))
			if i < 0 {
				t.Fatalf("helper printed no figures:\n%s", out)
			}
			if _, err := fmt.Sscanf(string(out[i:]), "list=%d base=%d peak=%d", &list, &base, &peak); err != nil {
				t.Fatalf("helper output %q: %v", out[i:], err)
			}
			const slack = 24 << 20
			t.Logf("%s: good list %.1f MiB, RSS before %.1f MiB, peak RSS %.1f MiB (+%.1f MiB)",
				mode, float64(list)/(1<<20), float64(base)/(1<<20), float64(peak)/(1<<20), float64(peak-base)/(1<<20))
			if peak-base > 2*list+slack {
				t.Errorf("the hostile load added %d bytes of RSS, want at most 2 × %d + %d", peak-base, list, slack)
			}
		})
	}
}
