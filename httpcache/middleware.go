package httpcache

import (
	"hash/maphash"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
)

// Middleware returns a middleware that caches the responses of the handler
// it wraps in c, as the package documentation describes. It panics when c
// is nil or opts is invalid (see Options), like http.ServeMux panics on a
// bad pattern: a programming error shows at start-up.
func Middleware(c *cachette.Cache, opts Options) func(http.Handler) http.Handler {
	if c == nil {
		panic("httpcache: Middleware needs a non-nil *cachette.Cache")
	}
	cfg := newConfig(opts)
	cfg.MaxBodySize = min(cfg.MaxBodySize, bodyLimit(c.Config().MaxValueSize))
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("httpcache: Middleware wraps a nil http.Handler")
		}
		h := &handler{cache: c, cfg: cfg, log: cfg.Logger, next: next, maxValue: c.Config().MaxValueSize}
		h.hot.seed, h.keys.seed = maphash.MakeSeed(), maphash.MakeSeed()
		_, h.local = backends.Unwrap(c.Backend()).(*inmemory.Store)
		return cfg.observed(h)
	}
}

// bodyLimit is the largest body worth capturing for a cache that stores
// values of up to maxValue bytes: the stored entry also holds the status,
// the headers and the middleware's fields, for which it keeps 64 KiB (or a
// quarter of a small maxValue). A bigger body would only be refused by
// the store (ErrTooLarge) after being buffered.
func bodyLimit(maxValue int) int64 {
	v := int64(maxValue)
	return v - min(64<<10, v/4)
}

type handler struct {
	cache *cachette.Cache
	cfg   *config
	log   *slog.Logger
	next  http.Handler

	// maxValue is the cache's max_value_size: the largest body decoded.
	maxValue int
	// local is true for the in-memory store, whose calls never block: they
	// go without the StoreTimeout context, which costs more than the call.
	local bool
	hot   hotEntries // the decoded responses read last
	keys  keyTable   // the base keys made last

	flights    flightGroup
	refreshing sync.Map     // key -> struct{}: a refresh of key runs in this process
	pausedTo   atomic.Int64 // Unix nanoseconds until which the store is skipped after an error
	lastErr    atomic.Int64 // Unix nanoseconds of the last store error (0: none)
}

// ServeHTTP is the request path, in the order of the files that implement
// it (see "Reading the code" in the package documentation): the request
// policy (policy.go), the key (key.go), the lookup and its freshness
// (lookup.go), the answer from the store (serve.go, refresh.go), or the
// fill of a miss (fill.go, writer.go), whose response policy (response.go,
// rfc9111.go) decides what is stored (store.go).
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if status, skip := h.skip(r); skip {
		h.pass(w, r, status)
		return
	}
	base, ok := h.baseKey(r)
	if !ok {
		h.log.DebugContext(r.Context(), "httpcache: query does not parse, not caching", "path", r.URL.Path)
		h.pass(w, r, StatusMiss)
		return
	}
	found, key, err := h.lookup(r.Context(), base, r)
	if err != nil {
		h.storeError(r.Context(), "reading", key, err)
		h.pass(w, r, StatusMiss)
		return
	}
	if found != nil {
		switch {
		case found.fresh():
			serveHit(w, r, found, StatusHit, "")
			if h.refreshDue(found) {
				h.refreshAfter(w, r, base, key, found)
			}
			return
		case found.inSWR():
			serveHit(w, r, found, StatusStale, "")
			h.refreshAfter(w, r, base, key, found)
			return
		}
		// Stale: revalidated or recomputed by fill, or served stale
		// on a handler error within its stale-if-error window.
	}
	h.fill(w, r, base, key, found)
}
