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
