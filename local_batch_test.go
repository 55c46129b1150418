package cachette

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
)

// localTally is an Observer that counts lookups by outcome.
type localTally struct {
	NopObserver
	mu sync.Mutex
	n  map[LookupResult]int
}

func (o *localTally) Lookup(_ context.Context, _ string, r LookupResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[LookupResult]int{}
	}
	o.n[r]++
}

func (o *localTally) count(r LookupResult) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[r]
}

// pausingStore is a batchStore whose reads can be held after they read
// the store: pause, when set, is called with the keys read (by GetMany
// when onGet is nil, else by Get for the keys that match onGet).
type pausingStore struct {
	batchStore
	pause    atomic.Pointer[func(keys []string)]
	onGet    func(key string) bool
	failMany atomic.Bool // GetMany fails
}

var errBatchDown = errors.New("batch store down")

func (s *pausingStore) GetMany(ctx context.Context, keys []string) (map[string]backends.Item, error) {
	if s.failMany.Load() {
		return nil, errBatchDown
	}
	items, err := s.batchStore.GetMany(ctx, keys)
	if p := s.pause.Load(); p != nil && s.onGet == nil {
		(*p)(keys)
	}
	return items, err
}

func (s *pausingStore) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	v, exp, err := s.batchStore.Get(ctx, key)
	if p := s.pause.Load(); p != nil && s.onGet != nil && s.onGet(key) {
		(*p)([]string{key})
	}
	return v, exp, err
}

// pauseOnce makes the next read that reaches pause wait: it returns a
// channel closed when that read has read the store, and a function that
// lets it go on.
func (s *pausingStore) pauseOnce() (read <-chan struct{}, release func()) {
	r, rel := make(chan struct{}), make(chan struct{})
	var once sync.Once
	p := func([]string) {
		once.Do(func() {
			close(r)
			<-rel
		})
	}
	s.pause.Store(&p)
	return r, func() { s.pause.Store(nil); close(rel) }
}

func localBatchCache(t *testing.T, cfg Config) (*Cache, *pausingStore, *localTally) {
	t.Helper()
	store := &pausingStore{batchStore: batchStore{countingStore: countingStore{Backend: inmemory.New(inmemory.Options{})}}}
	o := &localTally{}
	if cfg.LocalEntries == 0 {
		cfg.LocalEntries = 100
	}
	if cfg.LocalTTL == 0 {
		cfg.LocalTTL = time.Hour
	}
	cfg.Observer, cfg.Logger = o, slog.New(slog.DiscardHandler)
	c, err := NewWithBackend(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, store, o
}

func wantMap[T comparable](t *testing.T, what string, got map[string]T, err error, want map[string]T) {
	t.Helper()
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("%s = %v, %v; want %v", what, got, err, want)
	}
}

// FetchMany serves the keys of the local tier from it (local hits in
// Stats and to the Observer), asks the store, in one batch, only for the
// others, and fills the local tier with what the store returns.
func TestLocalTierFetchMany(t *testing.T) {
	ctx := context.Background()
	c, store, o := localBatchCache(t, Config{})
	ty := For[string](c)
	if err := ty.PutMany(ctx, map[string]string{"a": "A", "b": "B"}); err != nil {
		t.Fatal(err)
	}
	got, err := ty.FetchMany(ctx, []string{"a", "b", "c"})
	wantMap(t, "first FetchMany", got, err, map[string]string{"a": "A", "b": "B"})
	if st := c.Stats(); st.Hits != 2 || st.Misses != 1 || st.LocalHits != 0 {
		t.Fatalf("first FetchMany: %+v", st)
	}

	got, err = ty.FetchMany(ctx, []string{"a", "b", "c"})
	wantMap(t, "second FetchMany", got, err, map[string]string{"a": "A", "b": "B"})
	if st := c.Stats(); st.LocalHits != 2 || st.Misses != 2 || st.Hits != 2 {
		t.Fatalf("second FetchMany: %+v; want a and b from the local tier", st)
	}
	if n := o.count(LookupLocalHit); n != 2 {
		t.Fatalf("the Observer saw %d local hits, want 2", n)
	}
	if g, k := store.getManys.Load(), store.manyKeys.Load(); g != 2 || k != 4 {
		t.Fatalf("the store was asked %d times for %d keys; want 2 batches, the second with c alone", g, k)
	}

	// The local copies are served even once the store lost them.
	if _, err := store.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	got, err = ty.FetchMany(ctx, []string{"a", "b"})
	wantMap(t, "all-local FetchMany", got, err, map[string]string{"a": "A", "b": "B"})
	if g := store.getManys.Load(); g != 2 {
		t.Fatalf("a batch held by the local tier reached the store (%d batches)", g)
	}
	var s string // a batch's fill serves Fetch too
	if err := c.Fetch(ctx, "b", &s); err != nil || s != "B" || c.Stats().LocalHits != 5 {
		t.Fatalf("Fetch = %q, %v, %+v", s, err, c.Stats())
	}

	// PutMany, like Put, drops the local copies of its keys.
	if err := ty.PutMany(ctx, map[string]string{"a": "A2", "b": "B2"}); err != nil {
		t.Fatal(err)
	}
	got, err = ty.FetchMany(ctx, []string{"a", "b"})
	wantMap(t, "FetchMany after PutMany", got, err, map[string]string{"a": "A2", "b": "B2"})

	// Values are kept by type: a batch of another type reads the store.
	before := store.getManys.Load()
	raw, err := For[[]byte](c).FetchMany(ctx, []string{"a"})
	if err != nil || string(raw["a"]) != "A2" || store.getManys.Load() != before+1 {
		t.Fatalf("FetchMany as []byte = %v, %v; want a read of the store", raw, err)
	}
}

