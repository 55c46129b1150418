#!/usr/bin/env bash
# The whole check: servers up, vet, staticcheck, go test -race with every
# server required, a short fuzz of every target, servers down (always).
set -euo pipefail
cd "$(dirname "$0")/.."

# Set before `up`, so that servers a failed `up` did start are stopped too.
trap 'bash scripts/services.sh down' EXIT
bash scripts/services.sh up
# shellcheck disable=SC1091
source .services/env
export CACHETTE_TEST_SERVICES_REQUIRED=1

echo "== go vet"
go vet ./...
echo "== staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
echo "== examples/routers (its own module): go vet, staticcheck, go test -race"
(cd examples/routers && go vet ./... && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./... && go test -race -count=1 ./...)
echo "== otelcache (its own module): go vet, staticcheck, go test -race"
(cd otelcache && go vet ./... && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./... && go test -race -count=1 ./...)
echo "== cmd/cachette (its own module): go vet, staticcheck, go test -race"
(cd cmd/cachette && go vet ./... && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./... && go test -race -count=1 ./...)
echo "== internal/chaos (its own module, for goleak): go vet, staticcheck, go test -race (TestShortFaults, TestNoLeaks)"
(cd internal/chaos && go vet ./... && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./... && go test -race -count=1 -timeout 20m ./...)
echo "== fuzz (${FUZZTIME:-20000x} per target)"
bash scripts/fuzz.sh "${FUZZTIME:-20000x}"
echo "== all checks passed"
