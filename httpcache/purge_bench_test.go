package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkHitTagged is BenchmarkHit for a response with tags: each HIT
// also reads the tags' generations (one store Get per tag, concurrently
// when there are several).
func BenchmarkHitTagged(b *testing.B) {
	for _, bc := range []struct {
		name string
		kind storeKind
		tags string
	}{
		{"inmemory/0tags", inmemoryKind, ""},
		{"inmemory/1tag", inmemoryKind, "blogs"},
		{"inmemory/3tags", inmemoryKind, "blogs blog-1 blog-2"},
		{"redis/0tags", redisKind, ""},
		{"redis/1tag", redisKind, "blogs"},
		{"redis/3tags", redisKind, "blogs blog-1 blog-2"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if bc.tags != "" {
					w.Header().Set("Surrogate-Key", bc.tags)
				}
				_, _ = io.WriteString(w, benchBody)
			})
			mw := Middleware(bc.kind.open(b, nil), Options{TTL: time.Hour, StoreTimeout: 10 * time.Second})(h)
			r := httptest.NewRequest("GET", "/blogs?page=2", nil)
			w := &discard{h: http.Header{}}
			mw.ServeHTTP(w, r)
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				mw.ServeHTTP(w, r)
			}
			if w.h.Get(StatusHeader) != StatusHit {
				b.Fatal("not a HIT")
			}
		})
	}
}
