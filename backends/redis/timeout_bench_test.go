package redis_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/redis"
)

// BenchmarkGetTimeout measures a Get hit with and without the per-call
// deadline (WithTimeout), to show what the deadline's context costs.
func BenchmarkGetTimeout(b *testing.B) {
	url := backendtest.ServerEnv(b, "CACHETTE_TEST_REDIS_URL")
	o, err := goredis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	o.ContextTimeoutEnabled = true
	client := goredis.NewClient(o)
	defer client.Close()
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		opts []redis.Option
	}{{"none", nil}, {"timeout", []redis.Option{redis.WithTimeout(time.Second)}}} {
		s, err := redis.NewFromClient(client, "benchtimeout", bc.opts...)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Set(ctx, "k", []byte("value"), time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := s.Get(ctx, "k"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
