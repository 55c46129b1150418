package httpcache

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/backendtest"
	_ "github.com/cachette-go/cachette/backends/gob"
	"github.com/cachette-go/cachette/backends/inmemory"
)

// Regression tests for the safety defects of issue 9: responses leaking
// between users through an outer Vary, streams and upgrades that block
// other clients, a bad key that pauses the cache, cookies, and the headers
// a downstream cache reads.

// waitFor is the generous bound of every wait in these tests: it only
// turns a hang into a failure, it never measures anything.
const waitFor = 20 * time.Second

// waitJoined waits until n requests wait for the flight of key in the
// middleware mw (the *handler Middleware returns).
func waitJoined(t *testing.T, mw http.Handler, key string, n int) {
	t.Helper()
	h := mw.(*handler)
	deadline := time.Now().Add(waitFor)
	for h.flights.waiting(key) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests wait for %s, want %d", h.flights.waiting(key), key, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func baseKeyOf(t *testing.T, o Options, target string) string {
	t.Helper()
	key, ok := newConfig(o).baseKey(httptest.NewRequest("GET", target, nil))
	if !ok {
		t.Fatalf("no key for %s", target)
	}
	return key
}

// setVary is an outer middleware (it runs before the cache) that sets Vary
// for every response, as a localisation or session middleware does.
func setVary(names string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", names)
			next.ServeHTTP(w, r)
		})
	}
}

// TestOuterVary: a Vary set by an outer middleware counts like the
// handler's own: two requests that differ in a varied header never share
// an entry.
func TestOuterVary(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
			_, _ = fmt.Fprintf(w, "%s %d", r.Header.Get("Accept-Language"), n)
		}}
		c := k.open(t, nil)
		inner := testMiddleware(c, Options{TTL: time.Minute})(h)
		mw := setVary("Accept-Language")(inner)
		send := func(lang, cache, body string) {
			t.Helper()
			w := request(mw, "GET", "/page", "Accept-Language", lang)
			wantStatus(t, w, 200, cache)
			if w.Body.String() != body {
				t.Errorf("Accept-Language %s: body %q, want %q", lang, w.Body, body)
			}
			if w.Header().Get("Vary") != "Accept-Language" {
				t.Errorf("Accept-Language %s: Vary %q", lang, w.Header().Values("Vary"))
			}
		}
		send("en", StatusMiss, "en 1")
		send("fr", StatusMiss, "fr 2")
		send("en", StatusHit, "en 1")
		send("fr", StatusHit, "fr 2")

		// The entry names the header, so a request that bypasses the outer
		// middleware cannot read another language's page either.
		if w := request(inner, "GET", "/page", "Accept-Language", "de"); w.Body.String() != "de 3" {
			t.Errorf("de through the inner handler: %q (%s)", w.Body, w.Header().Get(StatusHeader))
		}
	})
}

// TestOuterVaryCoalesced: a request that waits for a concurrent one gets
// its response only when the varied headers agree.
func TestOuterVaryCoalesced(t *testing.T) {
	release := make(chan struct{})
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			<-release
		}
		_, _ = fmt.Fprintf(w, "%s %d", r.Header.Get("Accept-Language"), n)
	}}
	inner := testMiddleware(inmemoryKind.open(t, nil), Options{TTL: time.Minute})(h)
	mw := setVary("Accept-Language")(inner)
	leader := make(chan *httptest.ResponseRecorder, 1)
	go func() { leader <- request(mw, "GET", "/page", "Accept-Language", "en") }()
	for h.n() == 0 { // the leader runs the handler
		time.Sleep(time.Millisecond)
	}
	fr, en := make(chan *httptest.ResponseRecorder, 1), make(chan *httptest.ResponseRecorder, 1)
	go func() { fr <- request(mw, "GET", "/page", "Accept-Language", "fr") }()
	go func() { en <- request(mw, "GET", "/page", "Accept-Language", "en") }()
	waitJoined(t, inner, baseKeyOf(t, Options{TTL: time.Minute}, "/page"), 2)
	close(release)
	if w := <-leader; w.Body.String() != "en 1" {
		t.Fatalf("leader got %q", w.Body)
	}
	if w := <-en; w.Body.String() != "en 1" || w.Header().Get(StatusHeader) != StatusHit {
		t.Errorf("en waiter got %q (%s), want the leader's en 1 as a HIT", w.Body, w.Header().Get(StatusHeader))
	}
	if w := <-fr; w.Body.String() != "fr 2" {
		t.Errorf("fr waiter got %q (%s): another language's page", w.Body, w.Header().Get(StatusHeader))
	}
}

