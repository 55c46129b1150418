package httpcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
)

// TestPurge drops every Vary variant of one URL, with its exact query
// (canonical: the order of the parameters does not matter), and nothing
// else.
func TestPurge(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Vary", "X-Lang")
			fmt.Fprintf(w, "%s %d", r.Header.Get("X-Lang"), n)
		}}
		c := k.open(t, nil)
		opts := Options{TTL: time.Minute}
		mw := testMiddleware(c, opts)(h)
		urls := []string{"/a?x=1&y=2", "/a?x=2", "/a", "/b?x=1&y=2"}
		for _, u := range urls {
			for _, lang := range []string{"en", "fr", "de"} {
				wantStatus(t, request(mw, "GET", u, "X-Lang", lang), 200, StatusMiss)
			}
		}
		n, err := Purge(ctxT(t), c, opts, httptest.NewRequest("GET", "/a?y=2&x=1", nil))
		if err != nil || n != 1 {
			t.Fatalf("Purge = %d, %v; want 1 (the vary marker)", n, err)
		}
		for _, u := range urls {
			want := StatusHit
			if u == "/a?x=1&y=2" {
				want = StatusMiss
			}
			for _, lang := range []string{"en", "fr", "de"} {
				wantStatus(t, request(mw, "GET", u, "X-Lang", lang), 200, want)
			}
		}
		// Purging what is not stored removes nothing.
		if n, err := Purge(ctxT(t), c, opts, httptest.NewRequest("GET", "/nothing?here=1", nil)); err != nil || n != 0 {
			t.Errorf("Purge of a URL never stored = %d, %v", n, err)
		}
		// Without Vary, the response itself.
		if n, err := Purge(ctxT(t), c, Options{}, httptest.NewRequest("DELETE", "/a?x=2", nil)); err != nil || n != 1 {
			t.Errorf("Purge with a zero TTL = %d, %v", n, err)
		}
		wantStatus(t, request(mw, "GET", "/a?x=2", "X-Lang", "en"), 200, StatusMiss)
	})
}

// TestPurgeFilter keys the URL as the middleware does with a Filter: only
// the filtered parameters count.
func TestPurgeFilter(t *testing.T) {
	c := inmemoryKind.open(t, nil)
	opts := Options{TTL: time.Minute, Filter: blogFilter{}}
	mw := testMiddleware(c, opts)(&counter{})
	wantStatus(t, request(mw, "GET", "/blogs?id=1&utm=x"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/blogs?id=2"), 200, StatusMiss)
	if n, err := Purge(ctxT(t), c, opts, httptest.NewRequest("GET", "/blogs?utm=y&id=1", nil)); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	wantStatus(t, request(mw, "GET", "/blogs?id=1"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/blogs?id=2"), 200, StatusHit)
	// Options that differ in Prefix miss the entry: they must be the middleware's.
	if n, err := Purge(ctxT(t), c, Options{Filter: blogFilter{}, Prefix: "other"}, httptest.NewRequest("GET", "/blogs?id=2", nil)); err != nil || n != 0 {
		t.Errorf("Purge with another Prefix = %d, %v", n, err)
	}
	if _, err := Purge(ctxT(t), c, Options{Filter: struct{}{}}, httptest.NewRequest("GET", "/", nil)); err == nil {
		t.Error("Purge with invalid Options: no error")
	}
	if err := PurgeTags(ctxT(t), nil, opts, "x"); err == nil {
		t.Error("PurgeTags with a nil cache: no error")
	}
}

// TestTags: the TagsHeader is stored with the response, never sent to
// clients, and PurgeTags drops every response with one of its tags, in
// every variant.
func TestTags(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		tags := map[string]string{
			"/blogs":   "blogs, blog-1 blog-2",
			"/blogs/1": "blog-1",
			"/blogs/2": "BLOG-2 blog-2", // case counts
			"/about":   "",
		}
		h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
			if v := tags[r.URL.Path]; v != "" {
				w.Header()["surrogate-key"] = []string{v} // any case
			}
			w.Header().Set("Vary", "X-Lang")
			fmt.Fprintf(w, "%s %d", r.URL.Path, n)
		}}
		c := k.open(t, nil)
		opts := Options{TTL: time.Minute}
		mw := testMiddleware(c, opts)(h)
		get := func(path, lang, want string) {
			t.Helper()
			w := request(mw, "GET", path, "X-Lang", lang)
			wantStatus(t, w, 200, want)
			for k := range w.Header() {
				if strings.EqualFold(k, "Surrogate-Key") {
					t.Fatalf("%s %s: the client got %s: %q", path, want, k, w.Header()[k])
				}
			}
		}
		for _, status := range []string{StatusMiss, StatusHit} {
			for p := range tags {
				get(p, "en", status)
				get(p, "fr", status)
			}
		}
		if err := PurgeTags(ctxT(t), c, opts, "blog-1", "", "unknown"); err != nil {
			t.Fatal(err)
		}
		for _, lang := range []string{"en", "fr"} {
			get("/blogs", lang, StatusMiss)
			get("/blogs/1", lang, StatusMiss)
			get("/blogs/2", lang, StatusHit)
			get("/about", lang, StatusHit)
		}
		if err := PurgeTags(ctxT(t), c, opts, "BLOG-2"); err != nil {
			t.Fatal(err)
		}
		get("/blogs", "en", StatusHit)
		get("/blogs/1", "en", StatusHit)
		get("/blogs/2", "en", StatusMiss)
		get("/blogs/2", "en", StatusHit)
	})
}

