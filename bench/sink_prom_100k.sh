#!/bin/sh
# sink-prom holding 100k series: a synthetic /metrics/cadvisor body of N
# distinct series (N=100000) served by kubelet-replay, polled every 5 s by
# collector-cadvisor --allow all through the analyzer. Figures: the render
# time (node_runtime_sink_render_seconds), curl's median time_total for a
# scrape (served from the prepared snapshot), the body size and
# sink-prom's PSS. Not part of make test.
#
#   sh bench/sink_prom_100k.sh          (NRO_BIN, N=100000, RUNS=20)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
n=${N:-100000}
runs=${RUNS:-20}
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
export NRO_RUN_DIR=$tmp/run

first_line() {
	i=0
	until [ -s "$1" ]; do
		i=$((i + 1))
		[ $i -lt 400 ] || { echo "no first line in $1" >&2; exit 1; }
		sleep 0.05
	done
	head -n1 "$1"
}

mkdir -p "$tmp/fx"
awk -v n="$n" 'BEGIN {
	print "# HELP container_memory_working_set_bytes Current working set of the container in bytes"
	print "# TYPE container_memory_working_set_bytes gauge"
	for (i = 0; i < n; i++)
		printf "container_memory_working_set_bytes{container=\"c\",namespace=\"ns%d\",pod=\"pod-%d\"} %d\n", i % 50, i, i * 4096
}' >"$tmp/fx/metrics_cadvisor.txt"

"$bin/kubelet-replay" --dir "$tmp/fx" >"$tmp/replay.url" 2>/dev/null &
pids="$pids $!"
replay=$(first_line "$tmp/replay.url")
"$bin/analyzer" --ring-size 67108864 2>/dev/null &
pids="$pids $!"
"$bin/sink-prom" --listen 127.0.0.1:0 >"$tmp/sink.url" 2>"$tmp/sink.err" &
sink_pid=$!
pids="$pids $sink_pid"
sink=$(first_line "$tmp/sink.url")
"$bin/collector-cadvisor" --allow all --kubelet "$replay" --interval 5s 2>/dev/null &
pids="$pids $!"

i=0
until [ "$(curl -s "$sink/metrics" | awk '/^node_runtime_sink_series / {print $2}')" -ge "$n" ] 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 600 ] || { echo "sink-prom never held $n series: $(cat "$tmp/sink.err")" >&2; exit 1; }
	sleep 0.1
done
sleep 6 # one more poll, so the figures are of a steady state

median_get() {
	r=0
	while [ $r -lt "$runs" ]; do
		curl -s -o /dev/null -w '%{time_total}\n' "$1"
		r=$((r + 1))
	done | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
get=$(median_get "$sink/metrics")
curl -s "$sink/metrics" >"$tmp/m.txt"
bytes=$(wc -c <"$tmp/m.txt")
render=$(awk '/^node_runtime_sink_render_seconds / {print $2}' "$tmp/m.txt")
series=$(awk '/^node_runtime_sink_series / {print $2}' "$tmp/m.txt")
pss=$(awk '/^Pss:/ {print $2}' "/proc/$sink_pid/smaps_rollup")
awk -v g="$get" -v b="$bytes" -v r="$render" -v s="$series" -v p="$pss" 'BEGIN {
	printf "sink-prom with %d series (synthetic cAdvisor body, 5 s polls):\n", s
	printf "  render %.1f ms per snapshot; scrape (curl median) %.1f ms for %.1f MB; PSS %d KiB\n", r * 1000, g * 1000, b / 1e6, p
}'
