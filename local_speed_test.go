package cachette_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/codecs"
)

// A local hit copies *string and *[]byte without reflection
// (localEntry.copyTo): the value, the time left and the type rules are
// those of the reflective path.
func TestLocalTierCopiesStringsAndBytes(t *testing.T) {
	ctx := context.Background()
	o := &lookups{}
	c, err := cachette.New(ctx, cachette.Config{LocalEntries: 10, TTL: time.Hour, Observer: o})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Put(ctx, "s", "hello"); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "b", []byte("xyz")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		var s string
		if err := c.Fetch(ctx, "s", &s); err != nil || s != "hello" {
			t.Fatalf("Fetch *string #%d = %q, %v", i, s, err)
		}
		var b []byte
		if err := c.Fetch(ctx, "b", &b); err != nil || string(b) != "xyz" {
			t.Fatalf("Fetch *[]byte #%d = %q, %v", i, b, err)
		}
	}
	if o.lastResult() != cachette.LookupLocalHit {
		t.Fatalf("second reads: %v, want local hits", o.lastResult())
	}
	var s string
	left, err := c.FetchWithTTL(ctx, "s", &s)
	if err != nil || s != "hello" || left <= 0 || left > time.Hour || o.lastResult() != cachette.LookupLocalHit {
		t.Fatalf("FetchWithTTL = %q, %v, %v (%v)", s, left, err, o.lastResult())
	}
	// A *[]byte read of a value kept as a string, and the reverse, go to
	// the store (the vanilla codec decodes either).
	var b []byte
	if err := c.Fetch(ctx, "s", &b); err != nil || string(b) != "hello" || o.lastResult() != cachette.LookupHit {
		t.Fatalf("*[]byte of a local string = %q, %v (%v)", b, err, o.lastResult())
	}
	// Nil destinations are refused as before, local value or not.
	for _, dst := range []any{(*string)(nil), (*[]byte)(nil), nil, "not a pointer"} {
		if err := c.Fetch(ctx, "s", dst); !errors.Is(err, codecs.ErrType) {
			t.Errorf("Fetch into %T(%v): %v, want ErrType", dst, dst, err)
		}
	}
}

// A named string type is another type: it is not served the *string kept
// locally.
func TestLocalTierNamedStringIsAnotherType(t *testing.T) {
	ctx := context.Background()
	o := &lookups{}
	c, err := cachette.New(ctx, cachette.Config{Codec: "json", LocalEntries: 10, Observer: o})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	var s string
	_ = c.Fetch(ctx, "k", &s)
	_ = c.Fetch(ctx, "k", &s)
	if o.lastResult() != cachette.LookupLocalHit {
		t.Fatalf("*string: %v", o.lastResult())
	}
	type name string
	var n name
	if err := c.Fetch(ctx, "k", &n); err != nil || n != "v" || o.lastResult() != cachette.LookupHit {
		t.Fatalf("*name = %q, %v (%v); want a decode from the store", n, err, o.lastResult())
	}
}

// Counts from many goroutines at once all land (stats.go's stripes picked
// per goroutine).
func TestLocalHitsCountedConcurrently(t *testing.T) {
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{LocalEntries: 10, LocalTTL: time.Hour, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := c.Fetch(ctx, "k", &s); err != nil { // fills the local tier
		t.Fatal(err)
	}
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			var s string
			for range each {
				if err := c.Fetch(ctx, "k", &s); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := c.Stats()
	if st.LocalHits+st.Hits != goroutines*each+1 || st.LocalHits < goroutines*each {
		t.Fatalf("Stats = %+v; want %d reads, %d of them local", st, goroutines*each+1, goroutines*each)
	}
}
