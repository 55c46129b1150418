package httpcache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/httpcache"
)

func ExamplePurge() {
	ctx := context.Background()
	cache, err := cachette.New(ctx, cachette.Config{}) // in memory
	if err != nil {
		panic(err)
	}
	defer cache.Close()

	opts := httpcache.Options{TTL: 5 * time.Minute} // the same Options for the middleware and Purge
	handler := httpcache.Middleware(cache, opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprintf(w, "page %s in %s", r.URL.Query().Get("page"), r.Header.Get("Accept-Language"))
	}))
	get := func(lang string) string {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/blogs?page=2", nil)
		r.Header.Set("Accept-Language", lang)
		handler.ServeHTTP(w, r)
		return w.Header().Get(httpcache.StatusHeader)
	}
	fmt.Println(get("en"), get("fr"), get("en"), get("fr"))

	// Every Vary variant of /blogs?page=2, and nothing else.
	n, err := httpcache.Purge(ctx, cache, opts, httptest.NewRequest("GET", "/blogs?page=2", nil))
	fmt.Println(n, err)
	fmt.Println(get("en"), get("fr"))
	// Output:
	// MISS MISS HIT HIT
	// 1 <nil>
	// MISS MISS
}

func ExamplePurgeTags() {
	ctx := context.Background()
	cache, err := cachette.New(ctx, cachette.Config{}) // in memory
	if err != nil {
		panic(err)
	}
	defer cache.Close()

	opts := httpcache.Options{TTL: 5 * time.Minute}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /blogs/{id}", func(w http.ResponseWriter, r *http.Request) {
		// Tags: stored with the response, never sent to the client.
		w.Header().Set("Surrogate-Key", "blogs blog-"+r.PathValue("id"))
		fmt.Fprintf(w, "blog %s", r.PathValue("id"))
	})
	handler := httpcache.Middleware(cache, opts)(mux)
	get := func(path string) string {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w.Header().Get(httpcache.StatusHeader) + w.Header().Get("Surrogate-Key")
	}
	fmt.Println(get("/blogs/1"), get("/blogs/2"), get("/blogs/1"), get("/blogs/2"))

	// Blog 1 changed: drop every response tagged blog-1.
	if err := httpcache.PurgeTags(ctx, cache, opts, "blog-1"); err != nil {
		panic(err)
	}
	fmt.Println(get("/blogs/1"), get("/blogs/2"))
	// Output:
	// MISS MISS HIT HIT
	// MISS HIT
}
