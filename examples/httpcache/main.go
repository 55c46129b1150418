// Command httpcache is fastapi-cachemate's blog API on net/http, its
// responses cached by cachette's httpcache middleware. The cache is
// configured from CACHETTE_* environment variables (in-memory by default;
// CACHETTE_TTL sets how long answers are kept, 60 s by default). Each
// handler sleeps a little, so a MISS is visibly slower than a HIT.
//
//	go run ./examples/httpcache
//	curl -i localhost:8080/blogs/42                      # X-Cache-Status: MISS, then HIT
//	curl -i 'localhost:8080/blogs?page=1&utm_source=x'   # shares the entry of /blogs
//	curl -i -H 'Authorization: Bearer t' localhost:8080/blogs/42   # BYPASS
//	curl -i -H 'Cache-Control: no-cache' localhost:8080/blogs/42   # NO_CACHE
//
// With HTTPCACHE_BYPASS_VALUE set, a request whose X-Cache-Bypass header
// carries that value skips the cache too. The server listens on $ADDR
// (":8080" when unset) and shuts down gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/httpcache"
)

// work is the time a handler pretends to spend on the database.
const work = 100 * time.Millisecond

// BlogFilter is the query of GET /blogs. Only these parameters make the
// cache key: /blogs?page=1&utm_source=x is the same entry as /blogs.
type BlogFilter struct {
	ID      string `query:"id" json:"id,omitempty"`
	Slug    string `query:"slug" json:"slug,omitempty"`
	Page    int    `query:"page" default:"1" json:"page"`
	MaxPage int    `query:"max_page" default:"10" json:"max_page"`
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("httpcache example", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg, err := cachette.ConfigFromEnv("CACHETTE_")
	if err != nil {
		return err
	}
	cfg.Logger = logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cache, err := cachette.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer cache.Close()

	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	srv := &http.Server{
		Addr:              addr,
		Handler:           newHandler(cache, cfg.TTL, os.Getenv("HTTPCACHE_BYPASS_VALUE"), logger),
		ReadHeaderTimeout: 5 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("listening", "addr", addr, "backend", cache.Config().Backend, "ttl", cfg.TTL)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newHandler builds the API: each route has its own cache middleware (the
// list with its filter), and the bypass and logging middlewares wrap them
// all, so they run first.
func newHandler(cache *cachette.Cache, ttl time.Duration, bypassValue string, logger *slog.Logger) http.Handler {
	byID := httpcache.Middleware(cache, httpcache.Options{TTL: ttl, BypassValue: bypassValue, Logger: logger})
	list := httpcache.Middleware(cache, httpcache.Options{TTL: ttl, BypassValue: bypassValue, Logger: logger, Filter: BlogFilter{}})

	mux := http.NewServeMux()
	mux.Handle("GET /blogs/{id}", byID(http.HandlerFunc(getBlog)))
	mux.Handle("GET /blogs", list(http.HandlerFunc(listBlogs)))
	return logRequests(logger, bypassLoggedIn(mux))
}

func getBlog(w http.ResponseWriter, r *http.Request) {
	time.Sleep(work)
	writeJSON(w, http.StatusOK, map[string]string{"blog_id": r.PathValue("id")})
}

func listBlogs(w http.ResponseWriter, r *http.Request) {
	var f BlogFilter
	if err := httpcache.Decode(r, &f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if f.Page < 1 || f.MaxPage < 1 || f.MaxPage > 100 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "page must be >= 1 and max_page 1..100"})
		return
	}
	time.Sleep(work)
	type blog struct {
		ID   string `json:"id"`
		Slug string `json:"slug"`
	}
	var blogs []blog
	for i := range 3 {
		n := (f.Page-1)*3 + i + 1
		b := blog{ID: fmt.Sprint(n), Slug: fmt.Sprintf("post-%d", n)}
		if (f.ID == "" || f.ID == b.ID) && (f.Slug == "" || f.Slug == b.Slug) {
			blogs = append(blogs, b)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"filter": f, "blogs": blogs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// bypassLoggedIn marks the requests of logged-in users (a bearer token or
// a session cookie) with httpcache.WithBypass: they see fresh answers and
// never fill the cache (cachemate's is_bypass). It must run before the
// cache middleware, so it wraps the mux. Requests with an Authorization
// header would not be stored anyway; the flag makes that explicit and
// covers the cookie too.
func bypassLoggedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, cookieErr := r.Cookie("session")
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || cookieErr == nil {
			r = r.WithContext(httpcache.WithBypass(r.Context()))
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests logs each request with how the cache served it.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		logger.InfoContext(r.Context(), "request", "method", r.Method, "url", r.URL.String(),
			"cache", w.Header().Get(httpcache.StatusHeader), "duration", time.Since(start).Round(time.Microsecond))
	})
}
