package redis_test

import (
	"testing"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/redis"
)

const envTLSURL = "CACHETTE_TEST_REDIS_TLS_URL"

func openTLS(t testing.TB, rawURL, caFile, prefix string) (*redis.Store, error) {
	t.Helper()
	s, err := redis.Open(backendtest.Ctx(t), backends.Settings{
		Prefix: prefix,
		Values: backends.Values{"redis_url": rawURL, "tls_ca_file": caFile},
	})
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// TestTLS: the conformance suite over rediss://, against the redis of the
// tls group of scripts/services.sh, trusting the test CA through
// tls_ca_file; a server whose certificate a CA the client does not trust
// signed is refused, saying so; a CA file with a plain redis:// URL is an
// error (backendtest.TLSURLStore).
func TestTLS(t *testing.T) {
	backendtest.TLSURLStore(t, envTLSURL, "redis://127.0.0.1:1", func(t testing.TB, rawURL, caFile, prefix string) (backends.Backend, error) {
		return openTLS(t, rawURL, caFile, prefix)
	})
}

// The key, read by LoadConfig, reaches the store through cachette.New.
func TestTLSThroughConfig(t *testing.T) {
	u, ca := backendtest.TLSServerEnv(t, envTLSURL)
	cfg, err := cachette.LoadConfig([][2]string{
		{"backend", "redis"}, {"redis_url", u}, {"tls_ca_file", ca}, {"prefix", backendtest.NewPrefix()},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := backendtest.Ctx(t)
	c, err := cachette.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Put(ctx, "greeting", "hello"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := c.Fetch(ctx, "greeting", &got); err != nil || got != "hello" {
		t.Fatalf("Fetch = %q, %v", got, err)
	}
}
