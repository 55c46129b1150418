package cachette_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cachette-go/cachette"
)

// GetOrLoad with early refresh: a hot value of a minute is reloaded in
// the background shortly before it expires, by about one caller, while
// every caller keeps getting the value at once; a slow load (here 50 ms)
// starts earlier than a quick one. beta 1 is the usual choice.
func ExampleWithEarlyRefresh() {
	ctx := context.Background()
	c, _ := cachette.New(ctx, cachette.Config{Codec: "json"})
	defer c.Close()

	load := func(ctx context.Context) ([]string, error) {
		time.Sleep(50 * time.Millisecond) // the query this cache saves
		return []string{"ada", "grace"}, nil
	}
	for range 3 {
		top, err := cachette.GetOrLoad(ctx, c, "users:top", load,
			cachette.WithTTL(time.Minute), cachette.WithEarlyRefresh(1))
		fmt.Println(top, err)
	}
	// Output:
	// [ada grace] <nil>
	// [ada grace] <nil>
	// [ada grace] <nil>
}
