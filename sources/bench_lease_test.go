package sources_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/prefixvet/prefixvet/sources"
	"github.com/prefixvet/prefixvet/sources/internal/leasegen"
)

// leaseData holds the generated full-size lease-check files (see
// sources/internal/leasegen), built once.
type leaseData struct {
	vrps, pfx2as []byte
	rir          [][]byte
}

var leaseOnce = sync.OnceValue(func() *leaseData {
	d := &leaseData{}
	var b bytes.Buffer
	if err := leasegen.WriteVRPs(&b, leasegen.FullVRPs); err != nil {
		panic(err)
	}
	d.vrps = bytes.Clone(b.Bytes())
	b.Reset()
	if err := leasegen.WritePfx2as(&b, leasegen.FullPfx2as); err != nil {
		panic(err)
	}
	d.pfx2as = bytes.Clone(b.Bytes())
	for _, r := range leasegen.RIRs() {
		b.Reset()
		if err := leasegen.WriteRIRStats(&b, r.Name, leasegen.FullRIRLines*r.Share/1000); err != nil {
			panic(err)
		}
		d.rir = append(d.rir, bytes.Clone(b.Bytes()))
	}
	return d
})

// BenchmarkReadVRPs loads 600,000 VRPs of rpki-client JSON.
func BenchmarkReadVRPs(b *testing.B) {
	d := leaseOnce()
	b.ReportAllocs()
	b.SetBytes(int64(len(d.vrps)))
	for b.Loop() {
		v, err := sources.ReadVRPs(bytes.NewReader(d.vrps), sources.VRPConfig{})
		if err != nil || v.Len() != leasegen.FullVRPs {
			b.Fatalf("ReadVRPs: %v", err)
		}
	}
}

// BenchmarkReadRIRStats loads the five RIRs' delegated files (300,000
// lines), one source each.
func BenchmarkReadRIRStats(b *testing.B) {
	d := leaseOnce()
	b.ReportAllocs()
	n := 0
	for _, f := range d.rir {
		n += len(f)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		for _, f := range d.rir {
			if _, err := sources.ReadRIRStats(bytes.NewReader(f), sources.RIRStatsConfig{}); err != nil {
				b.Fatalf("ReadRIRStats: %v", err)
			}
		}
	}
}

// BenchmarkReadOrigins loads a 1,100,000-line pfx2as table.
func BenchmarkReadOrigins(b *testing.B) {
	d := leaseOnce()
	b.ReportAllocs()
	b.SetBytes(int64(len(d.pfx2as)))
	for b.Loop() {
		o, err := sources.ReadOrigins(bytes.NewReader(d.pfx2as), sources.OriginsConfig{})
		if err != nil || o.Len() != leasegen.FullPfx2as {
			b.Fatalf("ReadOrigins: %v", err)
		}
	}
}
