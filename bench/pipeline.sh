#!/bin/sh
# The whole pipeline at default intervals against kubelet-replay serving the
# v1.34 fixtures: every process's PSS (from /proc/PID/smaps_rollup) and CPU
# over a window. Targets (DESIGN.md): 8 MB PSS and 0.05 % of a core in all.
# (The fixture node has 24 pods; the target is for 110.)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
fx=${NRO_FIXTURES:-$top/../shared/fixtures/kubelet}/v1.34
window=${WINDOW:-60}
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
cp "$fx"/* "$tmp/" 2>/dev/null
"$bin/kubelet-replay" --dir "$tmp" >"$tmp/url" &
rp=$!
until [ -s "$tmp/url" ]; do sleep 0.05; done
export NRO_KUBELET_URL=$(head -n1 "$tmp/url") NRO_RUN_DIR=$tmp/run
"$bin/analyzer" 2>/dev/null & pids="$pids $!"
"$bin/sink-stdout" >/dev/null 2>&1 & pids="$pids $!"
for c in collector-healthz collector-pods collector-summary collector-cadvisor; do
	"$bin/$c" 2>/dev/null & pids="$pids $!"
done
sleep 5 # let every process reach its steady state
hz=$(getconf CLK_TCK)
before=$(for p in $pids; do awk '{print $14+$15}' /proc/$p/stat; done | paste -sd+ | bc)
sleep "$window"
after=$(for p in $pids; do awk '{print $14+$15}' /proc/$p/stat; done | paste -sd+ | bc)
total_pss=0
for p in $pids; do
	name=$(cat /proc/$p/comm)
	pss=$(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup)
	total_pss=$((total_pss + pss))
	printf "  %-20s PSS %6d kB\n" "$name" "$pss"
done
awk -v b="$before" -v a="$after" -v hz="$hz" -v w="$window" -v pss="$total_pss" 'BEGIN{
	printf "pipeline: PSS %.1f MB (target 8 MB), CPU %.3f %% of a core (target 0.05 %%) over %ds\n",
		pss / 1024, (a - b) / hz / w * 100, w }'
kill $rp
