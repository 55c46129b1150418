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
// store error, its load does not read the store again before loading (a
// down or hung store would cost one more timeout per call; the chaos runs
// of docs/reliability.md measured three timeouts per GetOrLoad).
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
	if n := store.sets.Load(); n != 1 {
		t.Fatalf("%d store writes, want 1 (the loaded value)", n)
	}
}
