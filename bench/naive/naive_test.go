package naive_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette/bench/naive"
)

func TestCachesWithoutCoalescing(t *testing.T) {
	var calls atomic.Int64
	release := make(chan struct{})
	h := naive.Middleware(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-release
		io.WriteString(w, "body")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	// Three concurrent misses all reach the handler: nothing coalesces them.
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(srv.URL + "/x")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
	}
	for calls.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()

	// Then the entry is served from the cache.
	resp, err := http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := resp.Header.Get("X-Cache-Status"); got != "HIT" || string(body) != "body" {
		t.Errorf("status %q body %q, want HIT and %q", got, body, "body")
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("handler called %d times, want 3", n)
	}
}