// TestTagsHeaderNotSent: the tags header is removed from responses that
// are not stored too (NO_CACHE, BYPASS, not storable, a handler that
// writes nothing), and left alone with TagsHeader "-".
func TestTagsHeaderNotSent(t *testing.T) {
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Surrogate-Key", "a b")
		w.Header().Set("X-Tags", "c")
		switch r.URL.Path {
		case "/private":
			w.Header().Set("Cache-Control", "private")
		case "/empty":
			return
		}
		fmt.Fprint(w, "ok")
	}}
	c := inmemoryKind.open(t, nil)
	mw := testMiddleware(c, Options{TTL: time.Minute, BypassValue: "s"})(h)
	for _, w := range []*httptest.ResponseRecorder{
		request(mw, "POST", "/a"),
		request(mw, "GET", "/a", "X-Cache-Bypass", "s"),
		request(mw, "GET", "/a", "Cache-Control", "no-cache"),
		request(mw, "GET", "/a", "Authorization", "Basic x"),
		request(mw, "GET", "/private"),
		request(mw, "GET", "/empty"),
		request(mw, "GET", "/a"),
		request(mw, "GET", "/a"),
	} {
		if v := w.Header().Get("Surrogate-Key"); v != "" || w.Header().Get("X-Tags") != "c" {
			t.Errorf("%s: Surrogate-Key %q, X-Tags %q", w.Header().Get(StatusHeader), v, w.Header().Get("X-Tags"))
		}
	}
	// Another header name; "-" turns tags off.
	mw = testMiddleware(c, Options{TTL: time.Minute, TagsHeader: "x-tags", Prefix: "x"})(h)
	for range 2 {
		if w := request(mw, "GET", "/a"); w.Header().Get("X-Tags") != "" || w.Header().Get("Surrogate-Key") != "a b" {
			t.Errorf("TagsHeader x-tags: %v", w.Header())
		}
	}
	mw = testMiddleware(c, Options{TTL: time.Minute, TagsHeader: "-", Prefix: "off"})(h)
	for _, want := range []string{StatusMiss, StatusHit} {
		w := request(mw, "GET", "/a")
		wantStatus(t, w, 200, want)
		if w.Header().Get("Surrogate-Key") != "a b" {
			t.Errorf("TagsHeader -: %v", w.Header())
		}
	}
}

