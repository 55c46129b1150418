// Package coherence tests the local tier's coherence across caches on
// the real Redis and Valkey servers (kept apart from the root package,
// whose tests check what happens when a store is not linked).
package coherence_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/backendtest"
	_ "github.com/cachette-go/cachette/backends/redis"
	_ "github.com/cachette-go/cachette/backends/valkey"
)

// coherenceTargets are the servers the coherence tests run on: the
// configuration of a cache, and the addresses of its nodes (for CLIENT
// KILL). Each function skips (or, under make test, fails) the subtest it
// is given when its server is not configured.
func coherenceTargets() map[string]func(t *testing.T) (cachette.Config, []string) {
	env := func(t *testing.T, name string) string {
		v := os.Getenv(name)
		if v == "" {
			backendtest.Missing(t, name+" is not set (scripts/services.sh up)")
		}
		return v
	}
	addrs := func(url string) []string {
		var out []string
		for _, u := range strings.Split(url, ",") {
			u = u[strings.Index(u, "://")+3:]
			if i := strings.IndexByte(u, '/'); i >= 0 {
				u = u[:i]
			}
			out = append(out, u)
		}
		return out
	}
	return map[string]func(t *testing.T) (cachette.Config, []string){
		"redis": func(t *testing.T) (cachette.Config, []string) {
			u := env(t, "CACHETTE_TEST_REDIS_URL")
			return cachette.Config{Backend: "redis", RedisURL: u}, addrs(u)
		},
		"valkey": func(t *testing.T) (cachette.Config, []string) {
			u := env(t, "CACHETTE_TEST_VALKEY_URL")
			return cachette.Config{Backend: "valkey", ValkeyURL: u}, addrs(u)
		},
		"redis-cluster": func(t *testing.T) (cachette.Config, []string) {
			u := env(t, "CACHETTE_TEST_REDIS_CLUSTER")
			return cachette.Config{Backend: "redis", RedisURL: u}, addrs(u)
		},
		"valkey-cluster": func(t *testing.T) (cachette.Config, []string) {
			u := env(t, "CACHETTE_TEST_VALKEY_CLUSTER")
			return cachette.Config{Backend: "valkey", ValkeyURL: u}, addrs(u)
		},
		// Sentinel groups: the nodes for CLIENT KILL are the data nodes, not the sentinels.
		"redis-sentinel": func(t *testing.T) (cachette.Config, []string) {
			u := env(t, "CACHETTE_TEST_REDIS_SENTINEL_URL")
			return cachette.Config{Backend: "redis", RedisURL: u}, strings.Split(env(t, "CACHETTE_TEST_REDIS_SENTINEL_NODES"), ",")
		},
		"valkey-sentinel": func(t *testing.T) (cachette.Config, []string) {
			u := env(t, "CACHETTE_TEST_VALKEY_SENTINEL_URL")
			return cachette.Config{Backend: "valkey", ValkeyURL: u}, strings.Split(env(t, "CACHETTE_TEST_VALKEY_SENTINEL_NODES"), ",")
		},
	}
}

func randomPrefix(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "loc" + hex.EncodeToString(b)
}

// twoCaches opens two caches on cfg's store with one prefix: a with a
// local tier (whose lookups o records), b without one. Each has its own
// connections.
func twoCaches(t *testing.T, cfg cachette.Config) (a, b *cachette.Cache, o *lookups) {
	t.Helper()
	ctx := context.Background()
	cfg.Prefix = randomPrefix(t)
	o = &lookups{}
	ca := cfg
	ca.LocalEntries, ca.LocalTTL, ca.Observer = 1000, time.Hour, o
	a, err := cachette.New(ctx, ca)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err = cachette.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Flush(ctx); b.Close() })
	return a, b, o
}

// waitLocal fetches key from a until the local tier serves want (A's own
// write may be reported back to it after its first read, dropping it once).
func waitLocal(t *testing.T, a *cachette.Cache, o *lookups, key, want string) {
	t.Helper()
	eventually(t, "the local tier serves "+key, func() bool {
		s, r, err := fetchString(t, a, o, key)
		if err != nil && !errors.Is(err, cachette.ErrNotFound) {
			t.Fatal(err)
		}
		return s == want && r == cachette.LookupLocalHit
	})
}

