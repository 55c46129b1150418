package dynamodb_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/dynamodb"
)

// A cache on DynamoDB in one AWS region, with credentials from the AWS
// default chain; the table is created (on-demand billing) if it is
// missing. (It needs the service, so it is not run as a test.)
func Example() {
	ctx := context.Background()
	cache, err := cachette.New(ctx, cachette.Config{
		Backend:   "dynamodb",
		Region:    "eu-west-1",
		TableName: "cachette", // the default
		Prefix:    "myapp",
	})
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
}

// A cache on a local DynamoDB (DynamoDB Local, dynalite): an endpoint alone
// is enough; without credentials in the environment the store signs with
// dummy ones, which local servers accept, in region us-east-1.
func Example_local() {
	ctx := context.Background()
	cache, err := cachette.New(ctx, cachette.Config{
		Backend:     "dynamodb",
		DynamoDBURL: "http://127.0.0.1:8000",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
}

// A cache around a client the program already owns: its credentials,
// region, retries and HTTP client are its own.
func ExampleNewFromClient() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	store, err := dynamodb.NewFromClient(ctx, awsdynamodb.NewFromConfig(cfg), "cachette", "myapp")
	if err != nil {
		log.Fatal(err)
	}
	cache, err := cachette.NewWithBackend(store, cachette.Config{TTL: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
}
