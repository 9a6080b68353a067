#!/bin/bash
# The Prometheus-text collectors (collector-probes, -resource, -cadvisor,
# -metrics) against kubelet-replay: every fixture of their endpoints, every
# version, checked sample by sample (name, type, value, timestamp) against an
# independent reading of the file in awk, labels of chosen samples too; the
# default family filters against the lists their --help prints; faults
# (truncated, garbage, 50 MB, HTTP 500, slow body past --timeout).
# Runs the plain build and the ASan+UBSan build (see endpoints_lib.sh).
#
#   bash tests/collectors_prom_test.sh
#   NRO_BIN=build/san/bin bash tests/collectors_prom_test.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoints_lib.sh"

# endpoint file -> collector
collector_for() {
	case "$(basename "$1")" in
	metrics_cadvisor.txt) echo collector-cadvisor ;;
	metrics_probes.txt) echo collector-probes ;;
	metrics_resource.txt) echo collector-resource ;;
	metrics.txt) echo collector-metrics ;;
	esac
}

oneTimeSetUp() {
	nro_tmpdir
	FILES=""
	for f in "$FIXTURES"/*/metrics_cadvisor.txt "$FIXTURES"/*/metrics_probes.txt \
		"$FIXTURES"/*/metrics_resource.txt "$FIXTURES"/*/metrics.txt; do
		[ -f "$f" ] && FILES="$FILES $f"
	done
	# one replay per fixture directory
	for d in $(for f in $FILES; do dirname "$f"; done | sort -u); do
		ep_replay "$d" || return 1
		eval "URL_$(basename "$d" | tr -c 'A-Za-z0-9\n' '_')=\$URL"
	done
}

oneTimeTearDown() {
	ep_stop_replays
	rm -rf "$TMP"
}

url_of() { # FIXTURE_FILE -> the URL serving its directory
	eval "echo \$URL_$(basename "$(dirname "$1")" | tr -c 'A-Za-z0-9\n' '_')"
}

# ---- an independent reading of the text format, in awk ---------------------

# prom_expect FILE PATTERNS: "name<TAB>type<TAB>value<TAB>ts|-" for every
# sample whose family passes PATTERNS ("all", or a comma list of names and
# prefix_* patterns). Families and types as the text format defines them.
prom_expect() {
	awk -v pats="$2" '
	BEGIN { np = split(pats, P, /[ ,]+/); all = 0
		for (i = 1; i <= np; i++) if (P[i] == "all") all = 1 }
	function keep(f,   i, p) {
		if (all) return 1
		for (i = 1; i <= np; i++) {
			p = P[i]
			if (p == "") continue
			if (substr(p, length(p)) == "*") {
				if (index(f, substr(p, 1, length(p) - 1)) == 1) return 1
			} else if (f == p) return 1
		}
		return 0
	}
	/^[ \t]*#/ {
		if ($2 == "TYPE") { fam = $3; t = $4; if (t == "unknown") t = "untyped" }
		else if ($2 == "HELP" && $3 != fam) { fam = $3; t = "untyped" }
		next
	}
	NF == 0 { next }
	{
		line = $0; sub(/^[ \t]+/, "", line)
		n = line; sub(/[{ \t].*/, "", n)
		ty = "untyped"; f = n
		if (n == fam) { ty = t; f = fam }
		else if (t == "histogram" && (n == fam "_bucket" || n == fam "_sum" || n == fam "_count")) { ty = t; f = fam }
		else if (t == "summary" && (n == fam "_sum" || n == fam "_count")) { ty = t; f = fam }
		else if (t == "counter" && n == fam "_total") { ty = t; f = fam }
		if (!keep(f)) next
		if (index(line, "{")) { match(line, /}[^}]*$/); rest = substr(line, RSTART + 1) }
		else rest = substr(line, length(n) + 1)
		split(rest, R, " ")
		print n "\t" ty "\t" R[1] "\t" (R[2] == "" ? "-" : R[2])
	}' "$1"
}

# actual_samples: the same four columns from $TMP/out.jsonl (ts in ms).
actual_samples() {
	jq -r 'select(.kind == "metric") |
		[.name, .type, (.value | tostring),
		 (((.ts[0:19] + "Z") | fromdateiso8601) * 1000 + (.ts[20:23] | tonumber) | tostring)]
		| @tsv' "$TMP/out.jsonl"
}

