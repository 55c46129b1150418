package httpcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/inmemory"
)

// TestMiddlewareHeaders runs the header and TTL cases on every store.
func TestMiddlewareHeaders(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		tests := []struct {
			name string
			fn   func(*testing.T, storeKind)
		}{
			{"OuterHeaders", testOuterHeaders},
			{"NonCanonicalHeaders", testNonCanonicalHeaders},
			{"WeakEtag", testWeakEtag},
			{"MaxAgeCap", testMaxAgeCap},
			{"LongTTL", testLongTTL},
			{"BadQueryWithFilter", testBadQueryWithFilter},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.fn(t, k)
			})
		}
	})
}

// outer is a middleware that runs before (outside) the cache and sets
// per-request headers, like a CORS or request-id middleware.
func outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("X-Request-Id", r.Header.Get("X-Id"))
		w.Header().Set("X-Overridden", "outer")
		next.ServeHTTP(w, r)
	})
}

func testOuterHeaders(t *testing.T, k storeKind) {
	c := k.open(t, nil)
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("X-Overridden", "handler")
		w.Header().Set("X-Handler", "yes")
		_, _ = fmt.Fprintf(w, "call %d", n)
	}}
	mw := outer(testMiddleware(c, Options{TTL: time.Minute})(h))
	first := request(mw, "GET", "/cors", "Origin", "https://a.example", "X-Id", "1")
	wantStatus(t, first, 200, StatusMiss)
	second := request(mw, "GET", "/cors", "Origin", "https://b.example", "X-Id", "2")
	wantStatus(t, second, 200, StatusHit)
	hdr := second.Header()
	if got := hdr.Get("Access-Control-Allow-Origin"); got != "https://b.example" {
		t.Errorf("HIT Access-Control-Allow-Origin = %q, want the current request's https://b.example", got)
	}
	if got := hdr.Get("X-Request-Id"); got != "2" {
		t.Errorf("HIT X-Request-Id = %q, want the current request's 2", got)
	}
	if hdr.Get("X-Overridden") != "handler" || hdr.Get("X-Handler") != "yes" {
		t.Errorf("HIT lost the handler's headers: %v", hdr)
	}
	// The stored entry holds only what the handler set or changed.
	key, _ := newConfig(Options{TTL: time.Minute}).baseKey(httptest.NewRequest("GET", "/cors", nil))
	raw, _, err := c.FetchBytes(ctxT(t), key)
	if err != nil {
		t.Fatal(err)
	}
	e, err := decodeEntry(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Access-Control-Allow-Origin", "X-Request-Id"} {
		if vs, ok := e.resp.header[name]; ok {
			t.Errorf("stored entry holds the outer middleware's %s: %q", name, vs)
		}
	}
}

func testNonCanonicalHeaders(t *testing.T, k storeKind) {
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(&counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header()["ETag"] = []string{`"v1"`}
		_, _ = io.WriteString(w, "x")
	}})
	request(mw, "GET", "/etag")
	w := request(mw, "GET", "/etag", "If-None-Match", `"v1"`)
	wantStatus(t, w, http.StatusNotModified, StatusHit)
	if got := w.Header().Values("Etag"); len(got) != 1 || got[0] != `"v1"` {
		t.Errorf("304 ETag %q, want the handler's one \"v1\"", got)
	}

	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header()["vary"] = []string{"Accept-Language"}
		_, _ = fmt.Fprintf(w, "%s %d", r.Header.Get("Accept-Language"), n)
	}}
	mw = testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
	wantStatus(t, request(mw, "GET", "/vary", "Accept-Language", "en"), 200, StatusMiss)
	fr := request(mw, "GET", "/vary", "Accept-Language", "fr")
	if !strings.HasPrefix(fr.Body.String(), "fr ") {
		t.Errorf("Accept-Language fr got %q (%s): the en variant", fr.Body, fr.Header().Get(StatusHeader))
	}
	if w := request(mw, "GET", "/vary", "Accept-Language", "en"); w.Body.String() != "en 1" {
		t.Errorf("Accept-Language en got %q", w.Body)
	}
}

