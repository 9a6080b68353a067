#!/bin/bash
# Rules the source keeps (DESIGN.md "Top-level layout" and "Style"): lib/ is
# grouped by layer and a lower folder never includes a higher one; the
# banned functions stay out; only lib/run may exit.
. "$(dirname "$0")/lib.sh"

LAYERS="base wire parse net render rules run"

layer_rank() { # prints the rank of layer $1, or nothing
	r=0
	for l in $LAYERS; do
		[ "$l" = "$1" ] && { echo $r; return; }
		r=$((r + 1))
	done
}

# Prints "file: includes X/y.h (higher layer)" for each upward include.
upward_includes() {
	for f in "$TOP"/lib/*/*.[ch]; do
		own=$(basename "$(dirname "$f")")
		ro=$(layer_rank "$own")
		[ -n "$ro" ] || { echo "${f#"$TOP"/}: folder '$own' is not a layer"; continue; }
		sed -n 's/^#include "\([a-z]*\)\/[^"]*".*/\1/p' "$f" | while read -r inc; do
			ri=$(layer_rank "$inc")
			if [ -z "$ri" ]; then echo "${f#"$TOP"/}: includes unknown folder $inc/"
			elif [ "$ri" -gt "$ro" ]; then echo "${f#"$TOP"/}: includes $inc/ (a higher layer than $own/)"; fi
		done
	done
}

test_lib_has_only_layer_folders() {
	loose=$(find "$TOP/lib" -maxdepth 1 -type f -name '*.[ch]')
	assertEquals "files directly in lib/ (put them in a layer)" "" "$loose"
}

test_no_include_goes_up_a_layer() {
	assertEquals "" "$(upward_includes)"
}

test_layer_check_catches_an_upward_include() {
	# the check itself must be able to fail: plant one upward include
	f="$TOP/lib/base/zz_layer_probe.h"
	printf '#include "run/tool.h"\n' >"$f"
	out=$(upward_includes)
	rm -f "$f"
	assertContains "$out" "lib/base/zz_layer_probe.h: includes run/"
}

test_banned_functions_stay_out() {
	hits=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|sscanf|strtok|gets)[[:space:]]*\(' \
		"$TOP"/lib/*/*.c "$TOP"/lib/*/*.h "$TOP"/collectors/*.c "$TOP"/core/*.c "$TOP"/sinks/*.c 2>/dev/null |
		grep -v '_test\.c:')
	assertEquals "" "$hits"
}

test_only_lib_run_exits() {
	hits=$(grep -nE '\b(exit|_exit|abort|nro_die)[[:space:]]*\(' \
		"$TOP"/lib/base/*.c "$TOP"/lib/wire/*.c "$TOP"/lib/parse/*.c "$TOP"/lib/net/*.c \
		"$TOP"/lib/render/*.c "$TOP"/lib/rules/*.c 2>/dev/null | grep -v '_test\.c:')
	assertEquals "" "$hits"
}

. shunit2