# compare_samples EXPECTED ACTUAL: prints the first difference, fails if any.
# Values compare as numbers (relative 1e-12; NaN and infinities by name).
compare_samples() {
	awk -F '\t' '
	function canon(v,   l) { l = tolower(v)
		if (l ~ /^\+?inf(inity)?$/) return "+Inf"
		if (l ~ /^-inf(inity)?$/) return "-Inf"
		if (l ~ /^[+-]?nan$/) return "NaN"
		return "" }
	function abs(x) { return x < 0 ? -x : x }
	NR == FNR { en[FNR] = $1; et[FNR] = $2; ev[FNR] = $3; ets[FNR] = $4; ne = FNR; next }
	{
		i = FNR; na = FNR
		if (i > ne) { bad++; if (!first) first = "extra sample " i ": " $0; next }
		ok = ($1 == en[i] && $2 == et[i])
		ce = canon(ev[i]); ca = canon($3)
		if (ce != "" || ca != "") ok = ok && ce == ca
		else {
			a = ev[i] + 0; b = $3 + 0; m = abs(a) > abs(b) ? abs(a) : abs(b)
			if (abs(a - b) > 1e-12 * m) ok = 0
		}
		if (ets[i] != "-" && ets[i] + 0 != $4 + 0) ok = 0
		if (!ok) { bad++; if (!first) first = "sample " i ": want " en[i] " " et[i] " " ev[i] " ts " ets[i] "; got " $1 " " $2 " " $3 " ts " $4 }
	}
	END {
		if (na < ne) { bad++; if (!first) first = "only " na + 0 " of " ne " samples" }
		if (bad) print bad " differences; first: " first
		exit bad > 0
	}' "$1" "$2"
}

# sample_line FILE I: the I-th sample line of FILE.
sample_line() {
	awk -v want="$2" 'NF && $1 !~ /^#/ { if (++n == want) { print; exit } }' "$1"
}

# expected_labels LINE: "key=value" per label, the normalization rule
# applied (container_name -> container, pod_name -> pod; the old name
# dropped when the new one is there), sorted.
expected_labels() {
	printf '%s\n' "$1" | awk '
	{
		line = $0; i = index(line, "{"); if (!i) exit; i++; L = length(line); nk = 0
		while (i <= L) {
			c = substr(line, i, 1)
			if (c == " " || c == "," || c == "\t") { i++; continue }
			if (c == "}") break
			name = ""
			while (i <= L && (c = substr(line, i, 1)) != "=" && c != " ") { name = name c; i++ }
			while (i <= L && substr(line, i, 1) != "\"") i++
			i++; val = ""
			while (i <= L) {
				c = substr(line, i, 1)
				if (c == "\\") { d = substr(line, i + 1, 1); val = val (d == "n" ? "\\n" : d); i += 2; continue }
				if (c == "\"") { i++; break }
				val = val c; i++
			}
			K[++nk] = name; V[nk] = val; has[name] = 1
		}
		for (k = 1; k <= nk; k++) {
			n = K[k]
			if (n == "container_name") { if ("container" in has) continue; n = "container" }
			if (n == "pod_name") { if ("pod" in has) continue; n = "pod" }
			print n "=" V[k]
		}
	}' | sort
}

# actual_labels I: the I-th metric's attributes, "key=value", sorted, read
# as a stream so that a key written twice shows twice.
actual_labels() {
	grep '^{"kind":"metric"' "$TMP/out.jsonl" | sed -n "${1}p" |
		jq -r --stream 'select(length == 2 and .[0][0] == "attrs")
			| "\(.[0][1])=\(.[1] | gsub("\n"; "\\n"))"' | sort
}

# help_keeps CBIN COLLECTOR: the default family list its --help prints.
help_keeps() {
	"$1/$2" --help | awk '/^keeps by default:/ { on = 1; sub(/^keeps by default:/, "") }
		on && /^$/ { exit } on { printf "%s ", $0 }' | tr -s ' ,' ',' | sed 's/^,//; s/,$//'
}

