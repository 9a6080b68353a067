#!/bin/bash
# sink-prom: the exposition checked by promtool (v1.34 JSON fixtures through
# the OpenTelemetry name conversion; every Prometheus-text fixture with its
# names kept); then a REAL Prometheus (Debian prometheus, random port,
# temporary TSDB, 1 s scrapes) scraping sink-prom behind the real pipeline
# (kubelet-replay -> collectors -> analyzer -> sink-prom): node memory,
# a container's working set, a firing node_runtime_alert; the shipped rules
# load and are healthy; every dashboard query parses; a pod deleted from
# /pods is gone. Plus TLS, basic auth, OpenMetrics, --allow/--deny,
# --max-series and bad usage. Each case runs on the plain build and again
# on the sanitizer build (build/san) when it exists.
. "$(dirname "$0")/lib.sh"

PLAIN_BIN=$BIN
SAN_BIN=$TOP/build/san/bin
V134=$FIXTURES/v1.34
ALERTS=$TOP/deploy/prometheus/alerts.yml
DASHBOARD=$TOP/deploy/grafana/node-runtime-observer.json

CASES=${SINK_PROM_CASES:-"v134_passes_promtool_check_metrics prom_text_fixtures_keep_names_and_lint
openmetrics_print allow_deny_and_max_series real_prometheus_scrapes_the_pipeline
tls_and_basic_auth runs_under_s6 restart_restores_firing_alerts finished_poll_drops_what_it_left_out
stale_at_scrape_time_without_records first_openmetrics_scrape_is_openmetrics bad_usage"}

suite() {
	for c in $CASES; do
		suite_addTest "test_$c"
	done
	if [ "$PLAIN_BIN" != "$SAN_BIN" ] && [ -x "$SAN_BIN/sink-prom" ]; then
		for c in $CASES; do
			eval "test_${c}_san() { BIN=\$SAN_BIN; test_$c; BIN=\$PLAIN_BIN; }"
			suite_addTest "test_${c}_san"
		done
	else
		echo "sink_prom_test.sh: no sanitizer build (make san): plain binaries only" >&2
	fi
}

oneTimeSetUp() {
	nro_tmpdir
	ROOT=$TMP
}

# The collectors' records of the v1.34 fixtures (plain build: what is under
# test here is sink-prom), made fresh for each case: records older than 3
# poll intervals are stale to sink-prom, --print included.
fresh_records() {
	rm -f "$T/replay.url"
	start_replay --dir "$V134" || return 1
	for c in pods summary; do
		"$PLAIN_BIN/collector-$c" --kubelet "$REPLAY_URL" --once -o - 2>>"$T/coll.err"
	done >"$T/v134.rec"
	"$PLAIN_BIN/collector-cadvisor" --allow all --kubelet "$REPLAY_URL" --once -o - \
		>"$T/v134-cadvisor.rec" 2>>"$T/coll.err"
	kill "$REPLAY_PID"
	wait "$REPLAY_PID" 2>/dev/null
	REPLAY_PID=""
}

oneTimeTearDown() {
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$ROOT"
}

CASE=0
setUp() {
	CASE=$((CASE + 1))
	T=$ROOT/c$CASE
	mkdir -p "$T"
	TMP=$T
	export NRO_RUN_DIR=$T/run
	PIDS=""
	REPLAY_PID=""
}

tearDown() {
	for p in $PIDS $REPLAY_PID; do kill "$p" 2>/dev/null; done
	for p in $PIDS $REPLAY_PID; do wait "$p" 2>/dev/null; done
	if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/*.err >/dev/null 2>&1; then
		fail "sanitizer report: $(grep -h -E -A3 'Sanitizer|runtime error' "$T"/*.err | head -8)"
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# promtool's lint findings, one per line, deduplicated (exit 3 = lint only).
# Some kubelet bodies lack the final newline promtool needs: it is added.
lint() {
	sed -e '$a\' "$1" | promtool check metrics 2>&1 | sort -u
}

# Sample lines without the sink's own metrics: "name{labels} value".
samples() {
	grep -v '^#' "$1" | grep -v '^node_runtime_sink_'
}

test_v134_passes_promtool_check_metrics() {
	fresh_records || return
	cat "$T/v134.rec" "$T/v134-cadvisor.rec" |
		"$BIN/sink-prom" -i - --print text >"$T/out.txt" 2>"$T/sink.err"
	_rc=$?
	assertEquals "sink-prom exit: $(cat "$T/sink.err")" 0 "$_rc"
	# the converted names (pods, summary) must lint clean
	"$BIN/sink-prom" -i - --print text <"$T/v134.rec" >"$T/otel.txt" 2>>"$T/sink.err"
	promtool check metrics <"$T/otel.txt" >"$T/otel.lint" 2>&1
	_rc=$?
	assertEquals "lint of the converted names: $(head -5 "$T/otel.lint")" 0 "$_rc"
	# the whole exposition: nothing past what the kubelet's own families carry
	lint "$V134/metrics_cadvisor.txt" >"$T/raw.lint"
	lint "$T/out.txt" >"$T/ours.lint"
	assertEquals "lint findings the kubelet's own output does not have" "" \
		"$(comm -13 "$T/raw.lint" "$T/ours.lint")"
	# every family has HELP and TYPE, once
	fams=$(samples "$T/out.txt" | sed 's/[{ ].*//' | sed -E 's/_(bucket|count|sum)$//' | sort -u)
	for f in $(grep '^# TYPE' "$T/out.txt" | awk '{print $3}'); do
		[ "$(grep -c "^# HELP $f " "$T/out.txt")" = 1 ] || fail "$f: HELP not exactly once"
	done
	ntype=$(grep -c '^# TYPE' "$T/out.txt")
	assertEquals "TYPE lines = distinct family names" "$(grep '^# TYPE' "$T/out.txt" | awk '{print $3}' | sort -u | wc -l)" "$ntype"
	assertTrue "families found" "[ -n \"$fams\" ]"
	# the fixture's values, under the converted names
	want=$(jq -r .node.memory.availableBytes "$V134/stats_summary.json")
	node=$(jq -r .node.nodeName "$V134/stats_summary.json")
	assertContains "$(cat "$T/out.txt")" "k8s_node_memory_available_bytes{k8s_node_name=\"$node\"} $want"
	# output is stable: the same input renders byte for byte the same
	cat "$T/v134.rec" "$T/v134-cadvisor.rec" | "$BIN/sink-prom" -i - --print text >"$T/again.txt" 2>>"$T/sink.err"
	cmp -s <(samples "$T/out.txt") <(samples "$T/again.txt")
	assertTrue "a second render differs" $?
}

# One collector against one fixture directory: records on stdout.
collector_for() { # $1 fixture file name
	case "$1" in
	metrics.txt) echo "collector-metrics --allow all" ;;
	metrics_cadvisor.txt) echo "collector-cadvisor --allow all" ;;
	metrics_probes.txt) echo "collector-probes" ;;
	metrics_resource.txt) echo "collector-resource" ;;
	esac
}

