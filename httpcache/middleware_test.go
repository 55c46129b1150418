package httpcache

import (
	"bufio"
	"context"
	"errors"
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

// TestMiddleware runs the behaviour table on every store.
func TestMiddleware(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		tests := []struct {
			name string
			fn   func(*testing.T, storeKind)
		}{
			{"MissThenHit", testMissThenHit},
			{"Bypass", testBypass},
			{"NoCache", testNoCache},
			{"Head", testHead},
			{"NotModified", testNotModified},
			{"NotStored", testNotStored},
			{"CacheStatuses", testCacheStatuses},
			{"Authorization", testAuthorization},
			{"Vary", testVary},
			{"Filter", testFilter},
			{"QueryWithoutFilter", testQueryWithoutFilter},
			{"Compression", testCompression},
			{"BodyCap", testBodyCap},
			{"Streaming", testStreaming},
			{"Stampede", testStampede},
			{"StampedeNotStorable", testStampedeNotStorable},
			{"StampedeAcrossProcesses", testStampedeAcrossProcesses},
			{"CorruptEntry", testCorruptEntry},
			{"EarlyRefresh", testEarlyRefresh},
			{"RefreshOncePerWindow", testRefreshOncePerWindow},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.fn(t, k)
			})
		}
	})
}

func testMissThenHit(t *testing.T, k storeKind) {
	h := &counter{}
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)

	first := request(mw, "GET", "http://example.com/blogs/1")
	wantStatus(t, first, 200, StatusMiss)
	if got := first.Header().Get("Cache-Control"); got != "max-age=60" {
		t.Errorf("MISS Cache-Control = %q, want max-age=60", got)
	}
	second := request(mw, "GET", "http://EXAMPLE.com/blogs/1")
	wantStatus(t, second, 200, StatusHit)
	if second.Body.String() != first.Body.String() {
		t.Errorf("HIT body %q, MISS body %q", second.Body, first.Body)
	}
	if h.n() != 1 {
		t.Errorf("handler ran %d times, want 1", h.n())
	}
	hdr := second.Header()
	if cc := hdr.Get("Cache-Control"); cc != "max-age=60" && cc != "max-age=59" {
		t.Errorf("HIT Cache-Control = %q, want max-age=60 (or 59)", cc)
	}
	if age, err := strconv.Atoi(hdr.Get("Age")); err != nil || age < 0 || age > 1 {
		t.Errorf("HIT Age = %q, want 0 or 1", hdr.Get("Age"))
	}
	if et := hdr.Get("ETag"); len(et) < 3 || et[0] != '"' || et[len(et)-1] != '"' {
		t.Errorf("HIT ETag = %q, want a strong quoted tag", et)
	}
	if hdr.Get("Content-Type") != "text/plain" || hdr.Get("Content-Length") != strconv.Itoa(first.Body.Len()) {
		t.Errorf("HIT headers %v", hdr)
	}
	if third := request(mw, "GET", "http://example.com/blogs/2"); third.Header().Get(StatusHeader) != StatusMiss {
		t.Errorf("another path: %s", third.Header().Get(StatusHeader))
	}
}

func testBypass(t *testing.T, k storeKind) {
	h := &counter{}
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute, BypassValue: "s3cret"})(h)
	wantStatus(t, request(mw, "GET", "/a", "X-Cache-Bypass", "s3cret"), 200, StatusBypass)
	wantStatus(t, request(mw, "GET", "/a", "x-cache-bypass", "s3cret"), 200, StatusBypass)
	// Nothing was stored by the bypassed requests.
	wantStatus(t, request(mw, "GET", "/a"), 200, StatusMiss)
	// A stored entry is not read either.
	wantStatus(t, request(mw, "GET", "/a", "X-Cache-Bypass", "s3cret"), 200, StatusBypass)
	wantStatus(t, request(mw, "GET", "/a", "X-Cache-Bypass", "wrong"), 200, StatusHit)
	wantStatus(t, request(mw, "GET", "/a", "X-Cache-Bypass", ""), 200, StatusHit)

	ctx := WithBypass(context.Background())
	wantStatus(t, requestCtx(ctx, mw, "GET", "/a"), 200, StatusBypass)
	if h.n() != 5 { // every request but the two HITs
		t.Errorf("handler ran %d times, want 5", h.n())
	}

	// Without a BypassValue, the header does nothing.
	mw2 := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
	wantStatus(t, request(mw2, "GET", "/a", "X-Cache-Bypass", ""), 200, StatusMiss)
	wantStatus(t, request(mw2, "GET", "/a", "X-Cache-Bypass", ""), 200, StatusHit)
}

