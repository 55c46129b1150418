package cachette_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cachette-go/cachette"
)

func Example() {
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{TTL: 5 * time.Minute}) // in-memory, vanilla codec
	if err != nil {
		panic(err)
	}
	defer c.Close()

	if err := c.Put(ctx, "greeting", "hello"); err != nil {
		panic(err)
	}
	var s string
	if err := c.Fetch(ctx, "greeting", &s); err != nil {
		panic(err)
	}
	fmt.Println(s)

	removed, _ := c.Clear(ctx, "greeting")
	err = c.Fetch(ctx, "greeting", &s)
	fmt.Println(removed, errors.Is(err, cachette.ErrNotFound))
	// Output:
	// hello
	// true true
}

func ExampleLoadConfig() {
	cfg, err := cachette.LoadConfig([][2]string{
		{"backend", "inmemory"},
		{"codec", "json"},
		{"ttl", "3601"},
	})
	fmt.Println(cfg.Backend == "", err)
	// Output:
	// true cachette: invalid config: The "ttl" value must be between 1 and 3600 seconds
}

func ExampleGetOrLoad() {
	ctx := context.Background()
	c, _ := cachette.New(ctx, cachette.Config{Codec: "json"})
	defer c.Close()

	type user struct{ Name string }
	load := func(ctx context.Context) (user, error) {
		fmt.Println("loading from the database")
		return user{Name: "Ada"}, nil
	}
	for range 2 {
		u, err := cachette.GetOrLoad(ctx, c, "user:1", load, cachette.WithTTL(time.Minute))
		if err != nil {
			panic(err)
		}
		fmt.Println(u.Name)
	}
	// Output:
	// loading from the database
	// Ada
	// Ada
}
