#!/bin/bash
# collector-configz and collector-spec against kubelet-replay: every
# configz.json and spec.json fixture checked against jq's reading of the
# file; the kubelet's eviction default rule; the 404/403 fallback to the
# default thresholds (said once); /spec's 404 fallback to /metrics/cadvisor
# on every cadvisor fixture (checked against awk); faults (truncated,
# garbage, 50 MB, HTTP 500, slow body past --timeout).
# Runs the plain build and the ASan+UBSan build (see endpoints_lib.sh).
#
#   bash tests/collectors_config_spec_test.sh
#   NRO_BIN=build/san/bin bash tests/collectors_config_spec_test.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoints_lib.sh"

oneTimeSetUp() {
	nro_tmpdir
}

oneTimeTearDown() {
	ep_stop_replays
	rm -rf "$TMP"
}

# state KEY: "value num source" of the Node state KEY in $TMP/out.jsonl.
state() {
	ep_jq "select(.kind == \"state\" and .key == \"$1\") | \"\\(.value) \\(.num) \\(.attrs.source)\""
}

# quantity_num Q: a Kubernetes quantity in base units, read by awk (an
# independent reading: binary and decimal suffixes, exponents, "K").
quantity_num() {
	echo "$1" | awk '{
		q = $0; m = 1
		if (q ~ /Ki$/) { m = 1024; q = substr(q, 1, length(q) - 2) }
		else if (q ~ /Mi$/) { m = 1024 ^ 2; q = substr(q, 1, length(q) - 2) }
		else if (q ~ /Gi$/) { m = 1024 ^ 3; q = substr(q, 1, length(q) - 2) }
		else if (q ~ /Ti$/) { m = 1024 ^ 4; q = substr(q, 1, length(q) - 2) }
		else if (q ~ /[kK]$/) { m = 1e3; q = substr(q, 1, length(q) - 1) }
		else if (q ~ /M$/) { m = 1e6; q = substr(q, 1, length(q) - 1) }
		else if (q ~ /G$/) { m = 1e9; q = substr(q, 1, length(q) - 1) }
		else if (q ~ /T$/) { m = 1e12; q = substr(q, 1, length(q) - 1) }
		else if (q ~ /m$/) { m = 1e-3; q = substr(q, 1, length(q) - 1) }
		printf "%.10g\n", q * m }'
}

# duration_num D: a Go duration ("1h2m3.5s", "100ms") in seconds, by awk.
duration_num() {
	echo "$1" | awk '{
		s = $0; t = 0
		while (match(s, /^[0-9.]+(ms|us|ns|h|m|s)/)) {
			tok = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
			match(tok, /[0-9.]+/); v = substr(tok, 1, RLENGTH); u = substr(tok, RLENGTH + 1)
			t += v * (u == "h" ? 3600 : u == "m" ? 60 : u == "s" ? 1 : u == "ms" ? 1e-3 : u == "us" ? 1e-6 : 1e-9)
		}
		printf "%.10g\n", t }'
}

# num_eq A B: 0 when the numbers are equal (relative 1e-9).
num_eq() {
	awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a);
		if ((b < 0 ? -b : b) > m) m = (b < 0 ? -b : b); exit !(d <= 1e-9 * m) }'
}

# ---- configz: every fixture ------------------------------------------------

