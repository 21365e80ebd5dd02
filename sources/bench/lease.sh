#!/usr/bin/env bash
# lease.sh: load time and memory of the lease-check loaders on full-size
# files: an rpki-client JSON export of 600,000 VRPs, the five RIRs'
# delegated-extended files (300,000 lines) and a RouteViews pfx2as table of
# 1,100,000 lines, generated deterministically by sources/internal/leasegen
# (no download).
#
# Run it from the repository root (it needs nothing but Go and touches no
# network):
#
#	bash sources/bench/lease.sh
#
# Each load runs RUNS times (default 3), each in a fresh process so that
# the peak resident set belongs to that load alone. leaseload prints the
# wall and CPU time of the load, the live heap after a GC with the sources
# still referenced, and the peak RSS (getrusage), which also holds the
# garbage of the load that the Go runtime had not collected yet (GOGC=100).
set -euo pipefail

RUNS=${RUNS:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

go build -o "$dir/leaseload" ./sources/bench/leaseload
timeout 120 "$dir/leaseload" -write "$dir/data"
ls -l "$dir/data" | awk 'NR>1 {printf "  %-40s %6.1f MB\n", $9, $5/1e6}'
for i in $(seq "$RUNS"); do
	timeout 60 "$dir/leaseload" -kind vrps "$dir/data/vrps.json"
	timeout 60 "$dir/leaseload" -kind rir "$dir/data"/delegated-*
	timeout 60 "$dir/leaseload" -kind pfx2as "$dir/data/pfx2as.txt"
done
