#!/bin/sh
# collector-node: CPU per poll (every /proc and /sys file, statvfs, adjtimex,
# publish) on this machine, from its own utime+stime over N polls, and its
# PSS; collector-kmsg: CPU to read and match a replayed kernel log (every
# fixture log, concatenated, many times) and its PSS while following.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
kmsg=${NRO_HOST_FIXTURES:-$top/../shared/fixtures/host}/kmsg
polls=${POLLS:-200}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)
pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }

"$bin/collector-node" --interval 20ms -o - >"$tmp/node.out" 2>"$tmp/node.err" &
pid=$!
sleep "$(awk "BEGIN{print $polls*0.02 + 0.5}")"
ticks=$(awk '{print $14+$15}' "/proc/$pid/stat")
kb=$(pss $pid)
kill $pid
wait $pid 2>/dev/null || true
n=$("$bin/nro-dump" -k H <"$tmp/node.out" 2>/dev/null | wc -l)
awk -v t="$ticks" -v hz="$hz" -v n="$n" -v kb="$kb" 'BEGIN{
	printf "collector-node       %.3f ms CPU per poll over %d polls, %d KiB PSS\n", t * 1000 / hz / n, n, kb }'

for i in $(seq 1 ${COPIES:-50}); do cat "$kmsg"/*; done >"$tmp/big.log"
lines=$(wc -l <"$tmp/big.log")
: >"$tmp/follow.log"
"$bin/collector-kmsg" --kmsg "$tmp/follow.log" --interval 1h -o - >"$tmp/kmsg.out" 2>"$tmp/kmsg.err" &
pid=$!
sleep 0.3
cat "$tmp/big.log" >>"$tmp/follow.log"
# done when the collector's offset in the file (its fdinfo) reaches the end
size=$(stat -c %s "$tmp/follow.log")
i=0
while [ $i -lt 600 ]; do
	pos=$(awk '/^pos:/ { print $2 }' "/proc/$pid/fdinfo/$(ls -l /proc/$pid/fd | awk -v f="$tmp/follow.log" '$NF == f { print $9 }')" 2>/dev/null || echo 0)
	[ "${pos:-0}" -ge "$size" ] && break
	sleep 0.05
	i=$((i + 1))
done
ticks=$(awk '{print $14+$15}' "/proc/$pid/stat")
kb=$(pss $pid)
kill $pid
wait $pid 2>/dev/null || true
problems=$("$bin/nro-dump" -k S <"$tmp/kmsg.out" 2>/dev/null | wc -l)
awk -v t="$ticks" -v hz="$hz" -v n="$lines" -v p="$problems" -v kb="$kb" 'BEGIN{
	printf "collector-kmsg       %.2f us CPU per kernel line over %d lines (%d problems), %d KiB PSS\n", t * 1e6 / hz / n, n, p, kb }'
