# Helpers for the suites of the kubelet endpoint collectors
# (collectors_prom_test.sh, collectors_config_spec_test.sh,
# collector_syncloop_test.sh). Source after lib.sh.
#
# Flavours: with NRO_BIN set, the collectors of that directory only; else
# the plain build (bin/) and the ASan+UBSan build (build/san/bin, made by
# `make test`), so every fixture also goes through the sanitizers.
# kubelet-replay and nro-dump always come from $BIN.

case "$BIN" in /*) ;; *) BIN="$TOP/$BIN" ;; esac
if [ -n "${NRO_BIN:-}" ]; then
	FLAVOURS="given"
else
	FLAVOURS="plain san"
fi

# ep_flavour_bin FLAVOUR: the directory of that flavour's collectors.
ep_flavour_bin() {
	case "$1" in
	given) echo "$BIN" ;;
	plain) echo "$TOP/bin" ;;
	san) echo "$TOP/build/san/bin" ;;
	esac
}

# ep_have FLAVOUR COLLECTOR: 0 if built; else says why on stderr.
ep_have() {
	if [ ! -x "$(ep_flavour_bin "$1")/$2" ]; then
		echo "note: $(ep_flavour_bin "$1")/$2 not built (make san): skipped" >&2
		return 1
	fi
	return 0
}

EP_REPLAY_PIDS=""
EP_NREPLAY=0

# ep_replay DIR [ARGS...]: serves DIR with kubelet-replay; sets URL.
ep_replay() {
	EP_NREPLAY=$((EP_NREPLAY + 1))
	_out="$TMP/replay.$EP_NREPLAY.out"
	: >"$_out"
	# bounded: a suite killed before its teardown leaves no replay behind
	timeout 600 "$BIN/kubelet-replay" --dir "$@" >"$_out" 2>"$TMP/replay.$EP_NREPLAY.err" &
	EP_REPLAY_PIDS="$EP_REPLAY_PIDS $!"
	URL=$(wait_first_line "$_out")
	case "$URL" in
	http://*) return 0 ;;
	esac
	fail "kubelet-replay --dir $1 printed no URL: $(cat "$TMP/replay.$EP_NREPLAY.err")"
	return 1
}

ep_stop_replays() {
	for _p in $EP_REPLAY_PIDS; do
		kill -TERM "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
	done
	EP_REPLAY_PIDS=""
}

# ep_collect CBIN COLLECTOR URL [ARGS...]: one --once poll rendered by
# nro-dump into $TMP/out.jsonl; collector stderr in $TMP/err; exit in RC.
# A sanitizer report fails the test.
ep_collect() {
	_cbin=$1 _coll=$2 _url=$3
	shift 3
	"$_cbin/$_coll" --once -o - --kubelet "$_url" "$@" 2>"$TMP/err" |
		"$BIN/nro-dump" >"$TMP/out.jsonl" 2>"$TMP/dump.err"
	RC=${PIPESTATUS[0]}
	if grep -qE 'Sanitizer|runtime error:' "$TMP/err"; then
		fail "$_coll: sanitizer report: $(grep -m3 -E 'Sanitizer|runtime error:' "$TMP/err")"
	fi
}

# ep_count KIND: entries of that kind in $TMP/out.jsonl.
ep_count() {
	grep -c "^{\"kind\":\"$1\"" "$TMP/out.jsonl"
}

# ep_jq FILTER: jq -r FILTER over the entries of $TMP/out.jsonl.
ep_jq() {
	jq -r "$1" "$TMP/out.jsonl"
}

# ep_assert_failure CODE EXIT HTTP|- WHAT: the last poll failed with one
# error record of CODE (and that HTTP status), exit status EXIT, a failed
# health record.
ep_assert_failure() {
	assertEquals "$4: exit status ($(head -c 300 "$TMP/err"))" "$2" "$RC"
	assertEquals "$4: one error record" 1 "$(ep_count error)"
	assertEquals "$4: error code" "$1" "$(ep_jq 'select(.kind=="error") | .code')"
	[ "$3" = "-" ] || assertEquals "$4: http_status" "$3" \
		"$(ep_jq 'select(.kind=="error") | .http_status')"
	assertEquals "$4: health" failed "$(ep_jq 'select(.kind=="health") | .status')"
	assertNotNull "$4: error message" "$(ep_jq 'select(.kind=="error") | .message')"
}

ep_contains() { # MSG HAYSTACK NEEDLE
	case "$2" in
	*"$3"*) ;;
	*) fail "$1: '$3' not in '$2'" ;;
	esac
}

# ep_garbage N: N deterministic pseudo-random bytes (no NUL) on stdout.
ep_garbage() {
	awk -v n="$1" 'BEGIN { srand(7); for (i = 0; i < n; i++) printf "%c", 1 + int(rand() * 254) }'
}

# shunit2 finds tests by reading the file; the per-flavour tests are made
# with eval, so the suites list their tests themselves.
suite() {
	for _t in $(declare -F | awk '$3 ~ /^test/ { print $3 }'); do
		suite_addTest "$_t"
	done
}
