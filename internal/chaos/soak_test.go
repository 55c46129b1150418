package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/inmemory"
	"github.com/cachette-go/cachette/httpcache"
)

// soakEnv turns on TestSoak (`make soak`); soakDurationEnv sets its length.
const (
	soakEnv         = "CACHETTE_SOAK"
	soakDurationEnv = "CACHETTE_SOAK_DURATION"
)

// The soak's settings: the key space (soakKeys values of soakValueSize
// bytes, about 50 MiB) is three times the in-memory store's budget, so
// that it evicts all along.
const (
	soakKeys       = 50_000
	soakValueSize  = 1024
	soakBudget     = 16 << 20
	soakHeapMargin = 48 << 20 // the caches, buffers, the HTTP server and the GC's slack
	soakWorkers    = 8
	soakInjectRate = 20 // one origin load in this many fails
)

// soakValue is key's value: the key, the load time, padding.
func soakValue(key string) string {
	v := key + "|" + strconv.FormatInt(time.Now().UnixNano(), 10) + "|"
	return v + strings.Repeat("x", max(soakValueSize-len(v), 0))
}

func soakCheck(key, v string) error {
	head, _, ok := strings.Cut(strings.TrimPrefix(v, key+"|"), "|")
	if !ok || !strings.HasPrefix(v, key+"|") {
		return fmt.Errorf("%w: %.60q for key %q", errWrong, v, key)
	}
	if _, err := strconv.ParseInt(head, 10, 64); err != nil {
		return fmt.Errorf("%w: %.60q for key %q", errWrong, v, key)
	}
	return nil
}