// TestTooManyTags: a response with more tags than a HIT should read is
// not stored.
func TestTooManyTags(t *testing.T) {
	many := make([]string, maxTags+1)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path == "/many" {
			w.Header().Set("Surrogate-Key", strings.Join(many, " "))
		} else {
			w.Header().Set("Surrogate-Key", strings.Join(many[:maxTags], " "))
		}
		fmt.Fprint(w, n)
	}}
	c := inmemoryKind.open(t, nil)
	opts := Options{TTL: time.Minute}
	mw := testMiddleware(c, opts)(h)
	wantStatus(t, request(mw, "GET", "/many"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/many"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/enough"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/enough"), 200, StatusHit)
	if err := PurgeTags(ctxT(t), c, opts, many[maxTags-1]); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, request(mw, "GET", "/enough"), 200, StatusMiss)
}

// TestPurgeBeatsLateWriter: a store that read the vary marker's epoch and
// the tags' versions before a purge, and writes its response after, never
// has that response served: epochs and versions are only ever written
// fresh, never written back. cachette reads the tags' versions inside
// PutBytes, so the purge runs there, just before the store's Set
// (purgeOnSet): the latest moment a purge can race the write.
func TestPurgeBeatsLateWriter(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := ctxT(t)
		c := k.open(t, nil)
		store := &purgeOnSet{Backend: c.Backend()}
		lc, err := cachette.NewWithBackend(nopClose{store}, c.Config())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lc.Close() })
		opts := Options{TTL: time.Minute, StoreTimeout: 10 * time.Second}
		hd := Middleware(c, opts)(&counter{}).(*handler)
		writer := Middleware(lc, opts)(&counter{}).(*handler) // the late writer
		r := httptest.NewRequest("GET", "/late", nil)
		r.Header.Set("X-Lang", "en")
		base, _ := hd.cfg.baseKey(r)
		names := []string{"X-Lang"}
		newResp := func() *storedResponse {
			return &storedResponse{status: 200, ttl: time.Minute, header: http.Header{"Vary": {"X-Lang"}}, body: []byte("old"),
				tags: []string{"t"}}
		}
		// A response stored the normal way is found.
		if _, err := hd.store(ctx, base, r, newResp()); err != nil {
			t.Fatal(err)
		}
		if found, _, err := hd.lookup(ctx, base, r); err != nil || found == nil {
			t.Fatalf("lookup after store: %v, %v", found, err)
		}
		for name, purge := range map[string]func() error{
			"Purge":     func() error { _, err := Purge(ctx, c, opts, r); return err },
			"PurgeTags": func() error { return PurgeTags(ctx, c, opts, "t") },
		} {
			// The writer reads the marker (and, in PutBytes, the tags'
			// versions)...
			late := newResp()
			if err := writer.stamp(ctx, base, names, late); err != nil {
				t.Fatal(err)
			}
			// ... the purge runs ...
			key := varyKey(base, names, r)
			store.arm(key, purge)
			// ... and the writer writes.
			if err := writer.put(ctx, key, encodeResponse(late), late.ttl, late.tags); err != nil {
				t.Fatal(err)
			}
			if err := store.fired(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if found, _, err := hd.lookup(ctx, base, r); err != nil || found != nil {
				t.Fatalf("%s: a response stamped before the purge is served after it (%v)", name, err)
			}
			// Another variant with the tag is stored: it makes a new
			// marker and a new tag version, which the late one does not
			// have.
			fr := r.Clone(ctx)
			fr.Header.Set("X-Lang", "fr")
			if _, err := hd.store(ctx, base, fr, newResp()); err != nil {
				t.Fatal(err)
			}
			if found, _, err := hd.lookup(ctx, base, fr); err != nil || found == nil {
				t.Fatalf("%s: lookup after a new store: %v, %v", name, found, err)
			}
			if found, _, err := hd.lookup(ctx, base, r); err != nil || found != nil {
				t.Fatalf("%s: a response stamped before the purge is served once the URL is stored again (%v)", name, err)
			}
			if _, err := hd.store(ctx, base, r, newResp()); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// purgeOnSet is a store that runs a purge just before it writes one key,
// once.
type purgeOnSet struct {
	backends.Backend
	mu    sync.Mutex
	key   string
	purge func() error
	ran   bool
	err   error
}

func (s *purgeOnSet) arm(key string, purge func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key, s.purge, s.ran, s.err = key, purge, false, nil
}

// fired returns the purge's error, or an error when it did not run.
func (s *purgeOnSet) fired() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ran {
		return errors.New("the purge did not run inside the write")
	}
	return s.err
}

func (s *purgeOnSet) Set(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	s.mu.Lock()
	purge := s.purge
	if key != s.key || purge == nil {
		purge = nil
	} else {
		s.purge, s.ran = nil, true
	}
	s.mu.Unlock()
	if purge != nil {
		err := purge()
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}
	return s.Backend.Set(ctx, key, value, expiresAt)
}

func TestParseTags(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"a":               "a",
		" b a,  c,,a\tb ": "a b c",
		"Key key":         "Key key",
	} {
		if got := strings.Join(parseTags([]string{in}), " "); got != want {
			t.Errorf("parseTags(%q) = %q, want %q", in, got, want)
		}
	}
	if got := strings.Join(parseTags([]string{"b a", "c, a"}), " "); got != "a b c" {
		t.Errorf("two header lines: %q", got)
	}
}

