package inmemory_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/inmemory"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t testing.TB, _ string) backends.Backend {
		s := inmemory.New(inmemory.Options{})
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestBoundedByBytes(t *testing.T) {
	s := inmemory.New(inmemory.Options{MaxBytes: 64 << 10, Shards: 4})
	defer s.Close()
	ctx := context.Background()
	val := make([]byte, 1000)
	for i := range 1000 {
		if err := s.Set(ctx, fmt.Sprint("k", i), val, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if b := s.Bytes(); b > 64<<10 {
		t.Fatalf("store holds %d bytes, budget is %d", b, 64<<10)
	}
	if n := s.Len(); n == 0 || n >= 1000 {
		t.Fatalf("store holds %d entries after eviction; want some but not all", n)
	}
	// The newest entry survives its own insertion.
	if _, _, err := s.Get(ctx, "k999"); err != nil {
		t.Fatalf("newest entry evicted: %v", err)
	}
}

func TestBoundedByEntries(t *testing.T) {
	s := inmemory.New(inmemory.Options{MaxEntries: 100, Shards: 1})
	defer s.Close()
	ctx := context.Background()
	for i := range 500 {
		if err := s.Set(ctx, fmt.Sprint("k", i), []byte("v"), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Len(); n != 100 {
		t.Fatalf("Len = %d, want 100", n)
	}
}

func TestEvictionPrefersColdEntries(t *testing.T) {
	s := inmemory.New(inmemory.Options{MaxEntries: 100, Shards: 1})
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	if err := s.Set(ctx, "hot", []byte("v"), exp); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if _, _, err := s.Get(ctx, "hot"); err != nil {
			t.Fatalf("hot entry evicted after %d inserts", i)
		}
		if err := s.Set(ctx, fmt.Sprint("cold", i), []byte("v"), exp); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTooLarge(t *testing.T) {
	s := inmemory.New(inmemory.Options{MaxBytes: 1 << 20, Shards: 1})
	defer s.Close()
	err := s.Set(context.Background(), "k", make([]byte, 2<<20), time.Now().Add(time.Minute))
	if !errors.Is(err, backends.ErrTooLarge) {
		t.Fatalf("Set of 2 MiB into a 1 MiB store = %v, want ErrTooLarge", err)
	}
}

func TestReaperRemovesExpired(t *testing.T) {
	s := inmemory.New(inmemory.Options{ReapInterval: 20 * time.Millisecond})
	defer s.Close()
	ctx := context.Background()
	for i := range 50 {
		if err := s.Set(ctx, fmt.Sprint("k", i), []byte("v"), time.Now().Add(10*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Len() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("reaper left %d expired entries", s.Len())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s.Bytes() != 0 {
		t.Fatalf("Bytes = %d after reaping everything", s.Bytes())
	}
}

func TestCloseStopsReaper(t *testing.T) {
	before := runtime.NumGoroutine()
	stores := make([]*inmemory.Store, 50)
	for i := range stores {
		stores[i] = inmemory.New(inmemory.Options{})
	}
	for _, s := range stores {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s.Close() // twice is fine
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after closing 50 stores", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestValueIsCopied(t *testing.T) {
	s := inmemory.New(inmemory.Options{})
	defer s.Close()
	ctx := context.Background()
	v := []byte("abc")
	if err := s.Set(ctx, "k", v, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	v[0] = 'X'
	got, _, _ := s.Get(ctx, "k")
	if string(got) != "abc" {
		t.Fatalf("stored value changed with the caller's slice: %q", got)
	}
}

func BenchmarkBackend(b *testing.B) {
	backendtest.Bench(b, func(t testing.TB, _ string) backends.Backend {
		s := inmemory.New(inmemory.Options{})
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestOpenWithOptions(t *testing.T) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	big := make([]byte, 64<<10)
	def, err := inmemory.Open(ctx, backends.Settings{Prefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close()
	if err := def.Set(ctx, "k", big, exp); err != nil {
		t.Fatalf("default store: Set of 64 KiB = %v", err)
	}
	small, err := inmemory.Open(ctx, backends.Settings{Prefix: "p"}, inmemory.WithMaxBytes(64<<10), inmemory.WithMaxEntries(10))
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	if err := small.Set(ctx, "k", big, exp); !errors.Is(err, backends.ErrTooLarge) {
		t.Errorf("WithMaxBytes(64 KiB) store: Set of 64 KiB = %v, want ErrTooLarge", err)
	}
}
