package bench_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maypok86/otter/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette"
	_ "github.com/cachette-go/cachette/backends/redis"
	_ "github.com/cachette-go/cachette/backends/valkey"
)

// localKeys is how many distinct 1 KiB values the local-tier scenario reads.
const localKeys = 1_000

var localValue = strings.Repeat("x", 1024)

// BenchmarkLocalTier compares, in one run, a read of one 1 KiB value
// through cachette's local tier on the redis backend with otter's
// GetIfPresent (the library under the local tier, no decode, no copy) and
// with go-redis's own client-side cache (RESP3 tracking) and plain GET, on
// the server in CACHETTE_TEST_REDIS_URL. b.RunParallel with GOMAXPROCS
// goroutines. Names: LocalTier/<system>.
func BenchmarkLocalTier(b *testing.B) {
	url := os.Getenv("CACHETTE_TEST_REDIS_URL")
	if url == "" {
		b.Skip("CACHETTE_TEST_REDIS_URL is not set: local-tier scenario skipped")
	}
	ctx := context.Background()
	keys := make([]string, localKeys)
	for i := range keys {
		keys[i] = "item:" + strconv.Itoa(i)
	}

	b.Run("otter-GetIfPresent", func(b *testing.B) {
		c := otter.Must(&otter.Options[string, []byte]{MaximumSize: 10 * localKeys})
		defer c.StopAllGoroutines()
		for _, k := range keys {
			c.Set(k, []byte(localValue))
		}
		b.ReportAllocs()
		b.ResetTimer() // the setup above (writes, fills, sleeps) is not the hit
		cpu := cpuStart()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok := c.GetIfPresent(keys[i%localKeys]); !ok {
					b.Error("miss")
					return
				}
				i += 7
			}
		})
		reportCPU(b, cpu)
	})

	b.Run("cachette-redis-local", func(b *testing.B) {
		c, err := cachette.New(ctx, cachette.Config{Backend: "redis", RedisURL: url, Prefix: keyPrefix + "local", LocalEntries: 10 * localKeys, LocalTTL: time.Hour})
		if err != nil {
			b.Skip(err)
		}
		defer func() { c.Flush(ctx); c.Close() }()
		for _, k := range keys {
			if err := c.Put(ctx, k, localValue, cachette.WithTTL(time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
		// Fill the local tier (a key's own write may be reported back
		// once and drop it again: read until every key is local).
		for range 3 {
			for _, k := range keys {
				var s string
				if err := c.Fetch(ctx, k, &s); err != nil {
					b.Fatal(err)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		b.ReportAllocs()
		b.ResetTimer() // the setup above (writes, fills, sleeps) is not the hit
		cpu := cpuStart()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			var s string
			for pb.Next() {
				if err := c.Fetch(ctx, keys[i%localKeys], &s); err != nil {
					b.Error(err)
					return
				}
				i += 7
			}
		})
		reportCPU(b, cpu)
	})

	goRedis := func(name string, csc bool) {
		b.Run(name, func(b *testing.B) {
			opt, err := goredis.ParseURL(url)
			if err != nil {
				b.Fatal(err)
			}
			opt.Protocol = 3
			if csc {
				opt.ClientSideCacheConfig = &goredis.ClientSideCacheConfig{MaxEntries: 10 * localKeys}
			}
			rdb := goredis.NewClient(opt)
			defer rdb.Close()
			prefix := keyPrefix + "csc:"
			for _, k := range keys {
				if err := rdb.Set(ctx, prefix+k, localValue, time.Hour).Err(); err != nil {
					b.Fatal(err)
				}
			}
			defer func() {
				for _, k := range keys {
					rdb.Del(ctx, prefix+k)
				}
			}()
			for range 2 {
				for _, k := range keys {
					if err := rdb.Get(ctx, prefix+k).Err(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer() // the setup above (writes, fills, sleeps) is not the hit
			cpu := cpuStart()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := rdb.Get(ctx, prefix+keys[i%localKeys]).Result(); err != nil {
						b.Error(err)
						return
					}
					i += 7
				}
			})
			reportCPU(b, cpu)
		})
	}
	goRedis("goredis-csc", true)
	goRedis("goredis-get", false)
}

// lastLookup is an Observer that keeps the outcome of the last lookup.
type lastLookup struct {
	cachette.NopObserver
	mu sync.Mutex
	r  cachette.LookupResult
}

func (o *lastLookup) Lookup(_ context.Context, _ string, r cachette.LookupResult) {
	o.mu.Lock()
	o.r = r
	o.mu.Unlock()
}

func (o *lastLookup) last() cachette.LookupResult {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.r
}

// TestInvalidationDelay measures how long a write through one cache takes
// to reach another cache's local tier (two caches, each with its own
// connections, as two processes would have): cache B Puts a new value and
// cache A, which holds the old one in its local tier, Fetches in a loop
// until it sees the new one. It logs the delay from the start of B's Put
// and from its return (the write acknowledged), p50/p99/max over
// CACHETTE_BENCH_INVALIDATION_SAMPLES writes (default 1000), on redis and
// valkey. Run with -v; it asserts nothing about time.
func TestInvalidationDelay(t *testing.T) {
	samples := 1000
	if s := os.Getenv("CACHETTE_BENCH_INVALIDATION_SAMPLES"); s != "" {
		samples, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		samples = 50
	}
	targets := []struct{ name, env string }{
		{"redis", "CACHETTE_TEST_REDIS_URL"},
		{"valkey", "CACHETTE_TEST_VALKEY_URL"},
		{"redis-cluster", "CACHETTE_TEST_REDIS_CLUSTER"},
		{"valkey-cluster", "CACHETTE_TEST_VALKEY_CLUSTER"},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			url := os.Getenv(tg.env)
			if url == "" {
				t.Skip(tg.env + " is not set")
			}
			backend := strings.Split(tg.name, "-")[0]
			ctx := context.Background()
			cfg := cachette.Config{Backend: backend, RedisURL: url, ValkeyURL: url, Prefix: keyPrefix + "inval"}
			if backend == "redis" {
				cfg.ValkeyURL = ""
			} else {
				cfg.RedisURL = ""
			}
			o := &lastLookup{}
			ca := cfg
			ca.LocalEntries, ca.LocalTTL, ca.Observer = 100, time.Hour, o
			a, err := cachette.New(ctx, ca)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			bc, err := cachette.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { bc.Flush(ctx); bc.Close() }()

			var fromStart, fromAck []time.Duration
			for i := range samples {
				want := "v" + strconv.Itoa(i)
				if err := bc.Put(ctx, "k", want); err != nil {
					t.Fatal(err)
				}
				// Wait until A serves the value from its local tier.
				deadline := time.Now().Add(5 * time.Second)
				for {
					var s string
					if err := a.Fetch(ctx, "k", &s); err == nil && s == want && o.last() == cachette.LookupLocalHit {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("A never served the value locally")
					}
					time.Sleep(100 * time.Microsecond)
				}
				next := "w" + strconv.Itoa(i)
				start := time.Now()
				if err := bc.Put(ctx, "k", next); err != nil {
					t.Fatal(err)
				}
				acked := time.Now()
				for {
					var s string
					if err := a.Fetch(ctx, "k", &s); err != nil {
						t.Fatal(err)
					}
					if s == next {
						break
					}
					if time.Since(start) > 5*time.Second {
						t.Fatal("A never saw B's write")
					}
					runtime.Gosched()
				}
				seen := time.Now()
				fromStart = append(fromStart, seen.Sub(start))
				fromAck = append(fromAck, seen.Sub(acked))
			}
			t.Logf("%s: %d writes; from the start of Put: %s; after Put returned: %s", tg.name, samples, quantiles(fromStart), quantiles(fromAck))
		})
	}
}

func quantiles(d []time.Duration) string {
	slices.Sort(d)
	q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return fmt.Sprintf("p50 %v, p99 %v, max %v", q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond), d[len(d)-1].Round(time.Microsecond))
}
