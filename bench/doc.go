// Package bench compares cachette with other Go caches: in-memory Fetch
// and Put, Redis Fetch and Put, HTTP response caching, stampede protection
// and codecs. It is its own Go module, so the peers it measures never enter
// the library's go.mod.
//
// The scenarios are Go benchmarks in this directory (go test -bench . -benchmem)
// and two programs: cmd/httpbench (requests per second and stampedes over
// loopback) and cmd/report (turns the raw output into results/latest.md and
// its charts). scripts/bench.sh at the repository root runs them all; see
// README-section.md.
//
// The in-memory, local-tier and batch scenarios report cpu-ns/op beside
// ns/op: the CPU time the whole benchmark process used per op (every
// goroutine, the GC's included; not a server's). ns/op is wall time, which
// on a shared machine grows with the wait for a CPU and varies from run to
// run far more than cpu-ns/op does (cpu_test.go). cmd/report ignores it.
//
// BenchmarkJSONLib (jsonlib_test.go) compares the JSON libraries behind
// the gojson codec with encoding/json; it is not in the report, and its
// results and the choice they led to are in results/jsonlib.md.
//
// cmd/conformance is the proxy the HTTP caching test suite (cache-tests.fyi)
// measures: httpcache, souin or no cache in front of the suite's origin.
// scripts/conformance.sh runs the suite with it (the suite itself is not in
// this repository); the results are in results/conformance.md.
package bench

import (
	"fmt"
	"math/rand/v2"
)

// ZipfS is the skew of the key popularity in every scenario: a few keys
// are read far more often than the rest, as in real caches.
const ZipfS = 1.01

// Keys returns n distinct keys.
func Keys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%d", i)
	}
	return keys
}

// Trace returns length accesses to keys drawn from a Zipf distribution
// (math/rand/v2), seeded so that every system replays the same trace.
// length must be a power of two, so callers index it with i&(length-1).
func Trace(keys []string, length int) []string {
	if length <= 0 || length&(length-1) != 0 {
		panic("bench: trace length must be a power of two")
	}
	r := rand.New(rand.NewPCG(42, 1))
	z := rand.NewZipf(r, ZipfS, 1, uint64(len(keys)-1))
	t := make([]string, length)
	for i := range t {
		t[i] = keys[z.Uint64()]
	}
	return t
}
