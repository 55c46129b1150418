package valkey_test

import (
	"testing"

	valkeygo "github.com/valkey-io/valkey-go"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
)

// envSentinel is the valkey-sentinel group of scripts/services.sh: three
// sentinels watching a primary and its replica, as master "cachette".
const envSentinel = "CACHETTE_TEST_VALKEY_SENTINEL_URL"

// TestConformanceSentinelGroup runs the suite through the three sentinels
// of scripts/services.sh, in the URL form of the package documentation.
// (internal/chaos fails a deployment of its own over under load.)
func TestConformanceSentinelGroup(t *testing.T) {
	u := backendtest.ServerEnv(t, envSentinel)
	s := open(t, u, backendtest.NewPrefix())
	if m := s.Client().Mode(); m != valkeygo.ClientModeSentinel {
		t.Fatalf("client mode %s, want sentinel", m)
	}
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend { return open(t, u, prefix) })
}
