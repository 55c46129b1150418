package bench_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"

	"github.com/cachette-go/cachette/bench/client"
	goredis "github.com/redis/go-redis/v9"
)

// redisKeys is how many distinct items the Redis scenario reads and writes.
const redisKeys = 1_000

// redisParallelism is goroutines per GOMAXPROCS in the Redis scenario:
// requests wait on the network, so more than one per core are in flight.
const redisParallelism = 8

// keyPrefix starts the namespace of every system's keys; the benchmark
// removes them when it ends.
const keyPrefix = "cachettebench"

// BenchmarkRedis measures Fetch hits and Put of a ~1 KiB struct (msgpack)
// against the server in CACHETTE_TEST_REDIS_URL, with b.RunParallel and
// redisParallelism goroutines per core. Names: Redis/<Fetch|Put>/parallel/<system>.
func BenchmarkRedis(b *testing.B) {
	url := os.Getenv("CACHETTE_TEST_REDIS_URL")
	if url == "" {
		b.Skip("CACHETTE_TEST_REDIS_URL is not set: no Redis server, Redis scenario skipped")
	}
	ctx := context.Background()
	items := make([]*client.Item, redisKeys)
	keys := make([]string, redisKeys)
	for i := range items {
		items[i] = client.NewItem(i)
		keys[i] = "item:" + strconv.Itoa(i)
	}
	b.Cleanup(func() { dropKeys(b, url) })
	for _, f := range client.RemoteFactories() {
		r, err := f.New(ctx, url, keyPrefix+f.Name)
		if err != nil {
			b.Skipf("redis at %s: %v: Redis scenario skipped", url, err)
		}
		for i, k := range keys {
			if err := r.Set(ctx, k, items[i]); err != nil {
				b.Fatalf("%s: preload: %v", f.Name, err)
			}
		}
		var check client.Item
		if err := r.Get(ctx, keys[7], &check); err != nil || check.Bio != items[7].Bio {
			b.Fatalf("%s: reading back item 7: %v", f.Name, err)
		}
		b.Run("Fetch/parallel/"+f.Name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(redisParallelism)
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					var it client.Item
					if err := r.Get(ctx, keys[i%redisKeys], &it); err != nil {
						b.Errorf("%s: get: %v", f.Name, err)
						return
					}
					i += 7
				}
			})
		})
		b.Run("Put/parallel/"+f.Name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(redisParallelism)
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if err := r.Set(ctx, keys[i%redisKeys], items[i%redisKeys]); err != nil {
						b.Errorf("%s: set: %v", f.Name, err)
						return
					}
					i += 7
				}
			})
		})
		if err := r.Close(); err != nil {
			b.Errorf("%s: close: %v", f.Name, err)
		}
	}
}

// dropKeys removes every key the scenario wrote, and nothing else.
func dropKeys(b *testing.B, url string) {
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return
	}
	rdb := goredis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, keyPrefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			rdb.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		rdb.Unlink(ctx, batch...)
	}
	if err := iter.Err(); err != nil && !errors.Is(err, goredis.ErrClosed) {
		b.Logf("removing benchmark keys: %v", err)
	}
}
