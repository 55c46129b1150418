package bench_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"strconv"
	"testing"

	"github.com/cachette-go/cachette"
	_ "github.com/cachette-go/cachette/backends/redis"
)

// signingBenchKey is the SigningKey of the signed runs (any 32 bytes).
const signingBenchKey = "bench-signing-key-0123456789abcdef"

// BenchmarkSigning measures what Config.SigningKey costs per Fetch (and
// per Put) of a 1 KiB []byte value (vanilla codec, compression disabled so
// that only signing differs), one goroutine, in memory and on the Redis of
// CACHETTE_TEST_REDIS_URL. Names:
// Signing/<Fetch|Put>/store=<inmemory|redis>/signing=<off|on>, so that
// `benchstat -col /signing` sets the two side by side. Results:
// results/signing.md.
func BenchmarkSigning(b *testing.B) {
	ctx := context.Background()
	const nkeys = 1024
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = "sig:" + strconv.Itoa(i)
	}
	value := make([]byte, 1024)
	_, _ = rand.Read(value)

	stores := []struct {
		name string
		cfg  func(b *testing.B) cachette.Config
	}{
		{"inmemory", func(*testing.B) cachette.Config { return cachette.Config{} }},
		{"redis", func(b *testing.B) cachette.Config {
			url := os.Getenv("CACHETTE_TEST_REDIS_URL")
			if url == "" {
				b.Skip("CACHETTE_TEST_REDIS_URL is not set: no Redis server, Redis runs skipped")
			}
			return cachette.Config{Backend: "redis", RedisURL: url}
		}},
	}
	for _, st := range stores {
		for _, mode := range []string{"off", "on"} {
			open := func(b *testing.B) *cachette.Cache {
				cfg := st.cfg(b)
				cfg.Prefix = keyPrefix + "signing" + mode
				cfg.Compression = "disabled"
				cfg.Logger = slog.New(slog.DiscardHandler)
				if mode == "on" {
					cfg.SigningKey = signingBenchKey
				}
				c, err := cachette.New(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() {
					_ = c.Flush(ctx)
					_ = c.Close()
				})
				for _, k := range keys {
					if err := c.Put(ctx, k, value); err != nil {
						b.Fatal(err)
					}
				}
				return c
			}
			b.Run("Fetch/store="+st.name+"/signing="+mode, func(b *testing.B) {
				c := open(b)
				b.ReportAllocs()
				b.SetBytes(int64(len(value)))
				i := 0
				for b.Loop() {
					var v []byte
					if err := c.Fetch(ctx, keys[i%nkeys], &v); err != nil || len(v) != len(value) {
						b.Fatalf("fetch: %d bytes, %v", len(v), err)
					}
					i++
				}
			})
			b.Run("Put/store="+st.name+"/signing="+mode, func(b *testing.B) {
				c := open(b)
				b.ReportAllocs()
				b.SetBytes(int64(len(value)))
				i := 0
				for b.Loop() {
					if err := c.Put(ctx, keys[i%nkeys], value); err != nil {
						b.Fatalf("put: %v", err)
					}
					i++
				}
			})
		}
	}
}
