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
echo "deps: npm ci in tests/npm/nats"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
