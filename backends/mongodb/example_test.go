package mongodb_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/mongodb"
)

// A cache on a MongoDB replica set, opened by configuration: the collection
// and its TTL index are created when the cache opens. (It needs a server,
// so it is not run as a test.)
func Example() {
	ctx := context.Background()
	cache, err := cachette.New(ctx, cachette.Config{
		Backend:      "mongodb",
		MongoDBURL:   "mongodb://app:secret@db1:27017,db2:27017/?replicaSet=rs0",
		DatabaseName: "cachette-db", // the default
		TableName:    "cachette",    // the collection; the default
		Prefix:       "myapp",
	})
	if err != nil {
		log.Fatal(err) // a server that is down fails here, within Config.Timeout
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

// A cache around a client the program already owns: its pool, timeouts and
// credentials are its own, and closing the cache does not disconnect it.
func ExampleNewFromClient() {
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://127.0.0.1:27017"))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Disconnect(ctx)

	store, err := mongodb.NewFromClient(ctx, client, "cachette-db", "cachette", "myapp")
	if err != nil {
		log.Fatal(err)
	}
	cache, err := cachette.NewWithBackend(store, cachette.Config{TTL: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
}
