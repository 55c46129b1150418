package cachette

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
	"github.com/cachette-go/cachette/codecs"
)

type tuser struct {
	Name string
	Age  int
}

// batchStore counts every call that reaches the store, the batch ones too.
type batchStore struct {
	countingStore
	getManys, setManys atomic.Int32
	manyKeys           atomic.Int32 // keys asked of GetMany, in all
}

func (s *batchStore) GetMany(ctx context.Context, keys []string) (map[string]backends.Item, error) {
	s.getManys.Add(1)
	s.manyKeys.Add(int32(len(keys)))
	return s.countingStore.Backend.(backends.Batcher).GetMany(ctx, keys)
}

func (s *batchStore) SetMany(ctx context.Context, entries []backends.Entry) error {
	s.setManys.Add(1)
	return s.countingStore.Backend.(backends.Batcher).SetMany(ctx, entries)
}

func batchCache(t *testing.T, codec string) (*Cache, *batchStore) {
	t.Helper()
	store := &batchStore{countingStore: countingStore{Backend: inmemory.New(inmemory.Options{})}}
	c, err := NewWithBackend(store, Config{Codec: codec, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, store
}

func TestTypedRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"batcher", "fallback"} {
		t.Run(name, func(t *testing.T) {
			var c *Cache
			if name == "batcher" {
				c, _ = batchCache(t, "json")
			} else {
				c, _ = testCache(t, "json") // its store has no GetMany/SetMany
			}
			users := For[tuser](c)
			if err := users.Put(ctx, "ada", tuser{"Ada", 36}, WithTTL(time.Hour)); err != nil {
				t.Fatal(err)
			}
			u, err := users.Fetch(ctx, "ada")
			if err != nil || u != (tuser{"Ada", 36}) {
				t.Fatalf("Fetch = %v, %v", u, err)
			}
			u, left, err := users.FetchWithTTL(ctx, "ada")
			if err != nil || u.Name != "Ada" || left <= 0 || left > time.Hour {
				t.Fatalf("FetchWithTTL = %v, %v, %v", u, left, err)
			}
			if _, err := users.Fetch(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Fetch(nobody) = %v, want ErrNotFound", err)
			}

			items := map[string]tuser{}
			for i := range 50 {
				items[fmt.Sprint("u", i)] = tuser{fmt.Sprint("user ", i), i}
			}
			if err := users.PutMany(ctx, items); err != nil {
				t.Fatal(err)
			}
			keys := []string{"u0", "u0", "missing", "ada"} // a repeat, a miss
			for k := range items {
				keys = append(keys, k)
			}
			got, err := users.FetchMany(ctx, keys)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(items)+1 || got["ada"].Name != "Ada" {
				t.Fatalf("FetchMany returned %d values (ada %v), want %d", len(got), got["ada"], len(items)+1)
			}
			for k, v := range items {
				if got[k] != v {
					t.Errorf("FetchMany[%s] = %v, want %v", k, got[k], v)
				}
			}
			if _, ok := got["missing"]; ok {
				t.Error("FetchMany returned a key never stored")
			}
			if got, err := users.FetchMany(ctx, nil); err != nil || len(got) != 0 {
				t.Fatalf("FetchMany(nil) = %v, %v", got, err)
			}
		})
	}
}