check_configz_fixtures() { # FLAVOUR
	ep_have "$1" collector-configz || return 0
	cbin=$(ep_flavour_bin "$1")
	n=0
	for f in "$FIXTURES"/*/configz.json; do
		[ -f "$f" ] || continue
		what="$1 $(basename "$(dirname "$f")")/configz.json"
		ep_replay "$(dirname "$f")" || return
		ep_collect "$cbin" collector-configz "$URL"
		assertEquals "$what: exit ($(head -c 300 "$TMP/err"))" 0 "$RC"
		assertEquals "$what: health" ok "$(ep_jq 'select(.kind=="health") | .status')"
		# hard thresholds: exactly the file's, or the defaults when it sets none
		if [ "$(jq '.kubeletconfig.evictionHard // {} | length' "$f")" -gt 0 ]; then
			jq -r '.kubeletconfig.evictionHard | to_entries[] | "kubelet.eviction.hard.\(.key) \(.value) config"' "$f" | sort >"$TMP/want"
		else
			printf '%s\n' "kubelet.eviction.hard.imagefs.available 15% default" \
				"kubelet.eviction.hard.imagefs.inodesFree 5% default" \
				"kubelet.eviction.hard.memory.available 100Mi default" \
				"kubelet.eviction.hard.nodefs.available 10% default" \
				"kubelet.eviction.hard.nodefs.inodesFree 5% default" >"$TMP/want"
		fi
		ep_jq 'select(.kind=="state" and (.key | startswith("kubelet.eviction.hard."))) | "\(.key) \(.value) \(.attrs.source)"' | sort >"$TMP/got"
		assertEquals "$what: hard thresholds" "$(cat "$TMP/want")" "$(cat "$TMP/got")"
		# each threshold's number: the percentage, or the quantity in base units
		while read -r key value source; do
			num=$(ep_jq "select(.kind==\"state\" and .key==\"$key\") | .num")
			case "$value" in
			*%) want=${value%\%} ;;
			*) want=$(quantity_num "$value") ;;
			esac
			num_eq "$want" "$num" || fail "$what: $key $value: num $num, want $want"
		done <"$TMP/got"
		# every scalar field of the configuration, dotted, arrays of scalars joined
		jq -r '
			def leaves(p): if type == "object" then to_entries[] | .key as $k | .value | leaves(p + [$k])
				elif type == "array" then
					(if length > 0 and all(.[]; type != "object" and type != "array")
					 then [p, (map(tostring) | join(","))]
					 else to_entries[] | (.key | tostring) as $k | .value | leaves(p + [$k]) end)
				elif type == "null" then empty
				else [p, tostring] end;
			.kubeletconfig | del(.evictionHard, .evictionSoft, .evictionSoftGracePeriod, .evictionMinimumReclaim)
			| leaves([]) | "kubelet.config.\(.[0] | join("."))=\(.[1])"' "$f" | sort >"$TMP/want"
		ep_jq 'select(.kind=="state" and (.key | startswith("kubelet.config.")) and .attrs.source == "config") | "\(.key)=\(.value)"' | sort >"$TMP/got"
		assertEquals "$what: config fields" "" "$(diff "$TMP/want" "$TMP/got")"
		assertTrue "$what: some config fields" "[ $(wc -l <"$TMP/got") -gt 20 ]"
		# nums: numbers as they are, booleans 1/0, durations in seconds
		jq -r '.kubeletconfig | to_entries[] | select(.value | type == "number" or type == "boolean" or type == "string") | "\(.key)\t\(.value | type)\t\(.value)"' "$f" >"$TMP/scalars"
		while IFS="$(printf '\t')" read -r k t v; do
			num=$(ep_jq "select(.kind==\"state\" and .key==\"kubelet.config.$k\") | .num")
			case "$t" in
			number) want=$v ;;
			boolean) [ "$v" = true ] && want=1 || want=0 ;;
			string)
				case "$v" in
				*[0-9]h* | *[0-9]m* | *[0-9]s) want=$(duration_num "$v") ;;
				*) continue ;;
				esac
				[ "$k" = containerLogMaxSize ] && continue
				;;
			esac
			num_eq "$want" "$num" || fail "$what: kubelet.config.$k=$v: num $num, want $want"
		done <"$TMP/scalars"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || fail "no configz fixture"
}

# ---- configz: the kubelet's rules, on made-up configurations ---------------

# configz_dir NAME JSON: a directory serving {"kubeletconfig": JSON}.
configz_dir() {
	CD="$TMP/configz-$1"
	mkdir -p "$CD"
	printf '{"kubeletconfig":%s}\n' "$2" >"$CD/configz.json"
}

check_configz_rules() { # FLAVOUR
	ep_have "$1" collector-configz || return 0
	cbin=$(ep_flavour_bin "$1")

	configz_dir none '{"maxPods":250,"syncFrequency":"1m0s","readOnlyPort":10255}'
	ep_replay "$CD" || return
	ep_collect "$cbin" collector-configz "$URL"
	assertEquals "$1 no evictionHard: exit" 0 "$RC"
	assertEquals "$1 no evictionHard: the defaults" 5 \
		"$(ep_jq 'select(.kind=="state" and (.key|startswith("kubelet.eviction.hard.")) and .attrs.source=="default") | 1' | wc -l)"
	assertEquals "$1 memory.available default" "100Mi 104857600 default" "$(state kubelet.eviction.hard.memory.available)"
	assertEquals "$1 imagefs.available default" "15% 15 default" "$(state kubelet.eviction.hard.imagefs.available)"
	assertEquals "$1 maxPods" "250 250 config" "$(state kubelet.config.maxPods)"
	assertEquals "$1 readOnlyPort" "10255 10255 config" "$(state kubelet.config.readOnlyPort)"

	configz_dir one '{"evictionHard":{"memory.available":"500Mi"}}'
	ep_replay "$CD" || return
	ep_collect "$cbin" collector-configz "$URL"
	assertEquals "$1 one hard threshold clears the other defaults" \
		"kubelet.eviction.hard.memory.available 500Mi 524288000 config" \
		"$(ep_jq 'select(.kind=="state" and (.key|startswith("kubelet.eviction."))) | "\(.key) \(.value) \(.num) \(.attrs.source)"')"
	assertEquals "$1 readOnlyPort omitted = off" "0 0 default" "$(state kubelet.config.readOnlyPort)"

	configz_dir many '{"evictionHard":{"memory.available":"1.5Gi","nodefs.available":"2e9","imagefs.available":"1G","nodefs.inodesFree":"300k","pid.available":"1K","imagefs.inodesFree":"7.5%"},
		"evictionSoft":{"memory.available":"2Gi"},"evictionSoftGracePeriod":{"memory.available":"1m30s"},
		"evictionMinimumReclaim":{"memory.available":"0.5Gi"},"systemReserved":{"cpu":"100m","memory":"1Gi"},
		"evictionPressureTransitionPeriod":"4m30s","podPidsLimit":4096,"cgroupDriver":"systemd",
		"clusterDNS":["10.0.0.10","10.0.0.11"],"authentication":{"anonymous":{"enabled":false}},
		"reservedMemory":[{"numaNode":0,"limits":{"memory":"1100Mi"}}]}'
	ep_replay "$CD" || return
	ep_collect "$cbin" collector-configz "$URL"
	assertEquals "$1 many: exit ($(head -c 300 "$TMP/err"))" 0 "$RC"
	assertEquals "$1 1.5Gi" "1.5Gi 1610612736 config" "$(state kubelet.eviction.hard.memory.available)"
	assertEquals "$1 2e9" "2e9 2000000000 config" "$(state kubelet.eviction.hard.nodefs.available)"
	assertEquals "$1 1G" "1G 1000000000 config" "$(state kubelet.eviction.hard.imagefs.available)"
	assertEquals "$1 300k" "300k 300000 config" "$(state kubelet.eviction.hard.nodefs.inodesFree)"
	assertEquals "$1 1K" "1K 1000 config" "$(state kubelet.eviction.hard.pid.available)"
	assertEquals "$1 7.5%" "7.5% 7.5 config" "$(state kubelet.eviction.hard.imagefs.inodesFree)"
	assertEquals "$1 units" "By 1 %" "$(ep_jq 'select(.key=="kubelet.eviction.hard.memory.available" or .key=="kubelet.eviction.hard.pid.available" or .key=="kubelet.eviction.hard.imagefs.inodesFree") | .attrs.unit' | tr '\n' ' ' | sed 's/ $//')"
	assertEquals "$1 only the six hard ones" 6 \
		"$(ep_jq 'select(.kind=="state" and (.key|startswith("kubelet.eviction.hard."))) | 1' | wc -l)"
	assertEquals "$1 soft" "2Gi 2147483648 config 1m30s 0.5Gi" \
		"$(ep_jq 'select(.key=="kubelet.eviction.soft.memory.available") | "\(.value) \(.num) \(.attrs.source) \(.attrs.grace_period) \(.attrs.minimum_reclaim)"')"
	assertEquals "$1 systemReserved.cpu" "100m 0.1 config" "$(state kubelet.config.systemReserved.cpu)"
	assertEquals "$1 systemReserved.memory" "1Gi 1073741824 config" "$(state kubelet.config.systemReserved.memory)"
	assertEquals "$1 reservedMemory" "1100Mi 1153433600 config" "$(state kubelet.config.reservedMemory.0.limits.memory)"
	assertEquals "$1 transition period" "4m30s 270 config" "$(state kubelet.config.evictionPressureTransitionPeriod)"
	assertEquals "$1 podPidsLimit" "4096 4096 config" "$(state kubelet.config.podPidsLimit)"
	assertEquals "$1 cgroupDriver" "systemd 0 config" "$(state kubelet.config.cgroupDriver)"
	assertEquals "$1 clusterDNS" "10.0.0.10,10.0.0.11 2 config" "$(state kubelet.config.clusterDNS)"
	assertEquals "$1 nested bool" "false 0 config" "$(state kubelet.config.authentication.anonymous.enabled)"
	assertEquals "$1 eviction maps are not config fields" "" \
		"$(ep_jq 'select(.kind=="state" and (.key|startswith("kubelet.config.eviction")) and .key != "kubelet.config.evictionPressureTransitionPeriod") | .key')"
}

# ---- configz: not served, forbidden ------------------------------------------

check_configz_fallback() { # FLAVOUR
	ep_have "$1" collector-configz || return 0
	cbin=$(ep_flavour_bin "$1")
	mkdir -p "$TMP/empty"
	ep_replay "$TMP/empty" || return
	ep_collect "$cbin" collector-configz "$URL"
	assertEquals "$1 404: exit" 0 "$RC"
	assertEquals "$1 404: no error record" 0 "$(ep_count error)"
	assertEquals "$1 404: health" "degraded 404" "$(ep_jq 'select(.kind=="health") | "\(.status) \(.http_status)"')"
	msg="/configz is not served by this kubelet (404; kubelets serve it on the authenticated port, never on the read-only one); the analyzer falls back to the kubelet's default eviction thresholds"
	assertEquals "$1 404: health message" "$msg" "$(ep_jq 'select(.kind=="health") | .message')"
	ep_contains "$1 404: logged" "$(cat "$TMP/err")" "$msg"
	ep_jq 'select(.kind=="state") | "\(.key) \(.value) \(.num) \(.attrs.source)"' | sort >"$TMP/got"
	assertEquals "$1 404: the defaults" "kubelet.eviction.hard.imagefs.available 15% 15 default
kubelet.eviction.hard.imagefs.inodesFree 5% 5 default
kubelet.eviction.hard.memory.available 100Mi 104857600 default
kubelet.eviction.hard.nodefs.available 10% 10 default
kubelet.eviction.hard.nodefs.inodesFree 5% 5 default" "$(cat "$TMP/got")"

	# 403: a token that authenticates but lacks nodes/proxy
	cp "$FIXTURES/config-1.32/configz.json" "$TMP/empty/configz.json"
	printf 'denied-token\n' >"$TMP/denied"
	ep_replay "$TMP/empty" --token good-token --deny-token denied-token || return
	ep_collect "$cbin" collector-configz "$URL" --token-file "$TMP/denied"
	assertEquals "$1 403: exit" 0 "$RC"
	assertEquals "$1 403: health" "degraded 403" "$(ep_jq 'select(.kind=="health") | "\(.status) \(.http_status)"')"
	ep_contains "$1 403: message" "$(ep_jq 'select(.kind=="health") | .message')" "/configz is forbidden (403"
	assertEquals "$1 403: the defaults" 5 "$(ep_jq 'select(.kind=="state" and .attrs.source=="default" and (.key|startswith("kubelet.eviction.hard."))) | 1' | wc -l)"
	# 401 is not a fallback: the credentials are wrong
	printf 'wrong\n' >"$TMP/wrong"
	ep_collect "$cbin" collector-configz "$URL" --token-file "$TMP/wrong"
	ep_assert_failure auth 100 401 "$1 401"
	assertEquals "$1 401: no state" 0 "$(ep_count state)"
	rm -f "$TMP/empty/configz.json"
}

test_configz_says_the_fallback_once() {
	mkdir -p "$TMP/once"
	ep_replay "$TMP/once" || return
	out="$TMP/loop.jsonl"
	"$BIN/collector-configz" -o - --kubelet "$URL" --interval 100ms >"$TMP/loop.bin" 2>"$TMP/loop.err" &
	pid=$!
	i=0
	while [ $i -lt 200 ]; do
		"$BIN/nro-dump" <"$TMP/loop.bin" >"$out" 2>/dev/null
		[ "$(grep -c '"kind":"health"' "$out")" -ge 4 ] && break
		sleep 0.05
		i=$((i + 1))
	done
	kill -TERM "$pid"
	wait "$pid"
	assertEquals "exit 0 on SIGTERM" 0 $?
	"$BIN/nro-dump" <"$TMP/loop.bin" >"$out"
	polls=$(grep -c '"kind":"health"' "$out")
	assertTrue "four polls or more ($polls)" "[ $polls -ge 4 ]"
	assertEquals "every poll publishes the defaults" $((polls * 5)) "$(grep -c '"kind":"state"' "$out")"
	assertEquals "said once" 1 "$(grep -c 'not served by this kubelet' "$TMP/loop.err")"
}

# ---- configz: faults ----------------------------------------------------------

configz_fault_dir() { # NAME
	FD="$TMP/cfault-$1"
	mkdir -p "$FD"
	cp "$FIXTURES/config-1.32/configz.json" "$FD/"
}

check_configz_faults() { # FLAVOUR
	ep_have "$1" collector-configz || return 0
	cbin=$(ep_flavour_bin "$1")

	configz_fault_dir trunc
	echo 1000 >"$FD/configz.json.truncate"
	ep_replay "$FD" || return
	ep_collect "$cbin" collector-configz "$URL"
	ep_assert_failure truncated 111 200 "$1 configz truncated"
	assertEquals "$1 truncated: nothing published" 0 "$(ep_count state)"

	mkdir -p "$TMP/cfault-garbage"
	ep_garbage 5000 >"$TMP/cfault-garbage/configz.json"
	ep_replay "$TMP/cfault-garbage" || return
	ep_collect "$cbin" collector-configz "$URL"
	ep_assert_failure parse 102 200 "$1 configz garbage"
	ep_contains "$1 garbage: message" "$(ep_jq 'select(.kind=="error") | .message')" "invalid body"

	configz_dir notconfig '[1, 2, 3]'
	ep_replay "$CD" || return
	ep_collect "$cbin" collector-configz "$URL"
	ep_assert_failure parse 102 200 "$1 configz without an object"

	configz_fault_dir big
	size=$(stat -c %s "$FD/configz.json")
	echo $((50000000 / size + 1)) >"$FD/configz.json.repeat"
	ep_replay "$FD" || return
	/usr/bin/time -f %M -o "$TMP/rss" "$cbin/collector-configz" --once -o - --kubelet "$URL" \
		2>"$TMP/err" | "$BIN/nro-dump" >"$TMP/out.jsonl"
	RC=${PIPESTATUS[0]}
	ep_assert_failure too_large 100 200 "$1 configz 50 MB"
	if [ "$1" != san ]; then
		rss=$(tail -n 1 "$TMP/rss")
		[ "$rss" -lt 20000 ] || fail "$1 configz 50 MB: peak RSS $rss KiB"
	fi
	echo chunked >"$FD/configz.json.chunked" # no Content-Length: the cap stops it
	ep_collect "$cbin" collector-configz "$URL"
	ep_assert_failure too_large 100 200 "$1 configz 50 MB chunked"

	configz_fault_dir 500
	echo 500 >"$FD/configz.json.status"
	ep_replay "$FD" || return
	ep_collect "$cbin" collector-configz "$URL"
	ep_assert_failure http 111 500 "$1 configz HTTP 500"
	assertEquals "$1 500: nothing published" 0 "$(ep_count state)"

	configz_fault_dir slow
	echo 4s >"$FD/configz.json.delay"
	ep_replay "$FD" || return
	ep_collect "$cbin" collector-configz "$URL" --timeout 1s
	ep_assert_failure timeout 111 - "$1 configz slow past --timeout 1s"
}

# ---- spec -------------------------------------------------------------------

check_spec_fixtures() { # FLAVOUR
	ep_have "$1" collector-spec || return 0
	cbin=$(ep_flavour_bin "$1")
	n=0
	for f in "$FIXTURES"/*/spec.json; do
		[ -f "$f" ] || continue
		what="$1 $(basename "$(dirname "$f")")/spec.json"
		ep_replay "$(dirname "$f")" || return
		ep_collect "$cbin" collector-spec "$URL"
		assertEquals "$what: exit ($(head -c 300 "$TMP/err"))" 0 "$RC"
		assertEquals "$what: health" ok "$(ep_jq 'select(.kind=="health") | .status')"
		m() { ep_jq "select(.kind==\"metric\" and .name==\"$1\") | .value"; }
		assertEquals "$what: machine_cpu_cores" "$(jq .num_cores "$f")" "$(m machine_cpu_cores)"
		assertEquals "$what: machine_memory_bytes" "$(jq .memory_capacity "$f")" "$(m machine_memory_bytes)"
		assertEquals "$what: machine_cpu_frequency_khz" "$(jq '.cpu_frequency_khz // empty' "$f")" "$(m machine_cpu_frequency_khz)"
		assertEquals "$what: machine_cpu_threads" "$(jq '[.topology[]?.cores[]?.thread_ids[]?] | length | select(. > 0)' "$f")" "$(m machine_cpu_threads)"
		assertEquals "$what: machine_cpu_physical_cores" \
			"$(jq '.num_physical_cores // ([.topology[]?.cores[]?] | length) | select(. > 0)' "$f")" \
			"$(m machine_cpu_physical_cores)"
		assertEquals "$what: filesystems" \
			"$(jq -r '.filesystems[]? | "\(.device) \(.type) \(.capacity)"' "$f" | sort)" \
			"$(ep_jq 'select(.name=="machine_filesystem_capacity_bytes") | "\(.attrs.device) \(.attrs.type) \(.value)"' | sort)"
		assertEquals "$what: filesystem inodes" \
			"$(jq -r '.filesystems[]? | select(.has_inodes != false) | "\(.device) \(.inodes)"' "$f" | sort)" \
			"$(ep_jq 'select(.name=="machine_filesystem_inodes") | "\(.attrs.device) \(.value)"' | sort)"
		assertEquals "$what: machine.info" \
			"$(jq -r '"\(.machine_id) \(.num_cores) \(.machine_id) \(.system_uuid) \(.boot_id)"' "$f")" \
			"$(ep_jq 'select(.key=="machine.info") | "\(.value) \(.num) \(.attrs.machine_id) \(.attrs.system_uuid) \(.attrs.boot_id)"')"
		assertEquals "$what: machine.info cloud" "$(jq -r '"\(.cloud_provider) \(.instance_type) \(.instance_id)"' "$f")" \
			"$(ep_jq 'select(.key=="machine.info") | "\(.attrs.cloud_provider) \(.attrs.instance_type) \(.attrs.instance_id)"')"
		assertEquals "$what: nothing derived" "" "$(ep_jq 'select(.attrs.derived_from) | .name')"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || fail "no spec fixture"
}

