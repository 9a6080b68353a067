#!/bin/sh
# The nats.js client tests/sink_nats_test.sh checks sink-nats with: installed
# test-locally into tests/npm/nats/node_modules from its package-lock.json,
# skipped when node_modules already matches the lock file.
set -eu
cd "$(dirname "$0")/../npm/nats"
if [ -f node_modules/.package-lock.json ] &&
	[ node_modules/.package-lock.json -nt package-lock.json ] &&
	[ -d node_modules/@nats-io/transport-node ] && [ -d node_modules/@nats-io/jetstream ]; then
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	# Debian's nodejs comes without npm (NodeSource's has it built in)
	echo "deps: installing: npm"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	exec 9>"${TMPDIR:-/tmp}/nro-deps.lock"
	flock 9
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends npm >/dev/null
	exec 9>&-
fi
echo "deps: npm ci in tests/npm/nats"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
