package chaos

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/httpcache"
)

// leakWait bounds how long a check waits for goroutines that end on their
// own after a Close (a connection's reader seeing its socket closed, say).
// It is generous: the machine is shared; a passing run does not wait it.
const leakWait = 30 * time.Second

// leakBackend is one store TestNoLeaks opens. tracking: the store reports
// writes to the local tier (redis and valkey).
type leakBackend struct {
	name     string
	cfg      cachette.Config
	tracking bool
}

// leakBackends returns the in-memory and gob stores, and every network
// store whose variable (scripts/services.sh's .services/env) is set.
func leakBackends(t *testing.T) []leakBackend {
	bs := []leakBackend{
		{name: "inmemory", cfg: cachette.Config{}},
		{name: "gob", cfg: cachette.Config{Backend: "gob", PicklePath: t.TempDir()}},
	}
	net := []struct {
		name, env string
		cfg       func(string) cachette.Config
		tracking  bool
	}{
		{"redis", "CACHETTE_TEST_REDIS_URL", func(u string) cachette.Config { return cachette.Config{Backend: "redis", RedisURL: u} }, true},
		{"valkey", "CACHETTE_TEST_VALKEY_URL", func(u string) cachette.Config { return cachette.Config{Backend: "valkey", ValkeyURL: u} }, true},
		{"memcached", "CACHETTE_TEST_MEMCACHED_HOST", func(u string) cachette.Config {
			return cachette.Config{Backend: "memcached", MemcachedHost: u}
		}, false},
		{"mongodb", "CACHETTE_TEST_MONGODB_URL", func(u string) cachette.Config { return cachette.Config{Backend: "mongodb", MongoDBURL: u} }, false},
		{"dynamodb", "CACHETTE_TEST_DYNAMODB_URL", func(u string) cachette.Config {
			return cachette.Config{Backend: "dynamodb", DynamoDBURL: u, TableName: "cachette-leak"}
		}, false},
	}
	for _, n := range net {
		u := os.Getenv(n.env)
		if u == "" {
			if os.Getenv(backendtest.RequiredEnv) != "" {
				t.Errorf("%s is not set but %s is: source .services/env", n.env, backendtest.RequiredEnv)
			} else {
				t.Logf("%s: %s not set, skipped", n.name, n.env)
			}
			continue
		}
		bs = append(bs, leakBackend{name: n.name, cfg: n.cfg(u), tracking: n.tracking})
	}
	return bs
}

// TestNoLeaks opens caches on every store at hand, uses every part of the
// library that starts goroutines or holds connections (Put, Fetch,
// GetOrLoad with a stale-while-revalidate refresh in the background, the
// local tier with the store's invalidations on redis and valkey, batches,
// tags, httpcache with a stale-while-revalidate refresh), closes them,
// and checks with goleak that no goroutine the test started is left.
func TestNoLeaks(t *testing.T) {
	for _, b := range leakBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			exerciseAndClose(t, b)
			verifyNoLeaks(t, before)
		})
	}
}