check_spec_fallback() { # FLAVOUR
	ep_have "$1" collector-spec || return 0
	cbin=$(ep_flavour_bin "$1")
	n=0
	for f in "$FIXTURES"/*/metrics_cadvisor.txt; do
		[ -f "$f" ] || continue
		d=$(dirname "$f")
		[ -f "$d/spec.json" ] && continue
		what="$1 $(basename "$d") (no /spec)"
		ep_replay "$d" || return
		ep_collect "$cbin" collector-spec "$URL"
		cores=$(awk '/^machine_cpu_cores[ {]/ { print $NF }' "$f")
		mem=$(awk '/^machine_memory_bytes[ {]/ { printf "%.0f", $NF }' "$f")
		if [ -z "$cores" ]; then
			ep_assert_failure parse 102 - "$what: and no machine_cpu_cores"
			ep_contains "$what: message" "$(ep_jq 'select(.kind=="error") | .message')" \
				"/spec is gone (404) and /metrics/cadvisor has no machine_cpu_cores"
			continue
		fi
		assertEquals "$what: exit ($(head -c 300 "$TMP/err"))" 0 "$RC"
		assertEquals "$what: health" ok "$(ep_jq 'select(.kind=="health") | .status')"
		assertEquals "$what: machine_cpu_cores" "$cores /metrics/cadvisor" \
			"$(ep_jq 'select(.name=="machine_cpu_cores") | "\(.value) \(.attrs.derived_from)"')"
		assertEquals "$what: machine_memory_bytes" "$mem /metrics/cadvisor" \
			"$(ep_jq 'select(.name=="machine_memory_bytes") | "\(.value) \(.attrs.derived_from)"')"
		machine_id=$(grep -m1 '^machine_cpu_cores{' "$f" | sed -n 's/.*machine_id="\([^"]*\)".*/\1/p')
		assertEquals "$what: machine.info" "$machine_id $cores" \
			"$(ep_jq 'select(.key=="machine.info") | "\(.value) \(.num)"')"
		assertEquals "$what: every metric derived" "" \
			"$(ep_jq 'select(.kind=="metric" and .attrs.derived_from != "/metrics/cadvisor") | .name')"
		ep_contains "$what: said" "$(cat "$TMP/err")" "/spec is not served (removed in Kubernetes 1.21)"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || fail "no cadvisor fixture to derive from"
}

