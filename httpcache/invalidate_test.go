package httpcache

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestInvalidation: an unsafe method answered with a 2xx or 3xx drops
// every stored variant of its URL (RFC 9111, 4.4); an error answer, a
// safe method, another URL or another query leave the entries alone.
func TestInvalidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, tc := range []struct {
			method     string
			status     int
			invalidate bool
		}{
			{"POST", 200, true},
			{"POST", 201, true},
			{"PUT", 204, true},
			{"PATCH", 200, true},
			{"DELETE", 200, true},
			{"DELETE", 303, true},
			{"POST", 302, true},
			{"M-SEARCH", 200, true}, // not a method the cache knows: not safe
			{"FOO", 200, true},
			{"POST", 400, false},
			{"PUT", 404, false},
			{"DELETE", 500, false},
			{"POST", 503, false},
			{"OPTIONS", 200, false},
			{"TRACE", 200, false},
		} {
			t.Run(fmt.Sprintf("%s_%d", tc.method, tc.status), func(t *testing.T) {
				t.Parallel()
				h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
					if r.Method == "GET" {
						w.Header().Set("Vary", "X-Lang")
						fmt.Fprintf(w, "%s %d", r.Header.Get("X-Lang"), n)
						return
					}
					w.WriteHeader(tc.status)
				}}
				mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
				for _, u := range []string{"/a?x=1", "/a?x=2", "/b"} {
					for _, lang := range []string{"en", "fr"} {
						wantStatus(t, request(mw, "GET", u, "X-Lang", lang), 200, StatusMiss)
					}
				}
				wantStatus(t, request(mw, tc.method, "/a?x=1"), tc.status, StatusNoCache)
				want := StatusHit
				if tc.invalidate {
					want = StatusMiss
				}
				for _, lang := range []string{"en", "fr"} {
					wantStatus(t, request(mw, "GET", "/a?x=1", "X-Lang", lang), 200, want)
					wantStatus(t, request(mw, "HEAD", "/a?x=1", "X-Lang", lang), 200, StatusHit)
					// Another query and another path are other resources.
					wantStatus(t, request(mw, "GET", "/a?x=2", "X-Lang", lang), 200, StatusHit)
					wantStatus(t, request(mw, "GET", "/b", "X-Lang", lang), 200, StatusHit)
				}
			})
		}
	})
}

// TestInvalidationWithoutVary, with a HEAD stored first (HEAD and GET
// share a key), a handler that writes a body without WriteHeader, and one
// that writes nothing at all (net/http's 200).
func TestInvalidationWithoutVary(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		for name, unsafe := range map[string]func(w http.ResponseWriter){
			"write":   func(w http.ResponseWriter) { fmt.Fprint(w, "done") },
			"nothing": func(w http.ResponseWriter) {},
			"flush":   func(w http.ResponseWriter) { w.(http.Flusher).Flush() },
		} {
			t.Run(name, func(t *testing.T) {
				h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
					if r.Method != "GET" {
						unsafe(w)
						return
					}
					fmt.Fprintf(w, "call %d", n)
				}}
				mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
				wantStatus(t, request(mw, "HEAD", "/a"), 200, StatusMiss)
				wantStatus(t, request(mw, "GET", "/a"), 200, StatusHit)
				wantStatus(t, request(mw, "POST", "/a"), 200, StatusNoCache)
				wantStatus(t, request(mw, "GET", "/a"), 200, StatusMiss)
				wantStatus(t, request(mw, "GET", "/a"), 200, StatusHit)
			})
		}
	})
}

// TestInvalidationLocation: the URLs a 2xx/3xx answer to an unsafe method
// names in Location and Content-Location are dropped too when they are on
// the request's host, relative or absolute; not on another host.
func TestInvalidationLocation(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		var location, contentLocation string
		h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
			if r.Method == "GET" {
				fmt.Fprintf(w, "%s %d", r.URL, n)
				return
			}
			if location != "" {
				w.Header().Set("Location", location)
			}
			if contentLocation != "" {
				w.Header().Set("Content-Location", contentLocation)
			}
			w.WriteHeader(http.StatusCreated)
		}}
		mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
		// httptest requests go to example.com.
		urls := []string{"/items", "/items/7", "/items/8?v=1", "/items/9", "http://other.example/items/9"}
		for _, u := range urls {
			wantStatus(t, request(mw, "GET", u), 200, StatusMiss)
		}
		check := func(want map[string]string) {
			t.Helper()
			for _, u := range urls {
				s := StatusHit
				if w, ok := want[u]; ok {
					s = w
				}
				wantStatus(t, request(mw, "GET", u), 200, s)
			}
		}
		location, contentLocation = "7", "http://EXAMPLE.com/items/8?v=1" // relative to /items/; same host
		wantStatus(t, request(mw, "POST", "/items/"), 201, StatusNoCache)
		check(map[string]string{"/items/7": StatusMiss, "/items/8?v=1": StatusMiss})

		location, contentLocation = "http://other.example/items/9", ""
		wantStatus(t, request(mw, "POST", "/items"), 201, StatusNoCache)
		check(map[string]string{"/items": StatusMiss}) // not the other host's /items/9

		location, contentLocation = "/items/9", ""
		wantStatus(t, request(mw, "PUT", "/items"), 201, StatusNoCache)
		check(map[string]string{"/items": StatusMiss, "/items/9": StatusMiss})
	})
}

// TestInvalidationSkippingCache: an unsafe request that skips the cache
// for another reason (bypass, Authorization, Cookie) still invalidates.
func TestInvalidationSkippingCache(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		h := &counter{}
		mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute, BypassValue: "s3cret"})(h)
		for _, hdr := range [][]string{
			{"Authorization", "Bearer x"},
			{"Cookie", "session=1"},
			{"X-Cache-Bypass", "s3cret"},
		} {
			wantStatus(t, request(mw, "GET", "/a"), 200, StatusMiss)
			wantStatus(t, request(mw, "GET", "/a"), 200, StatusHit)
			w := request(mw, "DELETE", "/a", hdr...)
			if w.Code != 200 {
				t.Fatalf("%s: %d", hdr[0], w.Code)
			}
			wantStatus(t, request(mw, "GET", "/a"), 200, StatusMiss)
			wantStatus(t, request(mw, "DELETE", "/a"), 200, StatusNoCache)
		}
	})
}
