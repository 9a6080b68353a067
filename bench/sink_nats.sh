#!/bin/sh
# sink-nats into a real nats-server with JetStream (file store, acks on):
#  1. events per second: the analyzer's ring holds ROUNDS x 48 events of a
#     real incident (recorded /pods, every container crash-looping then
#     running); a fresh sink-nats --from-start --jetstream delivers them all;
#     wall time until its cursor reached the ring's head, its CPU, PSS, threads
#  2. CPU per 1,000 metric samples: v1.34 /stats/summary records (collector-
#     summary) piped through sink-nats --kinds M --jetstream, JSON and record
# Needs nats-server and tests/npm/nats (make deps). Not part of make test.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
fx=${NRO_FIXTURES:-$top/../shared/fixtures/kubelet}/v1.34
rounds=${ROUNDS:-1000}
copies=${COPIES:-200}
client="node $top/tests/npm/nats/client.mjs"
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
export NRO_RUN_DIR=$tmp/run

nats-server -a 127.0.0.1 -p -1 -js -sd "$tmp/js" -l "$tmp/nats.log" & pids="$pids $!"
until grep -q 'Server is ready' "$tmp/nats.log" 2>/dev/null; do sleep 0.05; done
url=nats://$(sed -n 's/.*client connections on \([0-9.]*:[0-9]*\).*/\1/p' "$tmp/nats.log")
$client stream-add "$url" NRO 'nro.>' 1 120

# records: a (crash-looping), b (running), the summary
mkdir -p "$tmp/a" "$tmp/b" "$tmp/s"
jq -c '.items |= map(.status.containerStatuses |= map(.restartCount = 3 | .ready = false
	| .state = {waiting: {reason: "CrashLoopBackOff"}}))' "$fx/pods.json" >"$tmp/a/pods.json"
jq -c '.items |= map(.status.containerStatuses |= map(.restartCount = 3 | .ready = true
	| .state = {running: {startedAt: "2026-01-13T18:39:30Z"}}))' "$fx/pods.json" >"$tmp/b/pods.json"
cp "$fx/stats_summary.json" "$tmp/s/"
for s in a b s; do
	"$bin/kubelet-replay" --dir "$tmp/$s" >"$tmp/$s.url" & rp=$!
	until [ -s "$tmp/$s.url" ]; do sleep 0.02; done
	c=collector-pods
	[ "$s" = s ] && c=collector-summary
	"$bin/$c" --kubelet "$(head -n1 "$tmp/$s.url")" --once -o - >"$tmp/$s.rec" 2>/dev/null
	kill $rp
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# 1. events per second, from the ring, acknowledged by JetStream
i=0
while [ $i -lt "$rounds" ]; do cat "$tmp/a.rec" "$tmp/b.rec"; i=$((i + 1)); done |
	"$bin/analyzer" -i - --ring-size 268435456 --set PodCrashLooping.resolve_after=0s \
		--set flap.window=1ms 2>/dev/null
events=$("$bin/nro-dump" --ring "$NRO_RUN_DIR/ring" -k E | wc -l)
head=$("$bin/nro-dump" --ring "$NRO_RUN_DIR/ring" | jq -s 'map(.seq) | max')
start=$(date +%s.%N)
"$bin/sink-nats" --url "$url" --jetstream --kinds E --from-start --cursor "$tmp/cursor" 2>"$tmp/sink.err" &
sp=$!
pids="$pids $sp"
until [ "$(awk '{print $4}' "$tmp/cursor" 2>/dev/null)" = "$head" ]; do sleep 0.01; done
end=$(date +%s.%N)
ticks=$(cpu_ticks $sp)
pss=$(awk '/^Pss:/{print $2}' /proc/$sp/smaps_rollup)
pss_anon=$(awk '/^Pss_Anon:/{print $2}' /proc/$sp/smaps_rollup)
ring_pss=$(awk -v r="$NRO_RUN_DIR/ring" '$0 ~ /^[0-9a-f]+-[0-9a-f]+ / { on = index($0, r) > 0 } on && /^Pss:/ { s += $2 } END { print s + 0 }' /proc/$sp/smaps)
threads=$(awk '/^Threads:/{print $2}' /proc/$sp/status)
kill $sp
wait $sp 2>/dev/null || true
stored=$($client stream-dump "$url" NRO | wc -l)
awk -v n="$events" -v s="$start" -v e="$end" -v t="$ticks" -v hz="$hz" -v pss="$pss" \
	-v th="$threads" -v st="$stored" -v anon="$pss_anon" -v ring="$ring_pss" 'BEGIN {
	w = e - s
	printf "sink-nats JetStream: %d events in %.2f s = %.0f events/s acknowledged (%d in the stream)\n", n, w, n / w, st
	printf "  CPU %.1f us per event (%.0f %% of a core while sending); PSS %d kB (%d kB of it the ring read, %d kB anonymous); %d threads\n",
		t / hz / n * 1e6, t / hz / w * 100, pss, ring, anon, th }'

# 1b. PSS with the default 8 MiB ring (what a node runs): a smaller incident
rm -rf "$NRO_RUN_DIR"
i=0
while [ $i -lt 60 ]; do cat "$tmp/a.rec" "$tmp/b.rec"; i=$((i + 1)); done |
	"$bin/analyzer" -i - --set PodCrashLooping.resolve_after=0s --set flap.window=1ms 2>/dev/null
head=$("$bin/nro-dump" --ring "$NRO_RUN_DIR/ring" | jq -s 'map(.seq) | max')
"$bin/sink-nats" --url "$url" --jetstream --kinds EM --from-start --cursor "$tmp/cursor2" 2>"$tmp/sink2.err" &
sp=$!
pids="$pids $sp"
until [ "$(awk '{print $4}' "$tmp/cursor2" 2>/dev/null)" = "$head" ]; do sleep 0.01; done
awk '/^Pss:/ { p = $2 } /^Pss_Anon:/ { a = $2 } END {
	printf "sink-nats with the default 8 MiB ring read whole: PSS %d kB (%d kB anonymous)\n", p, a }' /proc/$sp/smaps_rollup
kill $sp
wait $sp 2>/dev/null || true

# 2. CPU per 1,000 metric samples (pipe mode: no ring)
samples=$("$bin/nro-dump" -k M <"$tmp/s.rec" | wc -l)
i=0
while [ $i -lt "$copies" ]; do cat "$tmp/s.rec"; i=$((i + 1)); done >"$tmp/metrics.rec"
for f in json record; do
	/usr/bin/time -f "%U %S %e %M" -o "$tmp/time.$f" \
		"$bin/sink-nats" -i - --url "$url" --jetstream --kinds M --format "$f" \
		<"$tmp/metrics.rec" 2>"$tmp/sink-$f.err"
	read -r u s e m <"$tmp/time.$f"
	awk -v u="$u" -v s="$s" -v e="$e" -v m="$m" -v n=$((samples * copies)) -v f="$f" 'BEGIN {
		printf "sink-nats --format %s: %d metric samples in %.2f s: %.3f ms CPU per 1,000 samples (max RSS %d kB)\n",
			f, n, e, (u + s) * 1000 / (n / 1000), m }'
done
