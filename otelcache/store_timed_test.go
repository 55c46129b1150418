package otelcache_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
)

// countedTimed is the in-memory store, counting its GetTimed calls.
type countedTimed struct {
	*inmemory.Store
	timed atomic.Int64
}

func (s *countedTimed) GetTimed(ctx context.Context, key string) ([]byte, time.Time, time.Time, error) {
	s.timed.Add(1)
	return s.Store.GetTimed(ctx, key)
}

// TestStoreKeepsTimedGetter: under an Observer, the cache still reads a
// store that is a backends.TimedGetter (the in-memory store) through
// GetTimed, reusing its clock reading for FetchWithTTL, and the read is
// still recorded as a get of the store, a miss as no error.
func TestStoreKeepsTimedGetter(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	inner := &countedTimed{Store: inmemory.New(inmemory.Options{})}
	c, err := cachette.NewWithBackend(inner, cachette.Config{Observer: h.obs})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.Backend().(backends.TimedGetter); !ok {
		t.Fatalf("%T is not a backends.TimedGetter", c.Backend())
	}
	if err := c.Put(ctx, "k", "v", cachette.WithTTL(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var v string
	ttl, err := c.FetchWithTTL(ctx, "k", &v)
	if err != nil || v != "v" || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("FetchWithTTL = %q, %v, %v", v, ttl, err)
	}
	if _, err := c.FetchWithTTL(ctx, "absent", &v); err == nil {
		t.Fatal("FetchWithTTL of an absent key: no error")
	}
	if n := inner.timed.Load(); n != 2 {
		t.Errorf("GetTimed called %d times, want 2 (one per FetchWithTTL)", n)
	}
	pts := h.points(t)
	const get = "db.client.operation.duration{db.operation.name=get,db.system.name=otelcache_test}" // the store is named after its type's package
	if pts[get] != 2 {
		t.Fatalf("want 2 gets recorded without error; metrics:\n%s", dump(pts))
	}
}
