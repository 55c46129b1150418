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

// TestTrackingFollowsFailover: after a failover, the invalidations of
// writes on the new master reach a subscriber, with the old master kept a
// master (backendtest.TrackingFollowsFailover, on a primary, a replica and
// a sentinel of the test's own).
func TestTrackingFollowsFailover(t *testing.T) {
	backendtest.TrackingFollowsFailover(t, "redis-server",
		func(sentinel, master string) string { return "redis://" + sentinel + "/0?master_name=" + master },
		func(t *testing.T, url, prefix string) backendtest.TrackingStore { return open(t, url, prefix) })
}
