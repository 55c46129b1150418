package cachette_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/cachette-go/cachette"
)

// lookups is an Observer that remembers the outcome of each lookup.
type lookups struct {
	cachette.NopObserver
	mu   sync.Mutex
	last cachette.LookupResult
	n    map[cachette.LookupResult]int
}

func (o *lookups) Lookup(_ context.Context, _ string, r cachette.LookupResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.last = r
	if o.n == nil {
		o.n = map[cachette.LookupResult]int{}
	}
	o.n[r]++
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

func TestLocalTierServesWithoutTheStore(t *testing.T) {
	ctx := context.Background()
	o := &lookups{}
	c, err := cachette.New(ctx, cachette.Config{LocalEntries: 100, Observer: o})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Put(ctx, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	if s, r, err := fetchString(t, c, o, "k"); err != nil || s != "v1" || r != cachette.LookupHit {
		t.Fatalf("first Fetch = %q, %v, %v; want v1 from the store", s, r, err)
	}
	if s, r, err := fetchString(t, c, o, "k"); err != nil || s != "v1" || r != cachette.LookupLocalHit {
		t.Fatalf("second Fetch = %q, %v, %v; want v1 from the local tier", s, r, err)
	}
	left, err := c.FetchWithTTL(ctx, "k", new(string))
	if err != nil || left <= 0 || left > cachette.DefaultTTL || o.lastResult() != cachette.LookupLocalHit {
		t.Fatalf("FetchWithTTL = %v, %v (%v); want the entry's TTL from the local tier", left, err, o.lastResult())
	}
	if v, err := cachette.GetOrLoad(ctx, c, "k", func(context.Context) (string, error) { return "", errors.New("no load") }); err != nil || v != "v1" || o.lastResult() != cachette.LookupLocalHit {
		t.Fatalf("GetOrLoad = %q, %v (%v)", v, err, o.lastResult())
	}

	// Writes and deletes through this cache drop the local value at once.
	if err := c.Put(ctx, "k", "v2"); err != nil {
		t.Fatal(err)
	}
	if s, r, _ := fetchString(t, c, o, "k"); s != "v2" || r != cachette.LookupHit {
		t.Fatalf("after Put: %q (%v), want v2 from the store", s, r)
	}
	if _, err := c.Clear(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fetchString(t, c, o, "k"); !errors.Is(err, cachette.ErrNotFound) {
		t.Fatalf("after Clear: %v", err)
	}
	for _, k := range []string{"ns:a", "other"} {
		_ = c.Put(ctx, k, k)
		fetchString(t, c, o, k)
		if _, r, _ := fetchString(t, c, o, k); r != cachette.LookupLocalHit {
			t.Fatalf("%s not in the local tier", k)
		}
	}
	if _, err := c.ClearNamespace(ctx, "ns"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fetchString(t, c, o, "ns:a"); !errors.Is(err, cachette.ErrNotFound) {
		t.Fatalf("after ClearNamespace: %v", err)
	}
	if _, r, _ := fetchString(t, c, o, "other"); r != cachette.LookupLocalHit {
		t.Fatalf("ClearNamespace dropped another key: %v", r)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fetchString(t, c, o, "other"); !errors.Is(err, cachette.ErrNotFound) {
		t.Fatalf("after Flush: %v", err)
	}
	c.Close()
	if err := c.Fetch(ctx, "other", new(string)); !errors.Is(err, cachette.ErrClosed) {
		t.Fatalf("Fetch after Close: %v", err)
	}
}

func TestLocalTierKeyedByType(t *testing.T) {
	ctx := context.Background()
	o := &lookups{}
	c, err := cachette.New(ctx, cachette.Config{Codec: "json", LocalEntries: 10, Observer: o})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type small struct{ A int }
	type other struct{ A, B int }
	if err := c.Put(ctx, "k", small{A: 1}); err != nil {
		t.Fatal(err)
	}
	var s small
	_ = c.Fetch(ctx, "k", &s)
	_ = c.Fetch(ctx, "k", &s)
	if o.lastResult() != cachette.LookupLocalHit || s.A != 1 {
		t.Fatalf("small: %+v, %v", s, o.lastResult())
	}
	var x other
	if err := c.Fetch(ctx, "k", &x); err != nil || x.A != 1 || o.lastResult() != cachette.LookupHit {
		t.Fatalf("a Fetch into another type got %+v, %v (%v); want a decode from the store", x, err, o.lastResult())
	}
	var m map[string]int
	if err := c.Fetch(ctx, "k", &m); err != nil || m["A"] != 1 || o.lastResult() != cachette.LookupHit {
		t.Fatalf("map: %v, %v (%v)", m, err, o.lastResult())
	}
	// A caller changing its copy does not change what others get.
	s.A = 42
	var again small
	_ = c.Fetch(ctx, "k", &again)
	_ = c.Fetch(ctx, "k", &again)
	if again.A != 1 {
		t.Fatalf("the local value changed: %+v", again)
	}
}

func TestLocalTierHitAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{Codec: "json", LocalEntries: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type user struct {
		Name string
		Tags []string
	}
	_ = c.Put(ctx, "u", user{Name: "Ada", Tags: []string{"x"}})
	var u user
	_ = c.Fetch(ctx, "u", &u)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := c.Fetch(ctx, "u", &u); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 || u.Name != "Ada" {
		t.Fatalf("a local hit allocates %v times (%+v)", allocs, u)
	}
}

// TestLocalTierNeverPastExpiry checks that a value whose entry expired is
// never served, however recently it was read.
func TestLocalTierNeverPastExpiry(t *testing.T) {
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{LocalEntries: 10, LocalTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for round := range 3 {
		ttl := time.Duration(50*(round+1)) * time.Millisecond
		if err := c.Put(ctx, "k", "v", cachette.WithTTL(ttl)); err != nil {
			t.Fatal(err)
		}
		expires := time.Now().Add(ttl) // at or after the entry's expiry
		for {
			start := time.Now()
			var s string
			err := c.Fetch(ctx, "k", &s)
			if err == nil && !start.Before(expires) {
				t.Fatalf("round %d: served %v after the entry expired", round, start.Sub(expires))
			}
			if errors.Is(err, cachette.ErrNotFound) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestLocalTierBoundedByLocalTTL runs two caches on one store (the
// in-memory store shared with NewWithBackend, and one gob directory): a
// write through one reaches the other's local tier no later than LocalTTL
// after the other read the store.
func TestLocalTierBoundedByLocalTTL(t *testing.T) {
	const localTTL = 200 * time.Millisecond
	cases := map[string]func(t *testing.T) (a, b *cachette.Cache){
		"inmemory": func(t *testing.T) (a, b *cachette.Cache) {
			store := newSharedStore(t)
			var err error
			a, err = cachette.NewWithBackend(store, cachette.Config{LocalEntries: 10, LocalTTL: localTTL})
			if err != nil {
				t.Fatal(err)
			}
			b, err = cachette.NewWithBackend(store, cachette.Config{})
			if err != nil {
				t.Fatal(err)
			}
			return a, b
		},
		"gob": func(t *testing.T) (a, b *cachette.Cache) {
			dir := t.TempDir()
			var err error
			a, err = cachette.New(context.Background(), cachette.Config{Backend: "gob", PicklePath: dir, LocalEntries: 10, LocalTTL: localTTL})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			b, err = cachette.New(context.Background(), cachette.Config{Backend: "gob", PicklePath: dir})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return a, b
		},
	}
	for name, open := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a, b := open(t)
			if err := b.Put(ctx, "k", "old"); err != nil {
				t.Fatal(err)
			}
			var s string
			if err := a.Fetch(ctx, "k", &s); err != nil || s != "old" {
				t.Fatalf("%q, %v", s, err)
			}
			filled := time.Now() // a read the store before this
			if err := b.Put(ctx, "k", "new"); err != nil {
				t.Fatal(err)
			}
			for {
				start := time.Now()
				if err := a.Fetch(ctx, "k", &s); err != nil {
					t.Fatal(err)
				}
				if s == "new" {
					break
				}
				if start.Sub(filled) >= localTTL {
					t.Fatalf("the old value was served %v after it was read (LocalTTL %v)", start.Sub(filled), localTTL)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

func TestLocalConfigKeys(t *testing.T) {
	cfg, err := cachette.LoadConfig([][2]string{{"local_entries", "1000"}, {"local_ttl", "250ms"}})
	if err != nil || cfg.LocalEntries != 1000 || cfg.LocalTTL != 250*time.Millisecond {
		t.Fatalf("%+v, %v", cfg, err)
	}
	cfg, err = cachette.LoadConfig([][2]string{{"local_entries", "5"}, {"local_ttl", "30"}})
	if err != nil || cfg.LocalTTL != 30*time.Second {
		t.Fatalf("whole seconds: %v, %v", cfg.LocalTTL, err)
	}
	cfg, err = cachette.LoadConfig(nil)
	if err != nil || cfg.LocalEntries != 0 || cfg.LocalTTL != cachette.DefaultLocalTTL {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	for _, bad := range [][2]string{{"local_entries", "-1"}, {"local_entries", "x"}, {"local_ttl", "0"}, {"local_ttl", ""}, {"local_ttl", "2h"}, {"local_ttl", "1us"}} {
		_, err := cachette.LoadConfig([][2]string{bad})
		if !errors.Is(err, cachette.ErrInvalidConfig) || !strings.Contains(err.Error(), `"`+bad[0]+`"`) {
			t.Errorf("%v: %v", bad, err)
		}
	}
	t.Setenv("CACHETTE_LOCAL_ENTRIES", "7")
	t.Setenv("CACHETTE_LOCAL_TTL", "1s")
	cfg, err = cachette.ConfigFromEnv("CACHETTE_")
	if err != nil || cfg.LocalEntries != 7 || cfg.LocalTTL != time.Second {
		t.Fatalf("env: %+v, %v", cfg, err)
	}
	if err := (cachette.Config{LocalEntries: -1}).Validate(); err == nil || !strings.Contains(err.Error(), `"local_entries"`) {
		t.Fatalf("Validate: %v", err)
	}
}

// BenchmarkLocalHit measures a Fetch served by the local tier, beside
// otter's GetIfPresent, in one run (the bench module compares it with
// go-redis's client-side cache on a real server).
func BenchmarkLocalHit(b *testing.B) {
	ctx := context.Background()
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "item:" + strconv.Itoa(i)
	}
	value := strings.Repeat("x", 1024)
	b.Run("otter", func(b *testing.B) {
		c := otter.Must(&otter.Options[string, []byte]{MaximumSize: 10000})
		for _, k := range keys {
			c.Set(k, []byte(value))
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok := c.GetIfPresent(keys[i%len(keys)]); !ok {
					b.Error("miss")
				}
				i += 7
			}
		})
	})
	b.Run("otter-expiry", func(b *testing.B) {
		c := otter.Must(&otter.Options[string, []byte]{MaximumSize: 10000, ExpiryCalculator: otter.ExpiryWriting[string, []byte](time.Hour)})
		for _, k := range keys {
			c.Set(k, []byte(value))
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok := c.GetIfPresent(keys[i%len(keys)]); !ok {
					b.Error("miss")
				}
				i += 7
			}
		})
	})
	b.Run("cachette", func(b *testing.B) {
		c, err := cachette.New(ctx, cachette.Config{LocalEntries: 10000, LocalTTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		var s string
		for _, k := range keys {
			_ = c.Put(ctx, k, value, cachette.WithTTL(time.Hour))
			_ = c.Fetch(ctx, k, &s)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			var s string
			for pb.Next() {
				if err := c.Fetch(ctx, keys[i%len(keys)], &s); err != nil {
					b.Error(err)
				}
				i += 7
			}
		})
	})
}

// InvalidateTags drops this process's local copies of tagged values at once.
func TestLocalTierInvalidateTags(t *testing.T) {
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{Prefix: "localtags", LocalEntries: 100, LocalTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Put(ctx, "k", "v", cachette.WithTags("t")); err != nil {
		t.Fatal(err)
	}
	var s string
	for range 2 { // the second read is served by the local tier
		if err := c.Fetch(ctx, "k", &s); err != nil || s != "v" {
			t.Fatalf("Fetch = %q, %v", s, err)
		}
	}
	if c.Stats().LocalHits == 0 {
		t.Fatal("the value was not served from the local tier")
	}
	if err := c.InvalidateTags(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if err := c.Fetch(ctx, "k", &s); !errors.Is(err, cachette.ErrNotFound) {
		t.Errorf("Fetch after InvalidateTags = %q, %v; want ErrNotFound", s, err)
	}
}

// GetOrLoad fills the local tier as Fetch does: a key read through
// GetOrLoad only is served from process memory after its first read.
func TestLocalTierGetOrLoadFills(t *testing.T) {
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{Prefix: "localgol", LocalEntries: 100, LocalTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	load := func(context.Context) (string, error) { return "v", nil }
	for i := range 3 { // load and store; read the store (fills); local hit
		if v, err := cachette.GetOrLoad(ctx, c, "k", load); err != nil || v != "v" {
			t.Fatalf("call %d: %q, %v", i, v, err)
		}
	}
	if st := c.Stats(); st.Loads != 1 || st.LocalHits != 1 {
		t.Errorf("Stats: %d loads, %d local hits; want 1 and 1", st.Loads, st.LocalHits)
	}
}
