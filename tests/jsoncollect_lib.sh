# Helpers of the JSON/healthz collector suites (collectors_{pods,summary,healthz}_test.sh):
# a kubelet-replay per fixture directory, and a run of one collector --once
# decoded by nro-dump, for every build present (plain and ASan/UBSan), so
# `make test` runs every fixture under the sanitizers as well.
#
# Source tests/lib.sh first.

# The builds to run collectors from: $BIN, plus the sanitizer build when it
# exists and NRO_BIN did not already choose one.
case "$BIN" in /*) ;; *) BIN="$TOP/$BIN" ;; esac
BINS=$BIN
if [ -z "${NRO_BIN:-}" ] && [ -x "$TOP/build/san/bin/collector-pods" ]; then
	BINS="$BIN $TOP/build/san/bin"
fi
# The replay server and jq-side helpers always come from the plain build
# (they are the reference, not the code under test).
REPLAY_BIN=$BIN
[ -x "$REPLAY_BIN/kubelet-replay" ] || REPLAY_BIN=$TOP/bin

REPLAY_PID=""
URL=""
nrun=0

# jc_replay DIR: serves DIR; sets URL and REPLAY_PID.
jc_replay() {
	nrun=$((nrun + 1))
	_out="$TMP/replay.$nrun.out"
	: >"$_out"
	"$REPLAY_BIN/kubelet-replay" --dir "$1" >"$_out" 2>"$TMP/replay.$nrun.err" &
	REPLAY_PID=$!
	URL=$(wait_first_line "$_out") || {
		fail "kubelet-replay --dir $1 printed no URL: $(cat "$TMP/replay.$nrun.err")"
		return 1
	}
}

jc_stop_replay() {
	[ -n "$REPLAY_PID" ] || return 0
	kill -TERM "$REPLAY_PID" 2>/dev/null
	wait "$REPLAY_PID" 2>/dev/null
	REPLAY_PID=""
}

# collect B PROG ARGS...: runs B/PROG --once -o - --kubelet $URL ARGS (no
# --kubelet when URL is empty: the host collectors); the
# decoded records land in $OUT (JSON lines), stderr in $ERR, the exit code
# in RC. Fails the test when a sanitizer spoke or nro-dump refused a record.
collect() {
	_b=$1
	_p=$2
	shift 2
	nrun=$((nrun + 1))
	OUT="$TMP/out.$nrun.jl"
	ERR="$TMP/err.$nrun"
	"$_b/$_p" --once -o - ${URL:+--kubelet "$URL"} "$@" >"$TMP/out.$nrun.bin" 2>"$ERR"
	RC=$?
	"$_b/nro-dump" <"$TMP/out.$nrun.bin" >"$OUT" 2>>"$ERR"
	_drc=$?
	assertEquals "nro-dump of $_p output ($_b)" 0 "$_drc"
	if grep -qE 'Sanitizer|runtime error:' "$ERR"; then
		fail "$_b/$_p $*: sanitizer report: $(head -c 2000 "$ERR")"
	fi
}

# jl FILTER: jq -r over the decoded records of the last collect.
jl() {
	jq -r "$@" "$OUT"
}

# health_status: the status of the one health record.
health_status() {
	jq -r 'select(.kind=="health") | .status' "$OUT"
}

# A fixture directory of our own: fx NAME -> $TMP/fx/NAME (created empty).
fx() {
	FX="$TMP/fx/$1"
	rm -rf "$FX"
	mkdir -p "$FX"
}

# The one error record of the last collect: "code http_status".
error_of() {
	jq -r 'select(.kind=="error") | "\(.code) \(.http_status)"' "$OUT"
}

# assert_failed CODE EXIT HTTP WHAT: the last collect was a failed poll.
assert_failed() {
	assertEquals "$4: exit status ($(head -c 300 "$ERR"))" "$2" "$RC"
	assertEquals "$4: error record" "$1 $3" "$(error_of)"
	assertEquals "$4: health" failed "$(health_status)"
	assertEquals "$4: no state or metric" 0 \
		"$(jq -r 'select(.kind=="state" or .kind=="metric") | 1' "$OUT" | wc -l)"
}

# A stable name for the build in messages: plain or san.
flavour() {
	case "$1" in */build/san/bin) echo san ;; *) echo plain ;; esac
}

# Valid JSON of the wrong shapes: every number a string, every array an
# object, every string null, names as numbers, strings as numbers, big
# objects' values wrapped in arrays, extreme numbers, a deep nest.
CHAOS_FILTERS='walk(if type=="number" then tostring else . end)
walk(if type=="array" then {} else . end)
walk(if type=="string" then null else . end)
walk(if type=="object" and has("name") then .name = 5 else . end)
walk(if type=="string" then 7 else . end)
walk(if type=="object" and (keys | length) > 3 then with_entries(.value = [.value]) else . end)
walk(if type=="number" then -1e308 else . end)
walk(if type=="number" then 1.5e300 else . end)
walk(if type=="object" and length > 0 then del(.[keys[0]]) else . end)
walk(if type=="object" and has("time") then .time = "yesterday" else . end)
walk(if type=="string" then . * 300 else . end)'

# chaos_check PROG FILE: PROG survives every CHAOS_FILTERS variant of FILE
# under every build: a poll that succeeds (perhaps degraded) or fails with
# a parse error, always a health record, never a crash or sanitizer report.
chaos_check() {
	_prog=$1
	_file=$2
	mapfile -t _filters <<<"$CHAOS_FILTERS"
	_i=0
	for _f in "${_filters[@]}"; do
		_i=$((_i + 1))
		fx "chaos$_i"
		jq -c "$_f" "$_file" >"$FX/$(basename "$_file")" || { fail "jq: $_f"; continue; }
		jc_replay "$FX" || return
		for _b in $BINS; do
			collect "$_b" "$_prog" --node chaos
			_what="$(flavour "$_b") $_prog chaos $_i ($_f)"
			case "$RC" in
			0) ;;
			102) assertEquals "$_what: a failed poll is a parse error" parse \
				"$(jl 'select(.kind=="error") | .code')" ;;
			*) fail "$_what: exit $RC: $(head -c 500 "$ERR")" ;;
			esac
			assertEquals "$_what: one health record" 1 "$(jl 'select(.kind=="health") | 1' | wc -l)"
		done
		jc_stop_replay
	done
	assertEquals "variants tried" 11 "$_i"
}
