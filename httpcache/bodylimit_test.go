package httpcache

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
)

// A body the cache's MaxValueSize cannot hold is not buffered, not stored
// and not logged as a store error on every response.
func TestMaxBodySizeCappedByMaxValueSize(t *testing.T) {
	c := inmemoryKind.open(t, func(cfg *cachette.Config) { cfg.MaxValueSize = 256 << 10 })
	var logs logSink
	var runs atomic.Int32
	body := strings.Repeat("x", 300<<10) // under MaxBodySize's default, over MaxValueSize
	h := Middleware(c, Options{TTL: time.Minute, Logger: logs.logger()})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		_, _ = w.Write([]byte(body))
	}))
	for i := range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/big", nil))
		if got := rec.Header().Get(StatusHeader); got != StatusMiss || rec.Body.Len() != len(body) {
			t.Fatalf("request %d: status %q, %d bytes; want a MISS with the whole body", i, got, rec.Body.Len())
		}
	}
	if runs.Load() != 2 {
		t.Errorf("handler ran %d times, want 2", runs.Load())
	}
	if s := logs.String(); strings.Contains(s, "level=WARN") {
		t.Errorf("a body over the cache's limit was logged as a store problem:\n%s", s)
	}
	if got, want := bodyLimit(256<<10), int64(192<<10); got != want {
		t.Errorf("bodyLimit(256 KiB) = %d, want %d", got, want)
	}
	if got, want := bodyLimit(64<<20), int64(64<<20-64<<10); got != want {
		t.Errorf("bodyLimit(64 MiB) = %d, want %d", got, want)
	}
}
