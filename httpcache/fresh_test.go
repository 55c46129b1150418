package httpcache

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
)

// putAged stores resp under key as if it had been stored resident ago.
func putAged(t *testing.T, c *cachette.Cache, key string, resp *storedResponse, resident time.Duration) {
	t.Helper()
	if err := c.PutBytes(ctxT(t), key, encodeResponse(resp), cachette.WithTTL(resp.ttl-resident)); err != nil {
		t.Fatal(err)
	}
}

// TestOriginFreshnessCapsTTL: what the handler says about freshness
// decides whether and how long a response is stored (RFC 9111, RFC 9213).
// Before, every response was stored for Options.TTL whatever its headers.
func TestOriginFreshnessCapsTTL(t *testing.T) {
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name   string
		hdr    []string // name/value pairs the handler sets
		stored bool
	}{
		{"max-age=0", []string{"Cache-Control", "max-age=0"}, false},
		{"s-maxage=0 over max-age", []string{"Cache-Control", "max-age=3600, s-maxage=0"}, false},
		{"Expires in the past", []string{"Expires", past}, false},
		{"Expires invalid", []string{"Expires", "Thu, 18 Aug 2050 02:01:18 UTC"}, false},
		{"Age past max-age", []string{"Cache-Control", "max-age=3600", "Age", "7200"}, false},
		{"CDN-Cache-Control max-age=0", []string{"Cache-Control", "max-age=3600", "Cdn-Cache-Control", "max-age=0"}, false},
		{"CDN-Cache-Control no-store", []string{"Cache-Control", "max-age=3600", "Cdn-Cache-Control", "no-store"}, false},
		{"CDN-Cache-Control private", []string{"Cdn-Cache-Control", "private"}, false},
		{"CDN-Cache-Control fresh, Cache-Control no-store", []string{"Cache-Control", "no-store", "Cdn-Cache-Control", "max-age=600"}, true},
		{"Expires in the future", []string{"Expires", future}, true},
		{"max-age", []string{"Cache-Control", "max-age=600"}, true},
		{"no explicit freshness", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
				for i := 0; i+1 < len(tc.hdr); i += 2 {
					w.Header().Set(tc.hdr[i], tc.hdr[i+1])
				}
				_, _ = fmt.Fprintf(w, "call %d", n)
			}}
			mw := testMiddleware(inmemoryKind.open(t, nil), Options{TTL: time.Hour})(h)
			wantStatus(t, request(mw, "GET", "/f"), 200, StatusMiss)
			want := StatusMiss
			if tc.stored {
				want = StatusHit
			}
			wantStatus(t, request(mw, "GET", "/f"), 200, want)
		})
	}
}

// TestOriginLifetimeShortensEntry: a max-age below Options.TTL is the
// entry's lifetime, less the Age the response came with; the middleware's
// own Cache-Control on a HIT says so.
func TestOriginLifetimeShortensEntry(t *testing.T) {
	c := inmemoryKind.open(t, nil)
	opts := Options{TTL: time.Hour}
	mw := testMiddleware(c, opts)(&counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Expires", time.Now().Add(10*time.Minute).UTC().Format(http.TimeFormat))
		_, _ = fmt.Fprintf(w, "call %d", n)
	}})
	w := request(mw, "GET", "/l")
	wantStatus(t, w, 200, StatusMiss)
	if cc := w.Header().Get("Cache-Control"); cc != "max-age=600" && cc != "max-age=599" {
		t.Errorf("MISS Cache-Control %q, want max-age=600 (Expires − now, not the 1h TTL)", cc)
	}
	_, left, err := c.FetchBytes(ctxT(t), baseKeyOf(t, opts, "/l"))
	if err != nil || left > 10*time.Minute {
		t.Errorf("entry stored for %v (%v), want at most 10m", left, err)
	}
}

// TestDateAndAgeReplayed: a HIT carries the handler's Date unchanged and
// an Age that adds the time stored to the Age the response came with
// (RFC 9111 §4.2.3, §5.1). Before, Date was dropped (net/http stamped the
// time of the HIT) and Age counted only the time stored.
func TestDateAndAgeReplayed(t *testing.T) {
	date := time.Now().UTC().Truncate(time.Second).Format(http.TimeFormat)
	c := inmemoryKind.open(t, nil)
	mw := testMiddleware(c, Options{TTL: time.Hour})(&counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Date", date)
		w.Header().Set("Age", "30")
		w.Header().Set("Cache-Control", "max-age=100000")
		_, _ = io.WriteString(w, "aged")
	}})
	wantStatus(t, request(mw, "GET", "/d"), 200, StatusMiss)
	w := request(mw, "GET", "/d")
	wantStatus(t, w, 200, StatusHit)
	if got := w.Header().Get("Date"); got != date {
		t.Errorf("HIT Date %q, want the handler's %q", got, date)
	}
	if age, err := strconv.Atoi(w.Header().Get("Age")); err != nil || age < 30 || age > 40 {
		t.Errorf("HIT Age %q, want 30 (the origin's) plus the seconds stored", w.Header().Get("Age"))
	}

	// A handler without Date: the HIT replays the MISS's date.
	mw = testMiddleware(c, Options{TTL: time.Hour})(&counter{})
	w = request(mw, "GET", "/nodate")
	wantStatus(t, w, 200, StatusMiss)
	hitW := request(mw, "GET", "/nodate")
	if d := hitW.Header().Get("Date"); d == "" {
		t.Error("HIT without Date")
	}
}