func testNoCache(t *testing.T, k storeKind) {
	h := &counter{}
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
	wantStatus(t, request(mw, "GET", "/a"), 200, StatusMiss)
	// Unsafe methods go to another path: a 2xx invalidates their own URL
	// (see TestInvalidation).
	for _, tc := range []struct{ method, name, value string }{
		{"POST", "", ""},
		{"PUT", "", ""},
		{"DELETE", "", ""},
		{"GET", "Cache-Control", "no-cache"},
		{"GET", "Cache-Control", "max-age=0, No-Store"},
		{"GET", "Cache-Control", "NO-CACHE"},
		{"HEAD", "Cache-Control", "no-store"},
		{"GET", "Pragma", "no-cache"},
	} {
		before := h.n()
		var w *httptest.ResponseRecorder
		if tc.name == "" {
			w = request(mw, tc.method, "/c")
		} else {
			w = request(mw, tc.method, "/a", tc.name, tc.value)
		}
		wantStatus(t, w, 200, StatusNoCache)
		if h.n() != before+1 {
			t.Errorf("%s %s: %s: handler did not run", tc.method, tc.name, tc.value)
		}
	}
	// The entry stored first is still the same one.
	if w := request(mw, "GET", "/a"); !strings.HasPrefix(w.Body.String(), "call 1 ") {
		t.Errorf("after NO_CACHE requests the entry is %q", w.Body)
	}
	// A NO_CACHE request does not store anything.
	wantStatus(t, request(mw, "GET", "/b", "Cache-Control", "no-cache"), 200, StatusNoCache)
	wantStatus(t, request(mw, "GET", "/b"), 200, StatusMiss)
}

func testHead(t *testing.T, k storeKind) {
	h := &counter{}
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)

	get := request(mw, "GET", "/get-first")
	head := request(mw, "HEAD", "/get-first")
	wantStatus(t, head, 200, StatusHit)
	if head.Body.Len() != 0 {
		t.Errorf("HEAD HIT has a body: %q", head.Body)
	}
	if head.Header().Get("Content-Length") != strconv.Itoa(get.Body.Len()) {
		t.Errorf("HEAD Content-Length %q, GET body %d bytes", head.Header().Get("Content-Length"), get.Body.Len())
	}

	// A HEAD miss fills the entry with the GET response.
	head = request(mw, "HEAD", "/head-first")
	wantStatus(t, head, 200, StatusMiss)
	if head.Body.Len() != 0 {
		t.Errorf("HEAD MISS has a body: %q", head.Body)
	}
	get = request(mw, "GET", "/head-first")
	wantStatus(t, get, 200, StatusHit)
	if !strings.Contains(get.Body.String(), " GET /head-first") {
		t.Errorf("GET after HEAD got %q; the handler should have seen GET", get.Body)
	}
}

