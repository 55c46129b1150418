package httpcache

import (
	"net/http"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
)

// wrapping is an Observer whose WrapStore decorates the store, as
// otelcache's does.
type wrapping struct{ cachette.NopObserver }

type decorated struct{ backends.Backend }

func (d decorated) Unwrap() backends.Backend { return d.Backend }

func (wrapping) WrapStore(_ string, s backends.Backend) backends.Backend { return decorated{s} }

// TestMiddlewareSeesInMemoryUnderObserver: the in-memory store's fast
// path (no per-call timeout contexts) is kept when an Observer decorates
// the store.
func TestMiddlewareSeesInMemoryUnderObserver(t *testing.T) {
	c, err := cachette.NewWithBackend(inmemory.New(inmemory.Options{}), cachette.Config{Observer: wrapping{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, ok := Middleware(c, Options{TTL: time.Minute})(http.NotFoundHandler()).(*handler)
	if !ok {
		t.Skip("Middleware no longer returns *handler without OnServe")
	}
	if !h.local {
		t.Fatal("the in-memory store under an Observer's decorator was not recognised")
	}
}