// TestCookiesSkipCache: a request with a Cookie header goes straight to the
// handler, and the cache is neither read nor written.
func TestCookiesSkipCache(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		h := &counter{}
		mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
		wantStatus(t, request(mw, "GET", "/c"), 200, StatusMiss)
		// Not read: the anonymous entry is not given to a user with cookies.
		w := request(mw, "GET", "/c", "Cookie", "session=alice")
		wantStatus(t, w, 200, StatusMiss)
		if !strings.HasPrefix(w.Body.String(), "call 2 ") {
			t.Errorf("request with a cookie got %q", w.Body)
		}
		// Not written: a user's page is not stored for the others.
		wantStatus(t, request(mw, "GET", "/d", "Cookie", "session=alice"), 200, StatusMiss)
		wantStatus(t, request(mw, "GET", "/d", "Cookie", "session=alice"), 200, StatusMiss)
		if w := request(mw, "GET", "/d"); w.Header().Get(StatusHeader) != StatusMiss {
			t.Errorf("anonymous request after cookie requests: %s", w.Header().Get(StatusHeader))
		}
		if h.n() != 5 {
			t.Errorf("handler ran %d times, want 5", h.n())
		}
	})
}

// TestAllowCookiesVaryCookie: with AllowCookies, a response that varies on
// Cookie (here set by an outer middleware) is stored per cookie.
func TestAllowCookiesVaryCookie(t *testing.T) {
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		c, _ := r.Cookie("session")
		name := "anonymous"
		if c != nil {
			name = c.Value
		}
		_, _ = fmt.Fprintf(w, "hello %s %d", name, n)
	}}
	mw := setVary("Cookie")(testMiddleware(inmemoryKind.open(t, nil), Options{TTL: time.Minute, AllowCookies: true})(h))
	for _, tc := range []struct{ cookie, cache, body string }{
		{"session=alice", StatusMiss, "hello alice 1"},
		{"session=bob", StatusMiss, "hello bob 2"},
		{"session=alice", StatusHit, "hello alice 1"},
		{"session=bob", StatusHit, "hello bob 2"},
	} {
		w := request(mw, "GET", "/me", "Cookie", tc.cookie)
		wantStatus(t, w, 200, tc.cache)
		if w.Body.String() != tc.body {
			t.Errorf("%s: %q, want %q", tc.cookie, w.Body, tc.body)
		}
	}
	if w := request(mw, "GET", "/me"); w.Body.String() != "hello anonymous 3" {
		t.Errorf("no cookie: %q", w.Body)
	}
}

// TestUpgradeSkipsCache: a request with Upgrade is never answered from the
// cache, nor stored, nor coalesced.
func TestUpgradeSkipsCache(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		h := &counter{}
		mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(h)
		up := []string{"Connection", "Upgrade", "Upgrade", "websocket"}
		wantStatus(t, request(mw, "GET", "/ws", up...), 200, StatusMiss)
		wantStatus(t, request(mw, "GET", "/ws", up...), 200, StatusMiss)
		wantStatus(t, request(mw, "GET", "/ws"), 200, StatusMiss) // nothing was stored
		wantStatus(t, request(mw, "GET", "/ws"), 200, StatusHit)
		wantStatus(t, request(mw, "GET", "/ws", up...), 200, StatusMiss) // nor read
		if h.n() != 4 {
			t.Errorf("handler ran %d times, want 4", h.n())
		}
	})
}

// readLine reads one line from r within waitFor, or fails the test.
func readLine(t *testing.T, what string, br *bufio.Reader) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		line, err := br.ReadString('\n')
		if err != nil {
			line = "error: " + err.Error()
		}
		got <- line
	}()
	select {
	case line := <-got:
		return line
	case <-time.After(waitFor):
		t.Fatalf("%s: nothing within %v: blocked behind another client", what, waitFor)
		return ""
	}
}

