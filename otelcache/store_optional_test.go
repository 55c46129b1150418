package otelcache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/inmemory"
	_ "github.com/cachette-go/cachette/backends/valkey"
)

// realTargets are the configurations of the test servers (scripts/services.sh).
func realTargets(t *testing.T) map[string]cachette.Config {
	env := func(name string) string {
		v := os.Getenv(name)
		if v == "" {
			backendtest.Missing(t, name+" is not set (scripts/services.sh up redis valkey)")
		}
		return v
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "otel" + hex.EncodeToString(b)
	return map[string]cachette.Config{
		"redis":  {Backend: "redis", RedisURL: env("CACHETTE_TEST_REDIS_URL"), Prefix: prefix, Logger: slog.New(slog.DiscardHandler)},
		"valkey": {Backend: "valkey", ValkeyURL: env("CACHETTE_TEST_VALKEY_URL"), Prefix: prefix, Logger: slog.New(slog.DiscardHandler)},
	}
}

// TestStoreKeepsOptionalInterfaces: on redis and valkey with the
// Observer set, FetchMany and PutMany are one get_many and one set_many
// of the store (its backends.Batcher), not one call per key; the store
// still reports its usage (backends.UsageReporter, recorded as usage) and
// its invalidations (backends.Invalidator): a write by another cache
// reaches the local tier, and the delay of this cache's writes is
// recorded in cachette.invalidation.delay.
func TestStoreKeepsOptionalInterfaces(t *testing.T) {
	for name, cfg := range realTargets(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t)
			other, err := cachette.New(ctx, cfg) // another process, unobserved
			if err != nil {
				t.Fatal(err)
			}
			defer func() { other.Flush(ctx); other.Close() }()
			cfg.Observer, cfg.LocalEntries, cfg.LocalTTL = h.obs, 100, time.Hour
			c, err := cachette.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			if _, ok := c.Backend().(backends.Batcher); !ok {
				t.Fatalf("%T is not a backends.Batcher", c.Backend())
			}
			typed := cachette.For[string](c)
			if err := typed.PutMany(ctx, map[string]string{"a": "1", "b": "2", "c": "3"}); err != nil {
				t.Fatal(err)
			}
			got, err := typed.FetchMany(ctx, []string{"a", "b", "c", "absent"})
			if err != nil || len(got) != 3 || got["b"] != "2" {
				t.Fatalf("FetchMany = %v, %v", got, err)
			}
			r, ok := c.Backend().(backends.UsageReporter)
			if !ok {
				t.Fatalf("%T is not a backends.UsageReporter", c.Backend())
			}
			if u, err := r.Usage(ctx, ""); err != nil || u.Entries != 3 {
				t.Fatalf("Usage = %+v, %v", u, err)
			}
			if _, ok := c.Backend().(backends.Invalidator); !ok {
				t.Fatalf("%T is not a backends.Invalidator", c.Backend())
			}

			// The local tier follows the store's invalidations: it serves
			// "k" until another cache writes it.
			if err := c.Put(ctx, "k", "v1"); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the local tier serves k", func() bool {
				before := h.lookups(t, "local_hit")
				v, err := typed.Fetch(ctx, "k")
				return err == nil && v == "v1" && h.lookups(t, "local_hit") == before+1
			})
			if err := other.Put(ctx, "k", "v2"); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the local tier drops k after another cache's write", func() bool {
				v, err := typed.Fetch(ctx, "k")
				if err != nil && !errors.Is(err, cachette.ErrNotFound) {
					t.Fatal(err)
				}
				return v == "v2"
			})

			sys := name
			pts := h.points(t)
			op := func(o string) int64 {
				return pts["db.client.operation.duration{db.operation.name="+o+",db.system.name="+sys+"}"]
			}
			if op("get_many") != 1 || op("set_many") != 1 || op("usage") != 1 || op("set") != 1 {
				t.Fatalf("metrics:\n%s", dump(pts))
			}
			// The four FetchMany keys were one call; the Gets are those of
			// the local tier's fills of "k" (at least one per value).
			if op("get") < 2 {
				t.Fatalf("metrics:\n%s", dump(pts))
			}
			// this cache's Put and PutMany of four keys, reported back.
			eventually(t, "four invalidation delays recorded", func() bool {
				return h.points(t)[invalidationDelayKey] == 4
			})
			var batch int64
			for _, s := range h.spans.Ended() {
				if s.Name() == "get_many" {
					for _, kv := range s.Attributes() {
						if kv.Key == "db.operation.batch.size" {
							batch = kv.Value.AsInt64()
						}
					}
				}
			}
			if batch != 4 {
				t.Fatalf("get_many span: db.operation.batch.size = %d, want 4", batch)
			}
		})
	}
}

// TestStoreOptionalInterfacesFollowTheStore: the wrapper of a store
// without backends.UsageReporter or backends.Invalidator has neither
// (cachette would otherwise subscribe a local tier to a store that cannot
// report, and the CLI would call a Usage that is not there); its batches
// run as the store's own GetMany and SetMany (the in-memory store has
// them).
func TestStoreOptionalInterfacesFollowTheStore(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	c, err := cachette.NewWithBackend(inmemory.New(inmemory.Options{}), cachette.Config{Observer: h.obs, LocalEntries: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.Backend().(backends.UsageReporter); ok {
		t.Errorf("%T is a backends.UsageReporter", c.Backend())
	}
	if _, ok := c.Backend().(backends.Invalidator); ok {
		t.Errorf("%T is a backends.Invalidator", c.Backend())
	}
	typed := cachette.For[string](c)
	if err := typed.PutMany(ctx, map[string]string{"a": "1", "b": "2"}); err != nil {
		t.Fatal(err)
	}
	if got, err := typed.FetchMany(ctx, []string{"a", "b"}); err != nil || len(got) != 2 {
		t.Fatalf("FetchMany = %v, %v", got, err)
	}
	pts := h.points(t)
	const d = "db.client.operation.duration{db.operation.name="
	if pts[d+"get_many,db.system.name=inmemory}"] != 1 || pts[d+"set_many,db.system.name=inmemory}"] != 1 || pts[d+"get,db.system.name=inmemory}"] != 0 {
		t.Fatalf("metrics:\n%s", dump(pts))
	}
}

// eventually polls cond for up to 30 s (it bounds the wait, generously
// for a loaded machine; no timing is asserted).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// invalidationDelayKey is the key of cachette.invalidation.delay in points.
const invalidationDelayKey = "cachette.invalidation.delay{}"

// lookups is the count of cachette.lookups with result.
func (h *harness) lookups(t *testing.T, result string) int64 {
	t.Helper()
	return h.points(t)["cachette.lookups{cachette.lookup.result="+result+"}"]
}