# ---- every fixture, every sample --------------------------------------------

check_all_fixtures() { # FLAVOUR
	cbin=$(ep_flavour_bin "$1")
	nfiles=0
	for f in $FILES; do
		coll=$(collector_for "$f")
		ep_have "$1" "$coll" || continue
		what="$1 $coll $(basename "$(dirname "$f")")/$(basename "$f")"
		ep_collect "$cbin" "$coll" "$(url_of "$f")" --allow all
		assertEquals "$what: exit status ($(head -c 300 "$TMP/err"))" 0 "$RC"
		assertEquals "$what: health" ok "$(ep_jq 'select(.kind=="health") | .status')"
		assertEquals "$what: health bytes" "$(stat -c %s "$f")" \
			"$(ep_jq 'select(.kind=="health") | .bytes')"
		want=$(awk 'NF && $1 !~ /^#/ { n++ } END { print n + 0 }' "$f")
		assertEquals "$what: samples" "$want" "$(ep_count metric)"
		prom_expect "$f" all >"$TMP/want.tsv"
		actual_samples >"$TMP/got.tsv"
		d=$(compare_samples "$TMP/want.tsv" "$TMP/got.tsv")
		assertEquals "$what: samples differ: $d" "" "$d"
		# labels of chosen samples: first, middle, last, first with container_name
		picks="1 $((want / 2 + 1)) $want"
		old=$(awk 'NF && $1 !~ /^#/ { n++; if (/container_name=/) { print n; exit } }' "$f")
		[ -n "$old" ] && picks="$picks $old"
		for i in $picks; do
			line=$(sample_line "$f" "$i")
			assertEquals "$what: labels of sample $i: $line" \
				"$(expected_labels "$line")" "$(actual_labels "$i")"
		done
		nfiles=$((nfiles + 1))
	done
	[ "$nfiles" -gt 0 ] || [ "$1" = san ] || fail "no fixture checked"
}

check_default_filters() { # FLAVOUR
	cbin=$(ep_flavour_bin "$1")
	for f in $FILES; do
		coll=$(collector_for "$f")
		ep_have "$1" "$coll" || continue
		what="$1 $coll $(basename "$(dirname "$f")")/$(basename "$f") (default filter)"
		pats=$(help_keeps "$cbin" "$coll")
		assertNotNull "$what: --help lists the default families" "$pats"
		ep_collect "$cbin" "$coll" "$(url_of "$f")"
		assertEquals "$what: exit status" 0 "$RC"
		prom_expect "$f" "$pats" >"$TMP/want.tsv"
		actual_samples >"$TMP/got.tsv"
		assertEquals "$what: samples kept" "$(wc -l <"$TMP/want.tsv")" "$(ep_count metric)"
		d=$(compare_samples "$TMP/want.tsv" "$TMP/got.tsv")
		assertEquals "$what: samples differ: $d" "" "$d"
		# the kept families are exactly the allowed ones present in the file
		cut -f1 "$TMP/want.tsv" | sort -u >"$TMP/want.names"
		cut -f1 "$TMP/got.tsv" | sort -u >"$TMP/got.names"
		assertEquals "$what: kept series names" "$(cat "$TMP/want.names")" "$(cat "$TMP/got.names")"
		case "$coll" in
		collector-resource) assertEquals "$what: keeps all" "$(awk 'NF && $1 !~ /^#/' "$f" | wc -l)" \
			"$(ep_count metric)" ;;
		*) [ "$(ep_count metric)" -lt "$(awk 'NF && $1 !~ /^#/' "$f" | wc -l)" ] ||
			[ "$coll" = collector-probes ] || fail "$what: the default filter dropped nothing" ;;
		esac
	done
}

for fl in $FLAVOURS; do
	eval "test_${fl}_every_fixture_every_sample() { check_all_fixtures $fl; }"
	eval "test_${fl}_default_filters_keep_exactly_the_listed_families() { check_default_filters $fl; }"
done

# ---- what the defaults cover (the issue's lists) ------------------------------

