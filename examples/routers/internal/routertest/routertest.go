// Package routertest holds what the router examples' tests share: a cache
// whose store counts its writes and refused locks, and a GET helper.
package routertest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/httpcache"
)

// Store is a real in-memory store that counts what the middleware asks of
// it: the writes of responses (not of locks) and the locks it was refused
// because someone held them.
type Store struct {
	backends.Backend
	writes  atomic.Int64
	refused atomic.Int64
}

// Writes is the number of values stored so far.
func (s *Store) Writes() int64 { return s.writes.Load() }

// RefusedLocks is the number of Lock calls that found the lock taken.
func (s *Store) RefusedLocks() int64 { return s.refused.Load() }

func (s *Store) Set(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	s.writes.Add(1)
	return s.Backend.Set(ctx, key, value, expiresAt)
}

func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (string, bool, error) {
	tok, ok, err := s.Backend.Lock(ctx, key, ttl)
	if err == nil && !ok {
		s.refused.Add(1)
	}
	return tok, ok, err
}

// NewCache returns an in-memory cache and its counting store; the cache is
// closed when the test ends.
func NewCache(t testing.TB) (*cachette.Cache, *Store) {
	t.Helper()
	mem, err := cachette.New(context.Background(), cachette.Config{})
	if err != nil {
		t.Fatal(err)
	}
	store := &Store{Backend: mem.Backend()}
	cache, err := cachette.NewWithBackend(store, cachette.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	return cache, store
}

// Answer is what a GET got.
type Answer struct {
	Code   int
	Status string // X-Cache-Status
	Body   string
	Header http.Header
}

// Get sends GET url with the header pairs given and reads the answer.
func Get(t testing.TB, url string, header ...string) Answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Answer{resp.StatusCode, resp.Header.Get(httpcache.StatusHeader), strings.TrimSpace(string(b)), resp.Header}
}
