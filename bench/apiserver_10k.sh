#!/bin/sh
# collector-apiserver's memory with 10,000 pods on the node: apiserver-replay
# serves a PodList of 10,000 pods (the real v1.34 /pods capture's 24 pods,
# renamed and re-UIDed over and over: ~53 MB of JSON), the Node and the
# Lease; collector-apiserver lists, then follows the watches, publishing to
# /dev/null. Figures from /proc/PID/status:
#   peak    VmHWM once the list is in (the list body and its tokens)
#   steady  VmRSS after more polls, and again after a step that changes 500
#           pods (500 MODIFIED watch events), and VmHWM at the end
# Not part of make test.
#
#   sh bench/apiserver_10k.sh        (NRO_BIN, NRO_FIXTURES, PODS=10000)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
fx=${NRO_FIXTURES:-$top/../shared/fixtures/kubelet}/v1.34/pods.json
data=$top/tests/data/apiserver
npods=${PODS:-10000}
node=datagen-1-34
tmp=$(mktemp -d)
api= col=
trap 'kill $col $api 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

mkdir -p "$tmp/sc/step-000" "$tmp/sc/step-001"
jq -c --argjson n "$npods" '.items as $p | .items = [range(0; ($n / ($p | length) | ceil)) as $i
	| $p[] | .metadata.name += "-\($i)" | .metadata.uid += "-\($i)"][0:$n]' "$fx" \
	>"$tmp/sc/step-000/pods.json"
jq -c '(.items[0:500][] | .status.containerStatuses[]?.restartCount) += 1' \
	"$tmp/sc/step-000/pods.json" >"$tmp/sc/step-001/pods.json"
cp "$data/node.json" "$data/lease.json" "$tmp/sc/step-000/"
echo "sa-token-$$" >"$tmp/token"

"$bin/apiserver-replay" --scenario "$tmp/sc" --node "$node" --token-file "$tmp/token" \
	>"$tmp/url" 2>"$tmp/api.err" &
api=$!
i=0
until [ -s "$tmp/url" ]; do
	i=$((i + 1)); [ $i -lt 2400 ] || { echo "apiserver-replay did not start: $(cat "$tmp/api.err")" >&2; exit 1; }
	sleep 0.05
done
url=$(head -n1 "$tmp/url")

NRO_ALLOW_INSECURE_TOKEN=1 "$bin/collector-apiserver" --apiserver "$url" --token-file "$tmp/token" \
	--node "$node" --interval 3s -o - >/dev/null 2>"$tmp/col.err" &
col=$!

kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$col/status"; }
# waits (bounded) until the collector's log has COUNT lines matching REGEX
wait_log() { # REGEX COUNT
	i=0
	while [ "$(grep -cE "$1" "$tmp/col.err")" -lt "$2" ]; do
		i=$((i + 1)); [ $i -lt 1200 ] || { echo "timed out: $1" >&2; cat "$tmp/col.err" >&2; exit 1; }
		kill -0 $col 2>/dev/null || { echo "collector-apiserver died" >&2; cat "$tmp/col.err" >&2; exit 1; }
		sleep 0.05
	done
}
# N polls of the 3 s schedule pass (a bench, not a test: the clock will do)
polls() { sleep $((3 * $1)); }

wait_log "list: pods at resourceVersion 1, $npods items" 1
polls 1
peak=$(kib VmHWM)
polls 3
steady=$(kib VmRSS)
curl -fsS -X POST "$url/replay/step" >/dev/null
polls 3
steady2=$(kib VmRSS)
hwm=$(kib VmHWM)
lists=$(grep -c "list: pods" "$tmp/col.err")
size=$(stat -c %s "$tmp/sc/step-000/pods.json")
awk -v n="$npods" -v sz="$size" -v p="$peak" -v s="$steady" -v s2="$steady2" -v h="$hwm" -v l="$lists" 'BEGIN {
	printf "collector-apiserver, %d pods (%.1f MB PodList), --interval 3s:\n", n, sz / 1e6
	printf "  peak RSS after the list   %6.1f MiB (VmHWM)\n", p / 1024
	printf "  steady RSS, 3 polls later %6.1f MiB (VmRSS)\n", s / 1024
	printf "  after 500 MODIFIED        %6.1f MiB (VmRSS), peak %.1f MiB\n", s2 / 1024, h / 1024
	printf "  lists: %d (no relist while following the watch)\n", l
}'
