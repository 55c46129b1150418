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
	const budget = 1 << 20
	s := inmemory.New(inmemory.Options{MaxBytes: budget})
	defer s.Close()
	ctx := context.Background()
	val := make([]byte, 1000)
	for i := range 5000 {
		if err := s.Set(ctx, fmt.Sprint("k", i), val, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if b := s.Bytes(); b > budget {
			t.Fatalf("after %d writes the store holds %d bytes, budget is %d", i+1, b, budget)
		}
	}
	if n := s.Len(); n == 0 || n >= 5000 {
		t.Fatalf("store holds %d entries after eviction; want some but not all", n)
	}
	// An entry far smaller than the budget survives its own insertion (it
	// enters otter's window, which admission does not filter).
	if _, _, err := s.Get(ctx, "k4999"); err != nil {
		t.Fatalf("newest entry evicted: %v", err)
	}
}

// Both bounds hold at once, with entries of mixed sizes, after every write.
func TestBoundedByBytesAndEntries(t *testing.T) {
	const budget, entries = 256 << 10, 100
	s := inmemory.New(inmemory.Options{MaxBytes: budget, MaxEntries: entries})
	defer s.Close()
	ctx := context.Background()
	for i := range 3000 {
		val := make([]byte, (i*37)%9000)
		if err := s.Set(ctx, fmt.Sprint("k", i), val, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if b, n := s.Bytes(), s.Len(); b > budget || n > entries {
			t.Fatalf("after %d writes the store holds %d entries of %d bytes; bounds are %d entries, %d bytes", i+1, n, b, entries, budget)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if b, n := s.Bytes(), s.Len(); b != 0 || n != 0 {
		t.Fatalf("after Flush: %d entries, %d bytes", n, b)
	}
}

// Entries read often survive a scan of entries written once (W-TinyLFU
// admission); the sampled LRU of the old store evicted them all.
func TestHotEntriesSurviveScan(t *testing.T) {
	s := inmemory.New(inmemory.Options{MaxEntries: 100})
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	for i := range 50 {
		if err := s.Set(ctx, fmt.Sprint("hot", i), []byte("v"), exp); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		for i := range 50 {
			if _, _, err := s.Get(ctx, fmt.Sprint("hot", i)); err != nil {
				t.Fatalf("hot%d: %v", i, err)
			}
		}
	}
	for i := range 2000 {
		if err := s.Set(ctx, fmt.Sprint("scan", i), []byte("v"), exp); err != nil {
			t.Fatal(err)
		}
	}
	kept := 0
	for i := range 50 {
		if _, _, err := s.Get(ctx, fmt.Sprint("hot", i)); err == nil {
			kept++
		}
	}
	if kept < 45 {
		t.Fatalf("%d of 50 hot entries survived a scan of 2000 one-off writes; want at least 45", kept)
	}
}

func TestBoundedByEntries(t *testing.T) {
	s := inmemory.New(inmemory.Options{MaxEntries: 100})
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
	s := inmemory.New(inmemory.Options{MaxEntries: 100})
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
	s := inmemory.New(inmemory.Options{MaxBytes: 1 << 20})
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

// GetTimed reports the instant it found the entry live, before its expiry,
// and finds nothing once the expiry has passed.
func TestGetTimed(t *testing.T) {
	s := inmemory.New(inmemory.Options{})
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	if err := s.Set(ctx, "k", []byte("v"), exp); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	v, gotExp, now, err := s.GetTimed(ctx, "k")
	if err != nil || string(v) != "v" {
		t.Fatalf("GetTimed = %q, %v", v, err)
	}
	if !gotExp.Equal(time.Unix(0, exp.UnixNano())) {
		t.Errorf("expiresAt = %v, want %v", gotExp, exp)
	}
	if !now.Before(gotExp) {
		t.Errorf("now %v is not before expiresAt %v", now, gotExp)
	}
	// The store's clock is the wall clock at New plus the monotonic time
	// since: within a few seconds of the wall clock, barring a clock step.
	if d := now.Sub(before); d < -5*time.Second || d > time.Minute {
		t.Errorf("now is %v away from the wall clock", d)
	}
	if err := s.Set(ctx, "past", []byte("v"), time.Now().Add(-time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.GetTimed(ctx, "past"); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("GetTimed of an expired entry = %v, want ErrNotFound", err)
	}
	if _, _, _, err := s.GetTimed(ctx, "absent"); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("GetTimed of an absent key = %v, want ErrNotFound", err)
	}
}

// An entry is returned until its deadline and never after it: the test
// reads until Get stops returning it; a read that began at or after the
// deadline must miss, and a read that ended before it must hit.
func TestExpiryIsExact(t *testing.T) {
	s := inmemory.New(inmemory.Options{})
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(30 * time.Millisecond)
	if err := s.Set(ctx, "k", []byte("v"), exp); err != nil {
		t.Fatal(err)
	}
	giveUp := time.Now().Add(30 * time.Second)
	for {
		before := time.Now()
		_, _, err := s.Get(ctx, "k")
		after := time.Now()
		switch {
		case err == nil && !before.Before(exp):
			t.Fatalf("a read begun %v after the expiry returned the entry", before.Sub(exp))
		case err != nil && after.Before(exp):
			t.Fatalf("a read ended %v before the expiry missed: %v", exp.Sub(after), err)
		case err != nil:
			return
		}
		if after.After(giveUp) {
			t.Fatal("entry never expired")
		}
		time.Sleep(time.Millisecond)
	}
}

// Bytes and Len follow writes, replacements, deletions and ClearNamespace,
// which counts the live entries it removed and leaves other keys alone.
func TestAccounting(t *testing.T) {
	s := inmemory.New(inmemory.Options{})
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for i := range 10 {
		if err := s.Set(ctx, fmt.Sprint("ns:", i), make([]byte, 100), exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Set(ctx, "ns:dead", []byte("v"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "other", make([]byte, 100), exp); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "other", make([]byte, 50), exp); err != nil { // a replacement
		t.Fatal(err)
	}
	const one = 100 + 80 // value and overhead
	want := int64(10*(one+len("ns:0"))) + int64(len("ns:dead")+1+80) + int64(len("other")+50+80)
	if b, n := s.Bytes(), s.Len(); b != want || n != 12 {
		t.Fatalf("%d entries, %d bytes; want 12, %d", n, b, want)
	}
	n, err := s.ClearNamespace(ctx, "ns")
	if err != nil || n != 10 {
		t.Fatalf("ClearNamespace = %d, %v; want the 10 live entries", n, err)
	}
	if b, n := s.Bytes(), s.Len(); b != int64(len("other")+50+80) || n != 1 {
		t.Fatalf("after ClearNamespace: %d entries, %d bytes", n, b)
	}
	if ok, err := s.Delete(ctx, "other"); !ok || err != nil {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	if b, n := s.Bytes(), s.Len(); b != 0 || n != 0 {
		t.Fatalf("after Delete: %d entries, %d bytes", n, b)
	}
}