func testNotModified(t *testing.T, k storeKind) {
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(&counter{})
	request(mw, "GET", "/a")
	hit := request(mw, "GET", "/a")
	etag := hit.Header().Get("ETag")
	for _, inm := range []string{etag, `"other", ` + etag, "*", "W/" + etag, `"x"` + ",W/" + etag} {
		w := request(mw, "GET", "/a", "If-None-Match", inm)
		wantStatus(t, w, http.StatusNotModified, StatusHit)
		if w.Body.Len() != 0 || w.Header().Get("ETag") != etag || !strings.HasPrefix(w.Header().Get("Cache-Control"), "max-age=") {
			t.Errorf("If-None-Match %s: 304 with body %q, headers %v", inm, w.Body, w.Header())
		}
		if w.Header().Get("Content-Type") != "" {
			t.Errorf("304 carries Content-Type %q", w.Header().Get("Content-Type"))
		}
	}
	wantStatus(t, request(mw, "GET", "/a", "If-None-Match", `"nope"`), 200, StatusHit)
	// A handler's own ETag is kept (a weak one too: testWeakEtag).
	mw = testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(&counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("ETag", `"v1"`)
		_, _ = io.WriteString(w, "x")
	}})
	request(mw, "GET", "/e")
	if w := request(mw, "GET", "/e", "If-None-Match", `"v1"`); w.Code != 304 || w.Header().Get("ETag") != `"v1"` {
		t.Errorf("handler ETag: got %d %v", w.Code, w.Header())
	}
}

func testNotStored(t *testing.T, k storeKind) {
	for _, tc := range []struct {
		name string
		fn   func(w http.ResponseWriter, r *http.Request, n int)
	}{
		{"500", func(w http.ResponseWriter, r *http.Request, n int) { http.Error(w, "boom", 500) }},
		{"404", func(w http.ResponseWriter, r *http.Request, n int) { http.NotFound(w, r) }},
		{"Set-Cookie", func(w http.ResponseWriter, r *http.Request, n int) {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: strconv.Itoa(n)})
			_, _ = io.WriteString(w, "hello")
		}},
		{"private", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", "max-age=10, Private")
			_, _ = io.WriteString(w, "mine")
		}},
		{"no-store", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", "no-store")
			_, _ = io.WriteString(w, "secret")
		}},
		{"no-cache", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", "public, no-cache")
			_, _ = io.WriteString(w, "x")
		}},
		{"Vary-star", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Vary", "Accept, *")
			_, _ = io.WriteString(w, "x")
		}},
		{"empty", func(w http.ResponseWriter, r *http.Request, n int) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &counter{fn: tc.fn}
			mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
			for range 2 {
				if w := request(mw, "GET", "/x"); w.Header().Get(StatusHeader) != StatusMiss {
					t.Fatalf("got %s", w.Header().Get(StatusHeader))
				}
			}
			if h.n() != 2 {
				t.Errorf("handler ran %d times, want 2", h.n())
			}
		})
	}
}

func testCacheStatuses(t *testing.T, k storeKind) {
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintf(w, "gone %d", n)
	}}
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute, CacheStatuses: []int{200, 404}})(h)
	wantStatus(t, request(mw, "GET", "/x"), 404, StatusMiss)
	w := request(mw, "GET", "/x")
	wantStatus(t, w, 404, StatusHit)
	if w.Body.String() != "gone 1" {
		t.Errorf("body %q", w.Body)
	}
	// 304 is only answered for 2xx entries.
	wantStatus(t, request(mw, "GET", "/x", "If-None-Match", "*"), 404, StatusHit)
}

