package cachette

import (
	"context"
	"errors"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/codecs"
)

// Observer is told what a Cache does, for metrics and traces; set it in
// Config.Observer. The package otelcache (its own module, so that nothing
// of OpenTelemetry is linked unless it is imported) implements it. With no
// Observer a cache makes no call and no allocation for it.
//
// Its methods are called on the goroutines of the cache's callers (and of
// GetOrLoad's loads), concurrently: they must be safe for concurrent use,
// and quick. Implementations should embed NopObserver, so that methods
// added to Observer in later versions do nothing until they are written.
type Observer interface {
	// WrapStore is called once by New and NewWithBackend with the store
	// the cache is about to use and the name of its backend ("redis",
	// "inmemory", ...); the cache uses the store it returns. An observer
	// that times store calls returns a decorator of store; one that does
	// not returns store.
	WrapStore(backend string, store backends.Backend) backends.Backend

	// Lookup reports the outcome of a read by key: once per Fetch and
	// FetchWithTTL, and once per GetOrLoad (its first read; a GetOrLoad
	// that misses is then told by LoadStart and LoadDone). FetchBytes is
	// not reported: it is httpcache's raw read, several per request (a
	// vary marker, tag generations, a second look under the fill lock),
	// whose outcome per request goes to httpcache.Options.OnServe. A call
	// that fails before reading (ErrClosed, a dst or type the codec cannot
	// hold) is not reported.
	Lookup(ctx context.Context, key string, result LookupResult)

	// LoadStart is called before a GetOrLoad load runs; the load runs on
	// the context it returns (a context carrying a span, say). Loads that
	// concurrent GetOrLoad calls share run, and are reported, once.
	LoadStart(ctx context.Context, key string) context.Context
	// LoadDone is called when that load returns or panics, with the
	// context LoadStart returned, how long the load ran and its error
	// (ErrLoadPanicked for a panic).
	LoadDone(ctx context.Context, key string, elapsed time.Duration, err error)

	// Invalidated reports the delay of the invalidation path for this
	// process's own writes: with a local tier (Config.LocalEntries) on a
	// store that reports invalidations (redis, valkey), each Put,
	// PutBytes, PutMany entry, negative marker and Clear of a live entry
	// notes when it was sent, and the store's invalidation of that key,
	// pushed back to this process as to every other, is reported with the
	// time since then, once per write. Other processes learn of the write
	// through the same push from the same server. The servers' messages
	// carry no write time, so other processes' writes are not measured
	// (bench/results/local-tier.md has the delay between two caches). It
	// is called on the goroutine that follows the invalidations: keep it
	// quick. Without a local tier, or on other stores, it is not called.
	Invalidated(ctx context.Context, delay time.Duration)
}

// LookupResult is the outcome of a read, as reported to Observer.Lookup.
type LookupResult uint8

// The outcomes of a read.
const (
	// LookupHit: a live entry was found in the store.
	LookupHit LookupResult = iota + 1
	// LookupMiss: no entry, an expired one, or one that could not be
	// decoded (removed and logged).
	LookupMiss
	// LookupError: the store failed (the caller got its error).
	LookupError
	// LookupLocalHit: served by the local tier (Config.LocalEntries)
	// without a store call.
	LookupLocalHit
	// LookupStale: an expired entry served by GetOrLoad while it is
	// reloaded in the background (WithStaleWhileRevalidate) or because
	// its load failed (WithStaleIfError; reported after LoadDone).
	LookupStale
)

var lookupResultNames = [...]string{"", "hit", "miss", "error", "local_hit", "stale"}

// String returns "hit", "miss", "error", "local_hit" or "stale".
func (r LookupResult) String() string {
	if int(r) < len(lookupResultNames) && r != 0 {
		return lookupResultNames[r]
	}
	return "unknown"
}

// NopObserver is an Observer that does nothing; embed it in an Observer
// to implement only some of its methods.
type NopObserver struct{}

var _ Observer = NopObserver{}

// WrapStore returns store.
func (NopObserver) WrapStore(_ string, store backends.Backend) backends.Backend { return store }

// Lookup does nothing.
func (NopObserver) Lookup(context.Context, string, LookupResult) {}

// LoadStart returns ctx.
func (NopObserver) LoadStart(ctx context.Context, _ string) context.Context { return ctx }

// LoadDone does nothing.
func (NopObserver) LoadDone(context.Context, string, time.Duration, error) {}

// Invalidated does nothing.
func (NopObserver) Invalidated(context.Context, time.Duration) {}

// observeLookup reports the outcome err of a read of key, if an observer
// is set and the read reached the store.
func (c *Cache) observeLookup(ctx context.Context, key string, err error) {
	c.stats.countLookup(err) // Stats (stats.go)
	o := c.cfg.Observer
	if o == nil {
		return
	}
	switch {
	case err == nil:
		o.Lookup(ctx, key, LookupHit)
	case errors.Is(err, ErrNotFound):
		o.Lookup(ctx, key, LookupMiss)
	case errors.Is(err, ErrClosed), errors.Is(err, codecs.ErrType):
		// Not a read of the store.
	default:
		o.Lookup(ctx, key, LookupError)
	}
}

// runLoad calls load, telling the observer (there must be one) when it
// starts and ends, panics included: a panic goes on to the flight, which
// turns it into a *LoadPanicError.
func runLoad[T any](ctx context.Context, o Observer, key string, load func(context.Context) (T, error)) (v T, err error) {
	lctx := o.LoadStart(ctx, key)
	start := time.Now()
	returned := false
	defer func() {
		if !returned {
			o.LoadDone(lctx, key, time.Since(start), ErrLoadPanicked)
		}
	}()
	v, err = load(lctx)
	returned = true
	o.LoadDone(lctx, key, time.Since(start), err)
	return v, err
}
