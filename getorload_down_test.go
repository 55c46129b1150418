package cachette

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends/inmemory"
)

// downStore is a store whose reads fail, as a dead or hung server's do.
type downStore struct{ countingStore }

var errStoreDown = errors.New("store down")

func (s *downStore) Get(context.Context, string) ([]byte, time.Time, error) {
	s.gets.Add(1)
	return nil, time.Time{}, errStoreDown
}

// TestGetOrLoadStoreDownReadsOnce: when GetOrLoad's read fails with a
// store error, its load neither reads the store again before loading nor
// writes the loaded value (a down or hung store would cost one more
// timeout per call each; the chaos runs of docs/reliability.md measured
// three timeouts per GetOrLoad, then two).
func TestGetOrLoadStoreDownReadsOnce(t *testing.T) {
	store := &downStore{countingStore{Backend: inmemory.New(inmemory.Options{})}}
	c, err := NewWithBackend(store, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := GetOrLoad(context.Background(), c, "k", func(context.Context) (string, error) { return "loaded", nil })
	if v != "loaded" || err != nil {
		t.Fatalf("GetOrLoad = %q, %v; want the loaded value", v, err)
	}
	if n := store.gets.Load(); n != 1 {
		t.Fatalf("%d store reads, want 1", n)
	}
	if n := store.sets.Load(); n != 0 {
		t.Fatalf("%d store writes after a failed read, want 0", n)
	}
}

// TestGetOrLoadManyStoreDownWritesNothing: when GetOrLoadMany's read of
// the keys it loads fails with a store error, the loaded values are
// returned and not written (as GetOrLoad: a write to a hung store would
// cost another timeout).
func TestGetOrLoadManyStoreDownWritesNothing(t *testing.T) {
	store := &downStore{countingStore{Backend: inmemory.New(inmemory.Options{})}}
	c, err := NewWithBackend(store, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := For[string](c).GetOrLoadMany(context.Background(), []string{"a", "b"}, func(_ context.Context, keys []string) (map[string]string, error) {
		m := make(map[string]string, len(keys))
		for _, k := range keys {
			m[k] = "loaded " + k
		}
		return m, nil
	})
	if err != nil || got["a"] != "loaded a" || got["b"] != "loaded b" {
		t.Fatalf("GetOrLoadMany = %v, %v; want the loaded values", got, err)
	}
	if n := store.sets.Load(); n != 0 {
		t.Fatalf("%d store writes after a failed read, want 0", n)
	}
	if n := store.gets.Load(); n != 2 {
		t.Fatalf("%d store reads of 2 keys, want 2 (one read each, not again inside the load)", n)
	}
}

// TestGetOrLoadStoreDownNoOtherCalls: after a failed read, neither the
// versions of WithTags' tags are read nor a WithNegativeTTL marker is
// written (each would be one more timeout on a hung store).
func TestGetOrLoadStoreDownNoOtherCalls(t *testing.T) {
	store := &downStore{countingStore{Backend: inmemory.New(inmemory.Options{})}}
	c, err := NewWithBackend(store, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	v, err := GetOrLoad(ctx, c, "t", func(context.Context) (string, error) { return "loaded", nil }, WithTags("team"))
	if v != "loaded" || err != nil {
		t.Fatalf("GetOrLoad with tags = %q, %v; want the loaded value", v, err)
	}
	if n := store.gets.Load(); n != 1 {
		t.Fatalf("%d store reads with a tag, want 1 (no tag version read after the failed read)", n)
	}
	_, err = GetOrLoad(ctx, c, "n", func(context.Context) (string, error) { return "", ErrNotFound }, WithNegativeTTL(time.Minute))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetOrLoad of a missing value = %v, want ErrNotFound", err)
	}
	if n := store.sets.Load(); n != 0 {
		t.Fatalf("%d store writes after failed reads, want 0 (no value, no negative marker)", n)
	}
}