// TestTypedCodecCannotHoldT: with the vanilla codec a struct cannot be
// stored; every method says so before the store is called or load runs.
func TestTypedCodecCannotHoldT(t *testing.T) {
	ctx := context.Background()
	c, store := batchCache(t, "") // vanilla
	users := For[tuser](c)
	var loads atomic.Int32
	calls := map[string]func() error{
		"Fetch": func() error { _, err := users.Fetch(ctx, "k"); return err },
		"FetchWithTTL": func() error {
			_, _, err := users.FetchWithTTL(ctx, "k")
			return err
		},
		"Put": func() error { return users.Put(ctx, "k", tuser{}) },
		"GetOrLoad": func() error {
			_, err := users.GetOrLoad(ctx, "k", func(context.Context) (tuser, error) { loads.Add(1); return tuser{}, nil })
			return err
		},
		"FetchMany": func() error { _, err := users.FetchMany(ctx, []string{"k"}); return err },
		"PutMany":   func() error { return users.PutMany(ctx, map[string]tuser{"k": {}}) },
		"GetOrLoadMany": func() error {
			_, err := users.GetOrLoadMany(ctx, []string{"k"}, func(context.Context, []string) (map[string]tuser, error) {
				loads.Add(1)
				return map[string]tuser{"k": {}}, nil
			})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, codecs.ErrType) {
			t.Errorf("%s = %v, want an error wrapping codecs.ErrType", name, err)
		}
	}
	if n := loads.Load(); n != 0 {
		t.Errorf("load ran %d times", n)
	}
	if g, s, gm, sm := store.gets.Load(), store.sets.Load(), store.getManys.Load(), store.setManys.Load(); g+s+gm+sm != 0 {
		t.Errorf("the store got %d Gets, %d Sets, %d GetManys, %d SetManys; want none", g, s, gm, sm)
	}
	// string and []byte are fine with vanilla.
	if err := For[string](c).PutMany(ctx, map[string]string{"s": "x"}); err != nil {
		t.Fatal(err)
	}
	if got, err := For[[]byte](c).FetchMany(ctx, []string{"s"}); err != nil || string(got["s"]) != "x" {
		t.Fatalf("For[[]byte].FetchMany = %q, %v", got, err)
	}
}

// TestBatchOneStoreCall: 100 keys are one GetMany and one SetMany, never a
// Get or Set per key.
func TestBatchOneStoreCall(t *testing.T) {
	ctx := context.Background()
	c, store := batchCache(t, "json")
	users := For[tuser](c)
	items := map[string]tuser{}
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
		if i%2 == 0 {
			items[keys[i]] = tuser{Name: keys[i]}
		}
	}
	if err := users.PutMany(ctx, items); err != nil {
		t.Fatal(err)
	}
	got, err := users.FetchMany(ctx, keys)
	if err != nil || len(got) != 50 {
		t.Fatalf("FetchMany = %d values, %v; want 50", len(got), err)
	}
	if g, s, gm, sm := store.gets.Load(), store.sets.Load(), store.getManys.Load(), store.setManys.Load(); g != 0 || s != 0 || gm != 1 || sm != 1 {
		t.Fatalf("store calls: %d Get, %d Set, %d GetMany, %d SetMany; want 0, 0, 1, 1", g, s, gm, sm)
	}
	// GetOrLoadMany: one read, one load of the 50 missing, one read again
	// under the flight (as GetOrLoad), one write.
	var asked []string
	loaded, err := users.GetOrLoadMany(ctx, keys, func(_ context.Context, missing []string) (map[string]tuser, error) {
		asked = missing
		out := map[string]tuser{}
		for _, k := range missing {
			out[k] = tuser{Name: "loaded " + k}
		}
		return out, nil
	})
	if err != nil || len(loaded) != 100 || len(asked) != 50 {
		t.Fatalf("GetOrLoadMany = %d values, %v; load asked for %d keys; want 100 and 50", len(loaded), err, len(asked))
	}
	if g, s, gm, sm := store.gets.Load(), store.sets.Load(), store.getManys.Load(), store.setManys.Load(); g != 0 || s != 0 || gm != 3 || sm != 2 {
		t.Fatalf("store calls: %d Get, %d Set, %d GetMany, %d SetMany; want 0, 0, 3, 2", g, s, gm, sm)
	}
}

