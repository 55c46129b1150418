package cachette

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// xfetchCache returns a cache whose early-refresh draws all return r.
func xfetchCache(t *testing.T, r float64) *Cache {
	t.Helper()
	c, err := New(context.Background(), Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.xfetchRand = func() float64 { return r }
	return c
}

// countingLoad returns v, counting its calls in n.
func countingLoad(n *atomic.Int32, v string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { n.Add(1); return v, nil }
}

// gatedLoad returns a load that counts its calls in n, reports each on
// started, then waits for release to be closed and returns v.
func gatedLoad(n *atomic.Int32, v string) (load func(context.Context) (string, error), started <-chan struct{}, release chan struct{}) {
	s, release := make(chan struct{}, 2), make(chan struct{})
	return func(context.Context) (string, error) {
		n.Add(1)
		s <- struct{}{}
		<-release
		return v, nil
	}, s, release
}

// waitStarted waits for a load of gatedLoad to start.
func waitStarted(t *testing.T, started <-chan struct{}) {
	t.Helper()
	select {
	case <-started:
	case <-time.After(waitLong):
		t.Fatal("no background reload started")
	}
}

// refreshers is how many background reloads c runs or is starting.
func refreshers(c *Cache) int {
	n := 0
	c.refreshing.Range(func(any, any) bool { n++; return true })
	return n
}

// storedInfo is InspectEntry of key's stored bytes.
func storedInfo(t *testing.T, c *Cache, key string) EntryInfo {
	t.Helper()
	raw, _, err := c.Backend().Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	info, err := InspectEntry(raw, 0)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestEarlyRefreshDue: a draw of 0 (ln 0 = -Inf) makes every GetOrLoad
// that reads the fresh value start one background reload, and the caller
// gets the value it read; the reload stores the new value with a later
// expiry and its own load duration.
func TestEarlyRefreshDue(t *testing.T) {
	c := xfetchCache(t, 0)
	ctx := context.Background()
	opts := []Option{WithTTL(time.Hour), WithEarlyRefresh(1)}
	var loads atomic.Int32
	if v, err := GetOrLoad(ctx, c, "k", countingLoad(&loads, "v1"), opts...); v != "v1" || err != nil {
		t.Fatalf("%q, %v", v, err)
	}
	first := storedInfo(t, c, "k")
	if first.LoadTime <= 0 {
		t.Fatalf("no load duration stored: %+v", first)
	}

	for i, want := range []string{"v2", "v3"} {
		reload, started, release := gatedLoad(&loads, want)
		prev := "v1"
		if i > 0 {
			prev = "v2"
		}
		if v, err := GetOrLoad(ctx, c, "k", reload, opts...); v != prev || err != nil {
			t.Fatalf("%q, %v; want the fresh %q at once", v, err, prev)
		}
		waitStarted(t, started)
		// While it runs, callers get the current value and start no other.
		if v, err := GetOrLoad(ctx, c, "k", reload, opts...); v != prev || err != nil {
			t.Fatalf("%q, %v during the reload", v, err)
		}
		close(release)
		waitFor(t, "the reloaded "+want, func() bool {
			var s string
			return c.Fetch(ctx, "k", &s) == nil && s == want && refreshers(c) == 0
		})
	}
	if n := loads.Load(); n != 3 {
		t.Fatalf("%d loads, want 3 (one per refreshing call)", n)
	}
	if info := storedInfo(t, c, "k"); !info.ExpiresAt.After(first.ExpiresAt) || info.LoadTime <= 0 {
		t.Fatalf("after the reloads %+v; first %+v", info, first)
	}
	if s := c.Stats(); s.Misses != 1 || s.Loads != 3 || s.StaleServed != 0 {
		t.Errorf("stats %+v: want 1 miss, 3 loads, no stale", s)
	}
}

// TestEarlyRefreshNotDue: a draw of 1 (ln 1 = 0) never refreshes a fresh
// value; nor does any draw without the option, or for a value stored
// without a load duration (Put, or GetOrLoad without the option).
func TestEarlyRefreshNotDue(t *testing.T) {
	ctx := context.Background()
	var loads atomic.Int32
	never := xfetchCache(t, 1)
	if _, err := GetOrLoad(ctx, never, "k", countingLoad(&loads, "v"), WithTTL(time.Hour), WithEarlyRefresh(1e9)); err != nil {
		t.Fatal(err)
	}
	always := xfetchCache(t, 0)
	if err := always.Put(ctx, "put", "v", WithTTL(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := GetOrLoad(ctx, always, "plain", countingLoad(&loads, "v"), WithTTL(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if info := storedInfo(t, always, "plain"); info.LoadTime != 0 {
		t.Fatalf("load duration stored without the option: %+v", info)
	}
	if _, err := GetOrLoad(ctx, always, "noopt", countingLoad(&loads, "v"), WithTTL(time.Hour), WithEarlyRefresh(1)); err != nil {
		t.Fatal(err)
	}
	loads.Store(0)
	for range 100 {
		for _, call := range []struct {
			c    *Cache
			key  string
			opts []Option
		}{
			{never, "k", []Option{WithEarlyRefresh(1e9)}},
			{always, "put", []Option{WithEarlyRefresh(1)}},
			{always, "plain", []Option{WithEarlyRefresh(1)}},
			{always, "noopt", nil},
			{always, "noopt", []Option{WithEarlyRefresh(0)}},
		} {
			if v, err := GetOrLoad(ctx, call.c, call.key, countingLoad(&loads, "new"), call.opts...); v != "v" || err != nil {
				t.Fatalf("%s: %q, %v", call.key, v, err)
			}
			// refreshInBackground notes a key before it returns.
			if n := refreshers(call.c); n != 0 {
				t.Fatalf("%s: %d background reloads", call.key, n)
			}
		}
	}
	if n := loads.Load(); n != 0 {
		t.Fatalf("%d loads, want 0", n)
	}
}

// TestEarlyRefreshOneReloadAcrossCaches: two caches over one store both
// decide to refresh; one reload runs (the store lock), and a reload that
// finds the value stored again since it read it loads nothing.
func TestEarlyRefreshOneReloadAcrossCaches(t *testing.T) {
	c1, c2 := sharedCaches(t, Config{})
	c1.xfetchRand = func() float64 { return 0 }
	c2.xfetchRand = c1.xfetchRand
	ctx := context.Background()
	if _, err := GetOrLoad(ctx, c1, "k", constLoad("v1"), WithTTL(time.Hour), WithEarlyRefresh(1)); err != nil {
		t.Fatal(err)
	}
	seen := storedInfo(t, c1, "k").ExpiresAt
	// The reload stores for longer, so that its entry's expiry differs
	// from v1's even when it ends within the same millisecond.
	opts := []Option{WithTTL(2 * time.Hour), WithEarlyRefresh(1)}

	var loads atomic.Int32
	reload, started, release := gatedLoad(&loads, "v2")
	if v, err := GetOrLoad(ctx, c1, "k", reload, opts...); v != "v1" || err != nil {
		t.Fatalf("c1: %q, %v", v, err)
	}
	waitStarted(t, started)
	if v, err := GetOrLoad(ctx, c2, "k", reload, opts...); v != "v1" || err != nil {
		t.Fatalf("c2: %q, %v", v, err)
	}
	waitFor(t, "c2's refresher to end", func() bool { return refreshers(c2) == 0 })
	close(release)
	waitFor(t, "the reloaded value", func() bool {
		var s string
		return c2.Fetch(ctx, "k", &s) == nil && s == "v2" && refreshers(c1) == 0
	})
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d reloads, want 1", n)
	}

	// A refresh of the value c2 read before c1 stored v2 loads nothing.
	o := c2.callOpts(opts)
	o.refreshSeen = seen
	v, err := loadFlight(c2, "k", countingLoad(&loads, "v3"), o)(ctx)
	if v != "v2" || err != nil || loads.Load() != 1 {
		t.Fatalf("late refresh: %v, %v, %d loads; want v2 and no load", v, err, loads.Load())
	}
}
