package cachette

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
	"github.com/cachette-go/cachette/codecs"
)

// waitLong bounds the waits of these tests: far longer than anything
// takes on a loaded machine, only there so that a broken build fails
// instead of hanging.
const waitLong = 30 * time.Second

func testCache(t *testing.T, codec string) (*Cache, *countingStore) {
	t.Helper()
	store := &countingStore{Backend: inmemory.New(inmemory.Options{})}
	c, err := NewWithBackend(store, Config{Codec: codec, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, store
}

// countingStore counts the calls that reach the store.
type countingStore struct {
	backends.Backend
	gets, sets, closes atomic.Int32
	closing            chan struct{} // if set, Close waits for it
}

func (s *countingStore) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	s.gets.Add(1)
	return s.Backend.Get(ctx, key)
}

func (s *countingStore) Set(ctx context.Context, key string, v []byte, exp time.Time) error {
	s.sets.Add(1)
	return s.Backend.Set(ctx, key, v, exp)
}

func (s *countingStore) Close() error {
	s.closes.Add(1)
	if s.closing != nil {
		<-s.closing
	}
	return s.Backend.Close()
}

// waitFor polls cond until it holds; it synchronises with goroutines that
// have no other way to say they are blocked, and asserts nothing on time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waiters returns how many callers wait on the flight of key as type T.
func waiters[T any](c *Cache, key string) int {
	c.flights.mu.Lock()
	defer c.flights.mu.Unlock()
	for k, f := range c.flights.m {
		if k.key == key && k.typ.String() == fmt.Sprintf("%T", *new(T)) {
			return f.waiters
		}
	}
	return 0
}

type result[T any] struct {
	v        T
	err      error
	panicked any
}

// goGetOrLoad calls GetOrLoad in a goroutine and sends what it returned,
// or its panic, on the channel.
func goGetOrLoad[T any](ctx context.Context, c *Cache, key string, load func(context.Context) (T, error)) <-chan result[T] {
	ch := make(chan result[T], 1)
	go func() {
		var r result[T]
		defer func() {
			r.panicked = recover()
			ch <- r
		}()
		r.v, r.err = GetOrLoad(ctx, c, key, load)
	}()
	return ch
}

func receive[T any](t *testing.T, ch <-chan result[T]) result[T] {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitLong):
		t.Fatal("GetOrLoad did not return")
		return result[T]{}
	}
}

// TestGetOrLoadLeaderLeaves: the load used to run on the first caller's
// context, so that every other caller got that caller's context.Canceled
// when it left.
func TestGetOrLoadLeaderLeaves(t *testing.T) {
	c, _ := testCache(t, "json")
	release := make(chan struct{})
	started := make(chan struct{})
	var loads atomic.Int32
	load := func(ctx context.Context) (int, error) {
		if loads.Add(1) == 1 {
			close(started)
		}
		select {
		case <-release:
			return 42, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	leaderCtx, leave := context.WithCancel(context.Background())
	defer leave()
	leader := goGetOrLoad(leaderCtx, c, "k", load)
	<-started
	follower := goGetOrLoad(context.Background(), c, "k", load)
	waitFor(t, "the follower to join the flight", func() bool { return waiters[int](c, "k") == 2 })

	leave()
	if r := receive(t, leader); !errors.Is(r.err, context.Canceled) || r.panicked != nil {
		t.Fatalf("the leaver got %v, %v (panic %v); want context.Canceled at once", r.v, r.err, r.panicked)
	}
	close(release)
	if r := receive(t, follower); r.err != nil || r.v != 42 || r.panicked != nil {
		t.Fatalf("the caller still waiting got %v, %v (panic %v); want 42 from the same load", r.v, r.err, r.panicked)
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("load ran %d times, want 1", n)
	}
	var v int
	if err := c.Fetch(context.Background(), "k", &v); err != nil || v != 42 {
		t.Fatalf("the loaded value was not stored: %v, %v", v, err)
	}
}

// TestGetOrLoadEveryoneLeaves: when the last caller leaves, load's
// context ends and the next caller starts a new load.
func TestGetOrLoadEveryoneLeaves(t *testing.T) {
	c, _ := testCache(t, "json")
	cancelled := make(chan struct{})
	started := make(chan struct{})
	ctx, leave := context.WithCancel(context.Background())
	ch := goGetOrLoad(ctx, c, "k", func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return 0, ctx.Err()
	})
	<-started
	leave()
	if r := receive(t, ch); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("GetOrLoad = %v, want context.Canceled", r.err)
	}
	select {
	case <-cancelled:
	case <-time.After(waitLong):
		t.Fatal("load's context was not cancelled when every caller had left")
	}
	v, err := GetOrLoad(context.Background(), c, "k", func(context.Context) (int, error) { return 7, nil })
	if err != nil || v != 7 {
		t.Fatalf("the next GetOrLoad = %v, %v; want a new load", v, err)
	}
}

