#!/bin/bash
# Non-root under s6: every svc/*/run starts its tool through nro-run-tool
# (svc/.lib/run-tool, one definition of the rule); with NRO_USER set and
# s6-svscan started as root, every tool runs as that user with no
# capability, collector-kmsg with CAP_SYSLOG only (reading the real
# /dev/kmsg under kernel.dmesg_restrict=1 proves it), and the run directory
# and ring belong to the user, mode 0700.
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { rm -rf "$TMP" "${PUB:-}"; }

tearDown() {
	scan_down
}

test_every_run_uses_the_helper() {
	n=0
	for run in "$TOP"/svc/*/run; do
		s=$(basename "$(dirname "$run")")
		n=$((n + 1))
		assertTrue "$s/run starts its tool through nro-run-tool" \
			"grep -q 'exec s6-envdir ../.env s6-envdir -I ./env sh -c .exec \"\${NRO_BIN:-/usr/local/bin}/nro-run-tool\" $s -d 3.\$' '$run'"
		assertFalse "$s/run does not exec the tool itself" "grep -q '/$s\"' '$run'"
	done
	assertTrue "found the services" "[ $n -gt 3 ]"
	assertTrue "svc/.env documents NRO_USER" "[ -f '$TOP/svc/.env/NRO_USER' ]"
}

test_helper_usage_and_bad_user() {
	"$BIN/nro-run-tool" --help >"$TMP/help" 2>&1
	assertEquals "--help" 0 $?
	assertTrue "help names NRO_USER" "grep -q NRO_USER '$TMP/help'"
	"$BIN/nro-run-tool" >/dev/null 2>&1
	assertEquals "no tool: usage" 100 $?
	NRO_USER=nro-no-such-user NRO_BIN="$BIN" "$BIN/nro-run-tool" analyzer --help >/dev/null 2>"$TMP/err"
	assertEquals "unknown user" 100 $?
	assertEquals "nro-run-tool: fatal: NRO_USER nro-no-such-user: no such user" "$(cat "$TMP/err")"
	NRO_USER= NRO_BIN="$BIN" "$BIN/nro-run-tool" analyzer --help >"$TMP/out" 2>&1
	assertEquals "empty NRO_USER: the tool as the caller" 0 $?
	assertTrue "the analyzer's help" "grep -q '^usage: analyzer' '$TMP/out'"
}

# GnuTLS's load-time setup is skipped for every tool but sink-prom (its
# HTTPS listener needs it): a stand-in tool shows its environment.
test_helper_skips_gnutls_init_but_for_sink_prom() {
	mkdir -p "$TMP/fakebin"
	for t in collector-pods sink-prom; do
		printf '#!/bin/sh\necho "${GNUTLS_NO_IMPLICIT_INIT:-unset}"\n' >"$TMP/fakebin/$t"
		chmod +x "$TMP/fakebin/$t"
	done
	assertEquals "a collector" 1 "$(NRO_USER= NRO_BIN="$TMP/fakebin" "$BIN/nro-run-tool" collector-pods)"
	assertEquals "sink-prom" unset "$(NRO_USER= NRO_BIN="$TMP/fakebin" "$BIN/nro-run-tool" sink-prom)"
}

# Status field $2 of process $1 (e.g. Uid, CapEff).
proc_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

test_services_run_as_nro_user() {
	if [ "$(id -u)" != 0 ] || [ "$(cat /proc/sys/kernel/dmesg_restrict 2>/dev/null)" != 1 ] ||
		! head -c0 /dev/kmsg 2>/dev/null; then
		echo "not root, dmesg_restrict off or no /dev/kmsg: skipped"
		return 0
	fi
	# nobody must reach the tools and the run directory's parent
	PUB=$(mktemp -d /tmp/nro-nonroot.XXXXXX)
	chmod 711 "$PUB"
	mkdir "$PUB/bin"
	cp "$BIN"/analyzer "$BIN"/collector-node "$BIN"/collector-kmsg "$BIN"/nro-run-tool "$PUB/bin/"
	chmod 755 "$PUB/bin" "$PUB"/bin/*
	SCAN=$TMP/svc
	mkdir -p "$SCAN/.env"
	for s in analyzer collector-node collector-kmsg; do
		cp -R "$TOP/svc/$s" "$SCAN/$s"
		rm -rf "$SCAN/$s/log"
		mkdir -p "$SCAN/$s/env"
	done
	echo "$PUB/bin" >"$SCAN/.env/NRO_BIN"
	echo "$PUB/run" >"$SCAN/.env/NRO_RUN_DIR"
	echo nobody >"$SCAN/.env/NRO_USER"
	echo 300ms >"$SCAN/.env/NRO_INTERVAL"
	scan_up "$TMP/scan.out" analyzer collector-node collector-kmsg
	nobody=$(id -u nobody)
	for s in analyzer collector-node collector-kmsg; do
		pid=$(s6-svstat -o pid "$SCAN/$s")
		assertEquals "$s runs as nobody" "$nobody" "$(proc_field "$pid" Uid)"
		want=0000000000000000
		[ "$s" = collector-kmsg ] && want=0000000400000000 # CAP_SYSLOG (34) alone
		assertEquals "$s effective capabilities" "$want" "$(proc_field "$pid" CapEff)"
		assertEquals "$s bounding set" "$want" \
			"$([ "$s" = collector-kmsg ] && proc_field "$pid" CapBnd || echo $want)"
	done
	assertEquals "run directory: nobody's, 0700" "$nobody 700" "$(stat -c '%u %a' "$PUB/run")"
	wait_path "$PUB/run/ring"
	assertEquals "the ring is nobody's" "$nobody" "$(stat -c %u "$PUB/run/ring")"
	assertEquals "no failure logged" "" "$(grep -E 'fatal|error' "$TMP/scan.out")"
	s6-svc -wd -d -T 10000 "$SCAN/collector-kmsg"
	assertEquals "collector-kmsg stopped by SIGTERM: exit 0" 0 "$(s6-svstat -o exitcode "$SCAN/collector-kmsg")"
}

. shunit2
