#!/bin/sh
# Regenerates the seed corpora fuzz/corpus/<target>/ from the recorded
# kubelet fixtures (../shared/fixtures/kubelet, PROVENANCE.tsv there) and
# from records and a ring written by the built tools (make all unit first).
# Seeds are kept small: whole fixtures only where they are small, else a few
# entries cut out of them. Inputs libFuzzer found (make fuzz FUZZ_MERGE=1)
# live in the same folders; this script only adds or replaces seed-* files.
# The record and ring seeds carry the time (and the ring a random epoch) of
# the run that wrote them, so they differ from one run to the next.
# The kmsg and procfs seeds come from the host fixtures
# (../shared/fixtures/host, NRO_HOST_FIXTURES): `sh fuzz/seed.sh --host` writes
# only those (no built tool needed).
# Usage: sh fuzz/seed.sh [--host] [FIXTURES_DIR]
set -eu
cd "$(dirname "$0")/.."
only_host=0
[ "${1:-}" = --host ] && { only_host=1; shift; }
F=${1:-${NRO_FIXTURES:-../shared/fixtures/kubelet}}
C=fuzz/corpus
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nro-seed.XXXXXX")
trap 'kill $replay 2>/dev/null || :; rm -rf "$tmp"' EXIT
replay=""
H=${NRO_HOST_FIXTURES:-$(dirname "$F")/host}
for t in record prom json quantity ring ring_writer pods summary configz spec healthz kmsg procfs; do
	mkdir -p "$C/$t"
done

# prefix BYTE-OCTAL FILE OUT: OUT is the control byte then FILE
prefix() { { printf "\\$1"; cat "$2"; } >"$3"; }

