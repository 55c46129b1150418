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

// A store with a budget of its own, handed to cachette.NewWithBackend. The
// budgets are split evenly over the shards; with one shard and two
// entries at most, the third Put evicts the entry read least recently.
func ExampleNew() {
	ctx := context.Background()
	store := inmemory.New(inmemory.Options{MaxBytes: 64 << 20, MaxEntries: 2, Shards: 1})
	cache, err := cachette.NewWithBackend(store, cachette.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close() // also stops the store's reaper

	var s string
	_ = cache.Put(ctx, "a", "1")
	_ = cache.Put(ctx, "b", "2")
	_ = cache.Fetch(ctx, "a", &s) // "a" is now the more recently read
	_ = cache.Put(ctx, "c", "3")  // evicts "b"

	for _, key := range []string{"a", "b", "c"} {
		err := cache.Fetch(ctx, key, &s)
		fmt.Println(key, err == nil)
	}
	fmt.Println(store.Len())
	// Output:
	// a true
	// b false
	// c true
	// 2
}