# in_list FAMILY LIST: 0 if a pattern of the comma LIST admits FAMILY.
in_list() {
	_IFS=$IFS
	IFS=,
	for p in $2; do
		case "$p" in
		"") ;;
		*'*') case "$1" in "${p%\*}"*) IFS=$_IFS; return 0 ;; esac ;;
		"$1") IFS=$_IFS; return 0 ;;
		esac
	done
	IFS=$_IFS
	return 1
}

test_help_says_endpoint_rbac_and_defaults() {
	for c in probes:/metrics/probes resource:/metrics/resource cadvisor:/metrics/cadvisor \
		metrics:/metrics; do
		coll=collector-${c%%:*}
		"$BIN/$coll" --help >"$TMP/help"
		assertEquals "$coll --help exit" 0 $?
		h=$(cat "$TMP/help")
		ep_contains "$coll --help endpoint" "$h" "${c#*:} "
		ep_contains "$coll --help RBAC" "$h" "nodes/metrics"
		ep_contains "$coll --help" "$h" "keeps by default:"
		ep_contains "$coll --help" "$h" "--allow FAMILY"
		ep_contains "$coll --help" "$h" "[NRO_DENY]"
	done
	keeps=$(help_keeps "$BIN" collector-cadvisor)
	for fam in container_cpu_usage_seconds_total container_cpu_cfs_periods_total \
		container_cpu_cfs_throttled_periods_total container_cpu_cfs_throttled_seconds_total \
		container_memory_working_set_bytes container_memory_rss container_memory_cache \
		container_memory_usage_bytes container_oom_events_total container_spec_memory_limit_bytes \
		container_spec_cpu_quota container_spec_cpu_period container_fs_reads_bytes_total \
		container_fs_writes_bytes_total container_fs_usage_bytes container_fs_limit_bytes \
		container_network_receive_bytes_total container_network_transmit_bytes_total \
		container_network_receive_errors_total container_network_transmit_errors_total \
		container_network_receive_packets_dropped_total \
		container_network_transmit_packets_dropped_total container_pressure_cpu_waiting_seconds_total \
		container_pressure_memory_stalled_seconds_total machine_cpu_cores machine_memory_bytes; do
		in_list "$fam" "$keeps" || fail "collector-cadvisor does not keep $fam by default"
	done
	in_list container_last_seen "$keeps" && fail "collector-cadvisor keeps container_last_seen"
	keeps=$(help_keeps "$BIN" collector-metrics)
	for fam in kubelet_pleg_relist_duration_seconds kubelet_pleg_relist_interval_seconds \
		kubelet_runtime_operations_errors_total kubelet_runtime_operations_errors \
		kubelet_runtime_operations_duration_seconds kubelet_evictions \
		kubelet_pod_start_duration_seconds kubelet_pod_worker_duration_seconds kubelet_running_pods \
		kubelet_running_pod_count kubelet_running_containers \
		kubelet_certificate_manager_client_ttl_seconds kubelet_certificate_manager_server_ttl_seconds \
		kubelet_volume_stats_available_bytes kubelet_volume_stats_inodes_free \
		storage_operation_errors_total kubernetes_build_info process_resident_memory_bytes \
		process_cpu_seconds_total kubelet_pleg_relist_latency_microseconds \
		kubelet_pleg_relist_interval_microseconds kubelet_runtime_operations_latency_microseconds \
		kubelet_pod_start_latency_microseconds kubelet_pod_worker_latency_microseconds; do
		in_list "$fam" "$keeps" || fail "collector-metrics does not keep $fam by default"
	done
	in_list go_goroutines "$keeps" && fail "collector-metrics keeps go_goroutines"
	keeps=$(help_keeps "$BIN" collector-probes)
	in_list prober_probe_total "$keeps" || fail "collector-probes does not keep prober_probe_total"
	in_list prober_probe_duration_seconds "$keeps" ||
		fail "collector-probes does not keep prober_probe_duration_seconds"
	assertEquals "collector-resource keeps" all "$(help_keeps "$BIN" collector-resource)"
}

# ---- chosen values, read off the files by hand -------------------------------