func testAuthorization(t *testing.T, k storeKind) {
	h := &counter{}
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
	wantStatus(t, request(mw, "GET", "/a", "Authorization", "Bearer x"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/a"), 200, StatusMiss) // not stored by the authorized request
	wantStatus(t, request(mw, "GET", "/a"), 200, StatusHit)
	// An authorized request does not read the anonymous entry.
	wantStatus(t, request(mw, "GET", "/a", "Authorization", "Bearer x"), 200, StatusMiss)
	if h.n() != 3 {
		t.Errorf("handler ran %d times, want 3", h.n())
	}

	allowed := testMiddleware(k.open(t, nil), Options{TTL: time.Minute, AllowAuthorized: true})(h)
	wantStatus(t, request(allowed, "GET", "/a", "Authorization", "Bearer x"), 200, StatusMiss)
	wantStatus(t, request(allowed, "GET", "/a", "Authorization", "Bearer x"), 200, StatusHit)
}

func testVary(t *testing.T, k storeKind) {
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Vary", "accept-language")
		w.Header().Add("Vary", "X-Theme")
		_, _ = fmt.Fprintf(w, "%s/%s %d", r.Header.Get("Accept-Language"), r.Header.Get("X-Theme"), n)
	}}
	c := k.open(t, nil)
	mw := testMiddleware(c, Options{TTL: time.Minute})(h)
	send := func(lang, theme, cache, body string) {
		t.Helper()
		w := request(mw, "GET", "/v", "Accept-Language", lang, "X-Theme", theme)
		wantStatus(t, w, 200, cache)
		if body != "" && w.Body.String() != body {
			t.Errorf("%s/%s: body %q, want %q", lang, theme, w.Body, body)
		}
		if w.Header().Get("Vary") == "" {
			t.Errorf("%s: Vary header not replayed", cache)
		}
	}
	send("en", "dark", StatusMiss, "en/dark 1")
	send("fr", "dark", StatusMiss, "fr/dark 2")
	send("en", "dark", StatusHit, "en/dark 1")
	send("fr", "dark", StatusHit, "fr/dark 2")
	send("fr", "light", StatusMiss, "fr/light 3")
	send("fr", "light", StatusHit, "fr/light 3")

	// The marker under the base key names the headers.
	base, _ := newConfig(Options{TTL: time.Minute}).baseKey(httptest.NewRequest("GET", "/v", nil))
	raw, _, err := c.FetchBytes(ctxT(t), base)
	if err != nil {
		t.Fatal(err)
	}
	e, err := decodeEntry(raw)
	if err != nil || strings.Join(e.vary, ",") != "Accept-Language,X-Theme" {
		t.Errorf("marker %v, %v", e.vary, err)
	}
}

type blogFilter struct {
	ID      string   `query:"id"`
	Slug    string   `query:"slug"`
	Page    int      `query:"page" default:"1"`
	MaxPage int      `query:"max_page" default:"10"`
	Tags    []string `query:"tag"`
	Ignored string
}

func testFilter(t *testing.T, k storeKind) {
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		var f blogFilter
		if err := Decode(r, &f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = fmt.Fprintf(w, "%d page=%d max=%d tags=%v", n, f.Page, f.MaxPage, f.Tags)
	}}
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute, Filter: blogFilter{}})(h)

	w := request(mw, "GET", "/blogs")
	wantStatus(t, w, 200, StatusMiss)
	want := w.Body.String()
	for _, target := range []string{"/blogs?page=1&utm=x", "/blogs?page=01", "/blogs?max_page=10&fbclid=1", "/blogs?page="} {
		w := request(mw, "GET", target)
		wantStatus(t, w, 200, StatusHit)
		if w.Body.String() != want {
			t.Errorf("%s: %q, want %q", target, w.Body, want)
		}
	}
	wantStatus(t, request(mw, "GET", "/blogs?page=2"), 200, StatusMiss)

	w = request(mw, "GET", "/blogs?tag=b&tag=a&tag=b")
	wantStatus(t, w, 200, StatusMiss)
	if !strings.HasSuffix(w.Body.String(), "tags=[a b]") {
		t.Errorf("handler got %q, want sorted and de-duplicated tags", w.Body)
	}
	wantStatus(t, request(mw, "GET", "/blogs?tag=a&tag=b&utm=1"), 200, StatusHit)

	// A value that does not parse is not cached; the handler answers it.
	for range 2 {
		w = request(mw, "GET", "/blogs?page=abc")
		wantStatus(t, w, http.StatusBadRequest, StatusMiss)
	}
	if !strings.Contains(w.Body.String(), `"page"`) {
		t.Errorf("bad query error %q does not name the parameter", w.Body)
	}
}