// get starts a GET of url and returns the response; it fails the test if
// the headers do not come within waitFor.
func get(t *testing.T, url string, hdr ...string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		got <- result{resp, err}
	}()
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatal(r.err)
		}
		t.Cleanup(func() { r.resp.Body.Close() })
		return r.resp
	case <-time.After(waitFor):
		t.Fatalf("GET %s: no answer within %v: blocked behind another client", url, waitFor)
		return nil
	}
}

// TestStreamsDoNotBlock: a second client of an event stream, or of a
// response flushed before its end, gets its own response at once, while the
// first one's is still open; such responses are never stored.
func TestStreamsDoNotBlock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header func(http.Header)
	}{
		{"event-stream", func(h http.Header) {
			h.Set("Content-Type", "text/event-stream; charset=utf-8")
			h.Set("Cache-Control", "public") // storable otherwise
		}},
		{"flushed-early", func(h http.Header) { h.Set("Content-Type", "text/plain") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, k storeKind) {
				release := make(chan struct{})
				h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
					tc.header(w.Header())
					_, _ = fmt.Fprintf(w, "data: %d\n\n", n)
					w.(http.Flusher).Flush()
					select {
					case <-release:
					case <-r.Context().Done():
						return
					}
					_, _ = io.WriteString(w, "data: end\n\n")
				}}
				var hs []http.Handler
				for _, c := range k.shared(t, 2) {
					// A long LockTTL: another process must not wait for it.
					hs = append(hs, testMiddleware(c, Options{TTL: time.Minute, LockTTL: time.Hour})(h))
				}
				var urls []string
				for _, mw := range hs {
					srv := httptest.NewServer(mw)
					t.Cleanup(srv.Close)
					urls = append(urls, srv.URL+"/events")
				}
				t.Cleanup(func() {
					select {
					case <-release:
					default:
						close(release)
					}
				})
				first := get(t, urls[0])
				firstBody := bufio.NewReader(first.Body)
				if line := readLine(t, "first client", firstBody); line != "data: 1\n" {
					t.Fatalf("first client got %q", line)
				}
				// The first stream is open: a second client in this process
				// and one in another process get their own streams.
				for i, url := range []string{urls[0], urls[1]} {
					resp := get(t, url)
					line := readLine(t, "client "+strconv.Itoa(i+2), bufio.NewReader(resp.Body))
					if line != "data: "+strconv.Itoa(i+2)+"\n" || resp.Header.Get(StatusHeader) != StatusMiss {
						t.Errorf("client %d got %q (%s) while the first stream was open", i+2, line, resp.Header.Get(StatusHeader))
					}
				}
				close(release)
				if rest, _ := io.ReadAll(firstBody); string(rest) != "\ndata: end\n\n" {
					t.Errorf("first client: rest %q", rest)
				}
				// Not stored: the next client gets a live stream too.
				resp := get(t, urls[0])
				if resp.Header.Get(StatusHeader) != StatusMiss {
					t.Errorf("after the streams ended: %s, want MISS (never stored)", resp.Header.Get(StatusHeader))
				}
				if _, err := io.ReadAll(resp.Body); err != nil {
					t.Error(err)
				}
				if n := h.n(); n != 4 {
					t.Errorf("handler ran %d times, want 4", n)
				}
			})
		})
	}
}