// GetOrLoadMany reads through the local tier as FetchMany does: a value
// it loaded is stored, the next call reads it from the store (and fills
// the local tier), the one after is served from process memory.
func TestLocalTierGetOrLoadMany(t *testing.T) {
	ctx := context.Background()
	c, store, _ := localBatchCache(t, Config{})
	var loads atomic.Int32
	load := func(_ context.Context, keys []string) (map[string]string, error) {
		loads.Add(1)
		out := map[string]string{}
		for _, k := range keys {
			out[k] = strings.ToUpper(k)
		}
		return out, nil
	}
	want := map[string]string{"a": "A", "b": "B"}
	for i := range 3 {
		got, err := For[string](c).GetOrLoadMany(ctx, []string{"a", "b"}, load)
		wantMap(t, "GetOrLoadMany", got, err, want)
		if i == 1 {
			store.Delete(ctx, "a") // the third call must not need it
		}
	}
	if st := c.Stats(); loads.Load() != 1 || st.LocalHits != 2 || st.Loads != 1 {
		t.Fatalf("%d loads, %+v; want 1 load and 2 local hits", loads.Load(), st)
	}
}

// When the store cannot be read, GetOrLoadMany keeps the values the local
// tier served and loads only the others; FetchMany fails as a whole.
func TestLocalTierGetOrLoadManyStoreDown(t *testing.T) {
	ctx := context.Background()
	c, store, _ := localBatchCache(t, Config{})
	ty := For[string](c)
	if err := ty.PutMany(ctx, map[string]string{"a": "A"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ty.FetchMany(ctx, []string{"a"}); err != nil { // fills
		t.Fatal(err)
	}
	store.failMany.Store(true)
	if got, err := ty.FetchMany(ctx, []string{"a", "b"}); !errors.Is(err, errBatchDown) || got != nil {
		t.Fatalf("FetchMany with the store down = %v, %v", got, err)
	}
	var asked []string
	got, err := ty.GetOrLoadMany(ctx, []string{"a", "b"}, func(_ context.Context, keys []string) (map[string]string, error) {
		asked = keys
		return map[string]string{"b": "loaded"}, nil
	})
	wantMap(t, "GetOrLoadMany", got, err, map[string]string{"a": "A", "b": "loaded"})
	if len(asked) != 1 || asked[0] != "b" {
		t.Fatalf("load was asked for %v; want [b]", asked)
	}
}

// A value read by a batch is never served after its entry's expiry.
func TestLocalTierFetchManyNeverPastExpiry(t *testing.T) {
	ctx := context.Background()
	c, _, _ := localBatchCache(t, Config{})
	ty := For[string](c)
	for round := range 3 {
		ttl := time.Duration(50*(round+1)) * time.Millisecond
		if err := ty.PutMany(ctx, map[string]string{"k": "v"}, WithTTL(ttl)); err != nil {
			t.Fatal(err)
		}
		expires := time.Now().Add(ttl) // at or after the entry's expiry
		for {
			start := time.Now()
			got, err := ty.FetchMany(ctx, []string{"k"})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := got["k"]; !ok {
				break
			}
			if !start.Before(expires) {
				t.Fatalf("round %d: served %v after the entry expired", round, start.Sub(expires))
			}
		}
	}
}

// Two caches on one in-memory store: a write through one reaches the
// other's batch reads no later than LocalTTL after it read the store.
func TestLocalTierFetchManyBoundedByLocalTTL(t *testing.T) {
	const localTTL = 200 * time.Millisecond
	ctx := context.Background()
	store := inmemory.New(inmemory.Options{})
	a, err := NewWithBackend(store, Config{LocalEntries: 10, LocalTTL: localTTL})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewWithBackend(store, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close() // closes the store; b shares it
	if err := For[string](b).PutMany(ctx, map[string]string{"k": "old"}); err != nil {
		t.Fatal(err)
	}
	got, err := For[string](a).FetchMany(ctx, []string{"k"})
	wantMap(t, "FetchMany", got, err, map[string]string{"k": "old"})
	filled := time.Now() // a read the store before this
	if err := For[string](b).PutMany(ctx, map[string]string{"k": "new"}); err != nil {
		t.Fatal(err)
	}
	for {
		start := time.Now()
		got, err := For[string](a).FetchMany(ctx, []string{"k"})
		if err != nil {
			t.Fatal(err)
		}
		if got["k"] == "new" {
			break
		}
		if start.Sub(filled) >= localTTL {
			t.Fatalf("the old value was served %v after it was read (LocalTTL %v)", start.Sub(filled), localTTL)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A batch that read a key before a write of it through this cache does
// not fill the local tier with what it read (the write's invalidation came
// while it was reading).
func TestLocalTierFetchManyFillRacesWrite(t *testing.T) {
	ctx := context.Background()
	c, store, _ := localBatchCache(t, Config{})
	ty := For[string](c)
	if err := ty.Put(ctx, "k", "old"); err != nil {
		t.Fatal(err)
	}
	read, release := store.pauseOnce()
	done := make(chan map[string]string)
	go func() {
		got, _ := ty.FetchMany(ctx, []string{"k"})
		done <- got
	}()
	<-read
	if err := ty.Put(ctx, "k", "new"); err != nil {
		t.Fatal(err)
	}
	release()
	if got := <-done; got["k"] != "old" {
		t.Fatalf("the paused batch got %v", got)
	}
	got, err := ty.FetchMany(ctx, []string{"k"})
	wantMap(t, "FetchMany after the write", got, err, map[string]string{"k": "new"})
}

// A read that saw a tag's version just before InvalidateTags of the tag
// does not fill the local tier with the value (Fetch and FetchMany).
func TestLocalTierFillRacesInvalidateTags(t *testing.T) {
	reads := map[string]func(c *Cache) error{
		"Fetch": func(c *Cache) error { _, err := For[string](c).Fetch(context.Background(), "k"); return err },
		"FetchMany": func(c *Cache) error {
			got, err := For[string](c).FetchMany(context.Background(), []string{"k"})
			if err == nil && len(got) == 0 {
				err = ErrNotFound
			}
			return err
		},
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c, store, _ := localBatchCache(t, Config{})
			store.onGet = func(key string) bool { return strings.HasPrefix(key, tagKeyPrefix) }
			if err := c.Put(ctx, "k", "v", WithTags("red")); err != nil {
				t.Fatal(err)
			}
			versionRead, release := store.pauseOnce()
			done := make(chan error)
			go func() { done <- read(c) }()
			<-versionRead
			if err := c.InvalidateTags(ctx, "red"); err != nil {
				t.Fatal(err)
			}
			release()
			if err := <-done; err != nil {
				t.Fatalf("the paused read: %v", err) // it read the store before the invalidation
			}
			if err := read(c); !errors.Is(err, ErrNotFound) {
				t.Fatalf("after InvalidateTags: %v; want ErrNotFound", err)
			}
		})
	}
}

// InvalidateTags drops the local values of its tags only: values of other
// tags, and untagged ones, are still served from the local tier.
func TestLocalTierInvalidateTagsGranular(t *testing.T) {
	ctx := context.Background()
	c, _, _ := localBatchCache(t, Config{})
	ty := For[string](c)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ty.Put(ctx, "a1", "A1", WithTags("A")))
	must(ty.Put(ctx, "ab", "AB", WithTags("B", "A")))
	must(ty.Put(ctx, "b1", "B1", WithTags("B")))
	must(ty.Put(ctx, "u", "U"))
	keys := []string{"a1", "ab", "b1", "u"}
	fetch := func(k string) (string, error) { return ty.Fetch(ctx, k) }
	for range 2 { // the second round is served by the local tier
		for _, k := range keys {
			if _, err := fetch(k); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st := c.Stats(); st.LocalHits != 4 {
		t.Fatalf("%+v: not all in the local tier", st)
	}
	must(c.InvalidateTags(ctx, "A"))
	for _, k := range []string{"a1", "ab"} {
		if v, err := fetch(k); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Fetch of %s (tag A) = %q, %v; want ErrNotFound", k, v, err)
		}
	}
	for _, k := range []string{"b1", "u"} {
		if v, err := fetch(k); err != nil || v != strings.ToUpper(k) {
			t.Fatalf("Fetch of %s = %q, %v", k, v, err)
		}
	}
	if st := c.Stats(); st.LocalHits != 6 {
		t.Fatalf("%+v: B's value and the untagged one were not served from the local tier", st)
	}
}
