package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/examples/routers/internal/routertest"
	"github.com/cachette-go/cachette/httpcache"
	"github.com/go-chi/chi/v5"
)

func TestCachedRoute(t *testing.T) {
	cache, store := routertest.NewCache(t)
	a := &api{}
	srv := httptest.NewServer(newRouter(cache, a))
	defer srv.Close()

	miss := routertest.Get(t, srv.URL+"/blogs/42")
	hit := routertest.Get(t, srv.URL+"/blogs/42")
	if miss.Code != 200 || miss.Status != httpcache.StatusMiss || miss.Body != `{"blog_id":"42"}` {
		t.Errorf("first GET: %+v", miss)
	}
	if hit.Status != httpcache.StatusHit || hit.Body != miss.Body || hit.Header.Get("Content-Type") != "application/json" {
		t.Errorf("second GET: %+v", hit)
	}
	if n := a.rendered.Load(); n != 1 {
		t.Errorf("the handler ran %d times, want 1", n)
	}
	if other := routertest.Get(t, srv.URL+"/blogs/7"); other.Status != httpcache.StatusMiss || other.Body != `{"blog_id":"7"}` {
		t.Errorf("another id: %+v", other)
	}

	// /stats has no middleware: never cached, always fresh.
	for _, want := range []string{`{"rendered":2}`, `{"rendered":2}`} {
		if s := routertest.Get(t, srv.URL+"/stats"); s.Status != "" || s.Body != want {
			t.Errorf("/stats: %+v, want no %s and %s", s, httpcache.StatusHeader, want)
		}
	}
	if w, r := store.Writes(), store.RefusedLocks(); w != 2 || r != 0 {
		t.Errorf("store: %d writes, %d refused locks; want 2 and 0", w, r)
	}
}

// TestAppliedOnce and TestAppliedTwice compare the ways to put the
// middleware on a chi router. Each applies a router-wide middleware
// (TTL 1m) and/or a per-route one (TTL 1h).
var (
	wide  = httpcache.Options{TTL: time.Minute, MaxPlanningTime: -1}
	route = httpcache.Options{TTL: time.Hour, MaxPlanningTime: -1, LockTTL: 100 * time.Millisecond} // LockTTL: see TestAppliedTwice
)

func blogRouter(cache *cachette.Cache, a *api, useWide, useRoute bool) chi.Router {
	r := chi.NewRouter()
	if useWide {
		r.Use(httpcache.Middleware(cache, wide))
	}
	if useRoute {
		r.With(httpcache.Middleware(cache, route)).Get("/blogs/{id}", a.getBlog)
	} else {
		r.Get("/blogs/{id}", a.getBlog)
	}
	return r
}

func TestAppliedOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		build  func(*cachette.Cache, *api) http.Handler
		maxAge string
	}{
		{"per route", func(c *cachette.Cache, a *api) http.Handler { return blogRouter(c, a, false, true) }, "max-age=3600"},
		{"router-wide with Use", func(c *cachette.Cache, a *api) http.Handler { return blogRouter(c, a, true, false) }, "max-age=60"},
		{"around the router", func(c *cachette.Cache, a *api) http.Handler {
			return httpcache.Middleware(c, wide)(blogRouter(c, a, false, false))
		}, "max-age=60"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache, store := routertest.NewCache(t)
			a := &api{}
			srv := httptest.NewServer(tc.build(cache, a))
			defer srv.Close()
			miss := routertest.Get(t, srv.URL+"/blogs/42")
			hit := routertest.Get(t, srv.URL+"/blogs/42")
			if miss.Status != httpcache.StatusMiss || hit.Status != httpcache.StatusHit || hit.Body != miss.Body {
				t.Errorf("got %+v then %+v", miss, hit)
			}
			if got := hit.Header.Get("Cache-Control"); got != tc.maxAge {
				t.Errorf("HIT Cache-Control %q, want %q", got, tc.maxAge)
			}
			if n, w, r := a.rendered.Load(), store.Writes(), store.RefusedLocks(); n != 1 || w != 1 || r != 0 {
				t.Errorf("%d renders, %d writes, %d refused locks; want 1, 1, 0", n, w, r)
			}
		})
	}
}

// TestAppliedTwice is the trap: r.Use(wide) and r.With(route) on the same
// route nest two caches with the same key. The router-wide one takes the
// key's fill lock and runs the router; the per-route one finds the lock
// taken (by the request it is serving), waits its LockTTL (5s by default)
// for a response that cannot come, then runs the handler. Both store the
// response, the outer one last, so the route's TTL is lost.
func TestAppliedTwice(t *testing.T) {
	cache, store := routertest.NewCache(t)
	a := &api{}
	srv := httptest.NewServer(blogRouter(cache, a, true, true))
	defer srv.Close()

	miss := routertest.Get(t, srv.URL+"/blogs/42")
	if miss.Status != httpcache.StatusMiss || miss.Body != `{"blog_id":"42"}` {
		t.Errorf("first GET: %+v", miss)
	}
	if r := store.RefusedLocks(); r == 0 {
		t.Error("the inner middleware did not wait for the outer one's lock")
	}
	if w := store.Writes(); w != 2 {
		t.Errorf("%d writes, want 2 (one per middleware)", w)
	}
	hit := routertest.Get(t, srv.URL+"/blogs/42")
	if hit.Status != httpcache.StatusHit || hit.Body != miss.Body {
		t.Errorf("second GET: %+v", hit)
	}
	// The outer cache stores the inner one's answer, max-age=3600 included,
	// as the handler's own Cache-Control, and replays it as is.
	if got := hit.Header.Get("Cache-Control"); got != "max-age=3600" {
		t.Errorf("HIT Cache-Control %q: want the route's max-age=3600, replayed by the router-wide cache", got)
	}
	if n := a.rendered.Load(); n != 1 {
		t.Errorf("the handler ran %d times, want 1", n)
	}
}

// With different keys (here another Prefix on the route) the two caches
// do not wait for each other, but each page is stored twice, and when
// the inner cache answers a request the outer one missed, the outer one
// reports MISS although no handler ran, and stores the page again.
func TestAppliedTwiceDifferentKeys(t *testing.T) {
	cache, store := routertest.NewCache(t)
	a := &api{}
	r := chi.NewRouter()
	r.Use(httpcache.Middleware(cache, wide))
	other := route
	other.Prefix = "route"
	r.With(httpcache.Middleware(cache, other)).Get("/blogs/{id}", a.getBlog)
	srv := httptest.NewServer(r)
	defer srv.Close()

	first := routertest.Get(t, srv.URL+"/blogs/42")
	if first.Status != httpcache.StatusMiss || store.Writes() != 2 || store.RefusedLocks() != 0 {
		t.Errorf("first GET: %+v, %d writes, %d refused locks; want MISS, 2, 0", first, store.Writes(), store.RefusedLocks())
	}
	if _, err := cache.ClearNamespace(t.Context(), httpcache.DefaultPrefix); err != nil { // the outer entry only
		t.Fatal(err)
	}
	again := routertest.Get(t, srv.URL+"/blogs/42")
	if again.Status != httpcache.StatusMiss || again.Body != first.Body {
		t.Errorf("second GET: %+v, want MISS (the outer cache's word) with the same body", again)
	}
	if n, w := a.rendered.Load(), store.Writes(); n != 1 || w != 3 {
		t.Errorf("%d renders, %d writes; want 1 (the inner cache answered) and 3", n, w)
	}
}
