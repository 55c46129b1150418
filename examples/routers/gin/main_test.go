package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/examples/routers/internal/routertest"
	"github.com/cachette-go/cachette/httpcache"
	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.ReleaseMode) }

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
	if hit.Status != httpcache.StatusHit || hit.Body != miss.Body {
		t.Errorf("second GET: %+v", hit)
	}
	// c.JSON sets Content-Type after the status: the adapter holds the
	// status back, so the stored response has it.
	if ct := hit.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("HIT Content-Type %q", ct)
	}
	if n := a.rendered.Load(); n != 1 {
		t.Errorf("the handler ran %d times, want 1", n)
	}

	// gin.WrapH around the middleware and a plain handler.
	about1 := routertest.Get(t, srv.URL+"/about")
	about2 := routertest.Get(t, srv.URL+"/about")
	if about1.Status != httpcache.StatusMiss || about2.Status != httpcache.StatusHit || about2.Body != about1.Body {
		t.Errorf("/about: %+v then %+v", about1, about2)
	}

	// /stats has no middleware: never cached, always fresh.
	for range 2 {
		if s := routertest.Get(t, srv.URL+"/stats"); s.Status != "" || s.Body != `{"rendered":1}` {
			t.Errorf("/stats: %+v", s)
		}
	}
	if w, r := store.Writes(), store.RefusedLocks(); w != 2 || r != 0 {
		t.Errorf("store: %d writes, %d refused locks; want 2 and 0", w, r)
	}
}

// A background refresh hands the middleware's handler a copy of the
// request, with another context, after the request ended: the adapter
// must not touch the *gin.Context then.
func TestRefreshDoesNotReuseContext(t *testing.T) {
	call := &ginCall{} // a nil *gin.Context: touching it panics
	call.ctx = context.WithValue(context.Background(), ginCallKey{}, call)
	detached, cancel := context.WithTimeout(context.WithoutCancel(call.ctx), time.Minute)
	defer cancel()
	w := httptest.NewRecorder()
	runChain(w, httptest.NewRequestWithContext(detached, "GET", "/blogs/42", nil))
	if call.ran || w.Body.Len() != 0 || len(w.Header()) != 0 {
		t.Errorf("the chain ran for a detached copy: ran=%v, %v %q", call.ran, w.Header(), w.Body)
	}
}

// The router-wide middleware (TTL 1m, engine.Use) and the per-route one
// (TTL 1h), alone or together.
var (
	wide  = httpcache.Options{TTL: time.Minute, MaxPlanningTime: -1}
	route = httpcache.Options{TTL: time.Hour, MaxPlanningTime: -1, LockTTL: 100 * time.Millisecond} // LockTTL: see TestAppliedTwice
)

func blogRouter(cache *cachette.Cache, a *api, useWide, useRoute bool) *gin.Engine {
	r := gin.New()
	if useWide {
		r.Use(cacheHandler(httpcache.Middleware(cache, wide)))
	}
	if useRoute {
		r.GET("/blogs/:id", cacheHandler(httpcache.Middleware(cache, route)), a.getBlog)
	} else {
		r.GET("/blogs/:id", a.getBlog)
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
		{"around the engine", func(c *cachette.Cache, a *api) http.Handler {
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

// TestAppliedTwice is the trap: engine.Use and the route both cache, with
// the same key. The outer one holds the key's fill lock while the chain
// runs; the inner one finds it taken, waits its LockTTL (5s by default),
// then runs the handler. Both store, the outer one last: the route's TTL
// is lost.
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
	if hit.Status != httpcache.StatusHit || hit.Body != miss.Body || hit.Header.Get("Cache-Control") != "max-age=3600" {
		t.Errorf("second GET: %+v, want a HIT with the route's max-age=3600, replayed by the router-wide cache", hit)
	}
	if n := a.rendered.Load(); n != 1 {
		t.Errorf("the handler ran %d times, want 1", n)
	}
}
