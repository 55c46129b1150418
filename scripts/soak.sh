#!/usr/bin/env bash
# The soak run (issue 11): redis up, TestSoak of internal/chaos (a mixed workload
# on the in-memory store and on redis, CACHETTE_SOAK_DURATION long, 10m by default;
# heap within budget, no goroutine left after the caches are closed (goleak), no error but
# injected ones),
# redis down (always).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

trap 'bash "$root/scripts/services.sh" down redis' EXIT
bash scripts/services.sh up redis
# shellcheck disable=SC1091
source .services/env
# internal/chaos is a module of its own (go.uber.org/goleak stays out of the library's go.mod).
cd internal/chaos
CACHETTE_SOAK=1 go test -count=1 -timeout 60m -v -run 'TestSoak' .
