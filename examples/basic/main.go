// Command basic is the Cachette seed's app on net/http: POST / with
// {"key": ..., "value": ...} stores a value, GET /{key} fetches it and
// DELETE /{key} clears it. The cache is configured from CACHETTE_*
// environment variables (in-memory by default) and built once.
//
//	go run ./examples/basic
//	curl -X POST localhost:8080/ -d '{"key":"greeting","value":"hello"}'
//	curl localhost:8080/greeting
//	curl -X DELETE localhost:8080/greeting
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cachette-go/cachette"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := cachette.ConfigFromEnv("CACHETTE_")
	if err != nil {
		logger.Error("config", "error", err)
		os.Exit(2)
	}
	cfg.Logger = logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := cachette.New(ctx, cfg)
	if err != nil {
		logger.Error("cache", "error", err)
		os.Exit(1)
	}
	defer c.Close()

	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	srv := &http.Server{Addr: addr, Handler: newHandler(c), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	logger.Info("listening", "addr", addr, "backend", c.Config().Backend)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("serve", "error", err)
		os.Exit(1)
	}
}

type payload struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// newHandler routes the three endpoints to c.
func newHandler(c *cachette.Cache) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		var p payload
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&p); err != nil || p.Key == "" {
			http.Error(w, `body must be {"key": "...", "value": "..."}`, http.StatusBadRequest)
			return
		}
		if err := c.Put(r.Context(), p.Key, p.Value); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("OK"))
	})
	mux.HandleFunc("GET /{key}", func(w http.ResponseWriter, r *http.Request) {
		var v string
		err := c.Fetch(r.Context(), r.PathValue("key"), &v)
		switch {
		case errors.Is(err, cachette.ErrNotFound):
			http.Error(w, "not found", http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write([]byte(v))
		}
	})
	mux.HandleFunc("DELETE /{key}", func(w http.ResponseWriter, r *http.Request) {
		removed, err := c.Clear(r.Context(), r.PathValue("key"))
		switch {
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		case !removed:
			http.Error(w, "not found", http.StatusNotFound)
		default:
			w.Write([]byte("OK"))
		}
	})
	return mux
}