test_spec_says_the_fallback_once_and_fails_clearly() {
	ep_replay "$FIXTURES/v1.34" || return
	out="$TMP/sloop.jsonl"
	"$BIN/collector-spec" -o - --kubelet "$URL" --interval 100ms >"$TMP/sloop.bin" 2>"$TMP/sloop.err" &
	pid=$!
	i=0
	while [ $i -lt 200 ]; do
		"$BIN/nro-dump" <"$TMP/sloop.bin" >"$out" 2>/dev/null
		[ "$(grep -c '"kind":"health"' "$out")" -ge 3 ] && break
		sleep 0.05
		i=$((i + 1))
	done
	kill -TERM "$pid"
	wait "$pid"
	assertEquals "exit 0 on SIGTERM" 0 $?
	"$BIN/nro-dump" <"$TMP/sloop.bin" >"$out"
	polls=$(grep -c '"kind":"health"' "$out")
	assertTrue "three polls or more ($polls)" "[ $polls -ge 3 ]"
	assertEquals "said once" 1 "$(grep -c 'is not served' "$TMP/sloop.err")"

	mkdir -p "$TMP/spec500"
	cp "$FIXTURES/aws-spec/spec.json" "$TMP/spec500/"
	echo 500 >"$TMP/spec500/spec.json.status"
	ep_replay "$TMP/spec500" || return
	ep_collect "$BIN" collector-spec "$URL"
	ep_assert_failure http 111 500 "spec HTTP 500"
	mkdir -p "$TMP/specbad"
	echo '{"num_cores": 4}' >"$TMP/specbad/spec.json"
	ep_replay "$TMP/specbad" || return
	ep_collect "$BIN" collector-spec "$URL"
	ep_assert_failure parse 102 200 "spec without memory_capacity"
}

test_help_says_endpoint_rbac_and_interval() {
	h=$("$BIN/collector-configz" --help)
	ep_contains "configz help" "$h" "/configz"
	ep_contains "configz help" "$h" "nodes/proxy"
	ep_contains "configz help" "$h" "Default interval 5m"
	h=$("$BIN/collector-spec" --help)
	ep_contains "spec help" "$h" "/spec"
	ep_contains "spec help" "$h" "nodes/proxy"
	ep_contains "spec help" "$h" "nodes/metrics"
	ep_contains "spec help" "$h" "Default interval 5m"
}

for fl in $FLAVOURS; do
	eval "test_${fl}_configz_every_fixture() { check_configz_fixtures $fl; }"
	eval "test_${fl}_configz_eviction_rules() { check_configz_rules $fl; }"
	eval "test_${fl}_configz_404_403_fall_back_to_defaults() { check_configz_fallback $fl; }"
	eval "test_${fl}_configz_faults() { check_configz_faults $fl; }"
	eval "test_${fl}_spec_every_fixture() { check_spec_fixtures $fl; }"
	eval "test_${fl}_spec_404_derives_from_cadvisor() { check_spec_fallback $fl; }"
done

. shunit2
