#!/bin/sh
# Installs what node-runtime-observer needs, skipping what is already there,
# so `make test` and `make demo` work on a fresh machine:
#   tests/deps/*.pkgs  Debian packages (one file per feature, '#' comments)
#   tests/deps/*.sh    extra steps run after apt (e.g. test-local npm packages)
set -eu
cd "$(dirname "$0")/.."

PKGS=$(cat tests/deps/*.pkgs | sed 's/#.*//')

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	SUDO=""
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || { echo "deps: need root (or sudo) to install:$missing" >&2; exit 1; }
		SUDO=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	# one apt at a time: parallel test runs may install at once
	exec 9>"${TMPDIR:-/tmp}/nro-deps.lock"
	flock 9
	$SUDO apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
	echo "deps: done"
fi

for hook in tests/deps/*.sh; do
	[ -f "$hook" ] || continue
	sh "$hook"
done
