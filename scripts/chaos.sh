#!/usr/bin/env bash
# The fault run (issue 11): the single-server groups and the two clusters up,
# every fault case of internal/chaos under load (CACHETTE_CHAOS=1: TestChaos,
# then TestChaosCluster, a primary of each cluster killed), their tables
# printed, the servers down (always). Takes about four minutes. Set CACHETTE_TEST_SERVICES_PORT_OFFSET
# to run beside another set of servers.
set -euo pipefail
cd "$(dirname "$0")/.."

trap 'bash scripts/services.sh down redis valkey memcached mongodb dynamodb redis-cluster valkey-cluster' EXIT
bash scripts/services.sh up redis valkey memcached mongodb dynamodb redis-cluster valkey-cluster
# shellcheck disable=SC1091
source .services/env
CACHETTE_CHAOS=1 go test -count=1 -timeout 20m -v -run 'TestChaos' ./internal/chaos
