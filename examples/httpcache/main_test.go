package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/httpcache"
)

func TestBlogAPI(t *testing.T) {
	cache, err := cachette.New(context.Background(), cachette.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	logger := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(newHandler(cache, 300*time.Second, "letmein", logger))
	defer srv.Close()

	type answer struct {
		code  int
		cache string
		body  string
		h     http.Header
	}
	get := func(path string, hdr ...string) answer {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header.Get(httpcache.StatusHeader), strings.TrimSpace(string(b)), resp.Header}
	}
	want := func(a answer, code int, cache, body string) {
		t.Helper()
		if a.code != code || a.cache != cache || (body != "" && a.body != body) {
			t.Errorf("got %d %s %q, want %d %s %q", a.code, a.cache, a.body, code, cache, body)
		}
	}

	miss := get("/blogs/42")
	want(miss, 200, "MISS", `{"blog_id":"42"}`)
	if miss.h.Get("Cache-Control") != "max-age=300" || miss.h.Get("Content-Type") != "application/json" {
		t.Errorf("MISS headers: %v", miss.h)
	}
	hit := get("/blogs/42")
	want(hit, 200, "HIT", `{"blog_id":"42"}`)
	if hit.h.Get("Age") == "" || hit.h.Get("ETag") == "" || !strings.HasPrefix(hit.h.Get("Cache-Control"), "max-age=") {
		t.Errorf("HIT headers: %v", hit.h)
	}
	want(get("/blogs/42", "If-None-Match", hit.h.Get("ETag")), 304, "HIT", "")
	want(get("/blogs/7"), 200, "MISS", `{"blog_id":"7"}`)

	// Logged-in users and clients that ask for fresh data skip the cache.
	want(get("/blogs/42", "Authorization", "Bearer token"), 200, "BYPASS", "")
	want(get("/blogs/42", "Cookie", "session=abc"), 200, "BYPASS", "")
	want(get("/blogs/42", "X-Cache-Bypass", "letmein"), 200, "BYPASS", "")
	want(get("/blogs/42", "Cache-Control", "no-cache"), 200, "NO_CACHE", "")

	// The list is keyed by its filter only.
	first := get("/blogs?page=1&utm_source=newsletter")
	want(first, 200, "MISS", "")
	want(get("/blogs"), 200, "HIT", first.body)
	want(get("/blogs?max_page=10&page=01"), 200, "HIT", first.body)
	want(get("/blogs?page=2"), 200, "MISS", "")
	want(get("/blogs?slug=post-2"), 200, "MISS", `{"blogs":[{"id":"2","slug":"post-2"}],"filter":{"slug":"post-2","page":1,"max_page":10}}`)
	want(get("/blogs?page=zero"), 400, "MISS", "")
	want(get("/blogs?max_page=500"), 400, "MISS", "")
	want(get("/blogs?max_page=500"), 400, "MISS", "") // errors are not stored
}
