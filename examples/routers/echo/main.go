// Command echo is a small blog API on echo (v4), its blog pages cached by
// cachette's httpcache middleware through cacheMiddleware, a small adapter
// below, on the cached route (GET /blogs/:id). GET /stats has no
// middleware and is not cached.
//
//	go run ./echo                       # in examples/routers
//	curl -i localhost:8080/blogs/42     # X-Cache-Status: MISS, then HIT
//	curl -i localhost:8080/stats        # not cached: how many pages were rendered
//
// The cache is in memory; the server listens on $ADDR (":8080" when unset)
// and stops on SIGINT or SIGTERM.
package main

import (
	"context"
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
	"github.com/labstack/echo/v4"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("echo example", "error", err)
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
	e := newRouter(cache, &api{})
	e.HideBanner, e.HidePort = true, true
	srv := &http.Server{Addr: addr, Handler: e, ReadHeaderTimeout: 5 * time.Second}
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
// (MaxPlanningTime < 0): a refresh runs the handler again with a copy of
// the request, for which cacheMiddleware does not run echo's chain (it
// only runs it for the request it was called with).
// Wrapping the whole server from outside, httpcache.Middleware(cache,
// opts)(e), keeps early refresh working.
var cacheOptions = httpcache.Options{TTL: 5 * time.Minute, MaxPlanningTime: -1}

// newRouter builds the API; the cached route has the middleware once.
func newRouter(cache *cachette.Cache, a *api) *echo.Echo {
	cached := cacheMiddleware(httpcache.Middleware(cache, cacheOptions))

	e := echo.New()
	e.GET("/blogs/:id", a.getBlog, cached)
	e.GET("/missing/:id", a.missing, cached)
	e.GET("/stats", a.stats)
	return e
}

// api counts the pages it renders, which the cache saves.
type api struct{ rendered atomic.Int64 }

func (a *api) getBlog(c echo.Context) error {
	a.rendered.Add(1)
	return c.JSON(http.StatusOK, map[string]string{"blog_id": c.Param("id")})
}

// missing answers with an error, which echo turns into a 404.
func (a *api) missing(c echo.Context) error {
	a.rendered.Add(1)
	return echo.NewHTTPError(http.StatusNotFound, "no blog "+c.Param("id"))
}

func (a *api) stats(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]int64{"rendered": a.rendered.Load()})
}

// cacheMiddleware turns a net/http middleware such as httpcache.Middleware
// into an echo middleware, for a route, a group or e.Use, on one level
// only (see the README). It differs from echo.WrapMiddleware in three
// ways that matter to a cache:
//
//   - the wrapped http.Handler is built once (echo.WrapMiddleware calls
//     the net/http middleware for every request, so each request would get
//     a cache handler of its own), so the cache's in-process coalescing of
//     concurrent misses and its pause after store errors work;
//   - a handler's error is written (c.Error) while the middleware still
//     sees the response, as a net/http handler's error response would be;
//     echo.WrapMiddleware leaves it to echo after the middleware returned;
//   - a copy of the request that the middleware runs in the background
//     after the request ended (an early refresh) does not touch the
//     echo.Context, which echo may have handed to another request by then.
func cacheMiddleware(mw func(http.Handler) http.Handler) echo.MiddlewareFunc {
	h := mw(http.HandlerFunc(runNext))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			call := &echoCall{c: c, next: next}
			req := c.Request()
			call.ctx = context.WithValue(req.Context(), echoCallKey{}, call)
			h.ServeHTTP(c.Response(), req.WithContext(call.ctx))
			c.SetRequest(req)
			return call.err
		}
	}
}

type echoCallKey struct{}

// echoCall is one request through cacheMiddleware.
type echoCall struct {
	c    echo.Context
	next echo.HandlerFunc
	ctx  context.Context // the context of the request handed to the middleware
	err  error           // what next returned
}

// runNext runs the rest of echo's chain for the request the middleware
// passes on, writing to the middleware's writer. A request with another
// context is a background copy (see cacheMiddleware): it writes nothing,
// so nothing is stored.
func runNext(w http.ResponseWriter, r *http.Request) {
	call, ok := r.Context().Value(echoCallKey{}).(*echoCall)
	if !ok || r.Context() != call.ctx {
		return
	}
	c := call.c
	res := c.Response()
	c.SetRequest(r)
	c.SetResponse(echo.NewResponse(w, c.Echo()))
	defer c.SetResponse(res)
	if call.err = call.next(c); call.err != nil {
		c.Error(call.err) // echo's error handler skips a response already sent
	}
}
