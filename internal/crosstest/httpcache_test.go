package crosstest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/httpcache"
)

// TestHTTPCacheOnEveryBackend serves MISS, then HIT with the same body, a
// 304 for the ETag, and a compressible 20 KiB body on every backend.
func TestHTTPCacheOnEveryBackend(t *testing.T) {
	for backend, cfgFor := range backendConfigs(t) {
		t.Run(backend, func(t *testing.T) {
			cfg := cfgFor(t)
			ctx := context.Background()
			c, err := cachette.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			defer c.Flush(ctx)

			var calls atomic.Int32
			body := strings.Repeat(`{"id":1,"title":"cachette"}`, 800) // about 20 KiB
			h := httpcache.Middleware(c, httpcache.Options{TTL: time.Minute, StoreTimeout: 10 * time.Second})(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, body)
				}))
			srv := httptest.NewServer(h)
			defer srv.Close()

			get := func(etag string) (*http.Response, string) {
				req, _ := http.NewRequest("GET", srv.URL+"/blogs/1?b=2&a=1", nil)
				if etag != "" {
					req.Header.Set("If-None-Match", etag)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp, string(b)
			}
			resp, got := get("")
			if s := resp.Header.Get(httpcache.StatusHeader); s != "MISS" || got != body {
				t.Fatalf("first request: %s, %d bytes", s, len(got))
			}
			resp, got = get("")
			if s := resp.Header.Get(httpcache.StatusHeader); s != "HIT" || got != body {
				t.Fatalf("second request: %s, %d bytes", s, len(got))
			}
			etag := resp.Header.Get("ETag")
			resp, got = get(etag)
			if resp.StatusCode != http.StatusNotModified || got != "" {
				t.Fatalf("If-None-Match %s: %d with %d bytes", etag, resp.StatusCode, len(got))
			}
			if n := calls.Load(); n != 1 {
				t.Fatalf("handler ran %d times, want 1", n)
			}
			if n, err := c.ClearNamespace(ctx, "httpcache"); err == nil && n != 1 {
				t.Errorf("ClearNamespace(httpcache) = %d, want the 1 stored response", n)
			} else if err != nil {
				t.Log(fmt.Sprint("ClearNamespace: ", err))
			}
		})
	}
}

// TestHTTPCachePurgeOnEveryBackend: invalidation by an unsafe method,
// Purge of one URL's Vary variants, and PurgeTags, through real servers on
// every backend (memcached has no key listing: none of them needs one).
func TestHTTPCachePurgeOnEveryBackend(t *testing.T) {
	for backend, cfgFor := range backendConfigs(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			c, err := cachette.New(ctx, cfgFor(t))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			defer c.Flush(ctx)

			opts := httpcache.Options{TTL: time.Minute, StoreTimeout: 10 * time.Second, Prefix: "purge"}
			var calls atomic.Int32
			h := httpcache.Middleware(c, opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if r.Method != http.MethodGet {
					w.WriteHeader(http.StatusNoContent)
					return
				}
				w.Header().Set("Vary", "X-Lang")
				w.Header().Set("Surrogate-Key", "all "+strings.TrimPrefix(r.URL.Path, "/"))
				fmt.Fprintf(w, "%s %s %d", r.URL.Path, r.Header.Get("X-Lang"), n)
			}))
			srv := httptest.NewServer(h)
			defer srv.Close()

			send := func(method, path, lang string) *http.Response {
				t.Helper()
				req, _ := http.NewRequest(method, srv.URL+path, nil)
				req.Header.Set("X-Lang", lang)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			paths := []string{"/a?q=1", "/b", "/c"}
			langs := []string{"en", "fr"}
			check := func(step string, want map[string]string) {
				t.Helper()
				for _, p := range paths {
					for _, l := range langs {
						resp := send("GET", p, l)
						s := resp.Header.Get(httpcache.StatusHeader)
						w := want[p]
						if w == "" {
							w = httpcache.StatusHit
						}
						if s != w {
							t.Errorf("%s: GET %s (%s): %s, want %s", step, p, l, s, w)
						}
						if k := resp.Header.Get("Surrogate-Key"); k != "" {
							t.Errorf("%s: GET %s: the client got Surrogate-Key %q", step, p, k)
						}
					}
				}
			}
			miss := httpcache.StatusMiss
			check("fill", map[string]string{"/a?q=1": miss, "/b": miss, "/c": miss})
			check("stored", nil)

			send("POST", "/a?q=1", "en")
			check("after POST /a?q=1", map[string]string{"/a?q=1": miss})

			srvReq := httptest.NewRequest("GET", srv.URL+"/b", nil)
			if n, err := httpcache.Purge(ctx, c, opts, srvReq); err != nil || n != 1 {
				t.Fatalf("Purge(/b) = %d, %v", n, err)
			}
			check("after Purge(/b)", map[string]string{"/b": miss})

			if err := httpcache.PurgeTags(ctx, c, opts, "c"); err != nil {
				t.Fatal(err)
			}
			check("after PurgeTags(c)", map[string]string{"/c": miss})

			if err := httpcache.PurgeTags(ctx, c, opts, "all"); err != nil {
				t.Fatal(err)
			}
			check("after PurgeTags(all)", map[string]string{"/a?q=1": miss, "/b": miss, "/c": miss})
			check("stored again", nil)
		})
	}
}
