package cachette

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/cachette-go/cachette/codecs"
)

// Stale serving.
//
// An entry stored with a stale window (WithStaleWhileRevalidate or
// WithStaleIfError, on Put or GetOrLoad) is kept by the store for its TTL
// plus the larger window; its header keeps the logical expiry, and the
// window in its extension block (entry_ext.go), so that Fetch and
// FetchWithTTL, which read the clock for such entries, never return it
// past that expiry. Only GetOrLoad returns it then, and only inside the
// window its own options give.

// WithStaleWhileRevalidate lets GetOrLoad, for d after an entry expired,
// return the expired value at once and reload it in the background: one
// reload per key at a time in this process, and across processes through
// the store's lock (Cache.Lock), so that a hot key is reloaded once when
// it expires, not by every caller. On Put (and on the values GetOrLoad
// stores) it keeps the entry in the store d longer than its TTL; Fetch
// and FetchWithTTL never return it past its TTL.
//
// A background reload runs on a context with the values of the caller's
// but not its cancellation; its errors are logged, and the expired value
// is served until the window ends. Close cancels the context of a
// background reload still running.
func WithStaleWhileRevalidate(d time.Duration) Option {
	return func(o *callOptions) {
		if d > 0 {
			o.swr = d
		}
	}
}

// WithStaleIfError lets GetOrLoad, for d after an entry expired, return
// the expired value with a nil error when load fails (an error that does
// not wrap ErrNotFound, or a panic; a not-found means the value is gone).
// On Put (and on the values GetOrLoad stores) it keeps the entry in the
// store d longer than its TTL; Fetch and FetchWithTTL never return it past
// its TTL. With WithStaleWhileRevalidate too, the expired value is served
// at once inside the revalidate window, then on errors only.
func WithStaleIfError(d time.Duration) Option {
	return func(o *callOptions) {
		if d > 0 {
			o.sie = d
		}
	}
}

// refreshLockTTL is how long the store lock of a background reload is
// held at most: a reload that runs longer may be run again by another
// process, which costs a load, never a wrong value.
const refreshLockTTL = 30 * time.Second

// refreshLockName is the name of the store lock of key's background reload.
func refreshLockName(key string) string { return "cachette:refresh:" + key }

// writePlan is what the entries of one write share: their header (but the
// codec) and the store's expiry. PutMany makes one plan for all its
// entries (tag versions are read once), then encodes each with
// c.encodeEntry.
type writePlan struct {
	h           entryHeader
	storeExpiry time.Time
}

// planWrite returns the plan of a write with o: the expiry from o.ttl (in
// milliseconds, the header's unit; the store gets the same instant), the
// stale window, and the versions of o.tags, read or created in the store.
// Its errors are ready to return (store errors wrapped by Cache.wrap).
func (c *Cache) planWrite(ctx context.Context, o callOptions) (writePlan, error) {
	now := time.Now()
	expires := time.UnixMilli(now.Add(o.ttl).UnixMilli())
	w := writePlan{h: entryHeader{expiresAt: expires}, storeExpiry: expires}
	if win := min(max(o.swr, o.sie), maxStaleWindow).Truncate(time.Millisecond); win > 0 {
		w.h.ext = true
		w.h.staleWindow = win
		w.storeExpiry = expires.Add(win)
	}
	if !o.tagsStamped {
		var err error
		if o, err = c.stampTags(ctx, o, w.storeExpiry.Sub(now)); err != nil {
			return w, err
		}
	}
	if o.tagBlock != "" {
		w.h.ext = true
		w.h.tags = o.tagBlock
	}
	if lt := storedLoadTime(o); lt > 0 { // WithEarlyRefresh (xfetch.go)
		w.h.ext = true
		w.h.loadTime = lt
	}
	return w, nil
}

// stampTags returns o with the versions of its tags in o.tagBlock.
func (c *Cache) stampTags(ctx context.Context, o callOptions, life time.Duration) (callOptions, error) {
	if len(o.tags) == 0 {
		return o, nil
	}
	block, err := c.tagBlockFor(ctx, o.tags, life)
	if err != nil {
		return o, err
	}
	o.tagBlock, o.tagsStamped = block, true
	return o, nil
}

// stampBeforeLoad is stampTags for a GetOrLoad, before its load runs.
func (c *Cache) stampBeforeLoad(ctx context.Context, o callOptions) (callOptions, error) {
	return c.stampTags(ctx, o, o.ttl+max(o.swr, o.sie))
}

// readEntry reads the entry under key and checks it: its bytes, its codec
// and the versions of its tags. It returns the entry even past its expiry
// (an entry with a stale window), and negative markers: the callers
// decide. Undecodable entries are dropped; they, like entries of
// invalidated tags, are ErrNotFound.
func (c *Cache) readEntry(ctx context.Context, key string, codecID byte) (entryHeader, []byte, error) {
	raw, _, err := c.store.Get(ctx, key)
	if err != nil {
		return entryHeader{}, nil, c.wrap("fetch", err)
	}
	return c.checkEntry(ctx, key, raw, codecID)
}