// verifyNoLeaks waits up to leakWait for the goroutines that end on their
// own after a Close, then reports the ones left with goleak.VerifyNone.
func verifyNoLeaks(t *testing.T, opts ...goleak.Option) {
	t.Helper()
	for deadline := time.Now().Add(leakWait); time.Now().Before(deadline); {
		if goleak.Find(opts...) == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	goleak.VerifyNone(t, opts...)
}

func exerciseAndClose(t *testing.T, b leakBackend) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prefix := strings.ReplaceAll(backendtest.NewPrefix(), ":", "")
	open := func() *cachette.Cache {
		cfg := b.cfg
		cfg.Prefix, cfg.Logger, cfg.Timeout = prefix, quiet, 10*time.Second
		cfg.LocalEntries = 100
		c, err := cachette.New(ctx, cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return c
	}
	c := open()
	defer c.Close()

	// Put, Fetch.
	if err := c.Put(ctx, "a", "1"); err != nil {
		t.Fatalf("Put: %v", err)
	}
	var s string
	if err := c.Fetch(ctx, "a", &s); err != nil || s != "1" {
		t.Fatalf("Fetch: %q, %v", s, err)
	}

	// GetOrLoad, then a read past the TTL inside the stale window: the stale
	// value at once and a reload in the background.
	var loads atomic.Int64
	reloaded := make(chan struct{})
	load := func(context.Context) (string, error) {
		if loads.Add(1) == 2 {
			close(reloaded)
		}
		return "v", nil
	}
	swr := []cachette.Option{cachette.WithTTL(100 * time.Millisecond), cachette.WithStaleWhileRevalidate(time.Hour)}
	if _, err := cachette.GetOrLoad(ctx, c, "swr", load, swr...); err != nil {
		t.Fatalf("GetOrLoad: %v", err)
	}
	waitFor(t, ctx, reloaded, "a background refresh", func() {
		if _, err := cachette.GetOrLoad(ctx, c, "swr", load, swr...); err != nil {
			t.Errorf("GetOrLoad: %v", err)
		}
	})

	// The local tier: a value read twice (the second from process memory);
	// on a store with invalidations, a write by another cache on the same
	// prefix drops the copy.
	if err := c.Put(ctx, "loc", "old"); err != nil {
		t.Fatalf("Put: %v", err)
	}
	for range 2 {
		if err := c.Fetch(ctx, "loc", &s); err != nil || s != "old" {
			t.Fatalf("Fetch: %q, %v", s, err)
		}
	}
	if b.tracking {
		other := open()
		if err := other.Put(ctx, "loc", "new"); err != nil {
			t.Fatalf("other Put: %v", err)
		}
		if err := other.Close(); err != nil {
			t.Errorf("other Close: %v", err)
		}
		seen := make(chan struct{})
		waitFor(t, ctx, seen, "the other cache's write", func() {
			if err := c.Fetch(ctx, "loc", &s); err == nil && s == "new" {
				close(seen)
			}
		})
	}

	// Batches.
	typed := cachette.For[string](c)
	if err := typed.PutMany(ctx, map[string]string{"b1": "1", "b2": "2"}); err != nil {
		t.Fatalf("PutMany: %v", err)
	}
	if got, err := typed.FetchMany(ctx, []string{"b1", "b2", "b3"}); err != nil || len(got) != 2 {
		t.Fatalf("FetchMany: %v, %v", got, err)
	}
	got, err := typed.GetOrLoadMany(ctx, []string{"b1", "b3", "b4"}, func(_ context.Context, missing []string) (map[string]string, error) {
		m := map[string]string{}
		for _, k := range missing {
			m[k] = "loaded " + k
		}
		return m, nil
	})
	if err != nil || len(got) != 3 {
		t.Fatalf("GetOrLoadMany: %v, %v", got, err)
	}

	// Tags.
	if err := c.Put(ctx, "tagged", "x", cachette.WithTags("t1")); err != nil {
		t.Fatalf("Put with tags: %v", err)
	}
	if err := c.InvalidateTags(ctx, "t1"); err != nil {
		t.Fatalf("InvalidateTags: %v", err)
	}
	if err := c.Fetch(ctx, "tagged", &s); !errors.Is(err, cachette.ErrNotFound) {
		t.Fatalf("Fetch of an invalidated tag's value: %q, %v; want ErrNotFound", s, err)
	}

	exerciseHTTP(t, ctx, c)

	if err := c.Flush(ctx); err != nil {
		t.Errorf("Flush: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// exerciseHTTP serves a handler through httpcache on c, and reads one
// path until a stale answer has had its refresh.
func exerciseHTTP(t *testing.T, ctx context.Context, c *cachette.Cache) {
	var calls atomic.Int64
	refreshed := make(chan struct{})
	h := httpcache.Middleware(c, httpcache.Options{TTL: 100 * time.Millisecond, StaleWhileRevalidate: time.Hour,
		StoreTimeout: 10 * time.Second, Logger: quiet})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 2 {
			close(refreshed)
		}
		io.WriteString(w, "body")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/page", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("GET: %v", err)
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || string(body) != "body" {
			t.Errorf("GET: %d %q, %v", resp.StatusCode, body, err)
		}
	}
	get()
	waitFor(t, ctx, refreshed, "an httpcache refresh", get)
}

// waitFor calls step until done is closed, giving up (a failure) when ctx
// ends. step may close done.
func waitFor(t *testing.T, ctx context.Context, done <-chan struct{}, what string, step func()) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		default:
		}
		step()
		select {
		case <-done:
			return
		case <-ctx.Done():
			t.Fatalf("no %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// TestNoLeakRefreshAtClose checks that Close stops a background refresh
// whose load is still running: its context ends, and nothing of it is left
// once the load returns. Such a refresh, waiting on a context that never
// ended, used to outlive the cache for good.
func TestNoLeakRefreshAtClose(t *testing.T) {
	before := goleak.IgnoreCurrent()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := cachette.New(ctx, cachette.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var loads atomic.Int64
	refreshing := make(chan struct{})
	load := func(ctx context.Context) (string, error) {
		if loads.Add(1) == 1 {
			return "v", nil
		}
		close(refreshing)
		<-ctx.Done() // a load that only ends when told to
		return "", ctx.Err()
	}
	swr := []cachette.Option{cachette.WithTTL(100 * time.Millisecond), cachette.WithStaleWhileRevalidate(time.Hour)}
	waitFor(t, ctx, refreshing, "a background refresh", func() {
		if _, err := cachette.GetOrLoad(ctx, c, "k", load, swr...); err != nil {
			t.Errorf("GetOrLoad: %v", err)
		}
	})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	verifyNoLeaks(t, before)
}