// TestSoak runs a mixed workload (GetOrLoad with stale-if-error and tags,
// Put, Fetch, Clear, InvalidateTags, httpcache reads; one origin load in
// soakInjectRate fails on purpose) for CACHETTE_SOAK_DURATION (default
// 10m) on the in-memory store with a 16 MiB budget and on redis, and
// checks: no error but the injected ones, no wrong value, the heap within
// the budget plus a margin all along, and, once the caches are closed, no
// goroutine left that the test started (goleak). Only with CACHETTE_SOAK=1
// (`make soak`).
func TestSoak(t *testing.T) {
	if os.Getenv(soakEnv) == "" {
		t.Skip("set " + soakEnv + "=1 (make soak) for the soak test")
	}
	d := 10 * time.Minute
	if s := os.Getenv(soakDurationEnv); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatalf("%s: %v", soakDurationEnv, err)
		}
	}
	before := goleak.IgnoreCurrent()
	redisURL := backendtest.ServerEnv(t, "CACHETTE_TEST_REDIS_URL")
	prefix := strings.ReplaceAll(backendtest.NewPrefix(), ":", "")

	mem, err := cachette.NewWithBackend(inmemory.New(inmemory.Options{MaxBytes: soakBudget}),
		cachette.Config{Prefix: prefix, Logger: quiet, Compression: "disabled"})
	if err != nil {
		t.Fatal(err)
	}
	red, err := cachette.New(context.Background(), cachette.Config{Backend: "redis", RedisURL: redisURL, Prefix: prefix,
		Logger: quiet, Timeout: 5 * time.Second, Compression: "disabled"})
	if err != nil {
		t.Fatal(err)
	}
	caches := map[string]*cachette.Cache{"inmemory": mem, "redis": red}

	type counts struct{ ops, errs, injected, wrong atomic.Int64 }
	var (
		mu       sync.Mutex
		firstErr error
	)
	results := map[string]*counts{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var servers []*httptest.Server
	for name, c := range caches {
		cnt := &counts{}
		results[name] = cnt
		var loads atomic.Int64
		origin := func(key string) (string, error) {
			if loads.Add(1)%soakInjectRate == 0 {
				return "", errInjected
			}
			return soakValue(key), nil
		}
		srv := httptest.NewServer(httpcache.Middleware(c, httpcache.Options{TTL: 2 * time.Second, StaleIfError: time.Hour,
			StoreTimeout: 5 * time.Second, Logger: quiet})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, err := origin(strings.TrimPrefix(r.URL.Path, "/"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, v)
		})))
		servers = append(servers, srv)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: soakWorkers}}
		for w := range soakWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer client.CloseIdleConnections()
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				ctx := context.Background()
				for {
					select {
					case <-stop:
						return
					default:
					}
					k := rng.IntN(soakKeys)
					key := "s" + strconv.Itoa(k)
					tag := "t" + strconv.Itoa(k%10)
					var err error
					switch op := rng.IntN(100); {
					case op < 50:
						var v string
						v, err = cachette.GetOrLoad(ctx, c, key, func(context.Context) (string, error) { return origin(key) },
							cachette.WithTTL(2*time.Second), cachette.WithStaleIfError(time.Hour), cachette.WithTags(tag))
						if err == nil {
							err = soakCheck(key, v)
						}
					case op < 65:
						err = c.Put(ctx, key, soakValue(key), cachette.WithTTL(2*time.Second), cachette.WithTags(tag))
					case op < 80:
						var v string
						if err = c.Fetch(ctx, key, &v); err == nil {
							err = soakCheck(key, v)
						} else if errors.Is(err, cachette.ErrNotFound) {
							err = nil
						}
					case op < 85:
						_, err = c.Clear(ctx, key)
					case op < 87:
						err = c.InvalidateTags(ctx, tag)
					default:
						err = soakHTTP(ctx, client, srv.URL, "h"+key)
					}
					cnt.ops.Add(1)
					switch {
					case err == nil:
					case errors.Is(err, errInjected):
						cnt.injected.Add(1)
					case errors.Is(err, errWrong):
						cnt.wrong.Add(1)
					default:
						cnt.errs.Add(1)
					}
					if err != nil && !errors.Is(err, errInjected) {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("%s: %w", name, err)
						}
						mu.Unlock()
					}
				}
			}()
		}
	}

	// Sample the heap (after a GC) and the goroutines every 10 s.
	var maxHeap uint64
	start := time.Now()
	tick := time.NewTicker(10 * time.Second)
	for time.Since(start) < d {
		<-tick.C
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		maxHeap = max(maxHeap, ms.HeapAlloc)
		t.Logf("%v: heap %d MiB, %d goroutines, ops inmemory %d redis %d", time.Since(start).Round(time.Second),
			ms.HeapAlloc>>20, runtime.NumGoroutine(), results["inmemory"].ops.Load(), results["redis"].ops.Load())
	}
	tick.Stop()
	close(stop)
	wg.Wait()
	for _, srv := range servers {
		srv.Close()
	}
	red.Flush(context.Background())
	for _, c := range caches {
		c.Close()
	}

	for name, cnt := range results {
		t.Logf("%s: %d operations, %d errors, %d injected origin failures passed on, %d wrong values",
			name, cnt.ops.Load(), cnt.errs.Load(), cnt.injected.Load(), cnt.wrong.Load())
		if cnt.errs.Load() > 0 || cnt.wrong.Load() > 0 {
			t.Errorf("%s: %d errors and %d wrong values; first: %v", name, cnt.errs.Load(), cnt.wrong.Load(), firstErr)
		}
	}
	if limit := uint64(soakBudget + soakHeapMargin); maxHeap > limit {
		t.Errorf("the heap reached %d MiB; budget %d MiB plus margin %d MiB", maxHeap>>20, soakBudget>>20, soakHeapMargin>>20)
	}
	// No goroutine left of the caches, the servers or the clients (idle
	// connections and timers end on their own: verifyNoLeaks waits for them).
	verifyNoLeaks(t, before)
}

// soakHTTP reads key through the httpcache server at base.
func soakHTTP(ctx context.Context, client *http.Client, base, key string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/"+key, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), errInjected.Error()) {
		return errInjected
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	return soakCheck(key, string(body))
}
