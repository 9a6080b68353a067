# Helpers of the collector-systemd and collector-runtime suites: one service
# directory of svc/ under a private s6-svscan, its records caught by an
# nro-dump listening where the analyzer would. Source tests/lib.sh first.

SCAN_PID=""

# services_bins PROG: sets BINS to $BIN, plus the sanitizer build when it has
# PROG and NRO_BIN did not already choose a build.
services_bins() {
	case "$BIN" in /*) ;; *) BIN="$TOP/$BIN" ;; esac
	BINS=$BIN
	if [ -z "${NRO_BIN:-}" ] && [ -x "$TOP/build/san/bin/$1" ]; then
		BINS="$BIN $TOP/build/san/bin"
	fi
}

flavour() { case "$1" in */build/san/bin) echo san ;; *) echo plain ;; esac; }

# stop_pid VAR: kills and reaps the process whose pid is in $VAR, if any, and
# empties VAR.
stop_pid() {
	eval "_pid=\${$1}"
	[ -n "$_pid" ] || return 0
	kill "$_pid" 2>/dev/null
	wait "$_pid" 2>/dev/null
	eval "$1=''"
}

# s6_start SERVICE [NAME=VALUE ...]: copies svc/SERVICE into a private scan
# directory with an .env (NRO_BIN, NRO_RUN_DIR, then the given variables),
# listens on records.ipc with nro-dump into $S6_OUT, starts s6-svscan and
# waits (bounded) until the service says it is ready.
s6_start() {
	_svc=$1
	shift
	SCAN=$TMP/scan.$_svc
	rm -rf "$SCAN"
	mkdir -p "$SCAN/.env" "$TMP/s6run" "$TMP/s6log"
	chmod 700 "$TMP/s6run"
	cp -R "$TOP/svc/$_svc" "$SCAN/$_svc"
	echo "$BIN" >"$SCAN/.env/NRO_BIN"
	echo "$TMP/s6run" >"$SCAN/.env/NRO_RUN_DIR"
	echo "$TMP/s6log" >"$SCAN/.env/NRO_LOG_DIR"
	for kv in "$@"; do echo "${kv#*=}" >"$SCAN/.env/${kv%%=*}"; done
	S6_OUT=$TMP/s6.$_svc.jl
	"$BIN/nro-dump" --listen -i "ipc://$TMP/s6run/records.ipc" >"$S6_OUT" 2>"$TMP/s6.dump.err" &
	S6_DUMP=$!
	wait_path "$TMP/s6run/records.ipc" || { fail "nro-dump is not listening"; return 1; }
	s6-svscan "$SCAN" >"$TMP/s6.$_svc.out" 2>&1 &
	SCAN_PID=$!
	wait_path "$SCAN/$_svc/supervise/status" || { fail "s6-svscan did not start $_svc"; return 1; }
	svwait_up "$SCAN/$_svc" || { fail "$_svc did not become ready"; return 1; }
}

s6_stop() {
	[ -n "$SCAN_PID" ] || return 0
	s6-svscanctl -t "$SCAN" 2>/dev/null
	wait "$SCAN_PID" 2>/dev/null
	kill "$S6_DUMP" 2>/dev/null
	wait "$S6_DUMP" 2>/dev/null
	SCAN_PID=""
}

# has_rule TYPE: the analyzer has a rule TYPE. The event tests below wait for
# the rules of issue 14 (written in lib/rules/ under issue 7) and skip, saying
# so, until the analyzer has them.
has_rule() {
	"$BIN/analyzer" --rules 2>/dev/null | grep -q "^  $1 " && return 0
	echo "the analyzer has no $1 rule yet (issue 7): ${_shunit_test_:-test} skipped"
	startSkipping
	return 1
}

# can_drop_root: the tests of "connect permission only" run the collector as
# the unprivileged user nobody (setpriv); they skip, saying so, unless root.
can_drop_root() {
	[ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && getent passwd nobody >/dev/null && return 0
	echo "not root, or no setpriv or nobody: ${_shunit_test_:-test} skipped"
	startSkipping
	return 1
}
as_nobody() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- "$@"; }
