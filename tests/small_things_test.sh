#!/bin/bash
# The small things a newcomer expects: make install leaves the test server
# out unless asked, make run's hint goes to stderr, the demo keeps its logs
# when asked, the docs' paths work from a checkout and name no issue numbers.
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { rm -rf "$TMP"; }

test_install_leaves_kubelet_replay_out_unless_asked() {
	make -s -C "$TOP" install DESTDIR="$TMP/inst" PREFIX=/usr >/dev/null 2>"$TMP/inst.err"
	_rc=$?
	assertEquals "make install: $(head -c 300 "$TMP/inst.err")" 0 "$_rc"
	assertTrue "the tools" "[ -x '$TMP/inst/usr/bin/collector-pods' ] && [ -x '$TMP/inst/usr/bin/analyzer' ]"
	assertFalse "no test server" "[ -e '$TMP/inst/usr/bin/kubelet-replay' ]"
	make -s -C "$TOP" install DESTDIR="$TMP/inst2" PREFIX=/usr INSTALL_REPLAY=1 >/dev/null 2>&1
	assertTrue "asked for" "[ -x '$TMP/inst2/usr/bin/kubelet-replay' ]"
}

test_make_run_hint_on_stderr() {
	make -s -C "$TOP" run >"$TMP/run.out" 2>"$TMP/run.err"
	assertNotEquals "fails" 0 $?
	assertContains "hint on stderr" "$(cat "$TMP/run.err")" "make run: set KUBELET=https://NODE:10250"
	assertNotContains "not on stdout" "$(cat "$TMP/run.out")" "KUBELET"
}

test_demo_keeps_its_logs_when_asked() {
	mkdir -p "$TMP/demo"
	TMPDIR=$TMP/demo DEMO_SECONDS=1 sh "$TOP/deploy/demo/run.sh" >"$TMP/d1.out" 2>&1 </dev/null
	assertEquals "removed by default" "" "$(ls "$TMP/demo")"
	assertContains "says how to keep them" "$(cat "$TMP/d1.out")" "DEMO_KEEP=1 keeps"
	TMPDIR=$TMP/demo DEMO_KEEP=1 DEMO_SECONDS=1 sh "$TOP/deploy/demo/run.sh" >"$TMP/d2.out" 2>&1 </dev/null
	kept=$(ls -d "$TMP"/demo/nro-demo.* 2>/dev/null)
	assertNotNull "kept" "$kept"
	assertContains "names it" "$(tail -n1 "$TMP/d2.out")" "logs kept in $kept/log"
	assertTrue "with the logs" "[ -d '$kept/log' ]"
}

test_docs_paths_work_from_a_checkout() {
	# every "bin/kubelet-replay --dir|--scenario PATH" of the page names a real place
	grep -oE 'bin/kubelet-replay --(dir|scenario) [^ ]+' "$TOP/docs/kubelet-replay.md" |
		awk '{print $3}' | grep -v '^fx$' >"$TMP/paths"
	assertTrue "examples found" "[ -s '$TMP/paths' ]"
	while read -r p; do
		assertTrue "$p exists from the checkout" "[ -d '$TOP/$p' ]"
	done <"$TMP/paths"
}

test_docs_name_no_issue_numbers() {
	grep -rniE 'issue [0-9]+|issues? #[0-9]+' "$TOP/README.md" "$TOP/docs" >"$TMP/issues"
	assertEquals "$(cat "$TMP/issues")" 0 "$(wc -l <"$TMP/issues")"
}

. shunit2
