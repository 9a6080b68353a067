#!/bin/bash
# Bodies no kubelet sends by default but a big or hostile one can: every
# parse stays linear in its input and a huge /pods is read, not refused.
#  - 20,000 same-named containers in one pod (collector-summary's dedupe of
#    repeated cAdvisor entries): exactly the newest is published, and the
#    work grows linearly (instructions counted by callgrind, not time);
#  - a 10,000-pod /pods (about 56 MB): every pod is published.
. "$(dirname "$0")/lib.sh"

V134=$TOP/../shared/fixtures/kubelet/v1.34

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() {
	for p in $REPLAYS; do kill "$p" 2>/dev/null; done
	rm -rf "$TMP"
}

REPLAYS=""
# serve DIR: kubelet-replay on DIR; sets URL
serve() {
	timeout 300 "$BIN/kubelet-replay" --dir "$1" >"$1.url" 2>"$1.err" &
	REPLAYS="$REPLAYS $!"
	URL=$(wait_first_line "$1.url") || fail "kubelet-replay: $(cat "$1.err")"
}

# summary_with N DIR: the v1.34 summary with its first pod's first container
# repeated N times under one name, all equally recent (the worst case: the
# last of a tie wins, so a quadratic dedupe scans to the end for each)
summary_with() {
	mkdir -p "$2"
	python3 - "$V134/stats_summary.json" "$1" >"$2/stats_summary.json" <<'PY'
import copy, json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
c0 = d["pods"][0]["containers"][0]
out = []
for i in range(n):
    c = copy.deepcopy(c0)
    c["name"] = "dup"
    c["cpu"]["usageNanoCores"] = 777777 if i == n - 1 else 1000 + i
    out.append(c)
d["pods"][0]["containers"] = out
json.dump(d, sys.stdout)
PY
}

test_same_named_containers_publish_only_the_newest() {
	summary_with 20000 "$TMP/s20k"
	serve "$TMP/s20k"
	timeout 120 "$BIN/collector-summary" --kubelet "$URL" --once -o - 2>"$TMP/s.err" |
		"$BIN/nro-dump" -i - >"$TMP/s.json"
	assertEquals "collector exit" 0 "${PIPESTATUS[0]}"
	got=$(jq -r 'select(.name=="container.cpu.usage" and .attrs["k8s.container.name"]=="dup") | .value' "$TMP/s.json")
	assertEquals "one series for the name, the last of the tie" "0.000777777" "$got"
}

# Instructions for one poll of a body with N duplicates (callgrind).
instructions_for() {
	summary_with "$1" "$TMP/ir$1"
	serve "$TMP/ir$1"
	valgrind --tool=callgrind --callgrind-out-file="$TMP/cg$1" \
		"$BIN/collector-summary" --kubelet "$URL" --once -o - >/dev/null 2>"$TMP/cg$1.err"
	sed -n 's/^summary: //p' "$TMP/cg$1"
}

test_dedupe_work_grows_linearly() {
	command -v valgrind >/dev/null || startSkipping
	case "$BIN" in */build/san/*) startSkipping ;; esac
	a=$(instructions_for 500)
	b=$(instructions_for 2000)
	[ -n "$a" ] && [ -n "$b" ] || fail "callgrind gave no totals"
	# 4x the input: about 4x the work when linear, 16x when quadratic
	ratio=$(echo "scale=2; $b / $a" | bc)
	assertTrue "instructions 500 -> 2000 duplicates grew ${ratio}x ($a -> $b)" \
		"[ \$(echo \"$ratio < 6\" | bc) = 1 ]"
}

test_ten_thousand_pods_are_read() {
	mkdir -p "$TMP/p10k"
	python3 - "$V134/pods.json" 10000 >"$TMP/p10k/pods.json" <<'PY'
import copy, json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
base = d["items"]
items = []
for i in range(n):
    p = copy.deepcopy(base[i % len(base)])
    p["metadata"]["name"] = "p%05d-%s" % (i, p["metadata"]["name"])
    p["metadata"]["uid"] = "00000000-0000-4000-8000-%012d" % i
    items.append(p)
d["items"] = items
json.dump(d, sys.stdout)
PY
	serve "$TMP/p10k"
	timeout 120 "$BIN/collector-pods" --kubelet "$URL" --once -o - 2>"$TMP/p.err" |
		"$BIN/nro-dump" -i - >"$TMP/p.json"
	assertEquals "collector exit" 0 "${PIPESTATUS[0]}"
	assertNotContains "$(cat "$TMP/p.err")" "too many tokens"
	n=$(jq -r 'select(.name=="k8s.pod.phase") | .attrs["k8s.pod.uid"]' "$TMP/p.json" | sort -u | wc -l)
	assertEquals "pods published" 10000 "$n"
}

. shunit2
