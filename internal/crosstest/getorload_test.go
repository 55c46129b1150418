package crosstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
)

// waitLong bounds waits: far longer than anything takes on a loaded
// machine, there only so that a broken build fails instead of hanging.
const waitLong = 60 * time.Second

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// twoCaches opens two caches on one store: two clients of the server for
// the network stores (as two processes), one store shared for inmemory
// and gob.
func twoCaches(t *testing.T, backend string, cfg cachette.Config) (*cachette.Cache, *cachette.Cache) {
	t.Helper()
	ctx := context.Background()
	c1, err := cachette.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c1.Flush(ctx)
		c1.Close()
	})
	var c2 *cachette.Cache
	if backend == "inmemory" || backend == "gob" {
		c2, err = cachette.NewWithBackend(c1.Backend(), cfg)
	} else {
		c2, err = cachette.New(ctx, cfg)
		if err == nil {
			t.Cleanup(func() { c2.Close() })
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return c1, c2
}

// TestTagsOnEveryBackend: InvalidateTags through one cache makes the
// entries of its tags misses for another cache on the same store, and no
// other entry, on every backend (memcached and DynamoDB included: no key
// listing is needed).
func TestTagsOnEveryBackend(t *testing.T) {
	for backend, cfgFor := range backendConfigs(t) {
		t.Run(backend, func(t *testing.T) {
			c1, c2 := twoCaches(t, backend, cfgFor(t))
			ctx := context.Background()
			for key, tags := range map[string][]string{"a": {"x", "y"}, "b": {"y"}, "c": nil} {
				if err := c1.Put(ctx, key, key, cachette.WithTags(tags...)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := cachette.GetOrLoad(ctx, c1, "d", func(context.Context) (string, error) { return "d", nil },
				cachette.WithTags("x")); err != nil {
				t.Fatal(err)
			}
			live := func(c *cachette.Cache, want ...string) {
				t.Helper()
				var got []string
				for _, k := range []string{"a", "b", "c", "d"} {
					var s string
					switch err := c.Fetch(ctx, k, &s); {
					case err == nil:
						got = append(got, k)
					case !errors.Is(err, cachette.ErrNotFound):
						t.Fatal(err)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("live entries %v, want %v", got, want)
				}
			}
			live(c2, "a", "b", "c", "d")
			if err := c2.InvalidateTags(ctx, "x"); err != nil {
				t.Fatal(err)
			}
			live(c1, "b", "c")
			live(c2, "b", "c")
			if err := c1.Put(ctx, "a", "a2", cachette.WithTags("x", "y")); err != nil {
				t.Fatal(err)
			}
			live(c2, "a", "b", "c")
			if err := c1.InvalidateTags(ctx, "y"); err != nil {
				t.Fatal(err)
			}
			live(c2, "c")
		})
	}
}

// TestGetOrLoadOptionsOnEveryBackend: stale-while-revalidate reloads once
// for two caches on one store (the store lock), stale-if-error serves the
// expired value, and a negative marker written by one cache answers the
// other, on every backend.
func TestGetOrLoadOptionsOnEveryBackend(t *testing.T) {
	for backend, cfgFor := range backendConfigs(t) {
		t.Run(backend, func(t *testing.T) {
			c1, c2 := twoCaches(t, backend, cfgFor(t))
			ctx := context.Background()
			expired := func(key string) {
				t.Helper()
				waitFor(t, key+" to expire", func() bool {
					var s string
					return errors.Is(c1.Fetch(ctx, key, &s), cachette.ErrNotFound)
				})
			}
			constant := func(v string) func(context.Context) (string, error) {
				return func(context.Context) (string, error) { return v, nil }
			}

			// Stale while revalidate.
			swr := []cachette.Option{cachette.WithTTL(100 * time.Millisecond), cachette.WithStaleWhileRevalidate(time.Hour)}
			if _, err := cachette.GetOrLoad(ctx, c1, "swr", constant("v1"), swr...); err != nil {
				t.Fatal(err)
			}
			expired("swr")
			reloadOnceForTwo(t, c1, c2, "swr", "the stale v1", swr) // (xfetch_test.go)

			// Stale if error.
			if err := c1.Put(ctx, "sie", "old", cachette.WithTTL(100*time.Millisecond), cachette.WithStaleIfError(time.Hour)); err != nil {
				t.Fatal(err)
			}
			expired("sie")
			failing := func(context.Context) (string, error) { return "", errors.New("database down") }
			if v, err := cachette.GetOrLoad(ctx, c2, "sie", failing, cachette.WithStaleIfError(time.Hour)); v != "old" || err != nil {
				t.Fatalf("stale if error: %q, %v", v, err)
			}

			// Negative caching.
			var loads atomic.Int32
			missing := func(context.Context) (string, error) {
				loads.Add(1)
				return "", fmt.Errorf("no row: %w", cachette.ErrNotFound)
			}
			neg := cachette.WithNegativeTTL(time.Minute)
			for _, c := range []*cachette.Cache{c1, c2} {
				if _, err := cachette.GetOrLoad(ctx, c, "neg", missing, neg); !errors.Is(err, cachette.ErrNotFound) {
					t.Fatalf("negative: %v", err)
				}
			}
			if n := loads.Load(); n != 1 {
				t.Fatalf("%d loads, want 1", n)
			}
			var s string
			if err := c2.Fetch(ctx, "neg", &s); !errors.Is(err, cachette.ErrNotFound) {
				t.Fatalf("Fetch of a negative marker: %q, %v", s, err)
			}
		})
	}
}
