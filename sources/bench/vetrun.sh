#!/usr/bin/env bash
# vetrun.sh: throughput and correctness of the whole vet run, as a user runs
# it, against rbldnsd, next to dnsperf against the same server in the same
# run. dnsbl.sh beside it measures the DNS client alone; this measures
# everything a user waits for: process start, flag parsing, zone probes, the
# scorer, the DNSBL layer, report building and JSON encoding.
#
# It writes 8 rbldnsd ip4set zones over 198.18.0.0/20 (RFC 2544 benchmarking
# space: four /22 blocks, 4096 addresses) with a known listed subset and a
# zones JSON file for vet's -zones flag, starts rbldnsd on 127.0.0.1 at a
# high port (killed on exit), builds vet once, and then per concurrency row
# measures dnsperf and, moments later, several runs of
#
#	vet -json -resolver 127.0.0.1:PORT -zones zones.json -allow-special \
#	    -concurrency N 198.18.0.0/22 198.18.4.0/22 198.18.8.0/22 198.18.12.0/22
#
# each timed from process start to exit (32,768 lookups). It prints the
# lookups per second of the median and the best run, their ratios to
# dnsperf's queries per second, and the count of wrong and missing listings
# in vet's JSON, checked against the zone data (with TXT=1, each listing's
# reason too).
#
# Run it inside the network sandbox, from the repository root:
#
#	.ci/netsandbox bash sources/bench/vetrun.sh
#
# (It refuses to run outside one: it only ever talks to 127.0.0.1, but the
# sandbox makes sure.) Needs rbldnsd and dnsperf (apt-get install rbldnsd
# dnsperf) and Go. Every step is bounded in time.
#
# Extra arguments go to vetrun (see go run ./sources/bench/vetrun -h).
# Environment: PORT (default 53532), DURATION (dnsperf seconds per row,
# default 3), RUNS (vet runs per row, default 5), INFLIGHT (dnsperf -q,
# default 100), CONCURRENCY (default 64,256), TXT (1: the zones ask for the
# TXT reason of every listed answer, one more query each; default 0), BASE
# (a git revision, such as main: vet built at that revision is measured in
# the same rows too, its runs alternating with the working tree's, and
# printed next to it; default none).
set -euo pipefail

PORT=${PORT:-53532}
DURATION=${DURATION:-3}
RUNS=${RUNS:-5}
INFLIGHT=${INFLIGHT:-100}
CONCURRENCY=${CONCURRENCY:-64,256}
TXT=${TXT:-0}

if ip -o link 2>/dev/null | grep -qv ' lo:'; then
	echo "vetrun.sh: not in a loopback-only network namespace; run it as: .ci/netsandbox bash $0" >&2
	exit 2
fi
for bin in rbldnsd dnsperf go; do
	command -v "$bin" >/dev/null || { echo "vetrun.sh: $bin not found" >&2; exit 2; }
done

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
chmod 755 "$work"
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

(cd "$here/../.." && timeout 300 go build -o "$work/vetrun" ./sources/bench/vetrun &&
	timeout 300 go build -o "$work/vet" ./examples/vet)
baseflag=()
if [ -n "${BASE:-}" ]; then
	mkdir "$work/base"
	(cd "$here/../.." && git archive "$BASE" | tar -x -C "$work/base")
	(cd "$work/base" && timeout 300 go build -o "$work/vet-base" ./examples/vet)
	baseflag=(-base "$work/vet-base")
fi
txtflag=
if [ "$TXT" = 1 ]; then
	txtflag=-txt
fi
"$work/vetrun" -write -data "$work" $txtflag
chmod 644 "$work"/*.zone

zones=()
for z in 0 1 2 3 4 5 6 7; do
	zones+=("z$z.bench.example.org:ip4set:z$z.zone")
done
rbldnsd -n -q -u nobody -b "127.0.0.1/$PORT" -w "$work" "${zones[@]}" >"$work/rbldnsd.log" 2>&1 &
pid=$!
# Wait (bounded) until it answers.
for _ in $(seq 50); do
	if timeout 2 dnsperf -s 127.0.0.1 -p "$PORT" -d <(echo "2.0.0.127.z0.bench.example.org A") -n 1 -t 1 2>/dev/null | grep -q 'Queries completed: *1 '; then
		break
	fi
	sleep 0.1
done

echo "== rbldnsd $(rbldnsd -h 2>&1 | head -1 | awk '{print $2, $3, $4}'), $(nproc) cores; vet over 4 x /22 x 8 zones = 32768 lookups (TXT=$TXT), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== per row: dnsperf -q $INFLIGHT for ${DURATION}s, then $RUNS vet runs${BASE:+ alternating with $RUNS of vet at $BASE}, each timed from process start to exit"
timeout 900 "$work/vetrun" -server "127.0.0.1:$PORT" -vet "$work/vet" -data "$work" \
	-dnsperf-q "$INFLIGHT" -dnsperf-time "$DURATION" -runs "$RUNS" -concurrency "$CONCURRENCY" "${baseflag[@]}" "$@"
