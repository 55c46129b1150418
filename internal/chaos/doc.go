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
// The cluster cases (cluster_test.go) kill a primary of a Redis and a
// Valkey cluster under the same load, wait for its replica's promotion and
// check the local tier's tracking follows the new primary:
// TestChaosCluster in the full run, TestClusterFailoverShort on private
// clusters in `make test`.
// The package has no code of its own.
package chaos
