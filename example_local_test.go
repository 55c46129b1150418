package cachette_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cachette-go/cachette"
)

// A cache with a local tier keeps up to LocalEntries decoded values in
// process memory in front of its store: a hit there makes no network call
// and no decode. On redis and valkey, a write by any process drops the
// local copies everywhere within milliseconds (server-assisted
// invalidation); on the other stores, a write through this cache drops its
// own copy at once, and other processes' copies live at most LocalTTL.
func Example_localTier() {
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{
		Codec:        "json",
		LocalEntries: 10_000,          // 0 (the default) means no local tier
		LocalTTL:     2 * time.Second, // how stale another process's write may find us, on stores without invalidation
	})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	type user struct{ Name string }
	if err := c.Put(ctx, "user:1", user{Name: "Ada"}); err != nil {
		panic(err)
	}
	var u user
	_ = c.Fetch(ctx, "user:1", &u) // read from the store, decoded, kept locally
	_ = c.Fetch(ctx, "user:1", &u) // served by the local tier: no store call, no decode
	fmt.Println(u.Name)

	_ = c.Put(ctx, "user:1", user{Name: "Grace"}) // drops the local copy
	_ = c.Fetch(ctx, "user:1", &u)
	fmt.Println(u.Name)
	// Output:
	// Ada
	// Grace
}