// TestCacheStatusHeader: RFC 9211 Cache-Status beside X-Cache-Status.
func TestCacheStatusHeader(t *testing.T) {
	mw := testMiddleware(inmemoryKind.open(t, nil), Options{TTL: time.Minute})(&counter{})
	if got := request(mw, "GET", "/cs").Header().Get("Cache-Status"); got != "cachette; fwd=uri-miss; stored" {
		t.Errorf("MISS Cache-Status %q", got)
	}
	if got := request(mw, "GET", "/cs").Header().Get("Cache-Status"); got != "cachette; hit; ttl=60" && got != "cachette; hit; ttl=59" {
		t.Errorf("HIT Cache-Status %q", got)
	}
	if got := request(mw, "POST", "/cs").Header().Get("Cache-Status"); got != "cachette; fwd=method" {
		t.Errorf("POST Cache-Status %q", got)
	}
	if got := request(mw, "GET", "/cs", "Cache-Control", "no-cache").Header().Get("Cache-Status"); got != "cachette; fwd=request" {
		t.Errorf("no-cache Cache-Status %q", got)
	}
}

// staleEntry is a response stored an hour ago, fresh for a minute, with
// stale windows swr and sie, and ETag "v1" when etag is set.
func staleEntry(swr, sie time.Duration, etag bool) *storedResponse {
	hdr := http.Header{"Content-Type": {"text/plain"}}
	if etag {
		hdr.Set("Etag", `"v1"`)
	}
	return &storedResponse{status: 200, ttl: 2 * time.Hour, fresh: time.Minute, swr: swr, sie: sie, header: hdr, body: []byte("old")}
}

// TestStaleWhileRevalidate: within its window a stale response is served
// at once (STALE), and the request then refreshes it, before ServeHTTP
// returns; the next request gets the new response.
func TestStaleWhileRevalidate(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		c := k.open(t, nil)
		opts := Options{TTL: time.Hour}
		h := &counter{}
		mw := testMiddleware(c, opts)(h)
		putAged(t, c, baseKeyOf(t, opts, "/swr"), staleEntry(2*time.Hour, 0, false), time.Hour)
		w := request(mw, "GET", "/swr")
		wantStatus(t, w, 200, StatusStale)
		if w.Body.String() != "old" || !strings.HasPrefix(w.Header().Get("Cache-Status"), "cachette; hit; ttl=-") {
			t.Errorf("STALE body %q, Cache-Status %q", w.Body, w.Header().Get("Cache-Status"))
		}
		if h.n() != 1 {
			t.Fatalf("handler ran %d times by the time ServeHTTP returned, want 1 (the refresh)", h.n())
		}
		w = request(mw, "GET", "/swr")
		wantStatus(t, w, 200, StatusHit)
		if !strings.HasPrefix(w.Body.String(), "call 1") {
			t.Errorf("after the refresh got %q", w.Body)
		}
	})
}

// TestStaleWindowClosed: past its windows a stale response is not served;
// the handler's answer is.
func TestStaleWindowClosed(t *testing.T) {
	c := inmemoryKind.open(t, nil)
	opts := Options{TTL: time.Hour, StaleWhileRevalidate: time.Minute, StaleIfError: time.Minute}
	h := &counter{}
	mw := testMiddleware(c, opts)(h)
	// Stale for 59 minutes, windows of 10 minutes.
	putAged(t, c, baseKeyOf(t, opts, "/closed"), staleEntry(10*time.Minute, 10*time.Minute, false), time.Hour)
	w := request(mw, "GET", "/closed")
	wantStatus(t, w, 200, StatusMiss)
	if !strings.HasPrefix(w.Body.String(), "call 1") {
		t.Errorf("got %q", w.Body)
	}
}