// checkEntry is readEntry on bytes already read: it checks the signature
// (before anything is decoded), decodes raw, checks its codec and its
// tags' versions.
func (c *Cache) checkEntry(ctx context.Context, key string, raw []byte, codecID byte) (entryHeader, []byte, error) {
	raw, err := c.verifySigned(key, raw) // the tag is checked before anything is decoded (sign.go)
	if err != nil {
		c.dropCorrupt(ctx, key, err)
		return entryHeader{}, nil, ErrNotFound
	}
	h, payload, err := decodeEntry(raw, c.cfg.MaxValueSize)
	if err != nil {
		c.dropCorrupt(ctx, key, err)
		return h, nil, ErrNotFound
	}
	if h.codec != codecID && !h.negative {
		c.dropCorrupt(ctx, key, fmt.Errorf("%w: written with codec ID %d, read with %d", errCorruptEntry, h.codec, codecID))
		return h, nil, ErrNotFound
	}
	if h.tags != "" {
		ok, err := c.tagsCurrent(ctx, h.tags)
		if err != nil {
			return h, nil, err
		}
		if !ok {
			return h, nil, ErrNotFound
		}
	}
	return h, payload, nil
}

// readState is what GetOrLoad's read found.
type readState uint8

const (
	readMiss            readState = iota // nothing usable (or an error)
	readFresh                            // a live value, decoded
	readNegative                         // a negative marker, and WithNegativeTTL
	readStaleRevalidate                  // an expired value, decoded, inside the WithStaleWhileRevalidate window
	readStaleIfError                     // an expired value, decoded, inside the WithStaleIfError window only
	readEarlyRefresh                     // a live value, decoded, to reload in the background (WithEarlyRefresh, xfetch.go)
)

// readForLoad is GetOrLoad's read of key into dst with the options o. It
// returns the entry's expiry too (for readEarlyRefresh).
func (c *Cache) readForLoad(ctx context.Context, key string, dst any, o callOptions) (readState, time.Time, error) {
	var never time.Time
	if c.isClosed() {
		return readMiss, never, ErrClosed
	}
	h, payload, err := c.readEntry(ctx, key, c.codec.ID())
	if err != nil {
		return readMiss, never, err
	}
	if h.negative {
		if o.negTTL > 0 {
			return readNegative, never, nil
		}
		return readMiss, never, ErrNotFound
	}
	st := readFresh
	if h.staleWindow > 0 {
		if late := time.Since(h.expiresAt); late >= 0 {
			switch {
			case late < o.swr:
				st = readStaleRevalidate
			case late < o.sie:
				st = readStaleIfError
			default:
				return readMiss, never, ErrNotFound
			}
		}
	}
	if st == readFresh && c.earlyRefreshDue(h, o) {
		st = readEarlyRefresh
	}
	if err := c.codec.Decode(payload, dst); err != nil {
		if errors.Is(err, codecs.ErrType) {
			return readMiss, never, fmt.Errorf("cachette fetch %q: %w", key, err)
		}
		c.dropCorrupt(ctx, key, err)
		return readMiss, never, ErrNotFound
	}
	return st, h.expiresAt, nil
}

// refreshInBackground reloads key on a goroutine of its own, unless this
// process already does, or another holds the store's refresh lock of key.
// A store whose lock fails (not one that is taken) reloads anyway: a
// duplicate load costs less than a value never refreshed.
func refreshInBackground[T any](ctx context.Context, c *Cache, key string, load func(context.Context) (T, error), o callOptions) {
	if _, busy := c.refreshing.LoadOrStore(key, struct{}{}); busy {
		return
	}
	// The refresh outlives its caller but not the cache: Close ends its
	// context (and so its load's, unless a foreground caller waits for it).
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-c.closed:
			cancel()
		case <-bg.Done():
		}
	}()
	go func() {
		defer cancel()
		defer c.refreshing.Delete(key)
		name := refreshLockName(key)
		token, ok, err := c.Lock(bg, name, refreshLockTTL)
		switch {
		case errors.Is(err, ErrClosed):
			return
		case err != nil:
			c.log.WarnContext(bg, "cachette: refresh lock failed, reloading without it", "backend", c.cfg.Backend, "key", key, "error", err)
		case !ok:
			return // another process reloads it
		default:
			defer func() {
				if _, err := c.Unlock(bg, name, token); err != nil && !errors.Is(err, ErrClosed) {
					c.log.WarnContext(bg, "cachette: refresh unlock failed", "backend", c.cfg.Backend, "key", key, "error", err)
				}
			}()
		}
		_, err, _ = c.flights.do(bg, flightKey{reflect.TypeFor[T](), key}, loadFlight(c, key, load, o))
		if err != nil && !errors.Is(err, ErrClosed) && !c.isClosed() {
			c.log.WarnContext(bg, "cachette: background reload failed, serving the stale value", "backend", c.cfg.Backend, "key", key, "error", err)
		}
	}()
}

// serveStaleOnError reports whether GetOrLoad, which holds an expired
// value inside its WithStaleIfError window, returns it after its load
// ended with err: when the load failed, not when it succeeded, found
// nothing (ErrNotFound) or the caller left. It reports the lookup as
// stale when it does.
func (c *Cache) serveStaleOnError(ctx context.Context, key string, err error) bool {
	if err == nil || errors.Is(err, ErrNotFound) || ctx.Err() != nil {
		return false
	}
	c.log.WarnContext(ctx, "cachette: load failed, serving the stale value", "backend", c.cfg.Backend, "key", key, "error", err)
	c.observeStale(ctx, key)
	return true
}

// observeStale counts and reports an expired value that GetOrLoad served.
func (c *Cache) observeStale(ctx context.Context, key string) {
	c.stats.add(statStaleServed)
	if o := c.cfg.Observer; o != nil {
		o.Lookup(ctx, key, LookupStale)
	}
}
