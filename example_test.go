package cachette_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/codecs"
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

func ExampleFor() {
	ctx := context.Background()
	c, _ := cachette.New(ctx, cachette.Config{Codec: "json"})
	defer c.Close()

	type user struct{ Name string }
	users := cachette.For[user](c)
	_ = users.Put(ctx, "user:1", user{Name: "Ada"})
	_ = users.PutMany(ctx, map[string]user{"user:2": {Name: "Grace"}, "user:3": {Name: "Barbara"}})

	u, err := users.Fetch(ctx, "user:1")
	fmt.Println(u.Name, err)
	found, _ := users.FetchMany(ctx, []string{"user:2", "user:3", "user:4"})
	fmt.Println(len(found), found["user:3"].Name)

	// The default codec, vanilla, holds only strings and []byte: asking it
	// for a struct fails before the store is read.
	plain, _ := cachette.New(ctx, cachette.Config{})
	defer plain.Close()
	_, err = cachette.For[user](plain).Fetch(ctx, "user:1")
	fmt.Println(errors.Is(err, codecs.ErrType))
	// Output:
	// Ada <nil>
	// 2 Barbara
	// true
}

func ExampleTyped_GetOrLoadMany() {
	ctx := context.Background()
	c, _ := cachette.New(ctx, cachette.Config{Codec: "json"})
	defer c.Close()

	type user struct{ Name string }
	users := cachette.For[user](c)
	db := map[string]user{"user:1": {Name: "Ada"}, "user:2": {Name: "Grace"}}
	load := func(ctx context.Context, missing []string) (map[string]user, error) {
		fmt.Println("loading", missing) // one query for all the missing keys
		found := map[string]user{}
		for _, k := range missing {
			if u, ok := db[k]; ok {
				found[k] = u
			}
		}
		return found, nil
	}
	_ = users.Put(ctx, "user:1", db["user:1"])
	for range 2 {
		got, err := users.GetOrLoadMany(ctx, []string{"user:1", "user:2", "user:9"}, load, cachette.WithTTL(time.Minute))
		if err != nil {
			panic(err)
		}
		fmt.Println(len(got), got["user:2"].Name)
	}
	// Output:
	// loading [user:2 user:9]
	// 2 Grace
	// loading [user:9]
	// 2 Grace
}
