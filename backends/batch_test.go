package backends_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
)

// plain hides a store's Batcher methods.
type plain struct{ backends.Backend }

func TestParallelFallback(t *testing.T) {
	ctx := context.Background()
	mem := inmemory.New(inmemory.Options{MaxBytes: 64 * 1024})
	defer mem.Close()
	b := plain{mem}
	exp := time.Now().Add(time.Minute)
	var entries []backends.Entry
	var keys []string
	for i := range 40 {
		k := fmt.Sprint("k", i)
		keys = append(keys, k, k) // repeats
		entries = append(entries, backends.Entry{Key: k, Value: []byte("old"), ExpiresAt: exp}, backends.Entry{Key: k, Value: []byte(k), ExpiresAt: exp})
	}
	entries = append(entries, backends.Entry{Key: "huge", Value: make([]byte, 128*1024), ExpiresAt: exp})
	err := backends.SetManyParallel(ctx, b, entries, 4)
	if !errors.Is(err, backends.ErrTooLarge) {
		t.Fatalf("SetManyParallel = %v, want ErrTooLarge for huge", err)
	}
	got, err := backends.GetManyParallel(ctx, b, append(keys, "missing", "huge"), 4)
	if err != nil || len(got) != 40 {
		t.Fatalf("GetManyParallel = %d entries, %v; want 40", len(got), err)
	}
	for _, k := range keys {
		if string(got[k].Value) != k {
			t.Fatalf("%s = %q; the last entry of a repeated key must win", k, got[k].Value)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := backends.SetManyParallel(cctx, b, entries[:10], 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("SetManyParallel with an ended context = %v, want context.Canceled", err)
	}
}

func TestDistinctAndLastEntries(t *testing.T) {
	if got := fmt.Sprint(backends.Distinct([]string{"a", "b", "a", "c", "b"})); got != "[a b c]" {
		t.Fatalf("Distinct = %s", got)
	}
	e := backends.LastEntries([]backends.Entry{{Key: "a", Value: []byte("1")}, {Key: "b"}, {Key: "a", Value: []byte("2")}})
	if len(e) != 2 || e[0].Key != "b" || string(e[1].Value) != "2" {
		t.Fatalf("LastEntries = %v", e)
	}
}