// TestHijackDoesNotBlock: a handler that takes over the connection, with
// an Upgrade request (a WebSocket-like handshake) or without one, makes no
// other client wait for the end of its session.
func TestHijackDoesNotBlock(t *testing.T) {
	for _, tc := range []struct {
		name    string
		upgrade bool
		hijack  func(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error)
	}{
		{"upgrade", true, func(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
			return http.NewResponseController(w).Hijack()
		}},
		{"Hijacker", false, func(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
			hj, ok := w.(http.Hijacker)
			if !ok {
				return nil, nil, fmt.Errorf("%T is not an http.Hijacker", w)
			}
			return hj.Hijack()
		}},
		{"ResponseController", false, func(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
			return http.NewResponseController(w).Hijack()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
				conn, brw, err := tc.hijack(w)
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				defer conn.Close()
				status := "200 OK"
				if tc.upgrade {
					status = "101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo"
				}
				_, _ = fmt.Fprintf(brw, "HTTP/1.1 %s\r\n\r\nsession %d\n", status, n)
				_ = brw.Flush()
				// Echo lines until the client hangs up.
				for {
					line, err := brw.ReadString('\n')
					if err != nil {
						return
					}
					_, _ = brw.WriteString(line)
					_ = brw.Flush()
				}
			}}
			srv := httptest.NewServer(testMiddleware(inmemoryKind.open(t, nil), Options{TTL: time.Minute})(h))
			t.Cleanup(srv.Close)
			dial := func(i int) (net.Conn, *bufio.Reader) {
				conn, err := net.Dial("tcp", srv.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { conn.Close() })
				_ = conn.SetDeadline(time.Now().Add(waitFor))
				req := "GET /session HTTP/1.1\r\nHost: example.com\r\n"
				if tc.upgrade {
					req += "Connection: Upgrade\r\nUpgrade: echo\r\n"
				}
				if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(conn)
				// Skip the status line and the headers.
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						t.Fatalf("client %d: %v before the session started: blocked behind another client?", i, err)
					}
					if line == "\r\n" {
						break
					}
				}
				if line, _ := br.ReadString('\n'); line != "session "+strconv.Itoa(i)+"\n" {
					t.Fatalf("client %d: got %q", i, line)
				}
				return conn, br
			}
			c1, br1 := dial(1)
			c2, br2 := dial(2) // while session 1 is open
			for i, s := range []struct {
				c  net.Conn
				br *bufio.Reader
			}{{c1, br1}, {c2, br2}} {
				_, _ = fmt.Fprintf(s.c, "ping %d\n", i)
				if line, err := s.br.ReadString('\n'); line != fmt.Sprintf("ping %d\n", i) {
					t.Errorf("session %d echo: %q, %v", i+1, line, err)
				}
			}
		})
	}
}

// TestUnstorableReleasesWaiters: requests waiting for a concurrent
// identical one stop waiting as soon as its response turns out not to be
// storable (here at WriteHeader: a Set-Cookie), and run the handler
// themselves while it is still being written.
func TestUnstorableReleasesWaiters(t *testing.T) {
	start, rest := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(rest) })
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			<-start
		}
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: strconv.Itoa(n)})
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintf(w, "user %d", n)
		if n == 1 {
			<-rest
		}
	}}
	mw := testMiddleware(inmemoryKind.open(t, nil), Options{TTL: time.Minute})(h)
	go request(mw, "GET", "/me")
	for h.n() == 0 { // the leader runs the handler
		time.Sleep(time.Millisecond)
	}
	waiter := make(chan *httptest.ResponseRecorder, 1)
	go func() { waiter <- request(mw, "GET", "/me") }()
	waitJoined(t, mw, baseKeyOf(t, Options{TTL: time.Minute}, "/me"), 1)
	close(start)
	select {
	case w := <-waiter:
		wantStatus(t, w, 200, StatusMiss)
		if w.Body.String() != "user 2" {
			t.Errorf("waiter got %q, want its own user 2", w.Body)
		}
	case <-time.After(waitFor):
		t.Fatal("the waiter still waits for a response that cannot be stored")
	}
}