test_chosen_values() {
	f="$FIXTURES/gke-1.20/metrics_probes.txt"
	[ -f "$f" ] || { fail "no $f"; return; }
	ep_collect "$BIN" collector-probes "$(url_of "$f")"
	# prober_probe_total for calico-node's failed readiness probes: 180
	v=$(ep_jq 'select(.name == "prober_probe_total" and .attrs.pod == "calico-node-9qkw7"
		and .attrs.probe_type == "Readiness" and .attrs.result == "failed") | .value')
	assertEquals "calico-node readiness failures" 180 "$v"
	assertEquals "type" counter "$(ep_jq 'select(.kind == "metric") | .type' | sort -u)"
	assertEquals "process_start_time_seconds is not kept by default" "" \
		"$(ep_jq 'select(.name == "process_start_time_seconds") | .value')"

	f="$FIXTURES/kind-1.21/metrics_resource.txt"
	ep_collect "$BIN" collector-resource "$(url_of "$f")"
	line=$(grep -m1 '^node_memory_working_set_bytes' "$f")
	want_v=$(echo "$line" | awk '{ printf "%.0f", $2 }')
	want_ts=$(echo "$line" | awk '{ print $3 }')
	got=$(ep_jq 'select(.name == "node_memory_working_set_bytes") | "\(.value) \(.ts)"')
	assertEquals "node working set" "$want_v" "${got%% *}"
	want_iso=$(date -u -d "@$((want_ts / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf %03d $((want_ts % 1000)))Z
	assertEquals "sample timestamp kept" "$want_iso" "${got#* }"

	f="$FIXTURES/v1.34/metrics_cadvisor.txt"
	ep_collect "$BIN" collector-cadvisor "$(url_of "$f")"
	want=$(awk '/^machine_cpu_cores/ { print $NF }' "$f")
	assertEquals "machine_cpu_cores" "$want" "$(ep_jq 'select(.name == "machine_cpu_cores") | .value')"
	want=$(grep -c '^container_cpu_cfs_throttled_periods_total' "$f")
	assertEquals "throttled periods series" "$want" \
		"$(ep_jq 'select(.name == "container_cpu_cfs_throttled_periods_total") | .name' | wc -l)"
}

test_label_names_normalized() {
	# 1.15 carries both names: the old one is dropped, the new one kept
	f="$FIXTURES/v1.15/metrics_cadvisor.txt"
	ep_collect "$BIN" collector-cadvisor "$(url_of "$f")" --allow all
	assertEquals "no container_name left" 0 \
		"$(ep_jq 'select(.kind == "metric") | .attrs | select(has("container_name") or has("pod_name")) | 1' | wc -l)"
	assertEquals "no attribute written twice" 0 \
		"$(grep -c '"container":".*"container":"\|"pod":".*"pod":"' "$TMP/out.jsonl")"
	line=$(grep -m1 'container_name="[^"]' "$f")
	name=$(echo "$line" | sed 's/.*[{,]container="\([^"]*\)".*/\1/')
	assertNotNull "a named container" "$name"
	n=$(ep_jq "select(.kind == \"metric\" and .attrs.container == \"$name\") | 1" | wc -l)
	assertEquals "samples of container $name" "$(grep -c "[{,]container=\"$name\"" "$f")" "$n"
	# before 1.16: only the old names, renamed
	f="$FIXTURES/gke-pre-1.16/metrics_cadvisor.txt"
	ep_collect "$BIN" collector-cadvisor "$(url_of "$f")" --allow all
	line=$(grep -m1 'container_name="[^"]' "$f")
	name=$(echo "$line" | sed 's/.*container_name="\([^"]*\)".*/\1/')
	pod=$(echo "$line" | sed 's/.*pod_name="\([^"]*\)".*/\1/')
	n=$(ep_jq "select(.kind == \"metric\" and .attrs.container == \"$name\" and .attrs.pod == \"$pod\") | 1" | wc -l)
	assertEquals "samples of $pod/$name" "$(grep -c "container_name=\"$name\".*pod_name=\"$pod\"" "$f")" "$n"
}

# ---- flags and environment --------------------------------------------------

