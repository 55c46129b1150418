package gob_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/gob"
)

// A cache in a directory of files, opened by configuration; the gob store
// is always linked. Another cache (or process) on the same directory and
// prefix sees the same entries.
func Example() {
	tmp, err := os.MkdirTemp("", "cachette-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "cache") // created with mode 0700

	ctx := context.Background()
	cfg := cachette.Config{Backend: "gob", PicklePath: dir, Prefix: "myapp", Codec: "json"}
	writer, err := cachette.New(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer writer.Close()
	if err := writer.Put(ctx, "user:1", map[string]string{"name": "Ada"}); err != nil {
		log.Fatal(err)
	}

	reader, err := cachette.New(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer reader.Close()
	var user map[string]string
	if err := reader.Fetch(ctx, "user:1", &user); err != nil {
		log.Fatal(err)
	}
	fmt.Println(user["name"])
	// Output: Ada
}

// A store opened directly, for the options cachette.Config has no field
// for: Sync fsyncs every file and its directory before a write returns.
func ExampleNew() {
	tmp, err := os.MkdirTemp("", "cachette-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	store, err := gob.New(filepath.Join(tmp, "cache"), gob.Options{Prefix: "myapp", Sync: true})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	cache, err := cachette.NewWithBackend(store, cachette.Config{})
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
	// Output: hello
}
