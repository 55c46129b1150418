// Package naive is the control of the stampede scenario: a response cache
// middleware as one writes it in an afternoon, with a map, a mutex and a
// TTL, and no request coalescing. Every request that finds no fresh entry
// calls the handler, so a cold or just-expired key under load reaches the
// origin once per waiting request.
package naive

import (
	"bytes"
	"net/http"
	"sync"
	"time"
)

type entry struct {
	status  int
	header  http.Header
	body    []byte
	expires time.Time
}

// Middleware caches 200 responses to GET requests for ttl, keyed by the
// request URL.
func Middleware(ttl time.Duration) func(http.Handler) http.Handler {
	var (
		mu      sync.RWMutex
		entries = map[string]*entry{}
	)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				next.ServeHTTP(w, r)
				return
			}
			key := r.URL.String()
			mu.RLock()
			e := entries[key]
			mu.RUnlock()
			if e != nil && time.Now().Before(e.expires) {
				for k, v := range e.header {
					w.Header()[k] = v
				}
				w.Header().Set("X-Cache-Status", "HIT")
				w.WriteHeader(e.status)
				w.Write(e.body)
				return
			}
			rec := &recorder{header: http.Header{}, status: http.StatusOK}
			next.ServeHTTP(rec, r)
			if rec.status == http.StatusOK {
				mu.Lock()
				entries[key] = &entry{status: rec.status, header: rec.header.Clone(), body: rec.body.Bytes(), expires: time.Now().Add(ttl)}
				mu.Unlock()
			}
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.Header().Set("X-Cache-Status", "MISS")
			w.WriteHeader(rec.status)
			w.Write(rec.body.Bytes())
		})
	}
}

// recorder buffers a handler's response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	return r.body.Write(p)
}