test_allow_deny_env_and_flags() {
	f="$FIXTURES/v1.34/metrics_cadvisor.txt"
	u=$(url_of "$f")
	ep_collect "$BIN" collector-cadvisor "$u" --allow 'machine_*'
	assertEquals "--allow machine_*" "$(grep -c '^machine_' "$f")" "$(ep_count metric)"
	NRO_ALLOW=machine_cpu_cores ep_collect "$BIN" collector-cadvisor "$u"
	assertEquals "NRO_ALLOW" 1 "$(ep_count metric)"
	NRO_ALLOW=machine_cpu_cores ep_collect "$BIN" collector-cadvisor "$u" --allow machine_memory_bytes
	assertEquals "the flag overrides NRO_ALLOW" machine_memory_bytes \
		"$(ep_jq 'select(.kind == "metric") | .name')"
	ep_collect "$BIN" collector-cadvisor "$u" --allow 'machine_*' --deny machine_nvm_capacity,machine_swap_bytes
	assertEquals "--deny" "$(grep -c '^machine_' "$f" | awk -v d="$(grep -c '^machine_nvm_capacity\|^machine_swap_bytes' "$f")" '{ print $1 - d }')" \
		"$(ep_count metric)"
	NRO_DENY='container_*' ep_collect "$BIN" collector-cadvisor "$u"
	assertEquals "NRO_DENY wins over the defaults" "machine_cpu_cores machine_memory_bytes" \
		"$(ep_jq 'select(.kind == "metric") | .name' | sort -u | tr '\n' ' ' | sed 's/ $//')"
	"$BIN/collector-cadvisor" --once -o - --kubelet "$u" --allow 'bad-name' >/dev/null 2>"$TMP/err"
	assertEquals "a bad pattern is a usage error" 100 $?
	ep_contains "names the flag" "$(cat "$TMP/err")" "--allow 'bad-name'"
}

# ---- malformed lines ---------------------------------------------------------

test_malformed_lines_degrade_the_poll() {
	d="$TMP/malformed"
	mkdir -p "$d"
	{
		printf '# TYPE container_cpu_usage_seconds_total counter\n'
		printf 'container_cpu_usage_seconds_total{container="a",pod="p"} 1.5\n'
		printf 'container_cpu_usage_seconds_total{container="b",pod="p"} not-a-number\n'
		printf 'container_cpu_usage_seconds_total{container="c",pod="p"} 2.5\n'
		printf 'container_cpu_usage_seconds_total{container="d" 3\n'
		printf 'container_cpu_usage_seconds_total{container="e",pod="p"} 4'
	} >"$d/metrics_cadvisor.txt"
	ep_replay "$d" || return
	ep_collect "$BIN" collector-cadvisor "$URL"
	assertEquals "exit status" 0 "$RC"
	assertEquals "good samples published (incl. the last line without newline)" "a c e" \
		"$(ep_jq 'select(.kind == "metric") | .attrs.container' | tr '\n' ' ' | sed 's/ $//')"
	assertEquals "health" degraded "$(ep_jq 'select(.kind == "health") | .status')"
	msg=$(ep_jq 'select(.kind == "health") | .message')
	ep_contains "health message" "$msg" "2 malformed lines skipped (first at line 3: "
	ep_contains "logged" "$(cat "$TMP/err")" "2 malformed lines skipped (first at line 3"
}

# ---- faults -----------------------------------------------------------------

# fault_dir NAME: a directory with v1.34's cadvisor body.
fault_dir() {
	FD="$TMP/fault-$1"
	mkdir -p "$FD"
	cp "$FIXTURES/v1.34/metrics_cadvisor.txt" "$FD/"
}

