package cachette

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
)

// sharedCaches returns two caches over one in-memory store, as two
// processes over one server.
func sharedCaches(t *testing.T, cfg Config) (*Cache, *Cache) {
	t.Helper()
	store := inmemory.New(inmemory.Options{})
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var out [2]*Cache
	for i := range out {
		c, err := NewWithBackend(store, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		out[i] = c
	}
	return out[0], out[1]
}

// waitExpired waits until key's entry is past its expiry: Fetch, which
// never returns an expired value, misses. Only the wait's end is known,
// not when it ends: nothing here asserts on time.
func waitExpired(t *testing.T, c *Cache, key string) {
	t.Helper()
	waitFor(t, key+" to expire", func() bool {
		var s string
		return errors.Is(c.Fetch(context.Background(), key, &s), ErrNotFound)
	})
}

// waitGone waits until the store itself no longer has key.
func waitGone(t *testing.T, c *Cache, key string) {
	t.Helper()
	waitFor(t, key+" to leave the store", func() bool {
		_, _, err := c.Backend().Get(context.Background(), key)
		return errors.Is(err, ErrNotFound)
	})
}

func constLoad(v string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return v, nil }
}

// TestStaleWhileRevalidateOneReloadAcrossCaches: two caches over one
// store both get the expired value at once, and one reload runs for both
// (the store lock), which stores the new value.
func TestStaleWhileRevalidateOneReloadAcrossCaches(t *testing.T) {
	c1, c2 := sharedCaches(t, Config{})
	ctx := context.Background()
	opts := []Option{WithTTL(20 * time.Millisecond), WithStaleWhileRevalidate(time.Hour)}
	if _, err := GetOrLoad(ctx, c1, "k", constLoad("v1"), opts...); err != nil {
		t.Fatal(err)
	}
	waitExpired(t, c1, "k")

	var loads atomic.Int32
	reload, started, release := gatedLoad(&loads, "v2") // (xfetch_test.go)
	if v, err := GetOrLoad(ctx, c1, "k", reload, opts...); v != "v1" || err != nil {
		t.Fatalf("c1: %q, %v; want the stale v1 at once", v, err)
	}
	waitStarted(t, started)
	if v, err := GetOrLoad(ctx, c2, "k", reload, opts...); v != "v1" || err != nil {
		t.Fatalf("c2: %q, %v; want the stale v1 at once", v, err)
	}
	// c2's refresher found the lock taken and gave up.
	waitFor(t, "c2's refresher to end", func() bool {
		n := 0
		c2.refreshing.Range(func(any, any) bool { n++; return true })
		return n == 0
	})
	close(release)
	waitFor(t, "the reloaded value", func() bool {
		var s string
		return c2.Fetch(ctx, "k", &s) == nil && s == "v2"
	})
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d reloads, want 1", n)
	}
	if s := c1.Stats(); s.StaleServed != 1 || s.Loads != 2 {
		t.Errorf("c1 stats %+v: want 1 stale served, 2 loads", s)
	}
	// The lock was released: a later expiry is reloaded again.
	if _, _, err := c1.Lock(ctx, refreshLockName("k"), time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestFetchNeverReturnsStale: an entry kept for its stale window is not a
// value for Fetch, FetchWithTTL or FetchBytes past its TTL.
func TestFetchNeverReturnsStale(t *testing.T) {
	c, _ := testCache(t, "json")
	ctx := context.Background()
	if err := c.Put(ctx, "k", "v", WithTTL(20*time.Millisecond), WithStaleWhileRevalidate(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := c.PutBytes(ctx, "b", []byte("v"), WithTTL(20*time.Millisecond), WithStaleIfError(time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitExpired(t, c, "k")
	var s string
	if _, err := c.FetchWithTTL(ctx, "k", &s); !errors.Is(err, ErrNotFound) {
		t.Fatalf("FetchWithTTL of an expired entry: %v", err)
	}
	waitFor(t, "b to expire", func() bool {
		_, _, err := c.FetchBytes(ctx, "b")
		return errors.Is(err, ErrNotFound)
	})
	if _, _, err := c.Backend().Get(ctx, "k"); err != nil {
		t.Fatalf("the store dropped the entry inside its stale window: %v", err)
	}
	// GetOrLoad without a window loads.
	if v, err := GetOrLoad(ctx, c, "k", constLoad("new")); v != "new" || err != nil {
		t.Fatalf("GetOrLoad without a window: %q, %v", v, err)
	}
}

// TestStaleIfError: a failing load gets the expired value inside the
// window; a not-found, an outdated window or a dropped entry give the error.
func TestStaleIfError(t *testing.T) {
	c, _ := testCache(t, "json")
	ctx := context.Background()
	boom := errors.New("database down")
	failing := func(context.Context) (string, error) { return "", boom }
	if err := c.Put(ctx, "k", "old", WithTTL(20*time.Millisecond), WithStaleIfError(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Fresh: no load at all.
	if v, err := GetOrLoad(ctx, c, "k", failing, WithStaleIfError(time.Hour)); v != "old" || err != nil {
		t.Fatalf("fresh: %q, %v", v, err)
	}
	waitExpired(t, c, "k")
	if v, err := GetOrLoad(ctx, c, "k", failing, WithStaleIfError(time.Hour)); v != "old" || err != nil {
		t.Fatalf("failing load inside the window: %q, %v; want old, nil", v, err)
	}
	if _, err := GetOrLoad(ctx, c, "k", failing); !errors.Is(err, boom) {
		t.Fatalf("without the option: %v, want the load's error", err)
	}
	time.Sleep(5 * time.Millisecond) // the entry is now more than 1ms past its expiry
	if _, err := GetOrLoad(ctx, c, "k", failing, WithStaleIfError(time.Millisecond)); !errors.Is(err, boom) {
		t.Fatalf("outside the caller's window: %v, want the load's error", err)
	}
	gone := func(context.Context) (string, error) { return "", fmt.Errorf("row 7: %w", ErrNotFound) }
	if _, err := GetOrLoad(ctx, c, "k", gone, WithStaleIfError(time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a load that finds nothing: %v, want ErrNotFound, not the stale value", err)
	}
	// A success replaces the stale value.
	if v, err := GetOrLoad(ctx, c, "k", constLoad("new"), WithStaleIfError(time.Hour)); v != "new" || err != nil {
		t.Fatalf("a load that works: %q, %v", v, err)
	}

	// Past the window the entry stored, the store has dropped it.
	if err := c.Put(ctx, "short", "old", WithTTL(10*time.Millisecond), WithStaleIfError(10*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, "short")
	if _, err := GetOrLoad(ctx, c, "short", failing, WithStaleIfError(time.Hour)); !errors.Is(err, boom) {
		t.Fatalf("after the store dropped it: %v, want the load's error", err)
	}
}

// TestStaleIfErrorPanic: a load that panics counts as a failure.
func TestStaleIfErrorPanic(t *testing.T) {
	c, _ := testCache(t, "json")
	ctx := context.Background()
	if err := c.Put(ctx, "k", "old", WithTTL(20*time.Millisecond), WithStaleIfError(time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitExpired(t, c, "k")
	v, err := GetOrLoad(ctx, c, "k", func(context.Context) (string, error) { panic("boom") }, WithStaleIfError(time.Hour))
	if v != "old" || err != nil {
		t.Fatalf("%q, %v; want old, nil", v, err)
	}
}

// TestNegativeTTL: a not-found is remembered for the negative TTL, and the
// marker is never a value.
func TestNegativeTTL(t *testing.T) {
	c, _ := testCache(t, "json")
	ctx := context.Background()
	var loads atomic.Int32
	missing := func(context.Context) (string, error) {
		loads.Add(1)
		return "", fmt.Errorf("user 7: %w", ErrNotFound)
	}
	neg := WithNegativeTTL(30 * time.Millisecond)
	for i := range 3 {
		if _, err := GetOrLoad(ctx, c, "u7", missing, neg); !errors.Is(err, ErrNotFound) {
			t.Fatalf("call %d: %v, want ErrNotFound", i, err)
		}
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads inside the negative TTL, want 1", n)
	}
	var s string
	if err := c.Fetch(ctx, "u7", &s); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Fetch of a negatively cached key: %v", err)
	}
	if _, err := c.FetchWithTTL(ctx, "u7", &s); !errors.Is(err, ErrNotFound) {
		t.Fatalf("FetchWithTTL of a negatively cached key: %v", err)
	}
	if _, _, err := c.Backend().Get(ctx, "u7"); err != nil {
		t.Fatalf("no marker in the store: %v", err)
	}
	// Without the option the marker is not an answer.
	if v, err := GetOrLoad(ctx, c, "other", missing); !errors.Is(err, ErrNotFound) || v != "" {
		t.Fatalf("%q, %v", v, err)
	}
	if _, _, err := c.Backend().Get(ctx, "other"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a marker stored without WithNegativeTTL: %v", err)
	}
	loads.Store(0)
	waitGone(t, c, "u7")
	if _, err := GetOrLoad(ctx, c, "u7", missing, neg); !errors.Is(err, ErrNotFound) || loads.Load() != 1 {
		t.Fatalf("after the negative TTL: %v, %d loads; want a load", err, loads.Load())
	}
	if v, err := GetOrLoad(ctx, c, "u7", constLoad("found")); v != "found" || err != nil {
		t.Fatalf("GetOrLoad without the option over a marker: %q, %v", v, err)
	}
	// Other errors are not remembered.
	loads.Store(0)
	failing := func(context.Context) (string, error) { loads.Add(1); return "", errors.New("down") }
	GetOrLoad(ctx, c, "x", failing, neg)
	GetOrLoad(ctx, c, "x", failing, neg)
	if n := loads.Load(); n != 2 {
		t.Fatalf("%d loads for failures, want 2 (not remembered)", n)
	}
}

// TestTags: InvalidateTags makes the entries of its tags misses, and no
// other; a version created after it makes new entries hits.
func TestTags(t *testing.T) {
	c1, c2 := sharedCaches(t, Config{})
	ctx := context.Background()
	put := func(key string, tags ...string) {
		t.Helper()
		if err := c1.Put(ctx, key, key, WithTags(tags...)); err != nil {
			t.Fatal(err)
		}
	}
	put("a", "x", "y")
	put("b", "y")
	put("c")
	if _, err := GetOrLoad(ctx, c1, "d", constLoad("d"), WithTags("x", "x", "")); err != nil {
		t.Fatal(err)
	}
	if err := c1.PutBytes(ctx, "raw", []byte("raw"), WithTags("x")); err != nil {
		t.Fatal(err)
	}
	live := func(want ...string) {
		t.Helper()
		var got []string
		for _, k := range []string{"a", "b", "c", "d"} {
			var s string
			if err := c2.Fetch(ctx, k, &s); err == nil {
				got = append(got, k)
			} else if !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
		}
		if _, _, err := c2.FetchBytes(ctx, "raw"); err == nil {
			got = append(got, "raw")
		}
		if !slices.Equal(got, want) {
			t.Fatalf("live entries %v, want %v", got, want)
		}
	}
	live("a", "b", "c", "d", "raw")
	if err := c2.InvalidateTags(ctx, "x", ""); err != nil {
		t.Fatal(err)
	}
	live("b", "c")
	if v, err := GetOrLoad(ctx, c1, "d", constLoad("d2"), WithTags("x")); v != "d2" || err != nil {
		t.Fatalf("GetOrLoad after InvalidateTags: %q, %v; want a load", v, err)
	}
	put("a", "x", "y")
	live("a", "b", "c", "d")
	if err := c1.InvalidateTags(ctx, "y"); err != nil {
		t.Fatal(err)
	}
	live("c", "d")

	long := strings.Repeat("t", 300) // recorded by its hash
	put("long", long)
	var s string
	if err := c1.Fetch(ctx, "long", &s); err != nil {
		t.Fatal(err)
	}
	c1.InvalidateTags(ctx, long)
	if err := c1.Fetch(ctx, "long", &s); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an entry with a long tag after InvalidateTags: %v", err)
	}

	many := make([]string, maxEntryTags+1)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	if err := c1.Put(ctx, "many", 1, WithTags(many...)); err == nil {
		t.Fatal("65 tags were accepted")
	}
}

// TestTagsInvalidatedDuringLoad: a value loaded while its tag was
// invalidated is stored, but is a miss: its tag versions were taken
// before the load.
func TestTagsInvalidatedDuringLoad(t *testing.T) {
	c, _ := testCache(t, "json")
	ctx := context.Background()
	if err := c.Put(ctx, "other", 1, WithTags("users")); err != nil { // creates the version
		t.Fatal(err)
	}
	loading, release := make(chan struct{}), make(chan struct{})
	ch := make(chan error, 1)
	go func() {
		_, err := GetOrLoad(ctx, c, "k", func(context.Context) (string, error) {
			close(loading)
			<-release
			return "read before the update", nil
		}, WithTags("users"))
		ch <- err
	}()
	<-loading
	if err := c.InvalidateTags(ctx, "users"); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-ch; err != nil {
		t.Fatal(err)
	}
	var s string
	if err := c.Fetch(ctx, "k", &s); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Fetch of a value loaded across InvalidateTags: %q, %v; want a miss", s, err)
	}
}

// failingStore fails every call on keys that start with "broken".
type failingStore struct{ backends.Backend }

var errBroken = errors.New("broken store")

func (s failingStore) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	if strings.HasPrefix(key, "broken") {
		return nil, time.Time{}, errBroken
	}
	return s.Backend.Get(ctx, key)
}

func (s failingStore) Set(ctx context.Context, key string, v []byte, exp time.Time) error {
	if strings.HasPrefix(key, "broken") {
		return errBroken
	}
	return s.Backend.Set(ctx, key, v, exp)
}

// TestStatsScripted: the counters of a scripted sequence, exactly, and
// what the observer is told of the stale and negative paths.
func TestStatsScripted(t *testing.T) {
	rec := &recorder{}
	c, err := NewWithBackend(failingStore{inmemory.New(inmemory.Options{})}, Config{Codec: "json", Logger: slog.New(slog.DiscardHandler), Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var s string
	boom := errors.New("boom")
	failing := func(context.Context) (string, error) { return "", boom }

	c.Put(ctx, "a", "A")
	c.Fetch(ctx, "a", &s)                                                                                                // hit 1
	c.Fetch(ctx, "b", &s)                                                                                                // miss 1
	c.FetchWithTTL(ctx, "a", &s)                                                                                         // hit 2
	c.FetchBytes(ctx, "a")                                                                                               // not counted
	GetOrLoad(ctx, c, "c", constLoad("C"))                                                                               // miss 2, load 1
	GetOrLoad(ctx, c, "c", constLoad("C"))                                                                               // hit 3
	GetOrLoad(ctx, c, "e", failing)                                                                                      // miss 3, load 2, load error 1
	GetOrLoad(ctx, c, "broken", constLoad("x"))                                                                          // store error 1 (Get; the flight neither reads again nor writes), load 3
	c.Put(ctx, "broken2", "x")                                                                                           // store error 2
	GetOrLoad(ctx, c, "n", func(context.Context) (string, error) { return "", ErrNotFound }, WithNegativeTTL(time.Hour)) // miss 4, load 4, load error 2
	GetOrLoad(ctx, c, "n", failing, WithNegativeTTL(time.Hour))                                                          // hit 4
	before := time.Now()
	c.Put(ctx, "s", "S", WithTTL(time.Millisecond), WithStaleIfError(time.Hour))
	for !time.Now().After(before.Add(5 * time.Millisecond)) {
		time.Sleep(time.Millisecond) // s expired
	}
	GetOrLoad(ctx, c, "s", failing, WithStaleIfError(time.Hour)) // stale 1, load 5, load error 3

	want := Stats{Hits: 4, Misses: 4, Loads: 5, LoadErrors: 3, StaleServed: 1, StoreErrors: 2}
	if got := c.Stats(); got != want {
		t.Fatalf("Stats() = %+v\nwant      %+v", got, want)
	}
	c.stats.localHit()
	if got := c.Stats().LocalHits; got != 1 {
		t.Fatalf("LocalHits = %d after localHit", got)
	}
	rec.mu.Lock()
	events := strings.Join(rec.events, "\n")
	rec.mu.Unlock()
	for _, e := range []string{"lookup n hit", "lookup s stale", "load done s error\nlookup s stale"} {
		if !strings.Contains(events, e) {
			t.Errorf("observer events lack %q:\n%s", e, events)
		}
	}
}