test_prom_text_fixtures_keep_names_and_lint() {
	n=0
	for f in "$FIXTURES"/*/metrics*.txt; do
		c=$(collector_for "$(basename "$f")")
		[ -n "$c" ] || continue
		d=$(dirname "$f")
		tag=$(basename "$d")-$(basename "$f" .txt)
		# start_replay waits for a first line: not the previous replay's
		rm -f "$T/replay.url"
		start_replay --dir "$d" || return
		# shellcheck disable=SC2086
		"$PLAIN_BIN"/$c --kubelet "$REPLAY_URL" --once -o - 2>>"$T/coll.err" |
			"$BIN/sink-prom" -i - --print text >"$T/$tag.txt" 2>>"$T/sink.err"
		kill "$REPLAY_PID"
		wait "$REPLAY_PID" 2>/dev/null
		REPLAY_PID=""
		promtool check metrics <"$T/$tag.txt" >/dev/null 2>"$T/$tag.parse"
		rc=$?
		# 0 clean, 3 lint findings only; anything else is a parse error
		[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "$tag: promtool exit $rc: $(head -3 "$T/$tag.parse")"
		lint "$f" >"$T/$tag.raw.lint"
		lint "$T/$tag.txt" >"$T/$tag.lint"
		extra=$(comm -13 "$T/$tag.raw.lint" "$T/$tag.lint")
		assertEquals "$tag: lint findings of our own" "" "$extra"
		# every family we print is one the kubelet wrote (names kept)
		sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' "$f" | sort -u >"$T/$tag.raw.fams"
		sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' "$T/$tag.txt" | grep -v '^node_runtime_sink_' | sort -u >"$T/$tag.fams"
		assertEquals "$tag: families the fixture lacks" "" "$(comm -13 "$T/$tag.raw.fams" "$T/$tag.fams")"
		[ -s "$T/$tag.fams" ] || fail "$tag: no family exported"
		n=$((n + 1))
	done
	assertTrue "fixtures checked: $n" "[ $n -ge 10 ]"
	fresh_records || return
	# the full cadvisor set: one sample line per fixture series (pre-1.16
	# label names aside, none of v1.34's collapse)
	raw=$(grep -v '^#' "$V134/metrics_cadvisor.txt" | grep -c .)
	"$BIN/sink-prom" -i - --print text <"$T/v134-cadvisor.rec" >"$T/cad.txt" 2>>"$T/sink.err"
	assertEquals "v1.34 cadvisor series" "$raw" "$(samples "$T/cad.txt" | grep -c .)"
}

test_openmetrics_print() {
	fresh_records || return
	"$BIN/sink-prom" -i - --print openmetrics <"$T/v134-cadvisor.rec" >"$T/om.txt" 2>"$T/sink.err"
	assertEquals "exit" 0 $?
	assertEquals "last line" "# EOF" "$(tail -n1 "$T/om.txt")"
	# counters are named without _total on their HELP/TYPE lines
	assertContains "$(cat "$T/om.txt")" "# TYPE container_cpu_usage_seconds counter"
	assertContains "$(cat "$T/om.txt")" "container_cpu_usage_seconds_total{"
	assertNotContains "$(cat "$T/om.txt")" " untyped"
}

test_allow_deny_and_max_series() {
	fresh_records || return
	"$BIN/sink-prom" -i - --print text --allow 'container_*,k8s_node_memory_*' --deny 'container_fs_*' \
		<"$T/v134-cadvisor.rec" >"$T/f.txt" 2>"$T/sink.err"
	fams=$(grep '^# TYPE' "$T/f.txt" | awk '{print $3}' | grep -v '^node_runtime_sink_')
	assertContains "$fams" "container_memory_working_set_bytes"
	assertNotContains "$fams" "container_fs_"
	assertNotContains "$fams" "machine_"
	filtered=$(sed -n 's/^node_runtime_sink_samples_filtered_total //p' "$T/f.txt")
	assertTrue "filtered counted: '$filtered'" "[ '${filtered:-0}' -gt 0 ]"
	"$BIN/sink-prom" -i - --print text --max-series 25 <"$T/v134-cadvisor.rec" >"$T/m.txt" 2>>"$T/sink.err"
	assertEquals "series kept" 25 "$(samples "$T/m.txt" | grep -c .)"
	assertEquals "node_runtime_sink_series" 25 "$(sed -n 's/^node_runtime_sink_series //p' "$T/m.txt")"
	total=$(grep -v '^#' "$V134/metrics_cadvisor.txt" | grep -c .)
	assertEquals "dropped counted" $((total - 25)) \
		"$(sed -n 's/^node_runtime_sink_series_dropped_total //p' "$T/m.txt")"
}

test_bad_usage() {
	"$BIN/sink-prom" --listen 'nonsense' -i - </dev/null >/dev/null 2>"$T/e1.err"
	assertEquals "bad --listen" 100 $?
	assertEquals "one line" 1 "$(wc -l <"$T/e1.err")"
	assertContains "$(cat "$T/e1.err")" "nonsense"
	"$BIN/sink-prom" --max-series 0 -i - </dev/null >/dev/null 2>"$T/e2.err"
	assertEquals "--max-series 0" 100 $?
	"$BIN/sink-prom" --print yaml -i - </dev/null >/dev/null 2>"$T/e3.err"
	assertEquals "--print yaml" 100 $?
	assertContains "$(cat "$T/e3.err")" "yaml"
	"$BIN/sink-prom" --basic-auth-file "$T/none" -i - </dev/null >/dev/null 2>"$T/e4.err"
	assertEquals "missing auth file" 100 $?
	"$BIN/sink-prom" --tls-cert "$T/none" -i - </dev/null >/dev/null 2>"$T/e5.err"
	assertEquals "cert without key" 100 $?
	NRO_PROM_MAX_SERIES=x "$BIN/sink-prom" -i - </dev/null >/dev/null 2>"$T/e6.err"
	assertEquals "env checked too" 100 $?
	"$BIN/sink-prom" --help >"$T/help.out"
	assertContains "$(cat "$T/help.out")" "10270"
	assertContains "$(cat "$T/help.out")" "NRO_PROM_LISTEN"
}

# start_sink_prom ARGS...: in the background; sets PROM_SINK_URL
start_sink_prom() {
	"$BIN/sink-prom" --listen 127.0.0.1:0 "$@" >"$T/sink.url" 2>>"$T/sink.err" &
	SINK_PID=$!
	PIDS="$PIDS $SINK_PID"
	PROM_SINK_URL=$(wait_first_line "$T/sink.url") || fail "sink-prom did not start: $(cat "$T/sink.err")"
}

test_tls_and_basic_auth() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/k.pem" \
		-out "$T/c.pem" -subj /CN=127.0.0.1 -days 2 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
	printf '# scrapers\nprometheus:s3cret\n' >"$T/auth"
	# no analyzer: sink-prom dials events.ipc and serves its own metrics meanwhile
	start_sink_prom --tls-cert "$T/c.pem" --tls-key "$T/k.pem" --basic-auth-file "$T/auth"
	case "$PROM_SINK_URL" in https://*) ;; *) fail "not https: $PROM_SINK_URL" ;; esac
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/c.pem" "$PROM_SINK_URL/metrics")
	assertEquals "no credentials" 401 "$code"
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/c.pem" -u prometheus:wrong "$PROM_SINK_URL/metrics")
	assertEquals "wrong password" 401 "$code"
	curl -fsS --cacert "$T/c.pem" -u prometheus:s3cret "$PROM_SINK_URL/metrics" >"$T/m.txt"
	assertEquals "with credentials" 0 $?
	assertContains "$(cat "$T/m.txt")" "node_runtime_sink_series "
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/c.pem" "$PROM_SINK_URL/healthz")
	assertEquals "/healthz needs no credentials" 200 "$code"
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/c.pem" "$PROM_SINK_URL/nothing")
	assertEquals "unknown path" 404 "$code"
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/c.pem" -X POST "$PROM_SINK_URL/metrics")
	assertEquals "POST" 405 "$code"
}

test_runs_under_s6() {
	scan=$T/svc
	mkdir -p "$scan/.env" "$T/log"
	cp -R "$TOP/svc/sink-prom" "$scan/sink-prom"
	mkdir -p "$scan/sink-prom/env"
	echo "$BIN" >"$scan/.env/NRO_BIN"
	echo "$NRO_RUN_DIR" >"$scan/.env/NRO_RUN_DIR"
	echo "$T/log" >"$scan/.env/NRO_LOG_DIR"
	port=$(free_port)
	echo "127.0.0.1:$port" >"$scan/sink-prom/env/NRO_PROM_LISTEN"
	s6-svscan "$scan" >"$T/scan.err" 2>&1 &
	scan_pid=$!
	wait_path "$scan/sink-prom/supervise/status"
	svwait_up "$scan/sink-prom"
	assertEquals "sink-prom ready under s6" 0 $?
	assertEquals "healthz" ok "$(curl -fsS "http://127.0.0.1:$port/healthz")"
	s6-svc -d "$scan/sink-prom"
	s6-svwait -D -t 20000 "$scan/sink-prom"
	assertEquals "stopped" 0 $?
	assertEquals "exit code after SIGTERM" 0 "$(s6-svstat -o exitcode "$scan/sink-prom")"
	s6-svscanctl -t "$scan"
	wait "$scan_pid"
	# its log (s6-log) is checked for sanitizer reports by tearDown
	cp "$T/log/sink-prom/current" "$T/svc.err" 2>/dev/null || true
}

# ---- the real Prometheus ------------------------------------------------

# A scenario: step-000 the v1.34 fixtures, step-001 the same without pod $1.
make_scenario() {
	s=$T/scenario
	mkdir -p "$s/step-000" "$s/step-001"
	cp "$V134/pods.json" "$V134/stats_summary.json" "$V134/metrics_cadvisor.txt" "$s/step-000/"
	jq --arg p "$1" '.items |= map(select(.metadata.name != $p))' "$V134/pods.json" >"$s/step-001/pods.json"
	jq --arg p "$1" '.pods |= map(select(.podRef.name != $p))' "$V134/stats_summary.json" \
		>"$s/step-001/stats_summary.json"
	grep -v "pod=\"$1\"" "$V134/metrics_cadvisor.txt" >"$s/step-001/metrics_cadvisor.txt"
}

start_pipeline() {
	start_replay --scenario "$T/scenario" || return 1
	"$BIN/analyzer" --metrics-interval 1s 2>"$T/analyzer.err" &
	PIDS="$PIDS $!"
	wait_path "$NRO_RUN_DIR/ring" || { fail "no ring"; return 1; }
	for c in "collector-pods" "collector-summary" "collector-cadvisor --allow all"; do
		# shellcheck disable=SC2086
		"$BIN"/$c --kubelet "$REPLAY_URL" --interval 1s 2>>"$T/collectors.err" &
		PIDS="$PIDS $!"
	done
	start_sink_prom
}

start_prometheus() {
	PPORT=$(free_port)
	sink_hostport=${PROM_SINK_URL#http://}
	cat >"$T/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  scrape_timeout: 1s
	  evaluation_interval: 1s
	rule_files:
	  - $ALERTS
	scrape_configs:
	  - job_name: node-runtime-observer
	    static_configs:
	      - targets: ['$sink_hostport']
	EOF
	prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
		--web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$T/prometheus.log" 2>&1 &
	PIDS="$PIDS $!"
	PROM=http://127.0.0.1:$PPORT
	i=0
	until curl -fsS "$PROM/-/ready" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 400 ] || { fail "prometheus not ready: $(tail -3 "$T/prometheus.log")"; return 1; }
		sleep 0.05
	done
}

# query EXPR: the instant vector as JSON (the API's data.result)
query() {
	curl -fsS --get --data-urlencode "query=$1" "$PROM/api/v1/query" | jq -c .data.result
}

# wait_query EXPR JQ-TEST [SECONDS]: polls until jq -e TEST holds on the result
wait_query() {
	limit=$(( ${3:-30} * 4 ))
	i=0
	while [ $i -lt "$limit" ]; do
		query "$1" >"$T/q.json" 2>/dev/null && jq -e "$2" "$T/q.json" >/dev/null 2>&1 && return 0
		sleep 0.25
		i=$((i + 1))
	done
	fail "after ${3:-30}s, '$1' still fails '$2': $(head -c 400 "$T/q.json")"
	return 1
}

GONE=e2e-statefulset-0

# The poll generation, without waiting for time to pass: poll 2 leaves a pod
# out, so its series go at once (3 intervals have not passed); poll 3 fails
# (500), so what poll 2 gave stays.
test_finished_poll_drops_what_it_left_out() {
	make_scenario "$GONE"
	mkdir -p "$T/scenario/step-002"
	echo 'internal error' >"$T/scenario/step-002/stats_summary.json"
	echo 500 >"$T/scenario/step-002/stats_summary.json.status"
	start_replay --scenario "$T/scenario" || return
	for k in 1 2 3; do
		[ $k = 1 ] || curl -fsS -X POST "$REPLAY_URL/replay/step" >/dev/null
		# poll 3 fails: its records are an error and a FAILED health record
		"$PLAIN_BIN/collector-summary" --kubelet "$REPLAY_URL" --once -o - >"$T/poll$k.rec" 2>>"$T/coll.err"
	done
	"$BIN/sink-prom" -i - --print text <"$T/poll1.rec" >"$T/p1.txt" 2>>"$T/sink.err"
	cat "$T/poll1.rec" "$T/poll2.rec" | "$BIN/sink-prom" -i - --print text >"$T/p2.txt" 2>>"$T/sink.err"
	cat "$T/poll1.rec" "$T/poll2.rec" "$T/poll3.rec" |
		"$BIN/sink-prom" -i - --print text >"$T/p3.txt" 2>>"$T/sink.err"
	assertContains "poll 1 has $GONE" "$(cat "$T/p1.txt")" "k8s_pod_name=\"$GONE\""
	for p in p2 p3; do
		assertNotContains "$p: $GONE stayed" "$(cat "$T/$p.txt")" "k8s_pod_name=\"$GONE\""
		assertContains "$p: the other pods stay" "$(cat "$T/$p.txt")" 'k8s_pod_name="e2e-statefulset-1"'
		assertContains "$p: the node stays" "$(cat "$T/$p.txt")" 'k8s_node_memory_available_bytes{'
	done
}

# wait_metrics REGEX: polls sink-prom's /metrics until a line matches
wait_metrics() {
	i=0
	until curl -fsS "$PROM_SINK_URL/metrics" 2>/dev/null | grep -qE "$1"; do
		i=$((i + 1))
		[ $i -lt 120 ] || { fail "no line matching '$1' in /metrics"; return 1; }
		sleep 0.25
	done
}

# sink-prom on a fifo that stays open and silent after one poll's records:
# sets SINK_PID, PROM_SINK_URL; fd 7 holds the fifo open.
start_on_silent_input() { # $1 records file
	mkfifo "$T/in"
	"$BIN/sink-prom" -i - --listen 127.0.0.1:0 <"$T/in" >"$T/sink.url" 2>>"$T/sink.err" &
	SINK_PID=$!
	PIDS="$PIDS $SINK_PID"
	exec 7>"$T/in"
	cat "$1" >&7
	PROM_SINK_URL=$(wait_first_line "$T/sink.url") || fail "sink-prom did not start: $(cat "$T/sink.err")"
}

# A poll's series go 3 of its intervals (here 1 s) after it, swept when a
# scrape comes, though no record arrives after them.
test_stale_at_scrape_time_without_records() {
	start_replay --dir "$V134" || return
	t0=$(date +%s%N) # before the poll: its records are stamped after this
	"$PLAIN_BIN/collector-summary" --kubelet "$REPLAY_URL" --interval 1s --once -o - \
		>"$T/one.rec" 2>>"$T/coll.err"
	start_on_silent_input "$T/one.rec"
	wait_metrics '^k8s_node_memory_available_bytes\{' || { exec 7>&-; return; }
	i=0
	while curl -fsS "$PROM_SINK_URL/metrics" >"$T/m.txt" && grep -q '^k8s_node_memory_available_bytes{' "$T/m.txt"; do
		i=$((i + 1))
		[ $i -lt 80 ] || break
		sleep 0.25
	done
	gone_ms=$((($(date +%s%N) - t0) / 1000000))
	exec 7>&-
	assertNotContains "the series stayed $gone_ms ms with no record" "$(cat "$T/m.txt")" "k8s_node_memory_available_bytes{"
	assertContains "the sink's own metrics stay" "$(cat "$T/m.txt")" "node_runtime_sink_series 0"
	# not before the 3 intervals (the records are stamped after t0)
	assertTrue "gone after ${gone_ms} ms, before 3 s could pass" "[ $gone_ms -ge 2900 ]"
}

# The first scrape asking for OpenMetrics gets OpenMetrics: a scrape renders
# in the format it asks for.
test_first_openmetrics_scrape_is_openmetrics() {
	fresh_records || return
	start_on_silent_input "$T/v134-cadvisor.rec"
	# sink-prom may not have delivered everything yet: the first scrape
	# must be OpenMetrics whatever it holds
	curl -fsS -D "$T/h.txt" -H 'Accept: application/openmetrics-text;version=1.0.0' \
		"$PROM_SINK_URL/metrics" >"$T/om.txt"
	assertContains "content type" "$(tr -d '\r' <"$T/h.txt")" "application/openmetrics-text"
	assertEquals "last line" "# EOF" "$(tail -n1 "$T/om.txt")"
	# then text for a text scrape, OpenMetrics again for the next one
	curl -fsS -D "$T/h2.txt" "$PROM_SINK_URL/metrics" >"$T/text.txt"
	assertContains "text content type" "$(tr -d '\r' <"$T/h2.txt")" "text/plain; version=0.0.4"
	assertNotContains "no EOF in text" "$(cat "$T/text.txt")" "# EOF"
	wait_metrics '^container_cpu_usage_seconds_total\{' || { exec 7>&-; return; }
	curl -fsS -H 'Accept: application/openmetrics-text;version=1.0.0' "$PROM_SINK_URL/metrics" >"$T/om2.txt"
	exec 7>&-
	assertContains "$(cat "$T/om2.txt")" "# TYPE container_cpu_usage_seconds counter"
	assertEquals "last line" "# EOF" "$(tail -n1 "$T/om2.txt")"
	promtool check metrics <"$T/text.txt" >/dev/null 2>&1
	rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "promtool exit $rc on the text scrape"
}

test_restart_restores_firing_alerts() {
	make_scenario "$GONE"
	start_pipeline || return
	alert='^node_runtime_alert\{alertname="PodCrashLooping",container="alpine",namespace="scraper",'
	wait_metrics "$alert" || return
	# the event fired once; a new sink-prom learns it from the ring
	kill -9 "$SINK_PID"
	wait "$SINK_PID" 2>/dev/null
	rm -f "$T/sink.url"
	start_sink_prom
	wait_metrics "$alert"
	n=$(curl -fsS "$PROM_SINK_URL/metrics" | grep -c '^node_runtime_alert{')
	assertEquals "one alert series per firing alert" 1 "$n"
}

test_real_prometheus_scrapes_the_pipeline() {
	make_scenario "$GONE"
	start_pipeline || return
	start_prometheus || return
	node=$(jq -r .node.nodeName "$V134/stats_summary.json")
	mem=$(jq -r .node.memory.availableBytes "$V134/stats_summary.json")
	wait_query "k8s_node_memory_available_bytes{k8s_node_name=\"$node\"}" "(.[0].value[1] | tonumber) == $mem" || return
	# a container's working set: cAdvisor's family and the summary's converted one
	ws=$(awk -v p="pod=\"$GONE\"" 'index($0, "container_memory_working_set_bytes{") == 1 && index($0, p) && index($0, "container=\"compute-pi-digits\"") { print $2 }' \
		"$V134/metrics_cadvisor.txt")
	wait_query "container_memory_working_set_bytes{pod=\"$GONE\",container=\"compute-pi-digits\"}" "(.[0].value[1] | tonumber) == $ws" || return
	ws2=$(jq -r --arg p "$GONE" '.pods[] | select(.podRef.name == $p) | .containers[] | select(.name == "compute-pi-digits") | .memory.workingSetBytes' "$V134/stats_summary.json")
	wait_query "container_memory_working_set_bytes{k8s_pod_name=\"$GONE\",k8s_container_name=\"compute-pi-digits\"}" "(.[0].value[1] | tonumber) == $ws2" || return
	# the analyzer's firing alert, shaped like ALERTS
	wait_query 'node_runtime_alert{alertname="PodCrashLooping"}' \
		".[0].metric | .namespace == \"scraper\" and .pod == \"e2e-container-creating\" and .container == \"alpine\" and .severity == \"warning\" and .node == \"$node\"" || return
	# the derived node_runtime_* metrics
	wait_query "node_runtime_condition{node=\"$node\",condition=\"Ready\"}" 'length == 2' || return
	# the target is healthy: no scrape or parse error (Prometheus asks for OpenMetrics)
	curl -fsS "$PROM/api/v1/targets" | jq -c '.data.activeTargets[0] | [.health, .lastError]' >"$T/target.json"
	assertEquals "target" '["up",""]' "$(cat "$T/target.json")"
	# OpenMetrics when asked (the retries are for a busy sanitizer build)
	curl -fsS --retry 5 --retry-delay 1 --retry-all-errors -H 'Accept: application/openmetrics-text;version=1.0.0' -o /dev/null -w '%{content_type}' \
		"$PROM_SINK_URL/metrics" >"$T/ct"
	assertContains "OpenMetrics served" "$(cat "$T/ct")" "application/openmetrics-text"
	# the shipped rules load and evaluate without error
	i=0
	while [ $i -lt 80 ]; do
		curl -fsS "$PROM/api/v1/rules" >"$T/rules.json"
		[ "$(jq '[.data.groups[].rules[] | select(.health != "ok")] | length' "$T/rules.json")" = 0 ] && break
		sleep 0.25
		i=$((i + 1))
	done
	assertEquals "rules loaded" "$(grep -c '^      - alert:' "$ALERTS")" \
		"$(jq '[.data.groups[].rules[]] | length' "$T/rules.json")"
	assertEquals "rules not healthy: $(jq -c '[.data.groups[].rules[] | select(.health != "ok") | [.name, .lastError]]' "$T/rules.json")" \
		0 "$(jq '[.data.groups[].rules[] | select(.health != "ok")] | length' "$T/rules.json")"
	# every dashboard query parses and runs (variables given values)
	jq -r '[.. | .expr? // empty] | .[]' "$DASHBOARD" >"$T/exprs"
	assertTrue "dashboard queries" "[ $(wc -l <"$T/exprs") -ge 10 ]"
	while IFS= read -r e; do
		e=${e//\$__rate_interval/1m}
		e=${e//\$node/.*}
		status=$(curl -sS --get --data-urlencode "query=$e" "$PROM/api/v1/query" | jq -r .status)
		assertEquals "dashboard query: $e" success "$status"
	done <"$T/exprs"
	# scrapers that ask and never read hold neither delivery nor other scrapes
	python3 -c '
import socket, sys, time
hp = sys.argv[1].split("//")[1].split(":")
socks = []
for i in range(8):
    s = socket.create_connection((hp[0], int(hp[1])))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
print("stalled", flush=True)
time.sleep(60)' "$PROM_SINK_URL" >"$T/stall.out" 2>&1 &
	PIDS="$PIDS $!"
	wait_first_line "$T/stall.out" >/dev/null
	d0=$(curl -fsS "$PROM_SINK_URL/metrics" | sed -n 's/^node_runtime_sink_delivered_total //p')
	i=0
	while :; do
		d1=$(curl -fsS --max-time 5 "$PROM_SINK_URL/metrics" | sed -n 's/^node_runtime_sink_delivered_total //p')
		[ "${d1:-0}" -gt "${d0:-0}" ] && break
		i=$((i + 1))
		[ $i -lt 80 ] || { fail "delivery stalled with 8 stalled scrapers: $d0 -> $d1"; break; }
		sleep 0.25
	done
	# the pod leaves /pods and /stats/summary: its series go
	curl -fsS -X POST "$REPLAY_URL/replay/step" >/dev/null
	wait_query "count({pod=\"$GONE\"} or {k8s_pod_name=\"$GONE\"})" 'length == 0' || return
	curl -fsS "$PROM_SINK_URL/metrics" >"$T/after.txt"
	assertNotContains "sink-prom still has $GONE" "$(cat "$T/after.txt")" "\"$GONE\""
	assertContains "the other pods stay" "$(cat "$T/after.txt")" 'k8s_pod_name="e2e-statefulset-1"'
}

. shunit2