// TestBadKeyNotAnOutage: a key the store refuses (a path of over 1 MiB on
// the gob store) skips the cache for that request only; the other requests
// keep using the cache.
func TestBadKeyNotAnOutage(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(cachette.Config) (*cachette.Cache, error)
	}{
		{"gob", func(cfg cachette.Config) (*cachette.Cache, error) {
			cfg.Backend, cfg.PicklePath = "gob", t.TempDir()
			return cachette.New(ctxT(t), cfg)
		}},
		{"inmemory", func(cfg cachette.Config) (*cachette.Cache, error) {
			return cachette.NewWithBackend(inmemory.New(inmemory.Options{MaxBytes: 512 << 10}), cfg)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.open(cachette.Config{Prefix: backendtest.NewPrefix(), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			closeCache(t, c)
			var logs logSink
			h := &counter{}
			mw := testMiddleware(c, Options{TTL: time.Minute, Logger: logs.logger()})(h)
			long := "/" + strings.Repeat("p", 1<<20)
			for range 2 {
				w := request(mw, "GET", long)
				wantStatus(t, w, 200, StatusMiss)
				if !strings.HasPrefix(w.Body.String(), "call ") {
					t.Fatalf("long path: %q", trunc(w.Body.String()))
				}
			}
			wantStatus(t, request(mw, "GET", "/short"), 200, StatusMiss)
			wantStatus(t, request(mw, "GET", "/short"), 200, StatusHit)
			if strings.Contains(logs.String(), "store error") {
				t.Errorf("a refused key was logged as a store error:\n%s", trunc(logs.String()))
			}
		})
	}
}

// TestCacheControlAndAge: a HIT's max-age is the stored lifetime and Age
// the seconds since it was stored, so a downstream cache sees the time
// left; a handler's own Cache-Control is sent as is.
func TestCacheControlAndAge(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		c := k.open(t, nil)
		opts := Options{TTL: time.Minute}
		mw := testMiddleware(c, opts)(&counter{})
		// An entry stored for a minute, 30 seconds ago.
		key := baseKeyOf(t, opts, "/aged")
		resp := &storedResponse{status: 200, ttl: time.Minute, header: http.Header{"Etag": {`"x"`}}, body: []byte("aged")}
		if err := c.PutBytes(ctxT(t), key, encodeResponse(resp), cachette.WithTTL(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		for _, inm := range []string{"", `"x"`} {
			w := request(mw, "GET", "/aged", "If-None-Match", inm)
			if w.Header().Get(StatusHeader) != StatusHit {
				t.Fatalf("got %s", w.Header().Get(StatusHeader))
			}
			age, err := strconv.Atoi(w.Header().Get("Age"))
			if cc := w.Header().Get("Cache-Control"); cc != "max-age=60" || err != nil || age < 29 || age > 31 {
				t.Errorf("HIT %d: Cache-Control %q, Age %q; want max-age=60 and Age 30", w.Code, cc, w.Header().Get("Age"))
			}
		}

		// The handler's own Cache-Control, on the MISS and the HITs.
		own := testMiddleware(c, opts)(&counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Cache-Control", "public, max-age=30")
			_, _ = io.WriteString(w, "own")
		}})
		for i, want := range []string{StatusMiss, StatusHit} {
			w := request(own, "GET", "/own")
			wantStatus(t, w, 200, want)
			if cc := w.Header().Values("Cache-Control"); len(cc) != 1 || cc[0] != "public, max-age=30" {
				t.Errorf("request %d: Cache-Control %q, want the handler's", i, cc)
			}
			if want == StatusHit && w.Header().Get("Age") == "" {
				t.Errorf("HIT without Age")
			}
		}
	})
}

// TestETagsStable: a handler's ETag, weak or strong, is replayed unchanged
// and If-None-Match compares with it weakly; a generated one is the same on
// every HIT.
func TestETagsStable(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, etag := range []string{`W/"v1"`, `"v2"`} {
			mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(&counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("ETag", etag)
				_, _ = io.WriteString(w, "body")
			}})
			miss := request(mw, "GET", "/e")
			wantStatus(t, miss, 200, StatusMiss)
			if got := miss.Header().Get("ETag"); got != etag {
				t.Errorf("MISS ETag %q, want %q", got, etag)
			}
			hit := request(mw, "GET", "/e")
			wantStatus(t, hit, 200, StatusHit)
			if got := hit.Header().Get("ETag"); got != etag {
				t.Errorf("HIT ETag %q, want the handler's %q", got, etag)
			}
			// The client revalidates with the tag it got on the MISS.
			for _, inm := range []string{etag, strings.TrimPrefix(etag, "W/"), "W/" + strings.TrimPrefix(etag, "W/")} {
				w := request(mw, "GET", "/e", "If-None-Match", inm)
				wantStatus(t, w, http.StatusNotModified, StatusHit)
				if got := w.Header().Get("ETag"); got != etag {
					t.Errorf("304 ETag %q, want %q", got, etag)
				}
			}
		}
		mw := testMiddleware(k.open(t, nil), Options{TTL: time.Minute})(&counter{})
		request(mw, "GET", "/g")
		first := request(mw, "GET", "/g").Header().Get("ETag")
		if second := request(mw, "GET", "/g").Header().Get("ETag"); first == "" || strings.HasPrefix(first, "W/") || first != second {
			t.Errorf("generated ETags %q then %q, want one strong tag", first, second)
		}
		wantStatus(t, request(mw, "GET", "/g", "If-None-Match", first), http.StatusNotModified, StatusHit)
	})
}

