#!/bin/sh
# sink-otel next to sink-stdout, both fed the same pipeline (kubelet-replay
# serving the v1.34 fixtures, the analyzer, collector-healthz, -pods,
# -summary and -cadvisor at their default intervals): CPU per 1,000 exported
# metric samples (from /proc/PID/schedstat, nanoseconds) and PSS
# (/proc/PID/smaps_rollup) after a window. sink-otel posts protobuf + gzip to
# tests/otlp_receiver.js (its CPU is not counted); sink-stdout writes JSON
# lines (--metrics) to a file, whose metric lines are the sample count for both.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
fx=${NRO_FIXTURES:-$top/../shared/fixtures/kubelet}/v1.34
window=${WINDOW:-60}
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
[ -f "$top/tests/npm/otel/node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js" ] ||
	sh "$top/tests/deps/otel.sh"
node "$top/tests/otlp_receiver.js" --out "$tmp/recv.jsonl" >"$tmp/recv.url" & pids="$pids $!"
"$bin/kubelet-replay" --dir "$fx" >"$tmp/url" 2>/dev/null & pids="$pids $!"
until [ -s "$tmp/url" ] && [ -s "$tmp/recv.url" ]; do sleep 0.05; done
export NRO_KUBELET_URL=$(head -n1 "$tmp/url") NRO_RUN_DIR=$tmp/run
"$bin/analyzer" 2>/dev/null & pids="$pids $!"
"$bin/sink-otel" --endpoint "$(head -n1 "$tmp/recv.url")" 2>"$tmp/otel.err" & otel=$!
"$bin/sink-stdout" --metrics >"$tmp/stdout.jsonl" 2>/dev/null & stdout=$!
pids="$pids $otel $stdout"
for c in collector-healthz collector-pods collector-summary collector-cadvisor; do
	"$bin/$c" 2>/dev/null & pids="$pids $!"
done
sleep 5 # every process in its steady state
cpu_ns() { awk '{print $1}' "/proc/$1/schedstat"; }
samples() { grep -c '"kind":"metric"' "$tmp/stdout.jsonl" || true; }
o0=$(cpu_ns $otel) s0=$(cpu_ns $stdout) n0=$(samples)
sleep "$window"
o1=$(cpu_ns $otel) s1=$(cpu_ns $stdout) n1=$(samples)
pss() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup"; }
awk -v n=$((n1 - n0)) -v o=$((o1 - o0)) -v s=$((s1 - s0)) -v po="$(pss $otel)" -v ps="$(pss $stdout)" -v w="$window" 'BEGIN{
	if (n == 0) { print "sink-otel: no metric samples in the window"; exit 1 }
	printf "%d metric samples in %ds\n", n, w
	printf "  sink-otel    CPU %.3f ms per 1000 samples, PSS %d kB\n", o / 1e6 / n * 1000, po
	printf "  sink-stdout  CPU %.3f ms per 1000 samples, PSS %d kB\n", s / 1e6 / n * 1000, ps
	printf "sink-otel / sink-stdout: CPU %.2fx, PSS %.2fx\n", (s ? o / s : 0), po / ps }'
awk '/^[0-9a-f]+-/{name=$6} /^Pss:/{pss[name]+=$2} END{for (k in pss) if (pss[k] > 200) printf "    %6d kB %s\n", pss[k], k}' "/proc/$otel/smaps" | sort -rn | head -8
grep -E 'error|warning' "$tmp/otel.err" | head -3 || true
