package redis_test

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
)

// envSentinel is the redis-sentinel group of scripts/services.sh: three
// sentinels watching a primary and its replica, as master "cachette".
const envSentinel = "CACHETTE_TEST_REDIS_SENTINEL_URL"

// TestConformanceSentinelGroup runs the suite through the three sentinels
// of scripts/services.sh, in the URL form of the package documentation.
// (internal/chaos fails a deployment of its own over under load.)
func TestConformanceSentinelGroup(t *testing.T) {
	u := backendtest.ServerEnv(t, envSentinel)
	s := open(t, u, backendtest.NewPrefix())
	if c, ok := s.Client().(*goredis.Client); !ok || c.Options().Addr != "FailoverClient" {
		t.Fatalf("%s gave a %T, want a failover client", envSentinel, s.Client())
	}
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend { return open(t, u, prefix) })
}