// TestFilterWithoutQueryFields: a Filter that reads no parameter would put
// every query string on one entry; Middleware refuses it.
func TestFilterWithoutQueryFields(t *testing.T) {
	type noTags struct {
		Page int
	}
	defer func() {
		if s, _ := recover().(string); !strings.Contains(s, "invalid Options: Filter") || !strings.Contains(s, "query") {
			t.Errorf("panic %q, want invalid Options naming Filter and its query tags", s)
		}
	}()
	Middleware(inmemoryKind.open(t, nil), Options{TTL: time.Minute, Filter: noTags{}})
	t.Error("Middleware accepted a Filter without query fields")
}

// TestOldVersionEntry: an entry stored by the previous format version (which
// could miss an outer Vary) is a quiet miss, replaced by the next response.
func TestOldVersionEntry(t *testing.T) {
	c := inmemoryKind.open(t, nil)
	var logs logSink
	opts := Options{TTL: time.Minute, Logger: logs.logger()}
	mw := testMiddleware(c, opts)(&counter{})
	old := encodeResponse(&storedResponse{status: 200, ttl: time.Minute, header: http.Header{}, body: []byte("old")})
	old[2] = entryVersion - 1
	if err := c.PutBytes(ctxT(t), baseKeyOf(t, opts, "/v1"), old, cachette.WithTTL(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, request(mw, "GET", "/v1"), 200, StatusMiss)
	if w := request(mw, "GET", "/v1"); w.Header().Get(StatusHeader) != StatusHit || w.Body.String() == "old" {
		t.Errorf("got %q (%s), want the new response as a HIT", w.Body, w.Header().Get(StatusHeader))
	}
	if strings.Contains(logs.String(), "corrupt") {
		t.Errorf("an old entry was logged as corrupt:\n%s", logs.String())
	}
}

// TestRefreshKeepsOuterVary: a background refresh runs without the outer
// middlewares, so it keeps the Vary of the entry it replaces; otherwise the
// refreshed page of one language would be stored for all.
func TestRefreshKeepsOuterVary(t *testing.T) {
	h := &counter{delay: 200 * time.Millisecond, fn: func(w http.ResponseWriter, r *http.Request, n int) {
		_, _ = fmt.Fprintf(w, "%s %d", r.Header.Get("Accept-Language"), n)
	}}
	mw := setVary("Accept-Language")(testMiddleware(inmemoryKind.open(t, nil), Options{TTL: 2 * time.Second})(h))
	wantStatus(t, request(mw, "GET", "/r", "Accept-Language", "en"), 200, StatusMiss)
	wantStatus(t, request(mw, "GET", "/r", "Accept-Language", "fr"), 200, StatusMiss)
	// Ask for en until the early refresh has replaced its entry.
	deadline := time.Now().Add(waitFor)
	for {
		w := request(mw, "GET", "/r", "Accept-Language", "en")
		if !strings.HasPrefix(w.Body.String(), "en ") {
			t.Fatalf("en got %q", w.Body)
		}
		if w.Body.String() != "en 1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no early refresh")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if w := request(mw, "GET", "/r", "Accept-Language", "fr"); !strings.HasPrefix(w.Body.String(), "fr ") {
		t.Errorf("fr after the en refresh got %q (%s)", w.Body, w.Header().Get(StatusHeader))
	}
}
