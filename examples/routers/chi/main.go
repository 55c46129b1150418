// Command chi is a small blog API on the chi router, its blog pages cached
// by cachette's httpcache middleware. chi takes net/http middleware as it
// is, so no adapter is needed: the middleware goes on the cached routes
// with r.With (or on a group with r.Group and r.Use), and the other routes
// are not cached.
//
//	go run ./chi                        # in examples/routers
//	curl -i localhost:8080/blogs/42     # X-Cache-Status: MISS, then HIT
//	curl -i localhost:8080/stats        # not cached: how many pages were rendered
//
// The cache is in memory; the server listens on $ADDR (":8080" when unset)
// and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/httpcache"
	"github.com/go-chi/chi/v5"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("chi example", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cache, err := cachette.New(ctx, cachette.Config{Logger: logger})
	if err != nil {
		return err
	}
	defer cache.Close()
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	srv := &http.Server{Addr: addr, Handler: newRouter(cache, &api{}), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("listening", "addr", addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
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

// cacheOptions are the options of the cached routes. Early refresh is off
// (MaxPlanningTime < 0), as in the gin and echo examples, whose adapters
// skip the refresh's copy of the request (see the README). The refresh
// runs before the middleware returns, while chi's route context is still
// the request's own, so it would be safe here; wrapping the whole router
// from outside, httpcache.Middleware(cache, opts)(router), works too.
var cacheOptions = httpcache.Options{TTL: 5 * time.Minute, MaxPlanningTime: -1}

// newRouter builds the API. GET /blogs/{id} is cached: the middleware is
// applied once, on that route. GET /stats is not cached.
func newRouter(cache *cachette.Cache, a *api) http.Handler {
	cached := httpcache.Middleware(cache, cacheOptions)

	r := chi.NewRouter()
	r.With(cached).Get("/blogs/{id}", a.getBlog)
	r.Get("/stats", a.stats)
	return r
}

// api counts the pages it renders, which the cache saves.
type api struct{ rendered atomic.Int64 }

func (a *api) getBlog(w http.ResponseWriter, r *http.Request) {
	a.rendered.Add(1)
	writeJSON(w, map[string]string{"blog_id": chi.URLParam(r, "id")})
}

func (a *api) stats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]int64{"rendered": a.rendered.Load()})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
