package otelcache_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/inmemory"
)

// TestStatsAgreeWithObserver: after a scripted sequence (misses, store
// hits, local hits, a negative marker, a batch, a stale value served
// while it reloads), Cache.Stats and the Observer's metrics count the
// same hits, misses, local hits, stale values and loads.
func TestStatsAgreeWithObserver(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	c, err := cachette.NewWithBackend(inmemory.New(inmemory.Options{}), cachette.Config{
		Observer: h.obs, LocalEntries: 100, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s string
	fetch := func(key string) error { return c.Fetch(ctx, key, &s) }
	load := func(v string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return v, nil }
	}

	if err := fetch("absent"); !errors.Is(err, cachette.ErrNotFound) { // miss
		t.Fatal(err)
	}
	if err := c.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	for range 3 { // a store hit, then local hits
		if err := fetch("k"); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // a miss and a load, then a local hit
		if _, err := cachette.GetOrLoad(ctx, c, "g", load("g")); err != nil {
			t.Fatal(err)
		}
	}
	notFound := func(context.Context) (string, error) { return "", cachette.ErrNotFound }
	for range 2 { // a miss and a failed load, then a hit on the negative marker
		if _, err := cachette.GetOrLoad(ctx, c, "neg", notFound, cachette.WithNegativeTTL(time.Hour)); !errors.Is(err, cachette.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if _, err := cachette.For[string](c).FetchMany(ctx, []string{"k", "g", "absent", "other"}); err != nil {
		t.Fatal(err)
	}

	// A stale value served while it reloads in the background.
	swr := []cachette.Option{cachette.WithTTL(20 * time.Millisecond), cachette.WithStaleWhileRevalidate(time.Hour)}
	if _, err := cachette.GetOrLoad(ctx, c, "s", load("s1"), swr...); err != nil {
		t.Fatal(err)
	}
	eventually(t, "s to expire", func() bool { return errors.Is(fetch("s"), cachette.ErrNotFound) })
	if _, err := cachette.GetOrLoad(ctx, c, "s", load("s2"), swr...); err != nil {
		t.Fatal(err)
	}
	// Wait for the reload's LoadDone (Stats counts a load as it starts).
	eventually(t, "the background reload", func() bool {
		var n int64
		for k, v := range h.points(t) {
			if strings.HasPrefix(k, "cachette.load.duration{") {
				n += v
			}
		}
		return n == 4
	})

	st := c.Stats()
	pts := h.points(t)
	lookup := func(r string) uint64 { return uint64(pts["cachette.lookups{cachette.lookup.result="+r+"}"]) }
	var loads, loadErrors uint64
	for k, n := range pts {
		if strings.HasPrefix(k, "cachette.load.duration{") {
			loads += uint64(n)
			if strings.Contains(k, "error.type=") {
				loadErrors += uint64(n)
			}
		}
	}
	if st.Hits != lookup("hit") || st.Misses != lookup("miss") || st.LocalHits != lookup("local_hit") ||
		st.StaleServed != lookup("stale") || st.Loads != loads || st.LoadErrors != loadErrors {
		t.Fatalf("Stats %+v\ndisagree with the metrics:\n%s", st, dump(pts))
	}
	if st.Hits == 0 || st.Misses == 0 || st.LocalHits == 0 || st.StaleServed != 1 || st.LoadErrors != 1 {
		t.Fatalf("the sequence did not produce every outcome: %+v", st)
	}
	t.Logf("Stats %+v", st)
}
