// Command gin is a small blog API on gin, its blog pages cached by
// cachette's httpcache middleware. It shows both ways to use a net/http
// middleware with gin:
//
//   - a plain http.Handler wrapped by the middleware, mounted with
//     gin.WrapH (GET /about): nothing else to write;
//   - gin handlers behind the middleware through cacheHandler, a small
//     adapter below (GET /blogs/:id): gin's c.Param, c.JSON and so on work
//     as usual.
//
// GET /stats has no middleware and is not cached.
//
//	go run ./gin                        # in examples/routers
//	curl -i localhost:8080/blogs/42     # X-Cache-Status: MISS, then HIT
//	curl -i localhost:8080/stats        # not cached: how many pages were rendered
//
// The cache is in memory; the server listens on $ADDR (":8080" when unset)
// and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/httpcache"
	"github.com/gin-gonic/gin"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("gin example", "error", err)
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
	gin.SetMode(gin.ReleaseMode)
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
// (MaxPlanningTime < 0): a refresh runs the handler again with a copy of
// the request, for which cacheHandler does not run gin's chain (it only
// runs it for the request it was called with). Wrapping the whole
// engine from outside, httpcache.Middleware(cache, opts)(engine), keeps
// early refresh working.
var cacheOptions = httpcache.Options{TTL: 5 * time.Minute, MaxPlanningTime: -1}

// newRouter builds the API; each cached route has the middleware once.
func newRouter(cache *cachette.Cache, a *api) *gin.Engine {
	cached := httpcache.Middleware(cache, cacheOptions)

	r := gin.New()
	r.GET("/blogs/:id", cacheHandler(cached), a.getBlog)
	r.GET("/about", gin.WrapH(cached(http.HandlerFunc(about))))
	r.GET("/stats", a.stats)
	return r
}

// api counts the pages it renders, which the cache saves.
type api struct{ rendered atomic.Int64 }

func (a *api) getBlog(c *gin.Context) {
	a.rendered.Add(1)
	c.JSON(http.StatusOK, gin.H{"blog_id": c.Param("id")})
}

func (a *api) stats(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"rendered": a.rendered.Load()})
}

func about(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "a blog API cached by cachette\n")
}

// cacheHandler turns a net/http middleware such as httpcache.Middleware
// into a gin middleware: the handlers after it in the chain run inside the
// net/http middleware, writing through it. When the middleware answers by
// itself (a HIT), the rest of the chain is skipped. Use it on a route or a
// group, or with engine.Use, but on one level only (see the README).
//
// The wrapped http.Handler is built once, so the cache's in-process
// coalescing of concurrent misses works (building it per request, as a
// plain wrapper would, loses that).
func cacheHandler(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	h := mw(http.HandlerFunc(runChain))
	return func(c *gin.Context) {
		call := &ginCall{c: c}
		req := c.Request
		call.ctx = context.WithValue(req.Context(), ginCallKey{}, call)
		h.ServeHTTP(c.Writer, req.WithContext(call.ctx))
		c.Request = req
		if !call.ran {
			c.Abort() // answered by the middleware
		}
	}
}

type ginCallKey struct{}

// ginCall is one request through cacheHandler.
type ginCall struct {
	c   *gin.Context
	ctx context.Context // the context of the request handed to the middleware
	ran bool            // the chain ran
}

// runChain runs the rest of gin's chain for the request the middleware
// passes on. A request with another context is a copy the middleware made
// to run the handler in the background (an early refresh) after the
// request ended, when gin may already have given the *gin.Context to
// another request: it writes nothing, so nothing is stored.
func runChain(w http.ResponseWriter, r *http.Request) {
	call, ok := r.Context().Value(ginCallKey{}).(*ginCall)
	if !ok || r.Context() != call.ctx {
		return
	}
	call.ran = true
	c := call.c
	gw := c.Writer
	cw := &cacheWriter{ResponseWriter: gw, w: w, status: http.StatusOK}
	c.Writer, c.Request = cw, r
	defer func() { c.Writer = gw }()
	c.Next()
	cw.WriteHeaderNow() // a status without a body, as gin sends at the end of its chain
}

// cacheWriter is the gin.ResponseWriter of the handlers behind the
// middleware: it writes to the middleware's writer w, which writes through
// to gin's. Like gin's own writer it holds the status back until the first
// write, since gin's c.JSON and c.String set Content-Type after the status,
// and the middleware takes the headers to store when the status is written.
type cacheWriter struct {
	gin.ResponseWriter // gin's writer: Hijack, CloseNotify, Pusher, Size
	w                  http.ResponseWriter
	status             int
	wrote              bool
}

func (cw *cacheWriter) Header() http.Header { return cw.w.Header() }

func (cw *cacheWriter) WriteHeader(code int) {
	if code > 0 && !cw.wrote {
		cw.status = code
	}
}

func (cw *cacheWriter) WriteHeaderNow() {
	if !cw.wrote {
		cw.wrote = true
		cw.w.WriteHeader(cw.status)
	}
}

func (cw *cacheWriter) Write(p []byte) (int, error) {
	cw.WriteHeaderNow()
	return cw.w.Write(p)
}

func (cw *cacheWriter) WriteString(s string) (int, error) {
	cw.WriteHeaderNow()
	return io.WriteString(cw.w, s)
}

func (cw *cacheWriter) Flush() {
	cw.WriteHeaderNow()
	_ = http.NewResponseController(cw.w).Flush()
}

func (cw *cacheWriter) Status() int                 { return cw.status }
func (cw *cacheWriter) Written() bool               { return cw.wrote }
func (cw *cacheWriter) Unwrap() http.ResponseWriter { return cw.w }
