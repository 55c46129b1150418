package crosstest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	_ "github.com/cachette-go/cachette/backends/dynamodb"
	_ "github.com/cachette-go/cachette/backends/memcached"
	_ "github.com/cachette-go/cachette/backends/mongodb"
	_ "github.com/cachette-go/cachette/backends/redis"
	_ "github.com/cachette-go/cachette/backends/valkey"

	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/codecs/arrow/arrowtest"
)

// storeTimeout bounds each store call in these tests: the servers share a
// busy 2-core machine with the whole test run, and DynamoDB Local is one JVM
// process; a 5 s default can run out without anything being wrong.
const storeTimeout = 30 * time.Second

// backendConfigs returns a Config for every backend of SPEC.md, pointed at
// the test servers; a missing server skips (or, under `make test`, fails).
func backendConfigs(t *testing.T) map[string]func(t *testing.T) cachette.Config {
	prefix := strings.ReplaceAll(backendtest.NewPrefix(), ":", "")
	return map[string]func(t *testing.T) cachette.Config{
		"inmemory": func(t *testing.T) cachette.Config { return cachette.Config{Prefix: prefix, Timeout: storeTimeout} },
		"gob": func(t *testing.T) cachette.Config {
			return cachette.Config{Backend: "gob", PicklePath: t.TempDir(), Prefix: prefix, Timeout: storeTimeout}
		},
		"redis": func(t *testing.T) cachette.Config {
			return cachette.Config{Backend: "redis", RedisURL: backendtest.ServerEnv(t, "CACHETTE_TEST_REDIS_URL"), Prefix: prefix, Timeout: storeTimeout}
		},
		"valkey": func(t *testing.T) cachette.Config {
			return cachette.Config{Backend: "valkey", ValkeyURL: backendtest.ServerEnv(t, "CACHETTE_TEST_VALKEY_URL"), Prefix: prefix, Timeout: storeTimeout}
		},
		"memcached": func(t *testing.T) cachette.Config {
			return cachette.Config{Backend: "memcached", MemcachedHost: backendtest.ServerEnv(t, "CACHETTE_TEST_MEMCACHED_HOST"), Prefix: prefix, Timeout: storeTimeout}
		},
		"mongodb": func(t *testing.T) cachette.Config {
			return cachette.Config{Backend: "mongodb", MongoDBURL: backendtest.ServerEnv(t, "CACHETTE_TEST_MONGODB_URL"), Prefix: prefix, Timeout: storeTimeout}
		},
		"dynamodb": func(t *testing.T) cachette.Config {
			return cachette.Config{Backend: "dynamodb", DynamoDBURL: backendtest.ServerEnv(t, "CACHETTE_TEST_DYNAMODB_URL"),
				TableName: "cachette-crosstest", Prefix: prefix, Timeout: storeTimeout}
		},
	}
}

// TestArrowOnEveryBackend round-trips the upstream one-hot frame and a
// mixed-type table with both Arrow codecs on every backend.
func TestArrowOnEveryBackend(t *testing.T) {
	for backend, cfgFor := range backendConfigs(t) {
		for _, codec := range []string{"feather", "parquet"} {
			t.Run(backend+"/"+codec, func(t *testing.T) {
				cfg := cfgFor(t)
				cfg.Codec = codec
				ctx := context.Background()
				c, err := cachette.New(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				defer c.Flush(ctx)
				arrowtest.AssertRoundTrip(t, c)
			})
		}
	}
}
