package cachette_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cachette-go/cachette"
)

// GetOrLoad riding out a failing database: the value lives a minute, and
// for an hour after that it is served at once while one background reload
// refreshes it, or instead of the error of a load that fails. A user that
// does not exist is remembered for 30 seconds.
func ExampleGetOrLoad_stale() {
	ctx := context.Background()
	c, _ := cachette.New(ctx, cachette.Config{Codec: "json"})
	defer c.Close()

	type user struct{ Name string }
	errNoRow := fmt.Errorf("no such user: %w", cachette.ErrNotFound)
	load := func(id string) func(context.Context) (user, error) {
		return func(ctx context.Context) (user, error) {
			fmt.Println("loading", id)
			if id != "1" {
				return user{}, errNoRow // remembered: WithNegativeTTL
			}
			return user{Name: "Ada"}, nil
		}
	}
	opts := []cachette.Option{
		cachette.WithTTL(time.Minute),
		cachette.WithStaleWhileRevalidate(time.Hour),
		cachette.WithStaleIfError(time.Hour),
		cachette.WithNegativeTTL(30 * time.Second),
	}
	for _, id := range []string{"1", "1", "2", "2"} {
		u, err := cachette.GetOrLoad(ctx, c, "user:"+id, load(id), opts...)
		fmt.Printf("%q %v\n", u.Name, errors.Is(err, cachette.ErrNotFound))
	}
	fmt.Printf("%+v\n", c.Stats())
	// Output:
	// loading 1
	// "Ada" false
	// "Ada" false
	// loading 2
	// "" true
	// "" true
	// {Hits:2 LocalHits:0 Misses:2 Loads:2 LoadErrors:1 StaleServed:0 StoreErrors:0}
}

// Tags group entries for invalidation: InvalidateTags drops every entry
// stored with a tag, on any store, without listing keys.
func ExampleCache_InvalidateTags() {
	ctx := context.Background()
	c, _ := cachette.New(ctx, cachette.Config{Codec: "json"})
	defer c.Close()

	c.Put(ctx, "user:1", "Ada", cachette.WithTags("users", "team:7"))
	c.Put(ctx, "user:2", "Grace", cachette.WithTags("users"))
	c.Put(ctx, "team:7", "Compilers", cachette.WithTags("team:7"))

	if err := c.InvalidateTags(ctx, "team:7"); err != nil {
		panic(err)
	}
	for _, key := range []string{"user:1", "user:2", "team:7"} {
		var name string
		err := c.Fetch(ctx, key, &name)
		fmt.Println(key, name, err)
	}
	// Output:
	// user:1  cachette: not found
	// user:2 Grace <nil>
	// team:7  cachette: not found
}