// TestLocalTierCoherence: a write, delete or flush through one cache
// reaches the other's local tier (LocalTTL is an hour, so only the
// server's invalidation can make it see the change).
func TestLocalTierCoherence(t *testing.T) {
	for name, target := range coherenceTargets() {
		t.Run(name, func(t *testing.T) {
			cfg, _ := target(t)
			ctx := context.Background()
			a, b, o := twoCaches(t, cfg)

			must(t, a.Put(ctx, "k", "v1"))
			waitLocal(t, a, o, "k", "v1")
			must(t, b.Put(ctx, "k", "v2"))
			eventually(t, "A sees B's Put", func() bool { s, _, _ := fetchString(t, a, o, "k"); return s == "v2" })

			waitLocal(t, a, o, "k", "v2")
			if _, err := b.Clear(ctx, "k"); err != nil {
				t.Fatal(err)
			}
			eventually(t, "A sees B's Clear", func() bool {
				_, _, err := fetchString(t, a, o, "k")
				return errors.Is(err, cachette.ErrNotFound)
			})

			must(t, b.Put(ctx, "ns:x", "x"))
			waitLocal(t, a, o, "ns:x", "x")
			if _, err := b.ClearNamespace(ctx, "ns"); err != nil {
				t.Fatal(err)
			}
			eventually(t, "A sees B's ClearNamespace", func() bool {
				_, _, err := fetchString(t, a, o, "ns:x")
				return errors.Is(err, cachette.ErrNotFound)
			})

			// InvalidateTags through B drops A's local copies of tagged values.
			must(t, b.Put(ctx, "tagged", "t1", cachette.WithTags("red")))
			waitLocal(t, a, o, "tagged", "t1")
			must(t, b.InvalidateTags(ctx, "red"))
			eventually(t, "A sees B's InvalidateTags", func() bool {
				_, _, err := fetchString(t, a, o, "tagged")
				return errors.Is(err, cachette.ErrNotFound)
			})

			// Keys starting with "!" are user keys too.
			for _, k := range []string{"k", "!odd"} {
				must(t, b.Put(ctx, k, "v3"))
				waitLocal(t, a, o, k, "v3")
			}
			must(t, b.Flush(ctx))
			for _, k := range []string{"k", "!odd"} {
				eventually(t, "A sees B's Flush of "+k, func() bool {
					_, _, err := fetchString(t, a, o, k)
					return errors.Is(err, cachette.ErrNotFound)
				})
			}
		})
	}
}

// TestLocalTierTrackingLoss kills the tracking connections: the local
// tier is dropped, and once they are back, invalidations work again.
func TestLocalTierTrackingLoss(t *testing.T) {
	for name, target := range coherenceTargets() {
		t.Run(name, func(t *testing.T) {
			cfg, nodes := target(t)
			ctx := context.Background()
			a, b, o := twoCaches(t, cfg)

			must(t, a.Put(ctx, "k", "v1"))
			waitLocal(t, a, o, "k", "v1")
			killed := killTracking(t, nodes)
			if killed == 0 {
				t.Fatal("no tracking connection found")
			}
			// Nothing changed in the store, so only the drop of the local
			// tier makes A read the store again.
			eventually(t, "the local tier is dropped", func() bool {
				s, r, err := fetchString(t, a, o, "k")
				if err != nil || s != "v1" {
					t.Fatalf("%q, %v", s, err)
				}
				return r == cachette.LookupHit
			})
			waitLocal(t, a, o, "k", "v1") // refilled once tracking is back
			must(t, b.Put(ctx, "k", "v2"))
			eventually(t, "A sees B's Put after the reconnection", func() bool { s, _, _ := fetchString(t, a, o, "k"); return s == "v2" })
		})
	}
}

// killTracking closes every connection with tracking on (flag "t" in
// CLIENT LIST) on the given nodes, and says how many it closed.
func killTracking(t *testing.T, nodes []string) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for _, addr := range nodes {
		c := goredis.NewClient(&goredis.Options{Addr: addr})
		list, err := c.ClientList(ctx).Result()
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
		for _, line := range strings.Split(list, "\n") {
			var id, flags string
			for _, f := range strings.Fields(line) {
				if v, ok := strings.CutPrefix(f, "id="); ok {
					id = v
				}
				if v, ok := strings.CutPrefix(f, "flags="); ok {
					flags = v
				}
			}
			if id != "" && strings.Contains(flags, "t") {
				if err := c.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err == nil {
					n++
				}
			}
		}
		c.Close()
	}
	return n
}

// lookups is an Observer that remembers the outcome of the last lookup.
type lookups struct {
	cachette.NopObserver
	mu   sync.Mutex
	last cachette.LookupResult
}

func (o *lookups) Lookup(_ context.Context, _ string, r cachette.LookupResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.last = r
}

func (o *lookups) lastResult() cachette.LookupResult {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// fetchString fetches key and tells where the answer came from.
func fetchString(t *testing.T, c *cachette.Cache, o *lookups, key string) (string, cachette.LookupResult, error) {
	t.Helper()
	var s string
	err := c.Fetch(context.Background(), key, &s)
	return s, o.lastResult(), err
}

// eventually polls cond for up to 30 s (no timing is asserted: it only
// bounds the wait, generously for a loaded machine).
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

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
