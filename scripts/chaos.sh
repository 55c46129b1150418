#!/usr/bin/env bash
# The fault run (issue 11): the single-server groups, the two clusters and the
# Sentinel groups up, every fault case of internal/chaos under load
# (CACHETTE_CHAOS=1: TestChaos, TestChaosCluster with a primary of each cluster
# killed, TestChaosSentinel), their tables printed, the servers down (always).
# Takes about six minutes. Set CACHETTE_TEST_SERVICES_PORT_OFFSET
# to run beside another set of servers.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

trap 'bash "$root/scripts/services.sh" down redis valkey memcached mongodb dynamodb redis-cluster valkey-cluster redis-sentinel valkey-sentinel' EXIT
bash scripts/services.sh up redis valkey memcached mongodb dynamodb redis-cluster valkey-cluster redis-sentinel valkey-sentinel
# shellcheck disable=SC1091
source .services/env
# internal/chaos is a module of its own (go.uber.org/goleak stays out of the library's go.mod).
cd internal/chaos
CACHETTE_CHAOS=1 go test -count=1 -timeout 20m -v -run 'TestChaos' .
