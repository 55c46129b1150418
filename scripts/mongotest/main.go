// Command mongotest is a MongoDB-compatible server for cachette's tests.
//
// It embeds FerretDB (MongoDB wire protocol) so developers and CI can run the
// mongodb backend against a real server on machines without MongoDB. It lives in
// its own Go module so the library's go.mod stays lean.
//
// Usage:
//
//	mongotest [-listen 127.0.0.1:27117] [-postgresql-url URL | -data DIR] [-log-level error] [-shutdown-grace 250ms]
//
// With -postgresql-url, FerretDB stores its data in that PostgreSQL database
// (scripts/services.sh runs one for it): writes run in parallel there. Without
// it, FerretDB stores its data in SQLite files in -data, which serialises every
// write; without -data, in a fresh temporary directory that is removed on exit. On SIGINT or SIGTERM it stops listening at once and gives open
// connections the shutdown grace to finish (FerretDB alone would wait seconds), so
// tests that stop and restart the server do not wait.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Defaults of the flags; the environment variables MONGOTEST_LISTEN and
// MONGOTEST_DATA override them, and the flags override the environment.
const (
	defaultListen   = "127.0.0.1:27117"
	defaultLogLevel = "error"
	defaultGrace    = 250 * time.Millisecond
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mongotest:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	// Catch signals first, so a stop during start-up still removes the temporary directory.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fs := flag.NewFlagSet("mongotest", flag.ContinueOnError)
	listen := fs.String("listen", envOr("MONGOTEST_LISTEN", defaultListen), "TCP address to listen on")
	dataDir := fs.String("data", os.Getenv("MONGOTEST_DATA"), "SQLite data directory (default: a temporary directory removed on exit)")
	pgURL := fs.String("postgresql-url", os.Getenv("MONGOTEST_POSTGRESQL_URL"), "store the data in this PostgreSQL database instead of SQLite (postgres://...)")
	logLevel := fs.String("log-level", defaultLogLevel, "log level: debug, info, warn or error")
	grace := fs.Duration("shutdown-grace", defaultGrace, "how long open connections may finish after a stop signal")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *listen == "" {
		return errors.New("-listen must not be empty")
	}
	if *grace < 0 {
		return fmt.Errorf("-shutdown-grace must not be negative, got %s", *grace)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("bad -log-level %q: %w", *logLevel, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if *pgURL != "" {
		if *dataDir != "" {
			return errors.New("-data and -postgresql-url exclude each other")
		}
		db, err := ferretdb.New(&ferretdb.Config{
			Listener:      ferretdb.ListenerConfig{TCP: *listen},
			Logger:        logger,
			Handler:       "postgresql",
			PostgreSQLURL: *pgURL,
		})
		if err != nil {
			return err
		}
		logger.Info("mongotest listening", "addr", *listen, "storage", "postgresql")
		return serve(ctx, db, *grace, logger)
	}

	dir := *dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mongotest-")
		if err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}

	db, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + filepath.ToSlash(abs) + "/",
	})
	if err != nil {
		return err
	}

	logger.Info("mongotest listening", "addr", *listen, "storage", "sqlite", "data", abs)
	return serve(ctx, db, *grace, logger)
}

// serve runs db until ctx ends, then gives open connections grace to finish.
func serve(ctx context.Context, db *ferretdb.FerretDB, grace time.Duration, logger *slog.Logger) error {
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-done:
		return err
	case <-time.After(grace):
		logger.Warn("mongotest stopped with connections still open", "grace", grace)
		return nil
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
