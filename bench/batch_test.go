package bench_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/redis"
	"github.com/cachette-go/cachette/bench/client"
	goredis "github.com/redis/go-redis/v9"
)

// batchKeys is how many keys one batch reads.
const batchKeys = 100

// BenchmarkBatchRedis compares reading 100 keys (~1 KiB msgpack structs)
// from the server in CACHETTE_TEST_REDIS_URL with one FetchMany against 100
// sequential Fetches, on one goroutine; one op is the whole 100 keys.
// The same is done with 100-byte strings (vanilla codec), where decoding
// costs next to nothing and the round trips are all that differ.
// Names: BatchRedis/<FetchMany|SequentialFetch>/100 and .../100/string.
func BenchmarkBatchRedis(b *testing.B) {
	url := os.Getenv("CACHETTE_TEST_REDIS_URL")
	if url == "" {
		b.Skip("CACHETTE_TEST_REDIS_URL is not set: no Redis server, batch scenario skipped")
	}
	ctx := context.Background()
	opt, err := goredis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	rdb := goredis.NewClient(opt)
	defer rdb.Close()
	store, err := redis.NewFromClient(rdb, keyPrefix+"batch")
	if err != nil {
		b.Fatal(err)
	}
	c, err := cachette.NewWithBackend(store, cachette.Config{Codec: "msgpack", TTL: client.TTL})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.Cleanup(func() { dropKeys(b, url) })

	items := For(c)
	keys := make([]string, batchKeys)
	values := make(map[string]client.Item, batchKeys)
	for i := range keys {
		keys[i] = "item:" + strconv.Itoa(i)
		values[keys[i]] = *client.NewItem(i)
	}
	if err := items.PutMany(ctx, values); err != nil {
		b.Fatal(err)
	}

	b.Run("FetchMany/100", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuStart()
		for b.Loop() {
			got, err := items.FetchMany(ctx, keys)
			if err != nil || len(got) != batchKeys {
				b.Fatalf("FetchMany = %d values, %v", len(got), err)
			}
		}
		reportCPU(b, cpu)
	})
	b.Run("SequentialFetch/100", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuStart()
		for b.Loop() {
			for _, k := range keys {
				if _, err := items.Fetch(ctx, k); err != nil {
					b.Fatalf("Fetch(%s) = %v", k, err)
				}
			}
		}
		reportCPU(b, cpu)
	})

	plain, err := cachette.NewWithBackend(store, cachette.Config{TTL: client.TTL})
	if err != nil {
		b.Fatal(err)
	}
	strs := cachette.For[string](plain)
	svals := make(map[string]string, batchKeys)
	for _, k := range keys {
		svals["s"+k] = strconv.Quote(k) + string(make([]byte, 90))
	}
	skeys := make([]string, 0, batchKeys)
	for k := range svals {
		skeys = append(skeys, k)
	}
	if err := strs.PutMany(ctx, svals); err != nil {
		b.Fatal(err)
	}
	b.Run("FetchMany/100/string", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuStart()
		for b.Loop() {
			if got, err := strs.FetchMany(ctx, skeys); err != nil || len(got) != batchKeys {
				b.Fatalf("FetchMany = %d values, %v", len(got), err)
			}
		}
		reportCPU(b, cpu)
	})
	b.Run("SequentialFetch/100/string", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuStart()
		for b.Loop() {
			for _, k := range skeys {
				if _, err := strs.Fetch(ctx, k); err != nil {
					b.Fatalf("Fetch(%s) = %v", k, err)
				}
			}
		}
		reportCPU(b, cpu)
	})
}

// For is cachette.For for the benchmark's item type.
func For(c *cachette.Cache) cachette.Typed[client.Item] { return cachette.For[client.Item](c) }
