#!/bin/sh
# Churn RSS figures (the bounded part is tests/churn_test.sh, by counting
# what the analyzer keeps): 10 steps of 1,000 + step new pods each, then
# none, through collector-pods and the analyzer on real nng sockets. Prints
# VmRSS (KiB) of both at the baseline (no pods), at the last full step, and
# back at no pods, and of that the anonymous part (RssAnon: heap, stacks).
# Not part of make test.
#
#   sh bench/churn.sh              (NRO_BIN, NRO_FIXTURES, STEPS=10, PER_STEP=1000)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
fx=${NRO_FIXTURES:-$top/../shared/fixtures/kubelet}/v1.34/pods.json
steps=${STEPS:-10}
per=${PER_STEP:-1000}
tmp=$(mktemp -d)
pids=
trap 'kill $pids 2>/dev/null; rm -rf "$tmp"' EXIT
python3 "$top/tests/churn_pods.py" "$fx" "$tmp/churn" "$steps" "$per"
"$bin/kubelet-replay" --scenario "$tmp/churn" >"$tmp/url" 2>/dev/null &
pids=$!
i=0
until [ -s "$tmp/url" ]; do i=$((i + 1)); [ $i -lt 200 ] || exit 1; sleep 0.05; done
url=$(head -n 1 "$tmp/url")
export NRO_RUN_DIR="$tmp/run" NRO_KUBELET_URL="$url" NRO_NODE_NAME=n1
"$bin/sink-stdout" --metrics -f json >"$tmp/m.out" 2>/dev/null &
pids="$pids $!"
"$bin/collector-pods" --interval 200ms 2>/dev/null &
cpid=$!
"$bin/analyzer" --metrics-interval 200ms 2>/dev/null &
apid=$!
pids="$pids $cpid $apid"

pods() {
	grep '"table":"pods"' "$tmp/m.out" 2>/dev/null | tail -n 1 | sed 's/.*"value":\([0-9]*\).*/\1/'
}
wait_pods() {
	i=0
	until [ "$(pods)" = "$1" ]; do i=$((i + 1)); [ $i -lt 1200 ] || exit 1; sleep 0.05; done
}
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# the heap and other anonymous memory: what trimming can give back (the
# rest is the binary and libraries, and the analyzer's ring pages)
anon() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }
line() {
	printf '%-22s analyzer %6s KiB (anon %6s)   collector-pods %6s KiB (anon %6s)\n' "$1" \
		"$(rss $apid)" "$(anon $apid)" "$(rss $cpid)" "$(anon $cpid)"
}

wait_pods 0
line "baseline (0 pods)"
s=1
while [ "$s" -le "$steps" ]; do
	curl -fsS -X POST "$url/replay/step" >/dev/null
	wait_pods $((per + s))
	s=$((s + 1))
done
line "last step ($((per + steps)) pods)"
curl -fsS -X POST "$url/replay/step" >/dev/null
wait_pods 0
line "after (0 pods)"
sleep 3
line "3 s later"