// TestStaleIfError: within its window, a 5xx or a panic of the handler is
// answered with the stale response (STALE); outside it, the 5xx passes.
func TestStaleIfError(t *testing.T) {
	for _, mode := range []string{"503", "panic"} {
		t.Run(mode, func(t *testing.T) {
			c := inmemoryKind.open(t, nil)
			opts := Options{TTL: time.Hour, StaleIfError: 2 * time.Hour}
			h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("X-Error", "yes")
				if mode == "panic" {
					panic("origin down")
				}
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, "down")
			}}
			mw := testMiddleware(c, opts)(h)
			putAged(t, c, baseKeyOf(t, opts, "/sie"), staleEntry(0, 2*time.Hour, false), time.Hour)
			w := request(mw, "GET", "/sie")
			wantStatus(t, w, 200, StatusStale)
			if w.Body.String() != "old" || w.Header().Get("X-Error") != "" {
				t.Errorf("got %q with X-Error %q, want the stale response alone", w.Body, w.Header().Get("X-Error"))
			}
			if h.n() != 1 {
				t.Errorf("handler ran %d times, want 1", h.n())
			}
		})
	}
	// Without a window the error reaches the client.
	c := inmemoryKind.open(t, nil)
	opts := Options{TTL: time.Hour}
	mw := testMiddleware(c, opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	putAged(t, c, baseKeyOf(t, opts, "/sie"), staleEntry(0, 0, false), time.Hour)
	wantStatus(t, request(mw, "GET", "/sie"), 503, StatusMiss)
}

// TestRevalidate304: a stale response with the handler's ETag is
// revalidated with If-None-Match; the handler's 304 freshens it (its
// headers replace the stored ones) and the stored body answers (RFC 9111
// §4.3.4). Before, a stale entry was never revalidated.
func TestRevalidate304(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		c := k.open(t, nil)
		opts := Options{TTL: time.Hour}
		var seen []string
		h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
			seen = append(seen, r.Header.Get("If-None-Match"))
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.Header().Set("X-Version", "freshened")
				w.Header().Set("Cache-Control", "max-age=600")
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = io.WriteString(w, "new")
		}}
		mw := testMiddleware(c, opts)(h)
		putAged(t, c, baseKeyOf(t, opts, "/rv"), staleEntry(0, 0, true), time.Hour)
		w := request(mw, "GET", "/rv", "If-None-Match", `"client"`)
		wantStatus(t, w, 200, StatusMiss)
		if w.Body.String() != "old" || w.Header().Get("X-Version") != "freshened" || w.Header().Get("Etag") != `"v1"` ||
			w.Header().Get("Cache-Status") != "cachette; fwd=stale; fwd-status=304; stored" {
			t.Errorf("got %q, X-Version %q, ETag %q, Cache-Status %q", w.Body, w.Header().Get("X-Version"), w.Header().Get("Etag"), w.Header().Get("Cache-Status"))
		}
		if len(seen) != 1 || seen[0] != `"v1"` {
			t.Errorf("handler saw If-None-Match %q, want the stored ETag only", seen)
		}
		w = request(mw, "GET", "/rv")
		wantStatus(t, w, 200, StatusHit)
		if w.Body.String() != "old" || w.Header().Get("X-Version") != "freshened" || w.Header().Get("Cache-Control") != "max-age=600" {
			t.Errorf("HIT after the 304: %q, %q, %q", w.Body, w.Header().Get("X-Version"), w.Header().Get("Cache-Control"))
		}
		// A client that has the ETag gets a 304 from the freshened entry.
		wantStatus(t, request(mw, "GET", "/rv", "If-None-Match", `"v1"`), 304, StatusHit)
		if h.n() != 1 {
			t.Errorf("handler ran %d times, want 1", h.n())
		}
	})
}

// routeState mimics a router's pooled per-request state (chi's route
// context, gin's and echo's contexts): valid while the router's
// ServeHTTP runs, reset and reused for another request when it returns.
type routeState struct{ path string }

type routeKey struct{}

func pooledRouter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &routeState{path: r.URL.Path}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, st)))
		st.path = "recycled" // back to the pool
	})
}

