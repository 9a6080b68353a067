#!/bin/bash
# The ring on a full tmpfs: a real tmpfs in a private mount namespace
# (unshare -m, so nothing leaks into the host's mounts). The analyzer must
# refuse with a clear error instead of dying of SIGBUS at its first write.
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { rm -rf "$TMP"; }

can_mount() {
	unshare -m sh -c "mount -t tmpfs -o size=1m tmpfs '$TMP' 2>/dev/null" 2>/dev/null
}

# $1 = tmpfs size, then analyzer args; prints "rc=N" and the analyzer's stderr
run_in_tmpfs() {
	size=$1
	shift
	mkdir -p "$TMP/mnt"
	unshare -m sh -c '
		mount -t tmpfs -o size="$1",mode=0700 tmpfs "$2" || exit 99
		mkdir -m 0700 "$0"
		shift 2
		NRO_RUN_DIR="$0" "$@" --ring "$0/ring" -i - -o - </dev/null >/dev/null 2>"$0.err"
		echo "rc=$?"
		cat "$0.err"' "$TMP/mnt/run" "$size" "$TMP/mnt" "$BIN/analyzer" "$@"
}

test_full_tmpfs_is_a_clear_error_not_sigbus() {
	can_mount || startSkipping
	out=$(run_in_tmpfs 2m --ring-size 8388608)
	assertContains "$out" "rc=111"
	assertContains "$out" "no room for a ring"
	assertNotContains "$out" "Bus error"
}

test_ring_that_fits_is_made() {
	can_mount || startSkipping
	out=$(run_in_tmpfs 4m --ring-size 1048576)
	assertContains "$out" "rc=0"
	assertNotContains "$out" "no room"
}

. shunit2