# ---- the host: kernel log lines and /proc, /sys files ----------------------
# kmsg: byte 0 bit 0 = the line before was a raw /dev/kmsg record
for f in "$H"/kmsg/*.txt; do
	head -c 16000 "$f" >"$tmp/k.txt"
	prefix 000 "$tmp/k.txt" "$C/kmsg/seed-$(basename "$f" .txt)"
done
printf '\0016,1234,5678901,-;Out of memory: Killed process 42 (stress) total-vm:1kB\n SUBSYSTEM=memory\n DEVICE=+x\n' \
	>"$C/kmsg/seed-raw-dict"
# procfs: byte 0 picks the parser (fuzz/fuzz_procfs.c): 0 stat, 1 meminfo/vmstat,
# 2 loadavg, 3 pressure, 4 file-nr, 5 one number, 6 net/dev, 7 mountinfo,
# 8 mounts, 9 (+10k: output size) operstate
procfs_seed() { # BYTE-OCTAL RELATIVE-PATH [NAME-SUFFIX]
	for d in procfs node_exporter hotsos_k8s_node; do
		[ -f "$H/$d/$2" ] || continue
		head -c 8000 "$H/$d/$2" >"$tmp/p.txt"
		prefix "$1" "$tmp/p.txt" "$C/procfs/seed-$d-$(echo "$2" | tr / -)${3:-}"
	done
}
procfs_seed 000 proc/stat
procfs_seed 001 proc/meminfo
procfs_seed 001 proc/vmstat
procfs_seed 002 proc/loadavg
for r in cpu io memory; do procfs_seed 003 proc/pressure/$r; done
procfs_seed 004 proc/sys/fs/file-nr
for r in sys/kernel/pid_max sys/kernel/threads-max sys/net/netfilter/nf_conntrack_max; do
	procfs_seed 005 proc/$r
done
procfs_seed 006 proc/net/dev
procfs_seed 007 proc/1/mountinfo
procfs_seed 007 proc/26231/mountinfo
procfs_seed 010 proc/mounts
procfs_seed 011 sys/class/net/eth0/operstate
procfs_seed 143 sys/class/net/eth0/operstate -out10
[ "$only_host" = 1 ] && { echo "host seeds written under $C"; exit 0; }

# ---- JSON bodies: a few pods / pod stats of each version, whole small ones
for v in v1.15 v1.19 v1.28 v1.34 gke-crashloop gke-1.20; do
	[ -f "$F/$v/pods.json" ] && jq -c '.items |= .[0:3]' "$F/$v/pods.json" >"$C/pods/seed-$v"
done
cp "$F/gke-crashloop/pods.json" "$C/pods/seed-gke-crashloop-whole"
for v in v1.15 v1.28 v1.34 gke-summary; do
	f=$F/$v/stats_summary.json
	[ -f "$f" ] || continue
	jq '.pods |= .[0:2]' "$f" >"$tmp/s.json"
	prefix 000 "$tmp/s.json" "$C/summary/seed-$v"
	[ "$v" = v1.34 ] && prefix 001 "$tmp/s.json" "$C/summary/seed-$v-psi-all"
done
prefix 000 "$F/config-1.32/configz.json" "$C/configz/seed-1.32"
jq -c '.kubeletconfig | del(.evictionHard)' "$F/config-1.32/configz.json" >"$tmp/bare.json"
prefix 000 "$tmp/bare.json" "$C/configz/seed-bare-defaults"
printf '\006404 page not found' >"$C/configz/seed-404"
printf '\007Forbidden (user=system:serviceaccount:nro:nro, verb=get, resource=nodes, subresource=configz)' \
	>"$C/configz/seed-403"
prefix 000 "$F/aws-spec/spec.json" "$C/spec/seed-aws"
for v in v1.34 v1.15; do # the /metrics/cadvisor fallback: machine_* families, odd chunk sizes
	grep -B2 -A3 '^machine_' "$F/$v/metrics_cadvisor.txt" | grep -v '^--' | head -c 12000 >"$tmp/m.txt"
	prefix 001 "$tmp/m.txt" "$C/spec/seed-fallback-$v-chunk1"
	prefix 017 "$tmp/m.txt" "$C/spec/seed-fallback-$v-chunk8"
done
prefix 000 "$F/healthz/healthz_verbose.txt" "$C/healthz/seed-ok"
printf '\001[+]ping ok\n[+]log ok\n[-]syncloop failed: reason withheld\nhealthz check failed\n' \
	>"$C/healthz/seed-500"
printf '\000ok' >"$C/healthz/seed-plain-ok"
for f in "$C"/pods/seed-v1.15 "$F/aws-spec/spec.json" "$tmp/bare.json"; do
	head -c 16000 "$f" >"$C/json/seed-$(basename "$f")"
done
jq '.node' "$F/v1.34/stats_summary.json" >"$C/json/seed-summary-node"
printf '{"a":"\\u00e9\\ud83d\\ude00\\n","t":"2026-11-25T21:00:00.123+01:00","n":[1,-2.5e3,18446744073709551615,true,null]}' \
	>"$C/json/seed-escapes"
printf '{"podPidsLimit":-0,"a":[0,-1,-0.0,9223372036854775808,-9223372036854775808]}' \
	>"$C/json/seed-negative-zero"

# ---- Prometheus text: heads of each version, histograms, summaries ------
# prom input: byte 0 (line cap, filter), 4 bytes seeding the chunk splits
for f in eks-1.21/metrics.txt gke-pre-1.16/metrics_cadvisor.txt v1.34/metrics_cadvisor.txt \
	gke-1.20/metrics_probes.txt kind-1.21/metrics_resource.txt config-1.32/metrics_slis.txt; do
	n=$(echo "$f" | tr '/.' '--')
	head -c 6000 "$F/$f" | sed '$d' >"$tmp/p.txt"
	{ printf '\003abcd'; cat "$tmp/p.txt"; } >"$C/prom/seed-$n"
	{ printf '\006wxyz'; cat "$tmp/p.txt"; } >"$C/prom/seed-$n-filter-cap200"
done
for kind in histogram summary; do
	awk -v k="$kind" '$1 == "#" && $2 == "TYPE" { on = ($4 == k) } on' "$F/eks-1.21/metrics.txt" |
		head -c 8000 >"$tmp/p.txt"
	{ printf '\003seed'; cat "$tmp/p.txt"; } >"$C/prom/seed-$kind"
done
printf '\003\001\002\003\004# TYPE a counter\na_total{l="x\\\\y\\"z\\n",} +Inf 1700000000000\n# EOF\nafter 1\n' \
	>"$C/prom/seed-escapes-eof"

# ---- quantities -----------------------------------------------------------
i=0
for q in 100m 1 0.5 2k 128Mi 1G 1e3 129M -1.5Ki +.5 1E 1Ei 0.000000001n 12345678901234567890123 1.e-3 1Ti; do
	printf '%s' "$q" >"$C/quantity/seed-$i"
	i=$((i + 1))
done

# ---- records and a ring, written by the tools ---------------------------
split_frames() { # FRAMED-FILE PREFIX: one corpus file per framed record (<= 32 KiB)
	python3 - "$1" "$2" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
i = k = 0
while i + 4 <= len(d):
    n = struct.unpack('>I', d[i:i + 4])[0]
    if n <= 32768 and k < 12:
        open('%s-%d' % (sys.argv[2], k), 'wb').write(d[i + 4:i + 4 + n])
        k += 1
    i += 4 + n
PY
}
build/plain/test/record_test --sample >"$tmp/sample.bin"
split_frames "$tmp/sample.bin" "$C/record/seed-sample"
mkdir "$tmp/kubelet"
jq -c '.items |= .[0:2]' "$F/v1.34/pods.json" >"$tmp/kubelet/pods.json"
jq -c '.pods |= .[0:1]' "$F/v1.34/stats_summary.json" >"$tmp/kubelet/stats_summary.json"
bin/kubelet-replay --dir "$tmp/kubelet" >"$tmp/url" 2>/dev/null &
replay=$!
i=0
until [ -s "$tmp/url" ] || [ $i -ge 200 ]; do sleep 0.05; i=$((i + 1)); done
url=$(head -n1 "$tmp/url")
for t in pods summary; do
	bin/collector-$t --once --kubelet "$url" -o - >"$tmp/$t.bin"
	split_frames "$tmp/$t.bin" "$C/record/seed-$t"
done
# a ring holding those records, in the compact form fuzz/fuzz.h describes
cat "$tmp/sample.bin" "$tmp/pods.bin" | NRO_RUN_DIR=$tmp/run bin/analyzer -i - -o - \
	--ring "$tmp/ring" --ring-size 65536 >/dev/null
python3 - "$tmp/ring" "$C/ring/seed-analyzer" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
ds = struct.unpack('<Q', d[24:32])[0]
head = struct.unpack('<Q', d[128:136])[0]
nslots = ds // 128
idx = d[256 + ds:256 + ds + 16 * min(nslots, head + 1)]
used = max(struct.unpack('<Q', d[64:72])[0] % ds, 64)
open(sys.argv[2], 'wb').write(d[:256] + struct.pack('>H', len(idx) // 16) + idx + d[256:256 + used])
PY
cp "$C/ring/seed-analyzer" "$C/ring_writer/seed-analyzer"
echo "seeds written under $C"