// TestFetchManyCorruptEntries: a batch holding undecodable entries returns
// the others; the bad ones are absent, removed and logged, as Fetch does.
func TestFetchManyCorruptEntries(t *testing.T) {
	ctx := context.Background()
	var logs syncBuf
	store := inmemory.New(inmemory.Options{})
	c, err := NewWithBackend(store, Config{Codec: "json", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	users := For[tuser](c)
	if err := users.PutMany(ctx, map[string]tuser{"good": {Name: "good"}, "good2": {Name: "good2"}}); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Minute)
	corrupt := map[string][]byte{
		"garbage":   bytes.Repeat([]byte{0x42}, 40),
		"json":      append([]byte{0xCA, 1, codecs.IDJSON, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "{broken"...),
		"old codec": append([]byte{0xCA, 1, codecs.IDGob, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "gob bytes"...),
	}
	keys := []string{"good", "good2"}
	for k, raw := range corrupt {
		if err := store.Set(ctx, k, raw, exp); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if err := c.PutBytes(ctx, "raw", []byte("not json")); err != nil { // another codec ID
		t.Fatal(err)
	}
	keys = append(keys, "raw")
	if err := users.Put(ctx, "expired", tuser{Name: "old"}, WithTTL(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	keys = append(keys, "expired")
	waitFor(t, "the entry to expire", func() bool {
		_, err := users.Fetch(ctx, "expired")
		return errors.Is(err, ErrNotFound)
	})

	got, err := users.FetchMany(ctx, keys)
	if err != nil {
		t.Fatalf("FetchMany = %v; corrupt entries must not fail the batch", err)
	}
	if len(got) != 2 || got["good"].Name != "good" || got["good2"].Name != "good2" {
		t.Fatalf("FetchMany = %v; want good and good2 only", got)
	}
	for _, k := range []string{"garbage", "json", "old codec", "raw"} {
		if _, _, err := store.Get(ctx, k); !errors.Is(err, backends.ErrNotFound) {
			t.Errorf("%s: corrupt entry still stored (%v)", k, err)
		}
	}
	if n := bytes.Count([]byte(logs.String()), []byte("dropping undecodable entry")); n != 4 {
		t.Errorf("logged %d dropped entries, want 4:\n%s", n, logs.String())
	}
}

func TestPutManyErrorsPerItem(t *testing.T) {
	ctx := context.Background()
	store := inmemory.New(inmemory.Options{})
	c, err := NewWithBackend(store, Config{Codec: "vanilla", MaxValueSize: 10, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = For[string](c).PutMany(ctx, map[string]string{"small": "ok", "big": "far more than ten bytes"})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("PutMany = %v, want ErrTooLarge", err)
	}
	if got, err := For[string](c).FetchMany(ctx, []string{"small", "big"}); err != nil || len(got) != 1 || got["small"] != "ok" {
		t.Fatalf("FetchMany = %v, %v; want the small one stored", got, err)
	}
}

// TestGetOrLoadManyLoadsOnlyMissing: load gets the missing keys only; keys
// it does not return stay absent and are asked for again next time.
func TestGetOrLoadManyLoadsOnlyMissing(t *testing.T) {
	ctx := context.Background()
	c, _ := batchCache(t, "json")
	users := For[tuser](c)
	if err := users.PutMany(ctx, map[string]tuser{"a": {Name: "a"}, "b": {Name: "b"}}); err != nil {
		t.Fatal(err)
	}
	var asked [][]string
	load := func(_ context.Context, missing []string) (map[string]tuser, error) {
		asked = append(asked, slices.Sorted(slices.Values(missing)))
		return map[string]tuser{"c": {Name: "c loaded"}, "d": {Name: "d loaded"}, "zzz": {Name: "not asked"}}, nil
	}
	got, err := users.GetOrLoadMany(ctx, []string{"a", "b", "c", "d", "e", "c"}, load)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got["c"].Name != "c loaded" || got["a"].Name != "a" {
		t.Fatalf("GetOrLoadMany = %v; want a, b, c, d", got)
	}
	if _, err := users.Fetch(ctx, "zzz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a value load returned but nobody asked for was stored (%v)", err)
	}
	got, err = users.GetOrLoadMany(ctx, []string{"a", "b", "c", "d", "e"}, load)
	if err != nil || len(got) != 4 {
		t.Fatalf("second GetOrLoadMany = %v, %v", got, err)
	}
	want := [][]string{{"c", "d", "e"}, {"e"}}
	if fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Fatalf("load was asked for %v, want %v", asked, want)
	}
	loadErr := errors.New("database down")
	if _, err := users.GetOrLoadMany(ctx, []string{"e"}, func(context.Context, []string) (map[string]tuser, error) {
		return nil, loadErr
	}); !errors.Is(err, loadErr) {
		t.Fatalf("GetOrLoadMany with a failing load = %v", err)
	}
	if _, err := users.GetOrLoadMany(ctx, []string{"e"}, func(context.Context, []string) (map[string]tuser, error) {
		panic("boom")
	}); !errors.Is(err, ErrLoadPanicked) {
		t.Fatalf("GetOrLoadMany with a panicking load = %v", err)
	}
}

// TestGetOrLoadManyCoalescesWithGetOrLoad: a GetOrLoad of a key that a
// GetOrLoadMany is loading waits for that load instead of running its own,
// and the other way round.
func TestGetOrLoadManyCoalescesWithGetOrLoad(t *testing.T) {
	ctx := context.Background()
	c, _ := batchCache(t, "json")
	users := For[tuser](c)

	// 1. The batch load runs first; GetOrLoad("b") joins it.
	started, release := make(chan []string, 1), make(chan struct{})
	batchDone := make(chan map[string]tuser, 1)
	go func() {
		got, err := users.GetOrLoadMany(ctx, []string{"a", "b"}, func(_ context.Context, missing []string) (map[string]tuser, error) {
			started <- missing
			<-release
			return map[string]tuser{"a": {Name: "a from batch"}, "b": {Name: "b from batch"}}, nil
		})
		if err != nil {
			t.Error(err)
		}
		batchDone <- got
	}()
	<-started
	var singleLoads atomic.Int32
	single := goGetOrLoad(ctx, c, "b", func(context.Context) (tuser, error) {
		singleLoads.Add(1)
		return tuser{Name: "b from GetOrLoad"}, nil
	})
	waitFor(t, "GetOrLoad to join the batch load", func() bool { return waiters[tuser](c, "b") == 2 })
	close(release)
	if r := receive(t, single); r.err != nil || r.v.Name != "b from batch" {
		t.Fatalf("GetOrLoad = %v, %v; want the batch's value", r.v, r.err)
	}
	if got := <-batchDone; len(got) != 2 || got["b"].Name != "b from batch" {
		t.Fatalf("GetOrLoadMany = %v", got)
	}
	if n := singleLoads.Load(); n != 0 {
		t.Fatalf("GetOrLoad ran its own load %d times while the batch loaded the key", n)
	}

	// 2. GetOrLoad("c") loads first; the batch of c, d, e loads d and e only.
	singleStarted, singleRelease := make(chan struct{}), make(chan struct{})
	single = goGetOrLoad(ctx, c, "c", func(context.Context) (tuser, error) {
		close(singleStarted)
		<-singleRelease
		return tuser{Name: "c from GetOrLoad"}, nil
	})
	<-singleStarted
	var asked []string
	go func() {
		got, err := users.GetOrLoadMany(ctx, []string{"c", "d", "e"}, func(_ context.Context, missing []string) (map[string]tuser, error) {
			asked = slices.Sorted(slices.Values(missing))
			return map[string]tuser{"d": {Name: "d"}, "e": {Name: "e"}}, nil
		})
		if err != nil {
			t.Error(err)
		}
		batchDone <- got
	}()
	waitFor(t, "GetOrLoadMany to join the GetOrLoad of c", func() bool { return waiters[tuser](c, "c") == 2 })
	close(singleRelease)
	if r := receive(t, single); r.err != nil || r.v.Name != "c from GetOrLoad" {
		t.Fatalf("GetOrLoad = %v, %v", r.v, r.err)
	}
	got := <-batchDone
	if len(got) != 3 || got["c"].Name != "c from GetOrLoad" {
		t.Fatalf("GetOrLoadMany = %v; want c from GetOrLoad, d, e", got)
	}
	if fmt.Sprint(asked) != "[d e]" {
		t.Fatalf("the batch load was asked for %v, want [d e]", asked)
	}
}

// TestGetOrLoadJoinsBatchThatLeavesKeyOut: a GetOrLoad waiting for a batch
// load that does not return its key loads it itself.
func TestGetOrLoadJoinsBatchThatLeavesKeyOut(t *testing.T) {
	ctx := context.Background()
	c, _ := batchCache(t, "json")
	users := For[tuser](c)
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		got, err := users.GetOrLoadMany(ctx, []string{"x", "y"}, func(context.Context, []string) (map[string]tuser, error) {
			close(started)
			<-release
			return map[string]tuser{"x": {Name: "x"}}, nil
		})
		if err != nil || len(got) != 1 {
			t.Errorf("GetOrLoadMany = %v, %v; want x only", got, err)
		}
	}()
	<-started
	single := goGetOrLoad(ctx, c, "y", func(context.Context) (tuser, error) { return tuser{Name: "y loaded alone"}, nil })
	waitFor(t, "GetOrLoad to join the batch load", func() bool { return waiters[tuser](c, "y") == 2 })
	close(release)
	if r := receive(t, single); r.err != nil || r.v.Name != "y loaded alone" {
		t.Fatalf("GetOrLoad = %v, %v; want its own load's value", r.v, r.err)
	}
	wg.Wait()
}

// TestGetOrLoadManyCallerLeaves: a caller whose context ends returns at
// once; the load goes on for a GetOrLoad still waiting for one of its keys.
func TestGetOrLoadManyCallerLeaves(t *testing.T) {
	c, _ := batchCache(t, "json")
	users := For[tuser](c)
	ctx, cancel := context.WithCancel(context.Background())
	started, release := make(chan struct{}), make(chan struct{})
	var loadCtx context.Context
	errc := make(chan error, 1)
	go func() {
		_, err := users.GetOrLoadMany(ctx, []string{"p", "q"}, func(lctx context.Context, _ []string) (map[string]tuser, error) {
			loadCtx = lctx
			close(started)
			<-release
			return map[string]tuser{"p": {Name: "p"}, "q": {Name: "q"}}, nil
		})
		errc <- err
	}()
	<-started
	single := goGetOrLoad(context.Background(), c, "q", func(context.Context) (tuser, error) { return tuser{Name: "own"}, nil })
	waitFor(t, "GetOrLoad to join the batch load", func() bool { return waiters[tuser](c, "q") == 2 })
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("GetOrLoadMany after cancel = %v", err)
		}
	case <-time.After(waitLong):
		t.Fatal("GetOrLoadMany did not return when its context ended")
	}
	if loadCtx.Err() != nil {
		t.Fatal("the load's context ended although a GetOrLoad still waits for it")
	}
	close(release)
	if r := receive(t, single); r.err != nil || r.v.Name != "q" {
		t.Fatalf("GetOrLoad = %v, %v; want the batch's value", r.v, r.err)
	}
}

// PutMany applies WithTags like Put: InvalidateTags drops what it stored.
func TestPutManyTags(t *testing.T) {
	c, err := New(context.Background(), Config{Prefix: "putmanytags"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	s := For[string](c)
	if err := s.PutMany(ctx, map[string]string{"a": "1", "b": "2"}, WithTags("t")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FetchMany(ctx, []string{"a", "b"}); err != nil || len(got) != 2 {
		t.Fatalf("FetchMany before InvalidateTags: %v, %v", got, err)
	}
	if err := c.InvalidateTags(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FetchMany(ctx, []string{"a", "b"}); err != nil || len(got) != 0 {
		t.Errorf("FetchMany after InvalidateTags: %v, %v; want nothing", got, err)
	}
	if _, err := s.Fetch(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Fetch after InvalidateTags: %v, want ErrNotFound", err)
	}
}

// GetOrLoadMany takes the tags' versions before its load, as GetOrLoad
// does: an InvalidateTags while the load runs makes its values misses.
// Its loads count in Stats.
func TestGetOrLoadManyTagsInvalidatedDuringLoad(t *testing.T) {
	ctx := context.Background()
	c, err := New(ctx, Config{Prefix: "manytags"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := For[string](c)
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := s.GetOrLoadMany(ctx, []string{"a", "b"}, func(ctx context.Context, missing []string) (map[string]string, error) {
			close(started)
			<-release
			return map[string]string{"a": "old a", "b": "old b"}, nil
		}, WithTags("t"))
		done <- err
	}()
	<-started
	if err := c.InvalidateTags(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, err := s.FetchMany(ctx, []string{"a", "b"}); err != nil || len(got) != 0 {
		t.Errorf("FetchMany after an InvalidateTags during the load = %v, %v; want nothing", got, err)
	}
	if st := c.Stats(); st.Loads != 1 || st.LoadErrors != 0 {
		t.Errorf("Stats: %d loads, %d load errors; want 1 and 0", st.Loads, st.LoadErrors)
	}
}