func testQueryWithoutFilter(t *testing.T, k storeKind) {
	h := &counter{}
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
	wantStatus(t, request(mw, "GET", "/q?b=2&a=1"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/q?a=1&b=2"), 200, StatusHit)
	wantStatus(t, request(mw, "GET", "/q?a=1&b=2&c"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/q?a=1&a=2"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/q?a=2&a=1"), 200, StatusMiss) // the order of one name's values counts
	wantStatus(t, request(mw, "GET", "/q"), 200, StatusMiss)
	// A query that does not parse is not cached.
	wantStatus(t, request(mw, "GET", "/q?a=%zz"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/q?a=%zz"), 200, StatusMiss)
}

func testCompression(t *testing.T, k storeKind) {
	body := strings.Repeat("cachette compresses large responses. ", 20<<10/37+1)[:20<<10]
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, body)
	}}
	sizes := map[string]int{}
	for _, mode := range []string{"all", "disabled"} {
		c := k.open(t, func(cfg *cachette.Config) { cfg.Compression = mode })
		mw := testMiddleware(c, Options{TTL: time.Minute})(h)
		wantStatus(t, request(mw, "GET", "/big"), 200, StatusMiss)
		w := request(mw, "GET", "/big")
		wantStatus(t, w, 200, StatusHit)
		if w.Body.String() != body {
			t.Fatalf("%s: body did not round-trip (%d bytes)", mode, w.Body.Len())
		}
		key, _ := newConfig(Options{TTL: time.Minute}).baseKey(httptest.NewRequest("GET", "/big", nil))
		raw, _, err := c.Backend().Get(ctxT(t), key)
		if err != nil {
			t.Fatalf("%s: raw entry: %v", mode, err)
		}
		sizes[mode] = len(raw)
	}
	if sizes["all"]*4 > sizes["disabled"] || sizes["disabled"] < len(body) {
		t.Errorf("stored sizes %v: compressed should be far smaller than the %d-byte body", sizes, len(body))
	}
}

func testBodyCap(t *testing.T, k storeKind) {
	body := strings.Repeat("x", 4096)
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		for i := 0; i < len(body); i += 1000 {
			_, _ = io.WriteString(w, body[i:min(i+1000, len(body))])
		}
	}}
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute, MaxBodySize: 1024})(h)
	for range 2 {
		w := request(mw, "GET", "/big")
		wantStatus(t, w, 200, StatusMiss)
		if w.Body.String() != body {
			t.Fatalf("client got %d bytes, want all %d", w.Body.Len(), len(body))
		}
	}
	// A declared Content-Length over the cap is not captured at all.
	h.fn = func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = io.WriteString(w, body)
	}
	wantStatus(t, request(mw, "GET", "/declared"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/declared"), 200, StatusMiss)
	// At the cap, it is stored.
	h.fn = func(w http.ResponseWriter, r *http.Request, n int) { _, _ = io.WriteString(w, body[:1024]) }
	wantStatus(t, request(mw, "GET", "/fits"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/fits"), 200, StatusHit)
}

func testStreaming(t *testing.T, k storeKind) {
	release := make(chan struct{})
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		_, _ = io.WriteString(w, "first\n")
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the wrapped writer is not an http.Flusher")
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("ResponseController.SetWriteDeadline through Unwrap: %v", err)
		}
		if n == 1 {
			<-release // the client must see "first" before the handler goes on
		}
		_, _ = io.WriteString(w, "second\n")
	}}
	srv := httptest.NewServer(testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	resp.Body.Close()
	if string(rest) != "second\n" || resp.Header.Get(StatusHeader) != StatusMiss {
		t.Fatalf("rest %q, status %s", rest, resp.Header.Get(StatusHeader))
	}
	// Written after a flush, it is a stream: not stored.
	resp, err = http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(all) != "first\nsecond\n" || resp.Header.Get(StatusHeader) != StatusMiss {
		t.Errorf("second request: %q, %s", all, resp.Header.Get(StatusHeader))
	}
}

// collect sends n concurrent requests through h and returns the answers.
func collect(n int, hs []http.Handler, target string) []*httptest.ResponseRecorder {
	out := make([]*httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = request(hs[i%len(hs)], "GET", target)
		})
	}
	close(start)
	wg.Wait()
	return out
}

