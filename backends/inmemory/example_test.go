package inmemory_test

import (
	"context"
	"fmt"
	"log"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/inmemory"
)

// The default store: a zero Config is an in-memory cache with a 256 MiB
// budget.
func Example() {
	ctx := context.Background()
	cache, err := cachette.New(ctx, cachette.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()

	if err := cache.Put(ctx, "greeting", "hello"); err != nil {
		log.Fatal(err)
	}
	var s string
	if err := cache.Fetch(ctx, "greeting", &s); err != nil {
		log.Fatal(err)
	}
	fmt.Println(s)
	// Output: hello
}

// A store with a budget of its own, handed to cachette.NewWithBackend.
// With two entries at most, a full store evicts as W-TinyLFU decides: a
// new entry pushes out an older one only if it was asked for more often,
// so entries read often outlive a run of one-off writes.
func ExampleNew() {
	ctx := context.Background()
	store := inmemory.New(inmemory.Options{MaxBytes: 64 << 20, MaxEntries: 2})
	cache, err := cachette.NewWithBackend(store, cachette.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close() // also stops the store's reaper

	for _, key := range []string{"a", "b", "c", "d", "e"} {
		_ = cache.Put(ctx, key, "value")
	}
	fmt.Println(store.Len())
	// Output:
	// 2
}
