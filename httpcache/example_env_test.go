package httpcache_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"os"

	"github.com/cachette-go/cachette/httpcache"
)

func ExampleOptionsFromEnv() {
	// As a deployment would set them (fastapi-cachemate's names work).
	for name, value := range map[string]string{
		"API_CACHE_TTL":              "300",
		"API_CACHE_BYPASS_HEADER":    "X-Cache-Bypass",
		"API_CACHE_BYPASS_VALUE":     "test",
		"API_CACHE_TTL_LOCK_SECONDS": "5",
		"API_CACHE_BUFFER":           "0.2",
		"API_CACHE_CACHE_STATUSES":   "200,404",
		"API_CACHE_STORE_TIMEOUT":    "250ms",
	} {
		os.Setenv(name, value)
		defer os.Unsetenv(name)
	}
	opts, err := httpcache.OptionsFromEnv("API_CACHE_")
	if err != nil {
		panic(err)
	}
	fmt.Println(opts.TTL, opts.LockTTL, opts.Buffer, opts.CacheStatuses, opts.StoreTimeout)

	os.Setenv("API_CACHE_TTL_LOCK_SECOND", "5") // misspelt
	defer os.Unsetenv("API_CACHE_TTL_LOCK_SECOND")
	_, err = httpcache.OptionsFromEnv("API_CACHE_")
	fmt.Println(errors.Is(err, httpcache.ErrInvalidOptions))
	// Output:
	// 5m0s 5s 0.2 [200 404] 250ms
	// true
}

func ExampleDecode_aliasAndBounds() {
	// fastapi-cachemate's BlogPydanticFilter: blog_id has the alias id,
	// page >= 1, 1 <= max_page <= 100.
	type BlogFilter struct {
		BlogID  *string `query:"id,blog_id"` // nil when absent
		Slug    *string `query:"slug"`
		Page    int     `query:"page" default:"1" min:"1"`
		MaxPage int     `query:"max_page" default:"10" min:"1" max:"100"`
	}
	for _, target := range []string{"/blogs?id=7", "/blogs?blog_id=7&page=2", "/blogs?max_page=1000"} {
		var f BlogFilter
		err := httpcache.Decode(httptest.NewRequest("GET", target, nil), &f)
		switch {
		case errors.Is(err, httpcache.ErrOutOfRange): // also ErrInvalidQuery: answer 400
			fmt.Println(err)
		case err != nil:
			panic(err)
		default:
			fmt.Println(*f.BlogID, f.Slug == nil, f.Page, f.MaxPage)
		}
	}
	// Output:
	// 7 true 1 10
	// 7 true 2 10
	// httpcache: invalid query parameter "max_page": 1000 is more than the maximum 100
}
