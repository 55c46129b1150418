package otelcache_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/backendtest"
	_ "github.com/cachette-go/cachette/backends/redis"
)

// TestRedisStoreCalls: on a real Redis (a private server, so that it can
// be stopped), store calls are recorded as db.system.name=redis, and a
// call to a server that went away is a store error with its error.type.
func TestRedisStoreCalls(t *testing.T) {
	path := backendtest.RequireBinary(t, "redis-server")
	addr, port := backendtest.FreeAddr(t)
	srv := backendtest.StartServer(t, addr, path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())

	h := newHarness(t)
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{Backend: "redis", RedisURL: "redis://" + addr, Prefix: "otel",
		Timeout: 2 * time.Second, Observer: h.obs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s string
	if err := c.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := c.Fetch(ctx, "k", &s); err != nil || s != "v" {
		t.Fatalf("Fetch = %q, %v", s, err)
	}
	if err := c.Fetch(ctx, "absent", &s); !errors.Is(err, cachette.ErrNotFound) {
		t.Fatal(err)
	}
	srv.Stop()
	if err := c.Fetch(ctx, "k", &s); err == nil || errors.Is(err, cachette.ErrNotFound) {
		t.Fatalf("Fetch from a stopped server: %v", err)
	}

	got := h.points(t)
	const d = "db.client.operation.duration{db.operation.name="
	if got[d+"set,db.system.name=redis}"] != 1 || got[d+"get,db.system.name=redis}"] != 2 {
		t.Fatalf("metrics:\n%s", dump(got))
	}
	failed := 0
	for k, n := range got {
		if strings.HasPrefix(k, d+"get,db.system.name=redis,error.type=") {
			failed += int(n)
		}
	}
	if failed != 1 || got["cachette.lookups{cachette.lookup.result=error}"] != 1 || got["cachette.lookups{cachette.lookup.result=hit}"] != 1 {
		t.Fatalf("metrics:\n%s", dump(got))
	}
	t.Logf("store error recorded as:\n%s", dump(got))
}