func testWeakEtag(t *testing.T, k storeKind) {
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(&counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("ETag", `W/"weak"`)
		_, _ = io.WriteString(w, "body")
	}})
	request(mw, "GET", "/w")
	hit := request(mw, "GET", "/w")
	wantStatus(t, hit, 200, StatusHit)
	if et := hit.Header().Get("ETag"); et != `W/"weak"` {
		t.Errorf("HIT ETag %q, want the handler's W/\"weak\" unchanged", et)
	}
	wantStatus(t, request(mw, "GET", "/w", "If-None-Match", `W/"weak"`), http.StatusNotModified, StatusHit)
}

func testMaxAgeCap(t *testing.T, k storeKind) {
	mw := testMiddleware(k.open(t, nil), Options{TTL: 1500 * time.Millisecond})(&counter{})
	for i := range 2 {
		w := request(mw, "GET", "/short")
		if got := w.Header().Get("Cache-Control"); got != "max-age=1" {
			t.Errorf("request %d (%s): Cache-Control %q, want max-age=1 (never above the 1.5s TTL)", i, w.Header().Get(StatusHeader), got)
		}
	}
}

func testLongTTL(t *testing.T, k storeKind) {
	var logs logSink
	h := &counter{}
	mw := testMiddleware(k.open(t, nil), Options{TTL: 400 * 24 * time.Hour, Logger: logs.logger()})(h)
	wantStatus(t, request(mw, "GET", "/long"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/long"), 200, StatusHit)
	if strings.Contains(logs.String(), "corrupt") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

type pageFilter struct {
	Page int `query:"page" default:"1"`
}

func testBadQueryWithFilter(t *testing.T, k storeKind) {
	h := &counter{}
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute, Filter: pageFilter{}})(h)
	wantStatus(t, request(mw, "GET", "/q?page=2&utm=%zz"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/q?page=2&utm=%zz"), 200, StatusHit)
	wantStatus(t, request(mw, "GET", "/q?page=2&a;b=c"), 200, StatusHit)
	wantStatus(t, request(mw, "GET", "/q?page=2"), 200, StatusHit)
	// A bad value of the filter's own parameter is still not cached.
	for range 2 {
		wantStatus(t, request(mw, "GET", "/q?page=%zz"), 200, StatusMiss)
		wantStatus(t, request(mw, "GET", "/q?page=2;x=1"), 200, StatusMiss)
	}
}

func TestDecodeIgnoresBadOtherParameters(t *testing.T) {
	var f pageFilter
	if err := decodeURL(t, "/x?page=3&utm=%zz&a;b", &f); err != nil || f.Page != 3 {
		t.Errorf("Decode = %+v, %v; want page 3, no error", f, err)
	}
	for _, target := range []string{"/x?page=%zz", "/x?page=2;x", "/x?pa%67e=%zz"} {
		err := decodeURL(t, target, &f)
		if !errors.Is(err, ErrInvalidQuery) || !strings.Contains(err.Error(), `"page"`) {
			t.Errorf("%s: %v, want ErrInvalidQuery naming \"page\"", target, err)
		}
	}
}

func TestSliceDefaultsNotShared(t *testing.T) {
	var first allTypes
	if err := decodeURL(t, "/x", &first); err != nil {
		t.Fatal(err)
	}
	first.Ints[0] = 99 // the handler may change what it decoded
	var second allTypes
	if err := decodeURL(t, "/x", &second); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(second.Ints, []int{1, 3}) {
		t.Errorf("second Decode got Ints %v, want the default [1 3]", second.Ints)
	}
	cfg := newConfig(Options{TTL: time.Minute, Filter: allTypes{}})
	k1, _ := cfg.baseKey(httptest.NewRequest("GET", "/x", nil))
	first.Ints[1] = 98
	k2, _ := cfg.baseKey(httptest.NewRequest("GET", "/x", nil))
	k3, _ := cfg.baseKey(httptest.NewRequest("GET", "/x?n=3&n=1", nil))
	if k1 != k2 || k2 != k3 {
		t.Errorf("keys changed after the handler changed its filter: %s %s %s", k1, k2, k3)
	}
}

func TestEntryTTLExtremes(t *testing.T) {
	for _, tc := range []struct{ ttl, want time.Duration }{
		{500 * time.Microsecond, time.Millisecond},
		{1500 * time.Microsecond, 2 * time.Millisecond},
		{400 * 24 * time.Hour, 400 * 24 * time.Hour},
		{maxEntryTTL, maxEntryTTL},
	} {
		cfg := newConfig(Options{TTL: tc.ttl})
		if cfg.TTL != tc.want {
			t.Errorf("TTL %v: config has %v, want %v", tc.ttl, cfg.TTL, tc.want)
		}
		e, err := decodeEntry(encodeResponse(&storedResponse{status: 200, ttl: cfg.TTL, header: http.Header{}}))
		if err != nil || e.resp.ttl != tc.want {
			t.Errorf("TTL %v: decoded %+v, %v", tc.ttl, e.resp, err)
		}
	}
	func() {
		defer func() {
			if s, _ := recover().(string); !strings.Contains(s, "TTL must be at most") {
				t.Errorf("TTL above the bound: panic %q", s)
			}
		}()
		newConfig(Options{TTL: maxEntryTTL + time.Millisecond})
	}()
}

// failLock is a real in-memory store whose locks fail.
type failLock struct{ backends.Backend }

var errLockDown = errors.New("lock service down")

func (failLock) Lock(context.Context, string, time.Duration) (string, bool, error) {
	return "", false, errLockDown
}

func TestNoMaxAgeWhenNotStored(t *testing.T) {
	store := inmemory.New(inmemory.Options{})
	c, err := cachette.NewWithBackend(failLock{store}, cachette.Config{Prefix: backendtest.NewPrefix(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	closeCache(t, c)
	var logs logSink
	mw := testMiddleware(c, Options{TTL: time.Minute, Logger: logs.logger()})(&counter{})
	w := request(mw, "GET", "/a")
	wantStatus(t, w, 200, StatusMiss)
	if cc := w.Header().Get("Cache-Control"); cc != "" {
		t.Errorf("MISS not stored (lock error) says Cache-Control %q", cc)
	}
	if !strings.Contains(logs.String(), errLockDown.Error()) {
		t.Errorf("lock error not logged:\n%s", logs.String())
	}
}

// TestWaitersGoneDoNotCompute: requests whose context ends while they wait
// for another request's response (in this process or another) leave
// without running the handler.
func TestWaitersGoneDoNotCompute(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		release := make(chan struct{})
		h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				<-release
			}
			_, _ = fmt.Fprintf(w, "%d", n)
		}}
		var logs logSink
		var hs []http.Handler
		for _, c := range k.shared(t, 2) {
			hs = append(hs, testMiddleware(c, Options{TTL: time.Minute, Logger: logs.logger()})(h))
		}
		leader := make(chan *httptest.ResponseRecorder)
		go func() { leader <- request(hs[0], "GET", "/slow") }()
		for h.n() == 0 {
			time.Sleep(time.Millisecond)
		}
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() {
				// Long enough to reach the wait on a loaded machine.
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				w := requestCtx(ctx, hs[i%2], "GET", "/slow")
				if w.Code >= 500 {
					t.Errorf("waiter %d got %d", i, w.Code)
				}
			})
		}
		wg.Wait()
		close(release)
		wantStatus(t, <-leader, 200, StatusMiss)
		if h.n() != 1 {
			t.Errorf("handler ran %d times for 1 leader and 5 waiters that left, want 1", h.n())
		}
		if strings.Contains(logs.String(), "store error") {
			t.Errorf("a waiter that left was logged as a store error:\n%s", logs.String())
		}
	})
}
