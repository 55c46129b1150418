package memcached_test

import (
	"context"
	"log"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/memcached"
)

// A cache on a pool of two memcached servers, opened by configuration.
func Example() {
	ctx := context.Background()
	cache, err := cachette.New(ctx, cachette.Config{
		Backend:       "memcached",
		MemcachedHost: "10.0.0.1:11211,10.0.0.2", // port 11211 by default
		Prefix:        "myapp",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
	if err := cache.Put(ctx, "greeting", "hello"); err != nil {
		log.Print(err)
	}
}

// A cache around a client the program already owns.
func ExampleNewFromClient() {
	client := memcache.New("10.0.0.1:11211")
	client.Timeout = 500 * time.Millisecond
	defer client.Close() // the store leaves the client open

	store, err := memcached.NewFromClient(client, "myapp")
	if err != nil {
		log.Fatal(err)
	}
	cache, err := cachette.NewWithBackend(store, cachette.Config{TTL: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
}

// A cache on memcached servers that speak TLS (memcached -Z), whose
// certificates a private CA signed.
func Example_tls() {
	ctx := context.Background()
	cfg, err := cachette.LoadConfig([][2]string{
		{"backend", "memcached"},
		{"memcached_host", "memcacheds://cache1.internal:11211,memcacheds://cache2.internal"},
		{"tls_ca_file", "/etc/myapp/cache-ca.pem"}, // besides the system's roots
		{"prefix", "myapp"},
	})
	if err != nil {
		log.Fatal(err)
	}
	cache, err := cachette.New(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
}
