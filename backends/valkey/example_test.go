package valkey_test

import (
	"context"
	"fmt"
	"log"
	"time"

	valkeygo "github.com/valkey-io/valkey-go"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/valkey"
)

// A cache on one Valkey server, opened by configuration. A URL with several
// nodes ("valkey://h1:7001,h2:7002") opens a cluster, and one with
// ?master_set= goes through Sentinel. (It needs a server, so it is not run
// as a test.)
func Example() {
	ctx := context.Background()
	cache, err := cachette.New(ctx, cachette.Config{
		Backend:   "valkey",
		ValkeyURL: "valkey://app:secret@10.0.0.1:6379/2",
		Prefix:    "myapp",
	})
	if err != nil {
		log.Fatal(err) // the error never contains the URL or its password
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
}

// A cache around a valkey-go client the program already owns; closing the
// cache leaves it open.
func ExampleNewFromClient() {
	client, err := valkeygo.NewClient(valkeygo.ClientOption{InitAddress: []string{"10.0.0.1:6379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	store, err := valkey.NewFromClient(client, "myapp", valkey.WithTimeout(time.Second))
	if err != nil {
		log.Fatal(err)
	}
	cache, err := cachette.NewWithBackend(store, cachette.Config{TTL: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
}
