package cachette

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
)

// recorder is an Observer that writes down what it is told.
type recorder struct {
	NopObserver
	mu      sync.Mutex
	events  []string
	wrapped []string
}

type loadMark struct{}

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) WrapStore(name string, store backends.Backend) backends.Backend {
	r.mu.Lock()
	r.wrapped = append(r.wrapped, name)
	r.mu.Unlock()
	return &unwrapping{Backend: store}
}

func (r *recorder) Lookup(_ context.Context, key string, res LookupResult) {
	r.add("lookup " + key + " " + res.String())
}

func (r *recorder) LoadStart(ctx context.Context, key string) context.Context {
	r.add("load start " + key)
	return context.WithValue(ctx, loadMark{}, key)
}

func (r *recorder) LoadDone(ctx context.Context, key string, _ time.Duration, err error) {
	if ctx.Value(loadMark{}) != key {
		r.add("load done without LoadStart's context")
	}
	switch {
	case err == nil:
		r.add("load done " + key)
	case errors.Is(err, ErrLoadPanicked):
		r.add("load done " + key + " panicked")
	default:
		r.add("load done " + key + " error")
	}
}

func (r *recorder) count(e string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.events {
		if x == e {
			n++
		}
	}
	return n
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

// unwrapping is a decorator that names the store it wraps.
type unwrapping struct{ backends.Backend }

func (u *unwrapping) Unwrap() backends.Backend { return u.Backend }

// failingGet is a store whose Get fails.
type failingGet struct{ backends.Backend }

var errDown = errors.New("store down")

func (failingGet) Get(context.Context, string) ([]byte, time.Time, error) {
	return nil, time.Time{}, errDown
}

func TestObserverSequence(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	c, err := NewWithBackend(inmemory.New(inmemory.Options{}), Config{Codec: "json", Observer: rec, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !slices.Equal(rec.wrapped, []string{"inmemory"}) {
		t.Fatalf("WrapStore calls: %q, want [inmemory]", rec.wrapped)
	}
	if _, ok := c.Backend().(*unwrapping); !ok {
		t.Fatalf("the cache does not use the store WrapStore returned: %T", c.Backend())
	}
	if c.Config().Backend != "inmemory" {
		t.Fatalf("Backend = %q, want inmemory", c.Config().Backend)
	}

	if err := c.Put(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = c.Fetch(ctx, "a", &n)
	_ = c.Fetch(ctx, "nope", &n)
	_, _ = c.FetchWithTTL(ctx, "a", &n)
	_ = c.PutBytes(ctx, "raw", []byte("x"))
	_, _, _ = c.FetchBytes(ctx, "raw") // httpcache's raw read: not reported
	_ = c.Fetch(ctx, "a", nil)         // not a pointer: no read, not reported
	boom := errors.New("boom")
	_, _ = GetOrLoad(ctx, c, "l1", func(context.Context) (int, error) { return 0, boom })
	_, _ = GetOrLoad(ctx, c, "l1", func(context.Context) (int, error) { return 7, nil })
	_, _ = GetOrLoad(ctx, c, "l1", func(context.Context) (int, error) { return 8, nil })
	_, err = GetOrLoad(ctx, c, "p", func(context.Context) (int, error) { panic("oops") })
	if !errors.Is(err, ErrLoadPanicked) {
		t.Fatalf("GetOrLoad of a panicking load: %v", err)
	}
	want := []string{
		"lookup a hit",
		"lookup nope miss",
		"lookup a hit",
		"lookup l1 miss", "load start l1", "load done l1 error",
		"lookup l1 miss", "load start l1", "load done l1",
		"lookup l1 hit",
		"lookup p miss", "load start p", "load done p panicked",
	}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Fatalf("events:\n%q\nwant\n%q", got, want)
	}

	c.Close()
	_ = c.Fetch(ctx, "a", &n)
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("a Fetch after Close was reported: %q", got)
	}
}

func TestObserverStoreError(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	c, err := NewWithBackend(failingGet{inmemory.New(inmemory.Options{})}, Config{Backend: "mine", Observer: rec, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s string
	if err := c.Fetch(ctx, "k", &s); !errors.Is(err, errDown) {
		t.Fatalf("Fetch: %v", err)
	}
	v, err := GetOrLoad(ctx, c, "k", func(context.Context) (string, error) { return "v", nil })
	if err != nil || v != "v" {
		t.Fatalf("GetOrLoad = %q, %v", v, err)
	}
	want := []string{"lookup k error", "lookup k error", "load start k", "load done k"}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if !slices.Equal(rec.wrapped, []string{"mine"}) {
		t.Fatalf("WrapStore calls: %q, want [mine]", rec.wrapped)
	}
}

// TestObserverSharedLoadOnce: concurrent GetOrLoad calls of one key share
// one load, reported once; each caller's read is reported.
func TestObserverSharedLoadOnce(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	c, err := NewWithBackend(inmemory.New(inmemory.Options{}), Config{Observer: rec, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const callers = 5
	release := make(chan struct{})
	started := make(chan struct{}, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = GetOrLoad(ctx, c, "k", func(context.Context) (string, error) {
				started <- struct{}{}
				<-release
				return "v", nil
			})
		}()
	}
	<-started
	// Every caller has read (a miss) before the load is let go, so all
	// of them share it.
	waitFor(t, "every caller's miss", func() bool { return rec.count("lookup k miss") == callers })
	close(release)
	wg.Wait()
	if n := rec.count("load start k"); n != 1 {
		t.Fatalf("%d loads reported for one shared load", n)
	}
	if n := rec.count("load done k"); n != 1 {
		t.Fatalf("%d load ends reported for one shared load", n)
	}
}

// TestNoObserverCostsNoAllocation: the observer hooks allocate nothing of
// their own: a hit and a miss cost as many allocations with NopObserver
// as with no Observer.
func TestNoObserverCostsNoAllocation(t *testing.T) {
	ctx := context.Background()
	allocs := func(o Observer) (hit, miss float64) {
		c, err := NewWithBackend(inmemory.New(inmemory.Options{}), Config{Observer: o, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Put(ctx, "k", "value"); err != nil {
			t.Fatal(err)
		}
		var s string
		hit = testing.AllocsPerRun(200, func() { _ = c.Fetch(ctx, "k", &s) })
		miss = testing.AllocsPerRun(200, func() { _ = c.Fetch(ctx, "absent", &s) })
		return hit, miss
	}
	h0, m0 := allocs(nil)
	h1, m1 := allocs(NopObserver{})
	if h1 != h0 || m1 != m0 {
		t.Fatalf("allocations per hit/miss: %v/%v without an observer, %v/%v with NopObserver", h0, m0, h1, m1)
	}
}

func TestLookupResultString(t *testing.T) {
	for r, want := range map[LookupResult]string{LookupHit: "hit", LookupMiss: "miss", LookupError: "error", LookupLocalHit: "local_hit", LookupStale: "stale", 0: "unknown", 99: "unknown"} {
		if got := r.String(); got != want {
			t.Errorf("LookupResult(%d).String() = %q, want %q", r, got, want)
		}
	}
}
