package redis_test

import (
	"context"
	"fmt"
	"log"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/redis"
)

// A cache on one Redis server, opened by configuration. A URL with several
// nodes ("redis://h1:7001,h2:7002") opens a Redis Cluster, and one with
// ?master_name= goes through Sentinel. (It needs a server, so it is not
// run as a test.)
func Example() {
	ctx := context.Background()
	cache, err := cachette.New(ctx, cachette.Config{
		Backend:  "redis",
		RedisURL: "redis://app:secret@10.0.0.1:6379/2",
		Prefix:   "myapp",
		Codec:    "json",
	})
	if err != nil {
		log.Fatal(err) // the error never contains the URL or its password
	}
	defer cache.Close()

	if err := cache.Put(ctx, "user:1", map[string]string{"name": "Ada"}, cachette.WithTTL(time.Hour)); err != nil {
		log.Fatal(err)
	}
	var user map[string]string
	if err := cache.Fetch(ctx, "user:1", &user); err != nil {
		log.Fatal(err)
	}
	fmt.Println(user["name"])
}

// A cache around a go-redis cluster client the program already owns: its
// timeouts and pool are its own, and closing the cache leaves it open.
func ExampleNewFromClient() {
	rdb := goredis.NewClusterClient(&goredis.ClusterOptions{
		Addrs: []string{"10.0.0.1:7001", "10.0.0.2:7002", "10.0.0.3:7003"},
	})
	defer rdb.Close()

	store, err := redis.NewFromClient(rdb, "myapp")
	if err != nil {
		log.Fatal(err)
	}
	cache, err := cachette.NewWithBackend(store, cachette.Config{TTL: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
}
