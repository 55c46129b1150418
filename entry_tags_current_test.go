package cachette_test

import (
	"context"
	"testing"

	"github.com/cachette-go/cachette"
)

// TestEntryTagsCurrent: an entry's tags are current until InvalidateTags
// of one of them, after which the store still holds the entry (what a tool
// reading the store sees) but Fetch misses it, and EntryTagsCurrent says so.
func TestEntryTagsCurrent(t *testing.T) {
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Put(ctx, "plain", "v"); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "tagged", "v", cachette.WithTags("a", "b")); err != nil {
		t.Fatal(err)
	}
	current := func(key string) bool {
		t.Helper()
		raw, _, err := c.Backend().Get(ctx, key)
		if err != nil {
			t.Fatalf("store Get %q: %v", key, err)
		}
		ok, err := c.EntryTagsCurrent(ctx, raw)
		if err != nil {
			t.Fatalf("EntryTagsCurrent %q: %v", key, err)
		}
		return ok
	}
	if !current("plain") || !current("tagged") {
		t.Fatal("an entry is not current before any invalidation")
	}
	if err := c.InvalidateTags(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if current("tagged") {
		t.Error("the entry of an invalidated tag is current")
	}
	if !current("plain") {
		t.Error("an untagged entry is not current after InvalidateTags")
	}
	if _, err := c.EntryTagsCurrent(ctx, []byte("not an entry")); err == nil {
		t.Error("EntryTagsCurrent of junk: no error")
	}
}