func testStampede(t *testing.T, k storeKind) {
	h := &counter{delay: 200 * time.Millisecond}
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
	answers := collect(200, []http.Handler{mw}, "/hot")
	misses := 0
	for _, w := range answers {
		if w.Code != 200 || w.Body.String() != answers[0].Body.String() {
			t.Fatalf("answer %d %q, first %q", w.Code, w.Body, answers[0].Body)
		}
		if w.Header().Get(StatusHeader) == StatusMiss {
			misses++
		} else if w.Header().Get(StatusHeader) != StatusHit {
			t.Fatalf("status %q", w.Header().Get(StatusHeader))
		}
	}
	if h.n() != 1 || misses != 1 {
		t.Errorf("handler ran %d times, %d MISS answers; want 1 and 1 (the others HIT)", h.n(), misses)
	}
}

func testStampedeNotStorable(t *testing.T, k storeKind) {
	h := &counter{delay: 100 * time.Millisecond, fn: func(w http.ResponseWriter, r *http.Request, n int) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: strconv.Itoa(n)})
		_, _ = fmt.Fprintf(w, "user %d", n)
	}}
	mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
	answers := collect(20, []http.Handler{mw}, "/me")
	seen := map[string]bool{}
	for _, w := range answers {
		c := w.Header().Get("Set-Cookie")
		if seen[c] || w.Header().Get(StatusHeader) != StatusMiss {
			t.Fatalf("cookie %q given twice or status %s: a response with Set-Cookie was shared", c, w.Header().Get(StatusHeader))
		}
		seen[c] = true
	}
	if h.n() != 20 {
		t.Errorf("handler ran %d times, want 20", h.n())
	}
}

func testStampedeAcrossProcesses(t *testing.T, k storeKind) {
	h := &counter{delay: 200 * time.Millisecond}
	caches := k.shared(t, 3)
	var hs []http.Handler
	for _, c := range caches {
		hs = append(hs, testMiddleware(c, Options{TTL: time.Minute})(h))
	}
	answers := collect(60, hs, "/cold")
	for _, w := range answers {
		if w.Code != 200 || w.Body.String() != answers[0].Body.String() {
			t.Fatalf("answer %d %q, first %q", w.Code, w.Body, answers[0].Body)
		}
	}
	if h.n() != 1 {
		t.Errorf("handler ran %d times across 3 processes, want 1", h.n())
	}
}

func testCorruptEntry(t *testing.T, k storeKind) {
	c := k.open(t, nil)
	var logs logSink
	h := &counter{}
	mw := testMiddleware(c, Options{TTL: time.Minute, Logger: logs.logger()})(h)
	key, _ := newConfig(Options{TTL: time.Minute}).baseKey(httptest.NewRequest("GET", "/c", nil))
	for _, junk := range [][]byte{[]byte("garbage"), {'h', 'c', entryVersion, 1, 0xff}, append(encodeResponse(&storedResponse{status: 200, ttl: time.Minute, header: http.Header{}, body: []byte("ok")}), 0)} {
		if err := c.PutBytes(ctxT(t), key, junk, cachette.WithTTL(time.Minute)); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, request(mw, "GET", "/c"), 200, StatusMiss)
		wantStatus(t, request(mw, "GET", "/c"), 200, StatusHit) // overwritten by the miss
		if _, err := c.Clear(ctxT(t), key); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "corrupt"); n < 3 {
		t.Errorf("%d corrupt-entry logs, want 3:\n%s", n, logs.String())
	}
}

