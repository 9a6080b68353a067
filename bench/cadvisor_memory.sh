#!/bin/sh
# Collector memory does not depend on the body's size (DESIGN.md): peak RSS
# (GNU time's %M, the getrusage ru_maxrss high-water mark) of
# collector-cadvisor --once --allow all, records to /dev/null, on
#   - the 2.1 MB eks-1.21 /metrics/cadvisor fixture, and
#   - a 21 MB body: the same fixture served 10 times over (.repeat, chunked
#     like the kubelet's large bodies).
# They must differ by less than 1 MiB. Not part of make test.
#
#   sh bench/cadvisor_memory.sh          (NRO_BIN, NRO_FIXTURES, RUNS=5)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
fx=${NRO_FIXTURES:-$top/../shared/fixtures/kubelet}/eks-1.21/metrics_cadvisor.txt
runs=${RUNS:-5}
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
tmp=$(mktemp -d)
rp1= rp2=
trap 'kill $rp1 $rp2 2>/dev/null; rm -rf "$tmp"' EXIT

serve() { # DIR OUT: starts a replay, its pid in $rp
	"$bin/kubelet-replay" --dir "$1" >"$2" &
	rp=$!
	i=0
	until [ -s "$2" ]; do
		i=$((i + 1))
		[ $i -lt 200 ] || { echo "kubelet-replay did not start" >&2; exit 1; }
		sleep 0.05
	done
}

mkdir -p "$tmp/one" "$tmp/ten"
cp "$fx" "$tmp/one/"
cp "$fx" "$tmp/ten/"
echo 10 >"$tmp/ten/metrics_cadvisor.txt.repeat"
echo yes >"$tmp/ten/metrics_cadvisor.txt.chunked"
serve "$tmp/one" "$tmp/url1"; rp1=$rp
serve "$tmp/ten" "$tmp/url2"; rp2=$rp

# peak URL: the smallest max RSS (KiB) over $runs runs (the least noisy)
peak() {
	best=
	r=0
	while [ $r -lt "$runs" ]; do
		/usr/bin/time -f %M -o "$tmp/rss" "$bin/collector-cadvisor" --once --allow all -o - \
			--kubelet "$(head -n1 "$1")" >/dev/null 2>"$tmp/err" ||
			{ echo "collector-cadvisor failed: $(cat "$tmp/err")" >&2; exit 1; }
		kb=$(tail -n1 "$tmp/rss")
		if [ -z "$best" ] || [ "$kb" -lt "$best" ]; then best=$kb; fi
		r=$((r + 1))
	done
	echo "$best"
}

size1=$(stat -c %s "$fx")
small=$(peak "$tmp/url1")
big=$(peak "$tmp/url2")
awk -v s1="$size1" -v a="$small" -v b="$big" 'BEGIN {
	d = b - a; if (d < 0) d = -d
	printf "collector-cadvisor --once --allow all, peak RSS (min of runs):\n"
	printf "  %6.1f MB body: %6d KiB\n", s1 / 1e6, a
	printf "  %6.1f MB body: %6d KiB\n", s1 * 10 / 1e6, b
	printf "  difference:     %6d KiB (limit 1024 KiB): %s\n", d, d < 1024 ? "ok" : "FAIL"
	exit !(d < 1024) }'
