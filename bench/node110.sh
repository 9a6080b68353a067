#!/bin/sh
# The whole default pipeline on the synthetic 110-pod node (bench/mknode.py):
# every kubelet collector, the host collectors that run here, the analyzer
# and the sinks that need no server, at default intervals. Prints per
# process PSS (smaps_rollup), threads (/proc/PID/task), CPU (every thread's
# schedstat) over WINDOW seconds, and the totals; PSS "ring full" adds the
# ring pages not yet touched. NRO_FAKE_CPUS=64 runs it under bench/fakecpus.so.
# SCRAPE_EVERY=15 scrapes sink-prom's /metrics that often (OpenMetrics, as
# Prometheus asks) during the window; default 0: no scraper. The ring line
# says how many bytes the analyzer wrote into its ring over the window.
# Targets (DESIGN.md): 16 MB PSS, 0.05 % of a core, 4 threads a process.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
window=${WINDOW:-60}
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids $rp; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
rp=""
python3 "$top/bench/mknode.py" "$tmp/node" >/dev/null
"$bin/kubelet-replay" --dir "$tmp/node" >"$tmp/url" 2>/dev/null &
rp=$!
until [ -s "$tmp/url" ]; do sleep 0.05; done
export NRO_KUBELET_URL=$(head -n1 "$tmp/url") NRO_RUN_DIR=$tmp/run
if [ -n "${NRO_FAKE_CPUS:-}" ]; then
	export LD_PRELOAD=$top/build/plain/bench/fakecpus.so
	label="$NRO_FAKE_CPUS CPUs (faked)"
else
	label="$(nproc) CPUs"
fi
# as svc/.lib/run-tool starts them (GnuTLS's unused setup skipped but for
# sink-prom); BARE=1 starts them without that
start() {
	b=$1
	shift
	g=1
	[ "$b" = sink-prom ] || [ "${BARE:-0}" = 1 ] && g=
	GNUTLS_NO_IMPLICIT_INIT=$g "$bin/$b" "$@" >"$tmp/$b.out" 2>"$tmp/$b.err" &
	pids="$pids $!"
	echo "$! $b" >>"$tmp/names"
}
start analyzer
start sink-stdout
start sink-prom --listen 127.0.0.1:0
for c in healthz syncloop pods summary cadvisor resource probes metrics configz spec node kmsg systemd; do
	start collector-$c
done
unset LD_PRELOAD
sleep 5 # every process past its first poll
cpu() { cat /proc/$1/task/*/schedstat 2>/dev/null | awk '{s+=$1} END{print s+0}'; }
while read -r p name; do
	if [ -d /proc/$p ]; then echo "$p $(cpu $p) $name"; else echo "  ($name exited: $(tail -n1 "$tmp/$name.err"))" >&2; fi
done <"$tmp/names" >"$tmp/cpu0"
ring=$tmp/run/ring
# the ring's "reserved" (docs/ring.md: offset 64, host order): bytes written so far
reserved() { od -A n -t u8 -j 64 -N 8 "$ring" 2>/dev/null | tr -d ' ' || echo 0; }
r0=$(reserved)
every=${SCRAPE_EVERY:-0}
if [ "$every" -gt 0 ]; then
	url=$(head -n1 "$tmp/sink-prom.out")
	scrapes=0 t=0
	while [ $t -lt "$window" ]; do
		curl -fsS -H 'Accept: application/openmetrics-text;version=1.0.0' "$url/metrics" >/dev/null 2>&1 &&
			scrapes=$((scrapes + 1))
		sleep "$every"
		t=$((t + every))
	done
else
	sleep "$window"
fi
r1=$(reserved)
printf "pipeline on the 110-pod node, %s, %ds window%s:\n" "$label" "$window" \
	"$([ "$every" -gt 0 ] && echo ", sink-prom scraped every ${every}s ($scrapes scrapes)")"
total=0 tcpu=0 maxthr=0 n=0 maxpriv=0
while read -r p c0 name; do
	[ -d /proc/$p ] || continue
	pss=$(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup)
	priv=$(awk '/^Private_(Clean|Dirty):/{s+=$2} END{print s}' /proc/$p/smaps_rollup)
	thr=$(ls /proc/$p/task | wc -l)
	c1=$(cpu $p)
	total=$((total + pss)) tcpu=$((tcpu + c1 - c0)) n=$((n + 1))
	[ "$thr" -gt "$maxthr" ] && maxthr=$thr
	case $name in collector-*) [ "$priv" -gt "$maxpriv" ] && maxpriv=$priv ;; esac
	printf "  %-20s PSS %6d kB  private %6d kB  threads %3d  CPU %.3f %%\n" "$name" "$pss" "$priv" "$thr" \
		"$(echo "($c1 - $c0) / 10000000 / $window" | bc -l)"
done <"$tmp/cpu0"
size=$(stat -c %s "$ring" 2>/dev/null || echo 0)
awk -v t="$total" -v c="$tcpu" -v w="$window" -v m="$maxthr" -v n="$n" -v rs="$size" 'BEGIN{
	printf "  total: %d processes, PSS %.1f MB (target 16 MB), CPU %.3f %% of a core (target 0.05 %%), at most %d threads a process (target 4)\n",
		n, t / 1024, c / 1e7 / w, m
	printf "  ring file %.1f MB: with every ring page resident the total is at most %.1f MB\n", rs / 1048576, t / 1024 + rs / 1048576 }'
# for make bench's summary (bench/target): one name per figure, the CPU count
# in the name when it is faked
sfx=${NRO_FAKE_CPUS:+", $NRO_FAKE_CPUS CPUs"}
"$top/bench/target" "pipeline PSS, MB$sfx" "$(awk -v t="$total" 'BEGIN{printf "%.1f", t / 1024}')" 16 le
"$top/bench/target" "pipeline CPU, % of a core$sfx" "$(awk -v c="$tcpu" -v w="$window" 'BEGIN{printf "%.3f", c / 1e7 / w}')" 0.05 le
"$top/bench/target" "threads a process$sfx" "$maxthr" 4 le
"$top/bench/target" "private memory of the largest collector, kB$sfx" "$maxpriv" 600 le
awk -v a="$r0" -v b="$r1" -v w="$window" -v rs="$size" 'BEGIN{ if (b > a) {
	pm = (b - a) * 60 / w; ds = rs > 0 ? 2 ^ int(log(rs) / log(2)) : 8388608
	printf "  ring written: %.3f MB a minute: the %.0f MiB data area holds %.1f minutes (target 15)\n", pm / 1e6, ds / 1048576, ds / pm } }'
