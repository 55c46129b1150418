package httpcache

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/inmemory"
	_ "github.com/cachette-go/cachette/backends/redis"
)

// TestMain keeps the logs of middlewares without a Logger (background
// refreshes that outlive their test, for one) out of the test output.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// logSink collects log output for a test; safe for concurrent use, and
// safe to write to after the test ended (background refreshes may).
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *logSink) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// storeKind opens caches on one kind of store. shared opens several Cache
// values on one store under one prefix, like several processes would.
type storeKind struct {
	name string
	// open returns a cache on a fresh prefix; mutate adjusts its Config.
	open func(t testing.TB, mutate func(*cachette.Config)) *cachette.Cache
	// shared returns n caches that share one store and one prefix.
	shared func(t testing.TB, n int) []*cachette.Cache
}

func ctxT(t testing.TB) context.Context { return backendtest.Ctx(t) }

func closeCache(t testing.TB, c *cachette.Cache) {
	t.Cleanup(func() {
		_ = c.Flush(context.Background())
		_ = c.Close()
	})
}

var inmemoryKind = storeKind{
	name: "inmemory",
	open: func(t testing.TB, mutate func(*cachette.Config)) *cachette.Cache {
		cfg := cachette.Config{Prefix: backendtest.NewPrefix(), Logger: slog.New(slog.DiscardHandler)}
		if mutate != nil {
			mutate(&cfg)
		}
		c, err := cachette.New(ctxT(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		closeCache(t, c)
		return c
	},
	shared: func(t testing.TB, n int) []*cachette.Cache {
		store := inmemory.New(inmemory.Options{})
		t.Cleanup(func() { _ = store.Close() })
		prefix := backendtest.NewPrefix()
		var out []*cachette.Cache
		for range n {
			c, err := cachette.NewWithBackend(nopClose{store}, cachette.Config{Prefix: prefix, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			closeCache(t, c)
			out = append(out, c)
		}
		return out
	},
}

// nopClose lets several caches share one in-memory store.
type nopClose struct{ backends.Backend }

func (nopClose) Close() error { return nil }

func redisConfig(t testing.TB, prefix string) cachette.Config {
	url := backendtest.ServerEnv(t, "CACHETTE_TEST_REDIS_URL")
	return cachette.Config{Backend: "redis", RedisURL: url, Prefix: prefix, Logger: slog.New(slog.DiscardHandler), Timeout: 10 * time.Second}
}

var redisKind = storeKind{
	name: "redis",
	open: func(t testing.TB, mutate func(*cachette.Config)) *cachette.Cache {
		cfg := redisConfig(t, backendtest.NewPrefix())
		if mutate != nil {
			mutate(&cfg)
		}
		c, err := cachette.New(ctxT(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		closeCache(t, c)
		return c
	},
	shared: func(t testing.TB, n int) []*cachette.Cache {
		prefix := backendtest.NewPrefix()
		var out []*cachette.Cache
		for range n {
			c, err := cachette.New(ctxT(t), redisConfig(t, prefix))
			if err != nil {
				t.Fatal(err)
			}
			closeCache(t, c)
			out = append(out, c)
		}
		return out
	},
}

// testMiddleware is Middleware with a generous StoreTimeout: on a loaded
// test machine a slow store call would otherwise, correctly, turn requests
// into MISSes and pause the store, which the behaviour tests do not expect.
// The fail-open tests use Middleware itself.
func testMiddleware(c *cachette.Cache, o Options) func(http.Handler) http.Handler {
	if o.StoreTimeout == 0 {
		o.StoreTimeout = 10 * time.Second
	}
	return Middleware(c, o)
}

// forEachStore runs fn on every kind of store: the same table on each.
func forEachStore(t *testing.T, fn func(t *testing.T, k storeKind)) {
	for _, k := range []storeKind{inmemoryKind, redisKind} {
		t.Run(k.name, func(t *testing.T) { fn(t, k) })
	}
}

// request sends one request through h and returns the recorded answer.
// hdr holds header name/value pairs.
func request(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	return requestCtx(context.Background(), h, method, target, hdr...)
}

func requestCtx(ctx context.Context, h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequestWithContext(ctx, method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func wantStatus(t testing.TB, w *httptest.ResponseRecorder, code int, cache string) {
	t.Helper()
	if w.Code != code || w.Header().Get(StatusHeader) != cache {
		t.Fatalf("got %d %s=%q, want %d %q; body %q", w.Code, StatusHeader, w.Header().Get(StatusHeader), code, cache, trunc(w.Body.String()))
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// counter is a handler that counts its calls and answers with the call
// number, after an optional delay.
type counter struct {
	mu    sync.Mutex
	calls int
	delay time.Duration
	fn    func(w http.ResponseWriter, r *http.Request, call int)
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.calls++
	n := c.calls
	c.mu.Unlock()
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	if c.fn != nil {
		c.fn(w, r, n)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "call "+strconv.Itoa(n)+" "+r.Method+" "+r.URL.String())
}

func (c *counter) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}
