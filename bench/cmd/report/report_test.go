package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `goos: linux
cpu: Test CPU
note: redis skipped
BenchmarkInMemory/Fetch/parallel/1k/cachette-2   	 1000	 300.0 ns/op	 100.0 hit%	 0 B/op	 0 allocs/op
BenchmarkInMemory/Fetch/parallel/1k/cachette-2   	 1000	 100.0 ns/op	 100.0 hit%	 0 B/op	 0 allocs/op
BenchmarkInMemory/Fetch/parallel/1k/cachette-2   	 1000	 200.0 ns/op	 100.0 hit%	 0 B/op	 0 allocs/op
BenchmarkInMemory/Fetch/parallel/1k/otter-2      	 1000	 150.0 ns/op	 100.0 hit%	 0 B/op	 0 allocs/op
BenchmarkInMemory/Fetch/parallel/1k/go-cache-2   	 1000	 250.0 ns/op	 100.0 hit%	 0 B/op	 0 allocs/op
BenchmarkInMemory/Fetch/parallel/1k/gocache-2    	 1000	 150.0 ns/op	 100.0 hit%	 0 B/op	 0 allocs/op
BenchmarkHTTP/hit/bare	100	10000 ns/op	100000 req/s	0 hit%
BenchmarkHTTP/hit/cachette	100	12000 ns/op	85000 req/s	100 hit%
BenchmarkStampede/cold/cachette	1	100000000 ns/op	2 origin-calls	0 min-gap-ms	500 requests
PASS
ok  	github.com/cachette-go/cachette/bench	1.0s
`

func TestParseMedians(t *testing.T) {
	d, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Config["cpu"]; got != "Test CPU" {
		t.Errorf("cpu = %q", got)
	}
	if len(d.Notes) != 1 || d.Notes[0] != "redis skipped" {
		t.Errorf("notes = %q", d.Notes)
	}
	v, ok := d.value("InMemory/Fetch/parallel/1k", "cachette", "ns/op")
	if !ok || v != 200 {
		t.Errorf("cachette median ns/op = %v, %v; want 200 (median of 300, 100, 200)", v, ok)
	}
	if r := d.scenario("InMemory/Fetch/parallel/1k").result("go-cache"); r == nil {
		t.Error(`system "go-cache" lost its name (only a -N GOMAXPROCS suffix may be cut)`)
	}
	if got := len(d.scenario("InMemory/Fetch/parallel/1k").Results); got != 4 {
		t.Errorf("%d systems, want 4", got)
	}
}

func TestParseRejectsBadValue(t *testing.T) {
	_, err := parse(strings.NewReader("BenchmarkX/y 10 abc ns/op\n"))
	if err == nil {
		t.Fatal("no error for a non-numeric value")
	}
}

func TestGoals(t *testing.T) {
	d, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]string{}
	for _, g := range goals(d) {
		verdicts[g.Goal] = g.verdict()
	}
	want := map[string]string{
		"in-memory parallel Fetch hit (1k keys) within 2x of otter":           "met",        // 200 <= 2*150
		"in-memory parallel Fetch hit (1k keys) faster than go-cache":         "met",        // 200 <= 250
		"in-memory parallel Fetch hit (1k keys) faster than gocache":          "**MISSED**", // 200 > 150
		"httpcache HIT at least 0.8x the req/s of the bare handler":           "met",        // 0.85
		"httpcache HIT ahead of souin in req/s":                               "not measured",
		"stampede (cold key, 500 concurrent requests): exactly 1 origin call": "**MISSED**",
		"Redis parallel Fetch hit within 1.10x of raw go-redis":               "not measured",
	}
	for g, v := range want {
		if verdicts[g] != v {
			t.Errorf("%s: %q, want %q", g, verdicts[g], v)
		}
	}
}

func TestRunWritesReportAndCharts(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "raw.txt")
	if err := os.WriteFile(in, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(in, dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "latest.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| **cachette** | 200 |", "inmemory-fetch.png", "**MISSED**", "Test CPU"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("latest.md lacks %q", want)
		}
	}
	for _, png := range []string{"inmemory-fetch.png", "http.png", "stampede.png"} {
		b, err := os.ReadFile(filepath.Join(dir, png))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.HasPrefix(string(b), "\x89PNG") {
			t.Errorf("%s is not a PNG", png)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "redis.png")); err == nil {
		t.Error("redis.png written without Redis results")
	}
}

func TestRunNoResults(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "raw.txt")
	if err := os.WriteFile(in, []byte("PASS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(in, dir); err == nil {
		t.Fatal("no error for output without benchmarks")
	}
}