// TestRefreshOnRequestGoroutine: a refresh (early or stale) runs before
// ServeHTTP returns, so the handler still sees the request's own router
// state, and the client had its full response first. Before, the refresh
// ran in a goroutine after the request ended, when a router could have
// handed that state to another request.
func TestRefreshOnRequestGoroutine(t *testing.T) {
	c := inmemoryKind.open(t, nil)
	opts := Options{TTL: time.Hour}
	seen := make(chan string, 4)
	h := &counter{delay: 50 * time.Millisecond, fn: func(w http.ResponseWriter, r *http.Request, n int) {
		st, _ := r.Context().Value(routeKey{}).(*routeState)
		if st != nil {
			seen <- st.path
		}
		_, _ = fmt.Fprintf(w, "call %d", n)
	}}
	mw := pooledRouter(testMiddleware(c, Options{TTL: time.Hour})(h))
	check := func(what string) {
		t.Helper()
		select {
		case p := <-seen:
			if p != "/page" {
				t.Errorf("%s: the refresh saw router state %q, want /page", what, p)
			}
		default:
			t.Fatalf("%s: the refresh had not run when ServeHTTP returned", what)
		}
	}
	// Early refresh: computed in a second, two seconds left.
	early := &storedResponse{status: 200, ttl: time.Hour, compute: time.Second, header: http.Header{}, body: []byte("old")}
	putAged(t, c, baseKeyOf(t, opts, "/page"), early, time.Hour-2*time.Second)
	wantStatus(t, request(mw, "GET", "/page"), 200, StatusHit)
	check("early refresh")
	// Stale while revalidate.
	putAged(t, c, baseKeyOf(t, opts, "/page"), staleEntry(2*time.Hour, 0, false), time.Hour)
	wantStatus(t, request(mw, "GET", "/page"), 200, StatusStale)
	check("stale-while-revalidate")
}

// TestStaleAnswerBeforeRefresh: over a real connection, the client has
// the whole STALE response while the refresh is still running.
func TestStaleAnswerBeforeRefresh(t *testing.T) {
	c := inmemoryKind.open(t, nil)
	opts := Options{TTL: time.Hour}
	release := make(chan struct{})
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		<-release
		_, _ = io.WriteString(w, "new")
	}}
	srv := httptest.NewServer(testMiddleware(c, opts)(h))
	defer srv.Close()
	defer close(release)
	putAged(t, c, baseKeyOf(t, opts, "/s"), staleEntry(2*time.Hour, 0, false), time.Hour)
	ctx, cancel := context.WithTimeout(ctxT(t), waitFor)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/s", nil)
	req.Host = "example.com" // the key of baseKeyOf
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "old" || resp.Header.Get(StatusHeader) != StatusStale {
		t.Fatalf("got %q %s (%v)", body, resp.Header.Get(StatusHeader), err)
	}
}

// TestStaleRefreshOncePerKey: concurrent requests in four "processes" on
// one store, for a response in its stale-while-revalidate window, are all
// answered (STALE or, once refreshed, HIT) and the handler runs once: the
// store lock lets one refresh through.
func TestStaleRefreshOncePerKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		opts := Options{TTL: time.Hour}
		h := &counter{delay: 100 * time.Millisecond}
		caches := k.shared(t, 4)
		var hs []http.Handler
		for _, c := range caches {
			hs = append(hs, testMiddleware(c, opts)(h))
		}
		putAged(t, caches[0], baseKeyOf(t, opts, "/once"), staleEntry(2*time.Hour, 0, false), time.Hour)
		start := make(chan struct{})
		errs := make(chan string, 16)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				<-start
				w := request(hs[i%len(hs)], "GET", "/once")
				if s := w.Header().Get(StatusHeader); w.Code != 200 || s != StatusStale && s != StatusHit {
					errs <- fmt.Sprintf("%d %s", w.Code, s)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("request answered %s, want 200 STALE or HIT", e)
		}
		if n := h.n(); n != 1 {
			t.Errorf("handler ran %d times, want 1", n)
		}
	})
}

// TestIfModifiedSince: a HIT evaluates If-Modified-Since against the
// stored Last-Modified (RFC 9110 §13.1.3), unless If-None-Match is there.
func TestIfModifiedSince(t *testing.T) {
	lm := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	mw := testMiddleware(inmemoryKind.open(t, nil), Options{TTL: time.Hour})(&counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Last-Modified", lm.Format(http.TimeFormat))
		w.Header().Set("Etag", `"e"`)
		_, _ = io.WriteString(w, "body")
	}})
	wantStatus(t, request(mw, "GET", "/ims"), 200, StatusMiss)
	for _, tc := range []struct {
		hdr  []string
		code int
	}{
		{[]string{"If-Modified-Since", lm.Format(http.TimeFormat)}, 304},
		{[]string{"If-Modified-Since", lm.Add(time.Minute).Format(http.TimeFormat)}, 304},
		{[]string{"If-Modified-Since", lm.Add(-time.Minute).Format(http.TimeFormat)}, 200},
		{[]string{"If-Modified-Since", lm.Format("Monday, 02-Jan-06 15:04:05 GMT")}, 304},
		{[]string{"If-Modified-Since", "yesterday"}, 200},
		{[]string{"If-Modified-Since", lm.Format(http.TimeFormat), "If-None-Match", `"other"`}, 200},
	} {
		w := request(mw, "GET", "/ims", tc.hdr...)
		wantStatus(t, w, tc.code, StatusHit)
	}
}
