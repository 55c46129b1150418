package crosstest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
)

// TestEarlyRefreshOnEveryBackend: a value GetOrLoad stores with
// WithEarlyRefresh keeps its load duration on every store, and two caches
// that both decide to refresh it early run one reload (the store lock)
// while both serve the fresh value. A beta of 1e300 makes every draw
// refresh but the one in 2^53 that is exactly 1.
func TestEarlyRefreshOnEveryBackend(t *testing.T) {
	for backend, cfgFor := range backendConfigs(t) {
		t.Run(backend, func(t *testing.T) {
			c1, c2 := twoCaches(t, backend, cfgFor(t))
			ctx := context.Background()
			first := func(context.Context) (string, error) { return "v1", nil }
			if _, err := cachette.GetOrLoad(ctx, c1, "xf", first, cachette.WithTTL(time.Hour), cachette.WithEarlyRefresh(1e300)); err != nil {
				t.Fatal(err)
			}
			// The reload stores for longer: its entry's expiry differs from
			// v1's even within the same millisecond, and a refresher of c2
			// that gets the lock after c1's reload sees it and loads nothing.
			opts := []cachette.Option{cachette.WithTTL(2 * time.Hour), cachette.WithEarlyRefresh(1e300)}
			stored := func() cachette.EntryInfo {
				raw, _, err := c2.Backend().Get(ctx, "xf")
				if err != nil {
					return cachette.EntryInfo{}
				}
				info, _ := cachette.InspectEntry(raw, 0)
				return info
			}
			if info := stored(); info.LoadTime <= 0 || string(info.Payload) != "v1" {
				t.Fatalf("stored %+v: want v1 with its load duration", info)
			}

			reloadOnceForTwo(t, c1, c2, "xf", "the fresh v1", opts)
			if info := stored(); info.LoadTime <= 0 {
				t.Fatalf("stored %+v: want the reload's load duration", info)
			}
		})
	}
}

// reloadOnceForTwo has c1, c2 and c1 again call GetOrLoad of key with
// opts, each served the value "v1" (what is told what: served) at once,
// while one background reload of c1 to "v2" runs, holding the store's
// refresh lock; it checks that this reload stores v2 and is the only one.
func reloadOnceForTwo(t *testing.T, c1, c2 *cachette.Cache, key, served string, opts []cachette.Option) {
	t.Helper()
	ctx := context.Background()
	var loads atomic.Int32
	started, release := make(chan struct{}, 2), make(chan struct{})
	reload := func(context.Context) (string, error) {
		loads.Add(1)
		started <- struct{}{}
		<-release
		return "v2", nil
	}
	for i, c := range []*cachette.Cache{c1, c2, c1} {
		if v, err := cachette.GetOrLoad(ctx, c, key, reload, opts...); v != "v1" || err != nil {
			t.Fatalf("call %d: %q, %v; want %s at once", i, v, err, served)
		}
		if i == 0 {
			<-started // c1 holds the lock while its reload runs
		}
	}
	// c2's refresher gives up on the taken lock; it cannot say so, so
	// wait for the lock to show as taken to it, then release.
	if _, ok, err := c2.Lock(ctx, "cachette:refresh:"+key, time.Second); ok || err != nil {
		t.Fatalf("the refresh lock is free during the reload (%v)", err)
	}
	close(release)
	// The reloaded value may live a short time: on a loaded machine it may
	// have expired before a Fetch sees it, so look at the stored entry
	// (kept for its stale window) instead.
	waitFor(t, "the reloaded value", func() bool {
		raw, _, err := c2.Backend().Get(ctx, key)
		if err != nil {
			return false
		}
		info, err := cachette.InspectEntry(raw, 0)
		return err == nil && string(info.Payload) == "v2"
	})
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d reloads, want 1", n)
	}
}
