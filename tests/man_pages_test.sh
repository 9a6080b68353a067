#!/bin/bash
# man/: every tool in bin/ (whichever branch added it) has man/TOOL.1, and
# every flag its --help lists appears in the page (man/mkman.py writes a
# page from --help; rerun it after changing options). make install puts the
# pages under $(PREFIX)/share/man/man1, where man(1) finds them.
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { rm -rf "$TMP"; }

# the flags a --help lists: -x and --long at the start of its option lines
help_flags() {
	"$1" --help 2>/dev/null | grep -oE '^ {2,6}(-[A-Za-z0-9], )?--?[A-Za-z0-9][A-Za-z0-9-]*' |
		grep -oE -- '--?[A-Za-z0-9][A-Za-z0-9-]*'
}

test_every_tool_has_a_page_with_every_flag() {
	n=0
	for b in "$TOP"/bin/*; do
		[ -x "$b" ] || continue
		t=${b##*/}
		n=$((n + 1))
		page=$TOP/man/$t.1
		[ -f "$page" ] || { fail "no man page man/$t.1 (python3 man/mkman.py bin/$t)"; continue; }
		src=$(sed 's/\\-/-/g; s/\\f[BIR]//g' "$page")
		flags=$(help_flags "$b")
		[ -n "$flags" ] || fail "$t --help lists no flag"
		for f in $flags; do
			case "$src" in
			*"$f"*) ;;
			*) fail "man/$t.1 lacks $f (python3 man/mkman.py bin/$t)" ;;
			esac
		done
	done
	assertTrue "tools found in bin/" "[ $n -gt 10 ]"
}

test_a_missing_flag_is_caught() {
	b=$TOP/bin/collector-pods
	sed 's/tls\\-server\\-name/tls\\-server/' "$TOP/man/collector-pods.1" >"$TMP/cp.1"
	src=$(sed 's/\\-/-/g; s/\\f[BIR]//g' "$TMP/cp.1")
	missing=""
	for f in $(help_flags "$b"); do
		case "$src" in *"$f"*) ;; *) missing="$missing $f" ;; esac
	done
	assertEquals " --tls-server-name" "$missing"
}

test_pages_render_without_errors() {
	command -v groff >/dev/null || { echo "no groff: skipped"; return 0; }
	for p in "$TOP"/man/*.1; do
		# long unbreakable defaults (interface globs) only make justification warnings
		out=$(groff -man -Tutf8 -z -wmac -wescape "$p" 2>&1 | grep -v -e 'cannot adjust line' -e "can't break line")
		assertEquals "${p##*/} renders cleanly" "" "$out"
	done
}

test_make_install_puts_pages_where_man_finds_them() {
	make -s -C "$TOP" install DESTDIR="$TMP/dest" PREFIX=/usr/local >"$TMP/install.out" 2>&1 ||
		{ fail "make install: $(cat "$TMP/install.out")"; return; }
	assertTrue "collector-pods.1 installed" "[ -f '$TMP/dest/usr/local/share/man/man1/collector-pods.1' ]"
	assertTrue "nro-run-tool installed" "[ -x '$TMP/dest/usr/local/bin/nro-run-tool' ]"
	if command -v man >/dev/null; then
		out=$(MANWIDTH=80 man -M "$TMP/dest/usr/local/share/man" collector-pods 2>&1)
		assertContains "man collector-pods" "$out" "tls-server-name"
	fi
}

assertContains() { # MSG HAYSTACK NEEDLE
	case "$2" in
	*"$3"*) ;;
	*) fail "$1: '$3' not in '${2:0:200}'" ;;
	esac
}

. shunit2
