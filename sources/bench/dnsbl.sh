#!/usr/bin/env bash
# dnsbl.sh: throughput and correctness of prefixvet's DNS client against
# rbldnsd, next to dnsperf against the same server in the same run.
#
# It writes 8 rbldnsd ip4set zones over 198.18.0.0/20 (RFC 2544 benchmarking
# space, 4096 addresses) with a known listed subset, starts rbldnsd on
# 127.0.0.1 at a high port (killed on exit), measures the physical limit with
# dnsperf, then asks all 4096 x 8 questions through dnsclient at each
# concurrency (fresh client per pass, cache off) and prints queries/s, the
# ratio to dnsperf and the count of wrong and missing answers.
#
# Run it inside the network sandbox, from the repository root:
#
#	.ci/netsandbox bash sources/bench/dnsbl.sh
#
# (It refuses to run outside one: it only ever talks to 127.0.0.1, but the
# sandbox makes sure.) Needs rbldnsd and dnsperf (apt-get install rbldnsd
# dnsperf) and Go. Every step is bounded in time.
#
# Each row measures dnsperf and then the client, moments apart, so that the
# ratio is fair on a shared machine. Extra arguments go to loadgen (see
# loadgen -h). Environment: PORT (default 53531), DURATION (dnsperf seconds
# per row, default 5), CLIENT_TIME (client time per row, default 5s),
# INFLIGHT (dnsperf -q, default 100), CONCURRENCY (default 16,64,256,1024).
set -euo pipefail

PORT=${PORT:-53531}
DURATION=${DURATION:-5}
CLIENT_TIME=${CLIENT_TIME:-5s}
INFLIGHT=${INFLIGHT:-100}
CONCURRENCY=${CONCURRENCY:-16,64,256,1024}

if ip -o link 2>/dev/null | grep -qv ' lo:'; then
	echo "dnsbl.sh: not in a loopback-only network namespace; run it as: .ci/netsandbox bash $0" >&2
	exit 2
fi
for bin in rbldnsd dnsperf go; do
	command -v "$bin" >/dev/null || { echo "dnsbl.sh: $bin not found" >&2; exit 2; }
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

(cd "$here/../.." && go build -o "$work/loadgen" ./sources/bench/loadgen)
"$work/loadgen" -zones "$work"
chmod 644 "$work"/*.zone

zones=()
for z in 0 1 2 3 4 5 6 7; do
	zones+=("z$z.bench.example.org:ip4set:z$z.zone")
done
rbldnsd -n -q -u nobody -b "127.0.0.1/$PORT" -w "$work" "${zones[@]}" &
pid=$!
# Wait (bounded) until it answers.
for _ in $(seq 50); do
	if timeout 2 dnsperf -s 127.0.0.1 -p "$PORT" -d <(echo "7.0.18.198.z0.bench.example.org A") -n 1 -t 1 2>/dev/null | grep -q 'Queries completed: *1 '; then
		break
	fi
	sleep 0.1
done

echo "== rbldnsd $(rbldnsd -h 2>&1 | head -1 | awk '{print $2, $3, $4}'), $(nproc) cores; 4096 addresses x 8 zones"
echo "== per row: dnsperf -q $INFLIGHT for ${DURATION}s, then dnsclient (fresh client per pass, cache off) for >= ${CLIENT_TIME}"
timeout 900 "$work/loadgen" -server "127.0.0.1:$PORT" -queries "$work/queries.txt" \
	-dnsperf-q "$INFLIGHT" -dnsperf-time "$DURATION" -client-time "$CLIENT_TIME" \
	-concurrency "$CONCURRENCY" "$@"