func testEarlyRefresh(t *testing.T, k storeKind) {
	var mu sync.Mutex
	var seen []string
	h := &counter{delay: 200 * time.Millisecond, fn: func(w http.ResponseWriter, r *http.Request, n int) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String()+" "+r.Header.Get("X-Trace"))
		mu.Unlock()
		_, _ = fmt.Fprintf(w, "version %d", n)
	}}
	ttl := 2 * time.Second
	mw := testMiddleware(k.open(t, nil), Options{TTL: ttl})(h)
	wantStatus(t, request(mw, "GET", "/r?x=1", "X-Trace", "t1"), 200, StatusMiss)
	stored := time.Now()
	// Poll until well after the first entry would have expired: the early
	// refresh keeps every answer a HIT, and runs the handler once more.
	for time.Since(stored) < ttl+time.Second {
		w := request(mw, "GET", "/r?x=1", "X-Trace", "t1", "If-None-Match", `"stale"`)
		if w.Header().Get(StatusHeader) != StatusHit {
			t.Fatalf("after %v: %s; the entry should have been refreshed before it expired", time.Since(stored), w.Header().Get(StatusHeader))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.n(); n < 2 || n > 3 {
		t.Errorf("handler ran %d times, want 2 (one refresh; 3 at most)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 || seen[1] != "GET /r?x=1 t1" {
		t.Errorf("refresh replayed %q", seen)
	}
}

func testRefreshOncePerWindow(t *testing.T, k storeKind) {
	const (
		compute  = 200 * time.Millisecond
		ttl      = 2 * time.Second
		duration = 4 * time.Second
	)
	h := &counter{delay: compute}
	var hs []http.Handler
	for _, c := range k.shared(t, 4) { // four "processes" on one store
		hs = append(hs, testMiddleware(c, Options{TTL: ttl})(h))
	}
	// Load from 8 clients over the four processes, across expiries.
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	var mu sync.Mutex
	requests, errs := 0, 0
	for i := range 8 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				w := request(hs[i%len(hs)], "GET", "/load")
				mu.Lock()
				requests++
				if w.Code != 200 {
					errs++
				}
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	// A refresh starts when an entry has compute*3.2 left, and the next
	// entry is stored compute later: one generation per ttl - 2.2*compute.
	// Allowing for a handler twice as slow under load, generations last at
	// least ttl - 4.4*compute. Each generation should cost one handler call
	// in all four processes together, not one per process or per request.
	generations := int(duration/(ttl-44*compute/10)) + 1
	if n := h.n(); n < 2 || n > generations+2 || errs > 0 {
		t.Errorf("%d requests, %d errors, handler ran %d times; want 2..%d", requests, errs, n, generations+2)
	}
	t.Logf("%d requests, handler ran %d times", requests, h.n())
}

func TestFailOpenClosedCache(t *testing.T) {
	c := inmemoryKind.open(t, nil)
	var logs logSink
	h := &counter{}
	mw := testMiddleware(c, Options{TTL: time.Minute, Logger: logs.logger()})(h)
	wantStatus(t, request(mw, "GET", "/a"), 200, StatusMiss)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		wantStatus(t, request(mw, "GET", "/a"), 200, StatusMiss)
		wantStatus(t, request(mw, "GET", "/b"), 200, StatusMiss)
	}
	if h.n() != 7 || !strings.Contains(logs.String(), "store error") || !strings.Contains(logs.String(), cachette.ErrClosed.Error()) {
		t.Errorf("handler ran %d times; logs:\n%s", h.n(), logs.String())
	}
}

func TestOptionsPanics(t *testing.T) {
	c := inmemoryKind.open(t, nil)
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no TTL", Options{}, "TTL must be > 0"},
		{"negative TTL", Options{TTL: -time.Second}, "TTL must be > 0"},
		{"negative LockTTL", Options{TTL: time.Second, LockTTL: -1}, "LockTTL"},
		{"304", Options{TTL: time.Second, CacheStatuses: []int{200, 304}}, "304 cannot be stored"},
		{"999", Options{TTL: time.Second, CacheStatuses: []int{999}}, "999 cannot be stored"},
		{"filter not a struct", Options{TTL: time.Second, Filter: 3}, "Filter"},
		{"bad default", Options{TTL: time.Second, Filter: struct {
			P int `query:"p" default:"x"`
		}{}}, "bad default"},
		{"bad field type", Options{TTL: time.Second, Filter: struct {
			M map[string]int `query:"m"`
		}{}}, "map[string]int"},
		{"NaN buffer", Options{TTL: time.Second, Buffer: nan()}, "Buffer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				v := recover()
				if s, _ := v.(string); !strings.Contains(s, tc.want) {
					t.Errorf("panic %v, want one mentioning %q", v, tc.want)
				}
			}()
			testMiddleware(c, tc.opts)
		})
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("nil cache did not panic")
			}
		}()
		testMiddleware(nil, Options{TTL: time.Second})
	}()
	// Valid options with a pointer filter do not panic.
	testMiddleware(c, Options{TTL: time.Second, Filter: &blogFilter{}})(http.NotFoundHandler())
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

