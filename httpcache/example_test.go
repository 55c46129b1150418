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

func ExampleMiddleware() {
	ctx := context.Background()
	cache, err := cachette.New(ctx, cachette.Config{}) // in memory
	if err != nil {
		panic(err)
	}
	defer cache.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /blogs/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"blog_id":%q}`, r.PathValue("id"))
	})
	handler := httpcache.Middleware(cache, httpcache.Options{TTL: 300 * time.Second})(mux)

	for range 2 {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, httptest.NewRequest("GET", "/blogs/42", nil))
		fmt.Println(w.Header().Get(httpcache.StatusHeader), w.Header().Get("Cache-Control"), w.Body.String())
	}
	// Output:
	// MISS max-age=300 {"blog_id":"42"}
	// HIT max-age=300 {"blog_id":"42"}
}

func ExampleDecode() {
	type BlogFilter struct {
		ID      string   `query:"id"`
		Slug    string   `query:"slug"`
		Page    int      `query:"page" default:"1"`
		MaxPage int      `query:"max_page" default:"10"`
		Tags    []string `query:"tag"`
	}
	r := httptest.NewRequest("GET", "/blogs?slug=go&tag=web&tag=cache&tag=web&utm_source=x", nil)
	var f BlogFilter
	if err := httpcache.Decode(r, &f); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", f)

	r = httptest.NewRequest("GET", "/blogs?page=two", nil)
	fmt.Println(httpcache.Decode(r, &f))
	// Output:
	// {ID: Slug:go Page:1 MaxPage:10 Tags:[cache web]}
	// httpcache: invalid query parameter "page": "two" is not a whole number
}
