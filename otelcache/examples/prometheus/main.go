// Command prometheus serves a cached page and the cache's OpenTelemetry
// metrics on a Prometheus /metrics page. The cache is configured from
// CACHETTE_* environment variables (in-memory by default).
//
//	cd otelcache && go run ./examples/prometheus
//	curl -i localhost:8080/time      # X-Cache-Status: MISS, then HIT
//	curl -s localhost:8080/metrics | grep -E '^(cachette|db_client)'
//
// The server listens on $ADDR (":8080" when unset) and shuts down
// gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/httpcache"
	"github.com/cachette-go/cachette/otelcache"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("prometheus example", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(context.Background())
	obs, err := otelcache.New(otelcache.WithMeterProvider(mp))
	if err != nil {
		return err
	}

	cfg, err := cachette.ConfigFromEnv("CACHETTE_")
	if err != nil {
		return err
	}
	cfg.Logger = logger
	cfg.Observer = obs
	cache, err := cachette.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer cache.Close()

	cached := httpcache.Middleware(cache, httpcache.Options{TTL: 10 * time.Second, OnServe: obs.ServedHTTP, Logger: logger})
	mux := http.NewServeMux()
	mux.Handle("GET /time", cached(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond) // the work a cache saves
		fmt.Fprintln(w, time.Now().Format(time.RFC3339Nano))
	})))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	logger.Info("listening", "addr", addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
