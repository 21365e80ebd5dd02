package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/prefixvet/prefixvet/examples/internal/metrics"
	"github.com/prefixvet/prefixvet/reputation"
)

// writeMetrics writes the metrics of one run to path, for node_exporter's
// textfile collector: the families the service exports (see
// examples/internal/metrics), counting this run only, and
// prefixvet_rescore_last_run and prefixvet_rescore_last_run_timestamp_seconds.
func writeMetrics(path string, srcs []reputation.Source, reports []*reputation.Report, rec runRecord) error {
	m := metrics.New(srcs)
	for _, r := range reports {
		if r != nil {
			m.Observe(r)
		}
	}
	last := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "prefixvet_rescore_last_run_timestamp_seconds",
		Help: "When the last recorded run finished (Unix time).",
	})
	last.Set(float64(rec.Finished.UnixNano()) / 1e9)
	id := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "prefixvet_rescore_last_run",
		Help: "The id of the last recorded run.",
	})
	id.Set(float64(rec.Run))
	if err := m.Registry().Register(last); err != nil {
		return err
	}
	if err := m.Registry().Register(id); err != nil {
		return err
	}
	return m.WriteFile(path)
}
