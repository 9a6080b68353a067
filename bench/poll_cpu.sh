#!/bin/sh
# CPU per poll (fetch + parse + publish) of collector-summary on the 98 KB
# v1.34 /stats/summary and collector-cadvisor on the 1.5 MB v1.34
# /metrics/cadvisor, against kubelet-replay on loopback, output to
# a file. Measured from the process's own utime+stime over N polls.
# Targets (DESIGN.md): 0.2 ms summary, 1.4 ms cadvisor.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
fx=${NRO_FIXTURES:-$top/../shared/fixtures/kubelet}/v1.34
polls=${POLLS:-200}
tmp=$(mktemp -d)
trap 'kill $rp 2>/dev/null; rm -rf "$tmp"' EXIT
"$bin/kubelet-replay" --dir "$fx" >"$tmp/url" &
rp=$!
until [ -s "$tmp/url" ]; do sleep 0.05; done
url=$(head -n1 "$tmp/url")
hz=$(getconf CLK_TCK)
for c in "collector-summary 0.2" "collector-cadvisor 1.4"; do
	set -- $c
	"$bin/$1" --kubelet "$url" --interval 20ms -o - >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	sleep $(awk "BEGIN{print $polls*0.02 + 0.5}")
	# fields 14, 15 of /proc/PID/stat: utime, stime in clock ticks
	ticks=$(awk '{print $14+$15}' "/proc/$pid/stat")
	kill $pid; wait $pid 2>/dev/null || true
	n=$("$bin/nro-dump" -k H <"$tmp/out" 2>/dev/null | wc -l) # one health record a poll
	awk -v t="$ticks" -v hz="$hz" -v n="$n" -v c="$1" -v target="$2" 'BEGIN{
		ms = t * 1000 / hz / n
		printf "%-20s %.3f ms CPU per poll (target %s ms) over %d polls\n", c, ms, target, n }'
done
