// Command leaseload measures how long the lease-check loaders of package
// sources take on full-size files, and how much memory they need.
//
//	leaseload -write DIR                 # write the generated files into DIR
//	leaseload -kind vrps FILE            # load rpki-client JSON VRPs
//	leaseload -kind rir FILE...          # load delegated statistics, one source per file
//	leaseload -kind pfx2as FILE          # load a pfx2as table
//
// A load prints one line: the kind, the entries loaded, the wall time of
// the load (parsing and indexing, the file read from disk as it goes), the
// live heap after a GC with the loaded sources still referenced, and the
// process's peak resident set size (getrusage ru_maxrss), which includes the
// garbage of the load. Run each load in a fresh process (sources/bench/lease.sh
// does) so that the peak belongs to that load alone.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/internal/leasegen"
)

func main() {
	write := flag.String("write", "", "write the generated full-size files into `DIR` and exit")
	kind := flag.String("kind", "", "what to load: vrps, rir or pfx2as")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the load to `FILE`")
	flag.Parse()
	if *cpuprofile != "" {
		fh, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(fh)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "leaseload:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*write, *kind, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "leaseload:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(dir, kind string, files []string) error {
	if dir != "" {
		return writeAll(dir)
	}
	if len(files) == 0 {
		return fmt.Errorf("no file to load (see -h)")
	}
	var keep []any
	entries := 0
	start := time.Now()
	for _, name := range files {
		fh, err := os.Open(name)
		if err != nil {
			return err
		}
		switch kind {
		case "vrps":
			v, err := sources.ReadVRPs(fh, sources.VRPConfig{Name: name})
			if v == nil {
				return err
			}
			keep, entries = append(keep, v), entries+v.Len()
		case "rir":
			s, err := sources.ReadRIRStats(fh, sources.RIRStatsConfig{Name: name})
			if s == nil {
				return err
			}
			keep, entries = append(keep, s), entries+s.Len()
		case "pfx2as":
			o, err := sources.ReadOrigins(fh, sources.OriginsConfig{Name: name})
			if o == nil {
				return err
			}
			keep, entries = append(keep, o), entries+o.Len()
		default:
			return fmt.Errorf("-kind %q: want vrps, rir or pfx2as", kind)
		}
		fh.Close()
	}
	took := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("%-7s %9d entries  wall %6.0f ms  cpu %6.0f ms  live heap %5.1f MiB  peak RSS %5.1f MiB\n",
		kind, entries, float64(took.Microseconds())/1000, float64(cpu.Microseconds())/1000, float64(ms.HeapAlloc)/(1<<20), float64(ru.Maxrss)/1024)
	runtime.KeepAlive(keep)
	return nil
}

func writeAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, fn func(io.Writer) error) error {
		fh, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := fn(fh); err != nil {
			fh.Close()
			return err
		}
		return fh.Close()
	}
	if err := write("vrps.json", func(w io.Writer) error { return leasegen.WriteVRPs(w, leasegen.FullVRPs) }); err != nil {
		return err
	}
	for _, r := range leasegen.RIRs() {
		lines := leasegen.FullRIRLines * r.Share / 1000
		if err := write("delegated-"+r.Name+"-extended-latest", func(w io.Writer) error { return leasegen.WriteRIRStats(w, r.Name, lines) }); err != nil {
			return err
		}
	}
	return write("pfx2as.txt", func(w io.Writer) error { return leasegen.WritePfx2as(w, leasegen.FullPfx2as) })
}