// TestPassHijack: a request that skips the cache (Upgrade, an unsafe
// method) can still hijack the connection through the wrapped writer, and
// a hijacked unsafe request invalidates nothing (its status is unknown).
func TestPassHijack(t *testing.T) {
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Method == "GET" && r.Header.Get("Upgrade") == "" {
			fmt.Fprint(w, n)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	}}
	srv := httptest.NewServer(testMiddleware(inmemoryKind.open(t, nil), Options{TTL: time.Minute})(h))
	defer srv.Close()
	do := func(method string, hdr ...string) (string, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/x", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.Header.Get(StatusHeader)
	}
	if _, s := do("GET"); s != StatusMiss {
		t.Fatalf("first GET: %s", s)
	}
	if b, _ := do("GET", "Upgrade", "x"); b != "hijacked" {
		t.Errorf("Upgrade: %q", b)
	}
	if b, _ := do("POST"); b != "hijacked" {
		t.Errorf("POST: %q", b)
	}
	if _, s := do("GET"); s != StatusHit {
		t.Errorf("GET after a hijacked POST: %s, want HIT", s)
	}
}

// A response freshened by a 304 keeps its tags: PurgeTags still drops it.
func TestRevalidatedKeepsTags(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		c := k.open(t, nil)
		opts := Options{TTL: time.Hour}
		h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
			if r.Header.Get("If-None-Match") == `"t1"` {
				w.Header().Set("Cache-Control", "max-age=600")
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("Etag", `"t1"`)
			w.Header().Set("Surrogate-Key", "a")
			w.Header().Set("Cache-Control", "max-age=1")
			_, _ = io.WriteString(w, "v")
		}}
		mw := testMiddleware(c, opts)(h)
		wantStatus(t, request(mw, "GET", "/t"), 200, StatusMiss)
		time.Sleep(1100 * time.Millisecond) // past max-age=1: the next request revalidates
		w := request(mw, "GET", "/t")
		if w.Header().Get("Cache-Status") != "cachette; fwd=stale; fwd-status=304; stored" {
			t.Fatalf("second request not revalidated: Cache-Status %q", w.Header().Get("Cache-Status"))
		}
		wantStatus(t, request(mw, "GET", "/t"), 200, StatusHit)
		if err := PurgeTags(ctxT(t), c, opts, "a"); err != nil {
			t.Fatal(err)
		}
		w = request(mw, "GET", "/t")
		wantStatus(t, w, 200, StatusMiss)
		if w.Header().Get("Surrogate-Key") != "" {
			t.Errorf("tags header shown to the client: %q", w.Header().Get("Surrogate-Key"))
		}
		if h.n() != 3 {
			t.Errorf("handler ran %d times, want 3 (MISS, revalidation, after the purge)", h.n())
		}
	})
}
