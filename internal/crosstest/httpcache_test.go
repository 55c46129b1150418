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
