// Package chaos holds fault tests: a steady load runs through
// cachette.GetOrLoad and an httpcache handler (each with and without
// stale-if-error) while a store server is killed with SIGKILL and started
// again, or paused with SIGSTOP for longer than the timeouts and resumed.
// Every value encodes its key, so a wrong or foreign value is counted.
//
// The full set (every backend, through scripts/services.sh) runs with
// CACHETTE_CHAOS=1, as `make chaos` does, and prints a table; the figures
// of one run are in docs/reliability.md. A short case on a private
// redis-server of its own runs in `make test` (CACHETTE_TEST_SERVICES_REQUIRED=1).
//
// sentinel_test.go fails Sentinel deployments over (forced, with the old
// master kept a master, and on a paused primary) under the same load and
// checks that a local tier follows the new master: TestSentinelFailover on
// private deployments in `make test`, TestChaosSentinel on the sentinel
// groups of scripts/services.sh in `make chaos`.
//
// The cluster cases (cluster_test.go) kill a primary of a Redis and a
// Valkey cluster under the same load, wait for its replica's promotion and
// check the local tier's tracking follows the new primary:
// TestChaosCluster in the full run, TestClusterFailoverShort on private
// clusters in `make test`.
//
// Leaks: every run of the package ends with goleak's check that no
// goroutine is left (TestMain), and TestNoLeaks opens a cache on each store
// at hand (the in-memory and gob stores always, the network ones whose
// CACHETTE_TEST_* variable is set), uses what starts goroutines or holds
// connections (background refreshes, the local tier and its invalidations,
// batches, tags, httpcache), closes it and checks that nothing of it runs
// any more. TestSoak checks the same after its long run.
//
// It is a Go module of its own (go.uber.org/goleak stays out of the
// library's go.mod): run it from this directory, `go test -race ./...`;
// `go test ./...` at the repository root does not reach it. The package
// has no code of its own.
package chaos
