# Shared by the shunit2 suites: paths and small helpers. Source it first.
TOP=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
BIN=${NRO_BIN:-$TOP/bin}
# unit-test helpers (record_test --sample) live next to the tools' build
case "$BIN" in
*/build/san/bin) TESTBIN=$TOP/build/san/test ;;
*) TESTBIN=${NRO_TESTBIN:-$TOP/build/plain/test} ;;
esac
FIXTURES=${NRO_FIXTURES:-$TOP/../shared/fixtures/kubelet}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=66}
# kubelet-replay serves plain http on loopback: the suites' tokens may go
# there (fault_matrix_test.sh checks the refusal without it)
export NRO_ALLOW_INSECURE_TOKEN=${NRO_ALLOW_INSECURE_TOKEN:-1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$TOP/tests/lsan.supp:print_suppressions=0}

# A private temp directory per suite, removed at exit.
nro_tmpdir() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/nro-suite.XXXXXX")
	export NRO_RUN_DIR=$TMP/run
}

# Waits (bounded) until file $1 has a first line, then prints it.
wait_first_line() {
	i=0
	while [ $i -lt 400 ]; do
		if [ -s "$1" ] && head -n1 "$1" | grep -q .; then
			head -n1 "$1"
			return 0
		fi
		sleep 0.025
		i=$((i + 1))
	done
	return 1
}

# Waits (bounded) until path $1 exists.
wait_path() {
	i=0
	while [ $i -lt 400 ]; do
		[ -e "$1" ] && return 0
		sleep 0.025
		i=$((i + 1))
	done
	return 1
}

# Starts kubelet-replay with the given arguments; sets REPLAY_URL and
# REPLAY_PID. The caller kills $REPLAY_PID.
start_replay() {
	# a previous test's URL file would race with the new one's truncation
	rm -f "$TMP/replay.url"
	"$BIN/kubelet-replay" "$@" >"$TMP/replay.url" 2>"$TMP/replay.err" &
	REPLAY_PID=$!
	REPLAY_URL=$(wait_first_line "$TMP/replay.url") || {
		echo "kubelet-replay did not start: $(cat "$TMP/replay.err")" >&2
		return 1
	}
}

# Waits (bounded by $3 seconds, default 30) until file $1 has at least
# ${4:-1} lines matching the extended regex $2.
wait_for_lines() {
	limit=$(( ${3:-30} * 20 ))
	want=${4:-1}
	i=0
	while [ $i -lt $limit ]; do
		n=$(grep -cE "$2" "$1" 2>/dev/null)
		[ "${n:-0}" -ge "$want" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	echo "timed out waiting for $want line(s) matching '$2' in $1" >&2
	return 1
}

# svwait_up DIR...: waits (bounded) until every service directory is up and
# ready; first for its supervisor, which s6-svscan may not have started yet
# (s6-svwait fails at once on a directory without supervise/status).
svwait_up() {
	for _d in "$@"; do
		wait_path "$_d/supervise/status" || return 1
	done
	s6-svwait -U -t 20000 "$@"
}

# scan_up OUT SERVICE...: runs s6-svscan on $SCAN (its output and the
# services' logs into OUT, its pid in SCAN_PID) and waits until every SERVICE
# is up; one that is not fails the test with its s6-svstat and the
# supervisors' processes.
scan_up() {
	_out=$1
	shift
	s6-svscan "$SCAN" >"$_out" 2>&1 &
	SCAN_PID=$!
	for _s in "$@"; do
		svwait_up "$SCAN/$_s" || {
			fail "$_s did not become ready: $(head -c 2000 "$_out"); s6-svstat: $(s6-svstat "$SCAN/$_s" 2>&1); processes: $(ps -o pid,stat,etime,args --ppid "$SCAN_PID" 2>&1 | tr '\n' '|')"
			return 1
		}
	done
}

# scan_down: stops what scan_up started (s6-svscan on $SCAN, and its
# services with it) and the kubelet-replay in REPLAY_PID, if any; forgets both.
scan_down() {
	[ -n "${SCAN:-}" ] && { s6-svscanctl -t "$SCAN" 2>/dev/null; wait "$SCAN_PID" 2>/dev/null; }
	SCAN=""
	[ -n "${REPLAY_PID:-}" ] && { kill "$REPLAY_PID" 2>/dev/null; wait "$REPLAY_PID" 2>/dev/null; }
	REPLAY_PID=""
	return 0
}

# Good polls (health records not "failed") from collector $1 that the ring
# $TMP/run/ring holds.
ring_polls() {
	"$BIN/nro-dump" --ring "$TMP/run/ring" -k H 2>/dev/null |
		jq -r --arg s "$1" 'select(.source == $s and .status != "failed") | .source' | wc -l
}

# wait_ring_polls N COLLECTOR...: waits (30 s at most each) until every
# COLLECTOR has N more good polls in the ring than now.
wait_ring_polls() {
	_n=$1
	shift
	for _c in "$@"; do
		_want=$(($(ring_polls "$_c") + _n)) _i=0
		while [ "$(ring_polls "$_c")" -lt "$_want" ] && [ $_i -lt 300 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		[ $_i -lt 300 ] || { fail "$_c did not poll"; return 1; }
	done
}
