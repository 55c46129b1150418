# cachette — developer targets. `make test` is what CI runs.
GO        ?= go
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 20000x
BENCHTIME ?= 300ms

.PHONY: test test-short lint vet fuzz bench conformance services-up services-down services-status examples run chaos soak

## test: start the servers, lint, run every test with -race (servers required), fuzz briefly, stop the servers
test:
	bash scripts/test.sh

## test-short: go test without servers (server tests skip with a message)
test-short:
	$(GO) test -race ./...
	cd examples/routers && $(GO) vet ./... && $(GO) test -race ./...
	cd otelcache && $(GO) vet ./... && $(GO) test -race ./...
	cd cmd/cachette && $(GO) vet ./... && $(GO) test -race ./...
	cd internal/chaos && $(GO) vet ./... && $(GO) test -race ./...

## lint: go vet and staticcheck
lint: vet
	$(STATICCHECK) ./...
	cd examples/routers && $(GO) vet ./... && $(STATICCHECK) ./...
	cd otelcache && $(GO) vet ./... && $(STATICCHECK) ./...
	cd cmd/cachette && $(GO) vet ./... && $(STATICCHECK) ./...
	cd internal/chaos && $(GO) vet ./... && $(STATICCHECK) ./...

vet:
	$(GO) vet ./...

## fuzz: run every fuzz target of scripts/fuzz-targets.txt for FUZZTIME each (a count like 20000x, or a duration like 30s)
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

## bench: library benchmarks (servers from `make services-up` when available)
bench:
	bash scripts/bench.sh $(BENCHTIME)

## conformance: the HTTP caching test suite (not in this repository; CACHE_TESTS=its directory) against httpcache, souin and no cache
conformance:
	bash scripts/conformance.sh

## chaos: kill -9, SIGSTOP and pool-member faults under load on every single-server backend, and a primary killed in each cluster; prints the tables (docs/reliability.md)
chaos:
	bash scripts/chaos.sh

## soak: a 10-minute mixed workload on the in-memory store and redis (CACHETTE_SOAK_DURATION to change): heap, goroutines, errors
soak:
	bash scripts/soak.sh

## run: the HTTP caching example on the in-memory default, on :8080 or $$ADDR
run:
	$(GO) run ./examples/httpcache

services-up:
	bash scripts/services.sh up

services-down:
	bash scripts/services.sh down

services-status:
	bash scripts/services.sh status
