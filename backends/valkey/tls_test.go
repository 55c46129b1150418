package valkey_test

import (
	"testing"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/valkey"
)

const envTLSURL = "CACHETTE_TEST_VALKEY_TLS_URL"

func openTLS(t testing.TB, rawURL, caFile, prefix string) (*valkey.Store, error) {
	t.Helper()
	s, err := valkey.Open(backendtest.Ctx(t), backends.Settings{
		Prefix: prefix,
		Values: backends.Values{"valkey_url": rawURL, "tls_ca_file": caFile},
	})
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// TestTLS: the conformance suite over valkeys://, against the valkey of the
// tls group of scripts/services.sh, trusting the test CA through
// tls_ca_file; a server whose certificate a CA the client does not trust
// signed is refused, saying so; a CA file with a plain valkey:// URL is an
// error (backendtest.TLSURLStore).
func TestTLS(t *testing.T) {
	backendtest.TLSURLStore(t, envTLSURL, "valkey://127.0.0.1:1", func(t testing.TB, rawURL, caFile, prefix string) (backends.Backend, error) {
		return openTLS(t, rawURL, caFile, prefix)
	})
}

// The key, read by LoadConfig, reaches the store through cachette.New.
func TestTLSThroughConfig(t *testing.T) {
	u, ca := backendtest.TLSServerEnv(t, envTLSURL)
	cfg, err := cachette.LoadConfig([][2]string{
		{"backend", "valkey"}, {"valkey_url", u}, {"tls_ca_file", ca}, {"prefix", backendtest.NewPrefix()},
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