func TestShouldRefresh(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		compute, remaining, max int
		buffer                  float64
		want                    bool
	}{
		// cachemate's vectors
		{100, 400, 5000, 0.2, false},
		{100, 250, 5000, 0.2, true},
		{300, 550, 5000, 0.2, true},
		{100, 1000, 5000, 0.2, false},
		{100, 100, 500, 0, false},
		// edges of the window and the cap
		{100, 320, 5000, 0.2, true},
		{100, 321, 5000, 0.2, false},
		{100, 101, 5000, 0.2, true},
		{3000, 5500, 5000, 0.2, true}, // 3*compute is capped at max: window 600+5000
		{3000, 5700, 5000, 0.2, false},
		{0, 10, 5000, 0.2, false},
		{100, 250, -1, 0.2, false}, // early refresh off
	} {
		got := shouldRefresh(ms(tc.compute), ms(tc.remaining), ms(tc.max), tc.buffer)
		if got != tc.want {
			t.Errorf("shouldRefresh(%d, %d, %d, %v) = %v, want %v", tc.compute, tc.remaining, tc.max, tc.buffer, got, tc.want)
		}
	}
}

func TestEtagMatch(t *testing.T) {
	for _, tc := range []struct {
		inm  []string
		etag string
		want bool
	}{
		{nil, `"a"`, false},
		{[]string{`"a"`}, "", false},
		{[]string{`"a"`}, `"a"`, true},
		{[]string{`W/"a"`}, `"a"`, true},
		{[]string{`"a"`}, `W/"a"`, true},
		{[]string{`"b", "a"`}, `"a"`, true},
		{[]string{`"b"`, `"a"`}, `"a"`, true},
		{[]string{`"ab"`}, `"a"`, false},
		{[]string{`*`}, `"a"`, true},
	} {
		if got := etagMatch(tc.inm, tc.etag); got != tc.want {
			t.Errorf("etagMatch(%q, %q) = %v", tc.inm, tc.etag, got)
		}
	}
}

func TestHandlerPanicReleasesFollowers(t *testing.T) {
	c := inmemoryKind.open(t, nil)
	release := make(chan struct{})
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			<-release
			panic(http.ErrAbortHandler)
		}
		_, _ = io.WriteString(w, "ok")
	}}
	mw := testMiddleware(c, Options{TTL: time.Minute})(h)
	go func() {
		defer func() { _ = recover() }()
		request(mw, "GET", "/p")
	}()
	for h.n() == 0 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- request(mw, "GET", "/p") }()
	time.Sleep(20 * time.Millisecond) // let the follower join the flight
	close(release)
	select {
	case w := <-done:
		wantStatus(t, w, 200, StatusMiss)
	case <-time.After(10 * time.Second):
		t.Fatal("follower still waiting after the leader panicked")
	}
}

func TestFollowerContextEnds(t *testing.T) {
	c := inmemoryKind.open(t, nil)
	release := make(chan struct{})
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			<-release
		}
		_, _ = fmt.Fprintf(w, "%d", n)
	}}
	mw := testMiddleware(c, Options{TTL: time.Minute})(h)
	go request(mw, "GET", "/slow")
	for h.n() == 0 {
		time.Sleep(time.Millisecond)
	}
	// Long enough for the follower to reach the flight on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	w := requestCtx(ctx, mw, "GET", "/slow")
	n := h.n()
	close(release)
	// The follower gave up waiting and left: its client is gone, so the
	// handler did not run for it.
	if w.Body.String() != "" || n != 1 || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("follower got %q; handler ran %d times, want 1", w.Body, n)
	}
}
