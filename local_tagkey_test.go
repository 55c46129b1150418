package cachette

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends/inmemory"
)

// A user's key that starts like a tag's version key ("cachette:tag:") is
// an ordinary key too: the store's report of its change (another
// process's Put, through the tracking of redis and valkey) drops its local
// copy, besides counting as a tag's invalidation.
func TestLocalTierTagPrefixedUserKeyInvalidated(t *testing.T) {
	ctx := context.Background()
	store := inmemory.New(inmemory.Options{})
	quiet := slog.New(slog.DiscardHandler)
	c, err := NewWithBackend(store, Config{LocalEntries: 100, LocalTTL: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	other, err := NewWithBackend(store, Config{Logger: quiet}) // another process's writes
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	const key = tagKeyPrefix + "mine"
	if err := other.Put(ctx, key, "old"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := c.Fetch(ctx, key, &got); err != nil || got != "old" {
		t.Fatalf("Fetch = %q, %v", got, err)
	}
	if _, ok := c.local.lookup(key); !ok {
		t.Fatal("the read did not fill the local tier")
	}
	if err := other.Put(ctx, key, "new"); err != nil {
		t.Fatal(err)
	}
	c.local.invalidateKeys([]string{key}) // as the tracking handler does on the store's report
	if err := c.Fetch(ctx, key, &got); err != nil || got != "new" {
		t.Fatalf("Fetch after another process's Put and its invalidation = %q, %v; want \"new\"", got, err)
	}
}
