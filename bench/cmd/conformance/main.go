// Command conformance is the caching proxy that the HTTP caching test suite
// (http-tests/cache-tests, the suite behind cache-tests.fyi) measures: a
// reverse proxy to the suite's origin server, wrapped in the cache chosen by
// -impl, so that httpcache, souin and no cache at all are measured by the
// same program.
//
//	conformance -impl cachette|souin|none [-listen 127.0.0.1:8081 -origin http://127.0.0.1:8000 -ttl 1h]
//
// Implementations:
//
//   - cachette: httpcache.Middleware on an in-memory cachette.Cache, with
//     Options{TTL: -ttl, CacheStatuses: the statuses RFC 9110 §15.1 calls
//     heuristically cacheable, less 206, which httpcache refuses}.
//   - souin: souin's net/http middleware with its default in-memory
//     storage and DefaultCache.TTL -ttl (the way cmd/httpbench runs it).
//   - none: the reverse proxy alone, the control.
//
// The suite is not part of this repository; scripts/conformance.sh fetches
// nothing and runs it from $CACHE_TESTS (see bench/results/conformance.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/httpcache"
	"github.com/darkweak/souin/configurationtypes"
	souin "github.com/darkweak/souin/pkg/middleware"
)

// heuristicStatuses are the status codes RFC 9110 §15.1 defines as
// heuristically cacheable (200, 203, 204, 206, 300, 301, 308, 404, 405,
// 410, 414, 501) without 206: httpcache.Options.CacheStatuses refuses it
// (a partial response cannot answer the next request).
var heuristicStatuses = []int{200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501}

func main() {
	impl := flag.String("impl", "cachette", "cachette, souin or none")
	listen := flag.String("listen", "127.0.0.1:8081", "address the proxy listens on")
	origin := flag.String("origin", "http://127.0.0.1:8000", "origin server the proxy forwards to")
	ttl := flag.Duration("ttl", time.Hour, "TTL given to the cache")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(logger)
	if err := run(*impl, *listen, *origin, *ttl, logger); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}

func run(impl, listen, origin string, ttl time.Duration, logger *slog.Logger) error {
	u, err := url.Parse(origin)
	if err != nil {
		return fmt.Errorf("-origin: %w", err)
	}
	if u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("-origin %q: want scheme://host:port", origin)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelError)

	var h http.Handler
	switch impl {
	case "none":
		h = proxy
	case "cachette":
		c, err := cachette.New(context.Background(), cachette.Config{Logger: logger})
		if err != nil {
			return err
		}
		defer c.Close()
		h = httpcache.Middleware(c, httpcache.Options{
			TTL:           ttl,
			CacheStatuses: heuristicStatuses,
			Logger:        logger,
		})(proxy)
	case "souin":
		s := souin.NewHTTPCacheHandler(&souin.BaseConfiguration{
			DefaultCache: &configurationtypes.DefaultCache{
				TTL: configurationtypes.Duration{Duration: ttl},
			},
			LogLevel: "error",
		})
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = s.ServeHTTP(w, r, func(w http.ResponseWriter, r *http.Request) error {
				proxy.ServeHTTP(w, r)
				return nil
			})
		})
	default:
		return fmt.Errorf("unknown -impl %q (cachette, souin or none)", impl)
	}

	srv := &http.Server{Addr: listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Warn("conformance proxy listening", "impl", impl, "listen", listen, "origin", origin, "ttl", ttl)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