check_cadvisor_faults() { # FLAVOUR
	ep_have "$1" collector-cadvisor || return 0
	cbin=$(ep_flavour_bin "$1")
	f="$FIXTURES/v1.34/metrics_cadvisor.txt"

	fault_dir trunc
	echo 700000 >"$FD/metrics_cadvisor.txt.truncate"
	ep_replay "$FD" || return
	ep_collect "$cbin" collector-cadvisor "$URL"
	ep_assert_failure truncated 111 200 "$1 truncated body"
	ep_contains "$1 truncated: message" "$(ep_jq 'select(.kind=="error") | .message')" "truncated"
	# only whole lines of the part received were published, values intact
	n=$(ep_count metric)
	[ "$n" -gt 0 ] || fail "$1 truncated: nothing of the first 700000 bytes published"
	prom_expect "$f" "$(help_keeps "$cbin" collector-cadvisor)" | head -n "$n" >"$TMP/want.tsv"
	actual_samples >"$TMP/got.tsv"
	d=$(compare_samples "$TMP/want.tsv" "$TMP/got.tsv")
	assertEquals "$1 truncated: published samples differ: $d" "" "$d"

	mkdir -p "$TMP/fault-garbage"
	ep_garbage 300000 >"$TMP/fault-garbage/metrics_cadvisor.txt"
	ep_replay "$TMP/fault-garbage" || return
	ep_collect "$cbin" collector-cadvisor "$URL" --allow all
	ep_assert_failure parse 102 200 "$1 garbage body"
	ep_contains "$1 garbage: message" "$(ep_jq 'select(.kind=="error") | .message')" \
		"not Prometheus text"
	assertEquals "$1 garbage: nothing published" 0 "$(ep_count metric)"

	mkdir -p "$TMP/fault-html"
	printf '<html>\n<body>\n<h1>Service Unavailable</h1>\n</body>\n</html>\n' \
		>"$TMP/fault-html/metrics_cadvisor.txt"
	ep_replay "$TMP/fault-html" || return
	ep_collect "$cbin" collector-cadvisor "$URL"
	ep_assert_failure parse 102 200 "$1 HTML body"

	fault_dir 500
	echo 500 >"$FD/metrics_cadvisor.txt.status"
	ep_replay "$FD" || return
	ep_collect "$cbin" collector-cadvisor "$URL"
	ep_assert_failure http 111 500 "$1 HTTP 500"
	ep_contains "$1 500: message" "$(ep_jq 'select(.kind=="error") | .message')" \
		"500 Internal Server Error"
	assertEquals "$1 500: nothing published" 0 "$(ep_count metric)"

	fault_dir slow
	echo 4s >"$FD/metrics_cadvisor.txt.delay"
	ep_replay "$FD" || return
	ep_collect "$cbin" collector-cadvisor "$URL" --timeout 1s
	ep_assert_failure timeout 111 - "$1 slow body past --timeout 1s"
	ep_contains "$1 slow: message" "$(ep_jq 'select(.kind=="error") | .message')" "timed out"
}

for fl in $FLAVOURS; do
	eval "test_${fl}_cadvisor_faults() { check_cadvisor_faults $fl; }"
done

check_cadvisor_50mb() { # FLAVOUR
	ep_have "$1" collector-cadvisor || return 0
	cbin=$(ep_flavour_bin "$1")
	f="$FIXTURES/v1.34/metrics_cadvisor.txt"
	fault_dir big
	echo 33 >"$FD/metrics_cadvisor.txt.repeat"
	echo chunked >"$FD/metrics_cadvisor.txt.chunked"
	ep_replay "$FD" || return
	size=$(($(stat -c %s "$f") * 33))
	want=$(($(awk 'NF && $1 !~ /^#/ { n++ } END { print n }' "$f") * 33))
	/usr/bin/time -f %M -o "$TMP/rss" "$cbin/collector-cadvisor" --once -o - --kubelet "$URL" \
		--allow all 2>"$TMP/err" | "$BIN/nro-dump" -k MH >"$TMP/out.jsonl"
	RC=${PIPESTATUS[0]}
	assertEquals "$1 50 MB: exit status ($(head -c 300 "$TMP/err"))" 0 "$RC"
	assertEquals "$1 50 MB: bytes" "$size" "$(ep_jq 'select(.kind=="health") | .bytes')"
	assertEquals "$1 50 MB: samples" "$want" "$(ep_count metric)"
	rss=$(tail -n 1 "$TMP/rss")
	# the body never sits in memory: far under its 50 MB (sanitizer builds
	# carry their own shadow memory, so only the plain build is held to it)
	if [ "$1" != san ]; then
		[ "$rss" -lt 20000 ] || fail "$1 50 MB: peak RSS $rss KiB"
	fi
}

for fl in $FLAVOURS; do
	eval "test_${fl}_cadvisor_50mb_body_constant_memory() { check_cadvisor_50mb $fl; }"
done

test_unreachable_kubelet() {
	ep_collect "$BIN" collector-metrics http://127.0.0.1:1
	ep_assert_failure connect 111 0 "connection refused"
}

. shunit2
