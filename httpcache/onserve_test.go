package httpcache

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestOnServe: Options.OnServe is told, once per request, the status the
// client got in X-Cache-Status.
func TestOnServe(t *testing.T) {
	var mu sync.Mutex
	var got []string
	opts := Options{TTL: time.Minute, BypassValue: "s3cret", OnServe: func(r *http.Request, status string) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+status)
		mu.Unlock()
	}}
	h := Middleware(inmemoryKind.open(t, nil), opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Etag", `"v1"`)
		_, _ = w.Write([]byte("hello"))
	}))
	steps := []struct {
		method, path string
		header       http.Header
		want         string
	}{
		{"GET", "/a", nil, StatusMiss},
		{"GET", "/a", nil, StatusHit},
		{"HEAD", "/a", nil, StatusHit},
		{"GET", "/a", http.Header{"If-None-Match": {`"v1"`}}, StatusHit}, // 304 from the cache
		{"GET", "/a", http.Header{"X-Cache-Bypass": {"s3cret"}}, StatusBypass},
		{"GET", "/a", http.Header{"Cache-Control": {"no-cache"}}, StatusNoCache},
		{"POST", "/a", nil, StatusNoCache},
		{"GET", "/a", http.Header{"Authorization": {"Bearer x"}}, StatusMiss},
		{"GET", "/b", nil, StatusMiss},
	}
	var want []string
	for _, s := range steps {
		r := httptest.NewRequest(s.method, s.path, nil)
		for k, vs := range s.header {
			r.Header[k] = vs
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if sent := w.Result().Header.Get(StatusHeader); sent != s.want {
			t.Fatalf("%s %s %v: sent %s %q, want %q", s.method, s.path, s.header, StatusHeader, sent, s.want)
		}
		want = append(want, s.method+" "+s.path+" "+s.want)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("OnServe calls:\n%q\nwant\n%q", got, want)
	}
}
