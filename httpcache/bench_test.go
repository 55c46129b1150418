package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchBody is a typical small JSON answer.
var benchBody = `{"blogs":[` + strings.Repeat(`{"id":"1","slug":"hello-world","title":"Hello"},`, 10) + `{}]}`

func benchHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchBody)
	})
}

// discard is a ResponseWriter that keeps nothing, so the benchmarks
// measure the middleware rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

func (d *discard) reset() {
	for k := range d.h {
		delete(d.h, k)
	}
}

// BenchmarkHandlerAlone is the baseline: the handler without the middleware.
func BenchmarkHandlerAlone(b *testing.B) {
	h := benchHandler()
	r := httptest.NewRequest("GET", "/blogs?page=2", nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, r)
	}
}

// BenchmarkHit serves a stored response from the in-memory store.
func BenchmarkHit(b *testing.B) {
	mw := Middleware(inmemoryKind.open(b, nil), Options{TTL: time.Hour, Filter: blogFilter{}})(benchHandler())
	r := httptest.NewRequest("GET", "/blogs?page=2", nil)
	w := &discard{h: http.Header{}}
	mw.ServeHTTP(w, r)
	if w.h.Get(StatusHeader) != StatusMiss {
		b.Fatal("first request was not a MISS")
	}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		mw.ServeHTTP(w, r)
	}
	if w.h.Get(StatusHeader) != StatusHit {
		b.Fatal("not a HIT")
	}
}

// BenchmarkMiss runs the handler and stores its response, on a new key
// each time (building that key's URL costs two small allocations), in the
// in-memory store.
func BenchmarkMiss(b *testing.B) {
	mw := Middleware(inmemoryKind.open(b, nil), Options{TTL: time.Hour})(benchHandler())
	w := &discard{h: http.Header{}}
	base := httptest.NewRequest("GET", "/blogs", nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r := *base
		r.URL = &url.URL{Path: "/blogs", RawQuery: "page=" + strconv.Itoa(i)}
		w.reset()
		mw.ServeHTTP(w, &r)
	}
	if w.h.Get(StatusHeader) != StatusMiss {
		b.Fatal("not a MISS")
	}
}