// TestGetOrLoadPanic: a panicking load used to make every waiter panic
// with "interface {} is nil, not int" (and the first caller with the
// load's own panic).
func TestGetOrLoadPanic(t *testing.T) {
	c, _ := testCache(t, "json")
	var logs syncBuf
	c.log = slog.New(slog.NewTextHandler(&logs, nil))
	release := make(chan struct{})
	started := make(chan struct{})
	load := func(context.Context) (int, error) {
		close(started)
		<-release
		panic("boom")
	}
	first := goGetOrLoad(context.Background(), c, "k", load)
	<-started
	var others []<-chan result[int]
	for range 3 {
		others = append(others, goGetOrLoad(context.Background(), c, "k", load))
	}
	waitFor(t, "the callers to join the flight", func() bool { return waiters[int](c, "k") == 4 })
	close(release)
	for i, ch := range append(others, first) {
		r := receive(t, ch)
		if r.panicked != nil {
			t.Errorf("caller %d panicked: %v", i, r.panicked)
			continue
		}
		var pe *LoadPanicError
		if !errors.Is(r.err, ErrLoadPanicked) || !errors.As(r.err, &pe) || pe.Value != "boom" || !strings.Contains(string(pe.Stack), "getorload_test.go") {
			t.Errorf("caller %d got %v, want a *LoadPanicError with the panic value and its stack", i, r.err)
		}
	}
	if !strings.Contains(logs.String(), "load panicked") || strings.Count(logs.String(), "boom") != 1 {
		t.Errorf("the panic is not logged once: %s", logs.String())
	}
	// A panicking error value is kept in the chain.
	boom := errors.New("boom error")
	_, err := GetOrLoad(context.Background(), c, "k2", func(context.Context) (int, error) { panic(boom) })
	if !errors.Is(err, boom) || !errors.Is(err, ErrLoadPanicked) {
		t.Errorf("panic(err) gave %v, want an error wrapping both err and ErrLoadPanicked", err)
	}
}

// TestGetOrLoadTypesDoNotMix: concurrent calls for one key with different
// types used to share one flight, and the second caller panicked on the
// first one's value.
func TestGetOrLoadTypesDoNotMix(t *testing.T) {
	c, _ := testCache(t, "json")
	release := make(chan struct{})
	started := make(chan struct{})
	ints := goGetOrLoad(context.Background(), c, "k", func(context.Context) (int, error) {
		close(started)
		<-release
		return 1, nil
	})
	<-started
	stringLoaded := make(chan struct{})
	strs := goGetOrLoad(context.Background(), c, "k", func(context.Context) (string, error) {
		close(stringLoaded)
		return "one", nil
	})
	select {
	case <-stringLoaded:
	case <-time.After(waitLong):
		t.Error("the string load never ran: it waited for the int flight")
	}
	close(release)
	if r := receive(t, strs); r.panicked != nil || r.err != nil || r.v != "one" {
		t.Errorf("GetOrLoad[string] = %q, %v (panic %v)", r.v, r.err, r.panicked)
	}
	if r := receive(t, ints); r.panicked != nil || r.err != nil || r.v != 1 {
		t.Errorf("GetOrLoad[int] = %v, %v (panic %v)", r.v, r.err, r.panicked)
	}
}

// TestGetOrLoadCodecCannotHoldT: with the default vanilla codec a struct
// used to be a silent miss: load ran on every call, its value stored as
// fmt.Sprint text that never decoded back, with only a WARN log.
func TestGetOrLoadCodecCannotHoldT(t *testing.T) {
	type user struct{ Name string }
	c, store := testCache(t, "")
	var loads atomic.Int32
	for range 2 {
		_, err := GetOrLoad(context.Background(), c, "u", func(context.Context) (user, error) {
			loads.Add(1)
			return user{"ada"}, nil
		})
		if !errors.Is(err, codecs.ErrType) {
			t.Fatalf("GetOrLoad[user] with vanilla = %v, want an error wrapping codecs.ErrType", err)
		}
	}
	if n, g, s := loads.Load(), store.gets.Load(), store.sets.Load(); n != 0 || g != 0 || s != 0 {
		t.Fatalf("load ran %d times, the store got %d Gets and %d Sets; want none", n, g, s)
	}
	for _, check := range []func() error{
		func() error {
			_, err := GetOrLoad(context.Background(), c, "s", func(context.Context) (string, error) { return "x", nil })
			return err
		},
		func() error {
			_, err := GetOrLoad(context.Background(), c, "b", func(context.Context) ([]byte, error) { return []byte("x"), nil })
			return err
		},
	} {
		if err := check(); err != nil {
			t.Fatalf("vanilla with string or []byte: %v", err)
		}
	}
	if _, err := GetOrLoad(context.Background(), c, "a", func(context.Context) (any, error) { return 1, nil }); !errors.Is(err, codecs.ErrType) {
		t.Fatalf("GetOrLoad[any] with vanilla = %v, want ErrType (1 would come back as a string)", err)
	}
}

// TestCloseConcurrently: Close checked, then closed a channel, so two
// concurrent calls could both close it and panic; and a second call
// returned before the store was closed.
func TestCloseConcurrently(t *testing.T) {
	for range 200 {
		c, store := testCache(t, "")
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if err := c.Close(); err != nil {
					t.Errorf("Close = %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := store.closes.Load(); n != 1 {
			t.Fatalf("the store was closed %d times", n)
		}
	}

	c, store := testCache(t, "")
	store.closing = make(chan struct{})
	first := make(chan error, 1)
	go func() { first <- c.Close() }()
	waitFor(t, "the first Close to reach the store", func() bool { return store.closes.Load() == 1 })
	second := make(chan error, 1)
	go func() { second <- c.Close() }()
	// The second Close must wait for the first. This check can only miss
	// a second Close that returns early, never fail a correct one.
	select {
	case err := <-second:
		t.Errorf("the second Close returned %v while the store was still closing", err)
		second <- err
	case <-time.After(200 * time.Millisecond):
	}
	close(store.closing)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Errorf("the second Close = %v, want nil", err)
	}
	if _, err := GetOrLoad(context.Background(), c, "k", func(context.Context) (string, error) { return "x", nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("GetOrLoad after Close = %v, want ErrClosed", err)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
