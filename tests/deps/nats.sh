#!/bin/sh
# The nats.js client tests/sink_nats_test.sh checks sink-nats with: installed
# test-locally into tests/npm/nats/node_modules from its package-lock.json,
# skipped when node_modules already matches the lock file (tests/deps/npm-install).
exec sh "$(dirname "$0")/npm-install" nats @nats-io/transport-node @nats-io/jetstream
