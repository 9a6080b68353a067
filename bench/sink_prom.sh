#!/bin/sh
# sink-prom with the full v1.34 cAdvisor set (collector-cadvisor --allow all,
# polling every second through the analyzer): the scrape latency and the
# sink's PSS, next to the reference of the same scrape done on the kubelet
# itself (kubelet-replay serving the recorded /metrics/cadvisor body):
#   - Prometheus's own scrape_duration_seconds for both targets (one
#     Prometheus, 1 s scrape interval, both jobs), mean over the run;
#   - curl's time_total for RUNS sequential GETs of each (median);
#   - PSS (smaps_rollup) of sink-prom and of that Prometheus;
#   - sink-prom's CPU (utime + stime) over the run, per poll.
# Not part of make test.
#
#   sh bench/sink_prom.sh          (NRO_BIN, NRO_FIXTURES, SECONDS_=20, RUNS=50)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
fx=${NRO_FIXTURES:-$top/../shared/fixtures/kubelet}/v1.34
secs=${SECONDS_:-20}
runs=${RUNS:-50}
command -v prometheus >/dev/null || { echo "needs prometheus (apt-get install prometheus)" >&2; exit 1; }
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
export NRO_RUN_DIR=$tmp/run

first_line() { # FILE: waits for its first line
	i=0
	until [ -s "$1" ]; do
		i=$((i + 1))
		[ $i -lt 400 ] || { echo "no first line in $1" >&2; exit 1; }
		sleep 0.05
	done
	head -n1 "$1"
}

"$bin/kubelet-replay" --dir "$fx" >"$tmp/replay.url" 2>/dev/null &
pids="$pids $!"
replay=$(first_line "$tmp/replay.url")
"$bin/analyzer" --metrics-interval 1s 2>/dev/null &
pids="$pids $!"
"$bin/sink-prom" --listen 127.0.0.1:0 >"$tmp/sink.url" 2>"$tmp/sink.err" &
sink_pid=$!
pids="$pids $sink_pid"
sink=$(first_line "$tmp/sink.url")
"$bin/collector-cadvisor" --allow all --kubelet "$replay" --interval 1s 2>/dev/null &
pids="$pids $!"

pport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/prometheus.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: sink-prom
    static_configs: [{targets: ['${sink#http://}']}]
  - job_name: kubelet-cadvisor
    metrics_path: /metrics/cadvisor
    static_configs: [{targets: ['${replay#http://}']}]
EOF
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
	--web.listen-address="127.0.0.1:$pport" --log.level=error >/dev/null 2>&1 &
prom_pid=$!
pids="$pids $prom_pid"
prom=http://127.0.0.1:$pport

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
c0=$(cpu_ticks "$sink_pid")
sleep "$secs"
c1=$(cpu_ticks "$sink_pid")

q() { curl -fsS --get --data-urlencode "query=$1" "$prom/api/v1/query" | jq -r '.data.result[0].value[1] // "n/a"'; }
lat_sink=$(q "avg_over_time(scrape_duration_seconds{job=\"sink-prom\"}[$((secs - 5))s])")
lat_kub=$(q "avg_over_time(scrape_duration_seconds{job=\"kubelet-cadvisor\"}[$((secs - 5))s])")
n_sink=$(q 'scrape_samples_scraped{job="sink-prom"}')
n_kub=$(q 'scrape_samples_scraped{job="kubelet-cadvisor"}')
polls=$(curl -fsS "$sink/metrics" | awk '/^node_runtime_sink_renders_total / {print $2}')

median_get() { # URL: median curl time_total (s) of $runs GETs
	r=0
	while [ $r -lt "$runs" ]; do
		curl -s -o /dev/null -w '%{time_total}\n' "$1"
		r=$((r + 1))
	done | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
get_sink=$(median_get "$sink/metrics")
get_kub=$(median_get "$replay/metrics/cadvisor")
bytes_sink=$(curl -s "$sink/metrics" | wc -c)
bytes_kub=$(curl -s "$replay/metrics/cadvisor" | wc -c)
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
pss_sink=$(pss "$sink_pid")
pss_prom=$(pss "$prom_pid")
threads=$(ls "/proc/$sink_pid/task" | wc -l)
hz=$(getconf CLK_TCK)

awk -v ls="$lat_sink" -v lk="$lat_kub" -v ns="$n_sink" -v nk="$n_kub" -v gs="$get_sink" -v gk="$get_kub" \
	-v bs="$bytes_sink" -v bk="$bytes_kub" -v ps="$pss_sink" -v pp="$pss_prom" -v th="$threads" \
	-v c="$((c1 - c0))" -v hz="$hz" -v secs="$secs" -v renders="$polls" 'BEGIN {
	printf "sink-prom, full v1.34 cAdvisor set (collector-cadvisor --allow all, 1 s polls), %d s:\n", secs
	printf "  Prometheus scrape_duration_seconds (mean): sink-prom %.2f ms (%d samples), kubelet %.2f ms (%d samples): ratio %.2f\n", ls * 1000, ns, lk * 1000, nk, (lk > 0 ? ls / lk : 0)
	printf "  curl GET median:                           sink-prom %.2f ms (%d B), kubelet %.2f ms (%d B)\n", gs * 1000, bs, gk * 1000, bk
	printf "  PSS: sink-prom %d KiB, the Prometheus scraping both %d KiB; sink-prom threads %d\n", ps, pp, th
	printf "  sink-prom CPU: %.2f s over %d s (%.2f%% of a core), %d renders\n", c / hz, secs, 100 * c / hz / secs, renders
}'
