// # Local tier
//
// With Config.LocalEntries > 0 (key local_entries), a cache keeps up to
// that many decoded values in process memory in front of its store, on
// github.com/maypok86/otter/v2 (W-TinyLFU eviction, lock-free reads). A
// Fetch, FetchWithTTL or GetOrLoad served there makes no store call and no
// decode, and allocates nothing: the value is copied into the caller's
// destination. The copy is shallow: slices, maps and pointers inside a
// value are shared between callers, so treat them as read-only. A value is
// kept under its key and the Go type it was decoded into; a read into
// another type goes to the store.
//
// Typed.FetchMany and Typed.GetOrLoadMany read through it too: the keys it
// holds are served from it (each a local hit), the store is asked, in one
// batch, for the others only, and what the store returns fills the local
// tier under the rules below. GetOrLoadMany's loaded values are stored
// (which drops their local copies, as PutMany does) and fill the local
// tier when next read, as GetOrLoad's do.
//
// A local value is never served after its entry's expiry, nor longer than
// Config.LocalTTL (key local_ttl, default 10s) after it was read from the
// store. Put, PutBytes, PutMany, Clear, ClearNamespace and Flush through a
// cache drop its own local copies at once. Observer.Lookup reports a local
// hit as LookupLocalHit, and Stats counts it in LocalHits.
//
// A tagged value (WithTags) remembers its tags: InvalidateTags of a tag
// drops the local values of that tag, here at once on every store, and
// in other processes on redis and valkey when the server reports the
// change of the tag's version; values of other tags and untagged values
// stay. (Tags are told apart by a hash into 1024 stripes: a tag that
// shares its stripe with an invalidated one loses its local values too,
// which costs a store read, never a stale value.)
//
// Other processes' writes: on the redis and valkey stores, the cache
// follows the server's invalidations (RESP3 client tracking, CLIENT
// TRACKING ON BCAST PREFIX "prefix:", on a dedicated connection to every
// primary of a cluster), so a Put, PutMany, Clear, ClearNamespace, Flush
// or InvalidateTags through any process drops the copies in every other process as soon as the
// server's message arrives (about 0.05 ms after the write on loopback, a
// few ms at p99 on a loaded machine: bench/results/local-tier.md; with an
// Observer, Observer.Invalidated reports it for this process's own
// writes). If such a connection is lost, the whole local tier is dropped
// and nothing is kept locally until tracking is back (reconnected with
// backoff); New fails if tracking cannot be set up (Redis before 6, or a client
// forced to RESP2 on valkey). With Sentinel, tracking asks for the master
// every second and moves to the new one after a failover (dropping the
// local tier meanwhile), without waiting for the old master to close the
// connection. On every other store
// (inmemory, gob, memcached, mongodb, dynamodb), nothing tells a process of
// another's writes: its local copies may be up to LocalTTL old. Choose
// LocalTTL as the staleness you accept there. The same holds on redis
// when reads may go to replicas (a cluster URL with read_only,
// route_by_latency or route_randomly, or such a client given to
// NewFromClient): a read from a replica that lags a write can fill the
// local tier after the write's invalidation went by.
package cachette

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/codecs"
)

// DefaultLocalTTL bounds how long the local tier (Config.LocalEntries)
// serves a value after it was read from the store, unless Config.LocalTTL
// says otherwise.
const DefaultLocalTTL = 10 * time.Second

// MaxLocalTTL is the largest Config.LocalTTL.
const MaxLocalTTL = time.Hour

// localStripes is the number of invalidation counters a local tier keeps
// (a power of two): a fill is dropped when its key's counter moved while
// it read the store.
const localStripes = 256

// localTier keeps decoded values in process memory in front of the store
// (Config.LocalEntries). It is built on otter (W-TinyLFU eviction,
// lock-free reads). Expiry is checked here, on the monotonic clock, rather
// than by otter's per-entry expiry, which costs a hit about three times as
// much (BenchmarkLocalHit): an expired entry is dropped when it is next
// read, or evicted by newer ones.
//
// A value is stored under its key with the Go type it was decoded into (a
// pointer to a value of that type, never handed to a caller, who gets a
// copy); a read with another type misses. Its entry expires at the
// earlier of the stored entry's expiry and LocalTTL after the store was
// read.
//
// Fills race with invalidations: a Fetch may read an old value from the
// store just before a write elsewhere, and learn of it after the write's
// invalidation went by. So every invalidation first moves a counter (the
// key's stripe, or the global one for a reset), then drops the entry; and
// a fill notes the counters before reading the store, stores its value,
// then looks at the counters again and drops what it stored if either
// moved. Whichever order the two run in, an invalidated value does not
// stay.
type localTier struct {
	cache  *otter.Cache[string, *localEntry]
	ttl    time.Duration
	base   time.Time // the origin of deadlines, with its monotonic reading
	seed   maphash.Seed
	global atomic.Uint64
	epochs [localStripes]atomic.Uint64
	// up is false while the store's invalidations are not followed (the
	// tracking connection was lost): nothing is filled then.
	up atomic.Bool
	// coherent is true when the store reports other processes' writes.
	coherent bool
	stop     func() // ends the invalidation subscription; nil without one
	// delays measures the invalidation delay of this process's writes
	// (invaldelay.go); nil without an Observer or without invalidations.
	delays *pendingDelays
	// tagsAll and tagEpochs are the counters of tag invalidations
	// (local_tags.go).
	tagsAll   atomic.Uint64
	tagEpochs [localTagStripes]atomic.Uint64
}

// localEntry is one decoded value.
type localEntry struct {
	typ      reflect.Type // of the destination pointer, *T
	ptr      any          // a *T holding the value; never modified
	deadline int64        // nanoseconds since localTier.base: the local entry expires then
	expires  int64        // Unix nanoseconds: the stored entry expires then
	tags     []tagMark    // of a tagged entry (local_tags.go); nil for an untagged one
}

// localFill is what a fill noted before reading the store.
type localFill struct {
	stripe uint32
	epoch  uint64
	global uint64
	tags   uint64 // localTier.tagsAll (local_tags.go)
	ok     bool
}

func newLocalTier(entries int, ttl time.Duration) *localTier {
	l := &localTier{ttl: ttl, seed: maphash.MakeSeed(), base: time.Now()}
	l.cache = otter.Must(&otter.Options[string, *localEntry]{MaximumSize: entries})
	l.up.Store(true)
	return l
}

// startLocal gives c a local tier when Config.LocalEntries > 0, and
// subscribes it to the store's invalidations when the store reports them
// (backends.Invalidator: redis and valkey).
func (c *Cache) startLocal(ctx context.Context) error {
	if c.cfg.LocalEntries <= 0 {
		return nil
	}
	l := newLocalTier(c.cfg.LocalEntries, c.cfg.LocalTTL)
	if inv, ok := invalidator(c.store); ok {
		if c.cfg.Observer != nil {
			l.delays = newPendingDelays(c.cfg.Observer) // invaldelay.go
		}
		stop, err := inv.SubscribeInvalidations(ctx, backends.InvalidationHandler{
			Keys: func(keys []string) {
				if l.delays != nil {
					defer l.delays.arrived(keys)
				}
				l.invalidateKeys(keys) // a tag version key drops that tag's values (local_tags.go)
			},
			Reset: func() {
				l.reset()
				if l.delays != nil {
					l.delays.forgetAll()
				}
			},
			Lost: func() {
				l.up.Store(false)
				l.reset()
				if l.delays != nil {
					l.delays.forgetAll()
				}
				c.log.Warn("cachette: local tier dropped: the store's invalidations are not followed until the connection is back", "backend", c.cfg.Backend)
			},
			Ready: func() {
				l.reset()
				l.up.Store(true)
			},
		})
		if err != nil {
			l.cache.StopAllGoroutines()
			return fmt.Errorf("cachette: local tier (%s): cannot follow the store's invalidations: %w", c.cfg.Backend, err)
		}
		l.stop, l.coherent = stop, true
	}
	c.local = l
	return nil
}

// invalidator finds the store's Invalidator, under decorators that have an
// Unwrap() backends.Backend method (an Observer's).
func invalidator(store backends.Backend) (backends.Invalidator, bool) {
	for store != nil {
		if inv, ok := store.(backends.Invalidator); ok {
			return inv, true
		}
		u, ok := store.(interface{ Unwrap() backends.Backend })
		if !ok {
			break
		}
		store = u.Unwrap()
	}
	return nil, false
}

func (l *localTier) stripe(key string) uint32 {
	return uint32(maphash.String(l.seed, key)) & (localStripes - 1)
}

// get returns the *T stored for key, typ being *T's type, or false.
// For the typed API: p.(*T) is never nil and must not be modified.
func (l *localTier) get(key string, typ reflect.Type) (any, bool) {
	e, ok := l.lookup(key)
	if !ok || e.typ != typ {
		return nil, false
	}
	return e.ptr, true
}

// lookup returns the live entry of key.
func (l *localTier) lookup(key string) (*localEntry, bool) {
	e, ok := l.cache.GetIfPresent(key)
	if !ok {
		return nil, false
	}
	if int64(time.Since(l.base)) >= e.deadline || (e.tags != nil && l.tagsMoved(e.tags)) { // tags: local_tags.go
		l.cache.Invalidate(key)
		return nil, false
	}
	return e, true
}

// begin notes the counters before a fill reads the store.
func (l *localTier) begin(key string) localFill {
	if !l.up.Load() {
		return localFill{}
	}
	s := l.stripe(key)
	return localFill{stripe: s, epoch: l.epochs[s].Load(), global: l.global.Load(), tags: l.tagsAll.Load(), ok: true}
}

// fill stores ptr (a *T, typ its type, not to be modified by anyone
// afterwards) for key, read from the store at read (before the store call)
// with the stored entry expiring at expires and the tag block tags ("" for
// an untagged entry), unless an invalidation came since begin.
func (l *localTier) fill(f localFill, key string, typ reflect.Type, ptr any, read, expires time.Time, tags string) {
	if !f.ok {
		return
	}
	deadline := read.Add(l.ttl)
	if expires.Before(deadline) {
		deadline = expires
	}
	if !time.Now().Before(deadline) {
		return
	}
	e := &localEntry{typ: typ, ptr: ptr, deadline: int64(deadline.Sub(l.base)), expires: expires.UnixNano()}
	if tags != "" {
		e.tags = l.markTags(tags) // before Set: see local_tags.go
	}
	l.cache.Set(key, e)
	if l.epochs[f.stripe].Load() != f.epoch || l.global.Load() != f.global || !l.up.Load() ||
		(e.tags != nil && l.tagsAll.Load() != f.tags) {
		l.cache.Invalidate(key)
	}
}

// invalidate drops key (after the store was written).
func (l *localTier) invalidate(key string) {
	l.epochs[l.stripe(key)].Add(1)
	l.cache.Invalidate(key)
}

func (l *localTier) invalidateKeys(keys []string) {
	for _, k := range keys {
		if strings.HasPrefix(k, tagKeyPrefix) {
			l.invalidateTagKey(k) // a tag's version changed (local_tags.go)
		}
		// Also when k looks like a version key: a user's key may start
		// with tagKeyPrefix too, and its local copy must go.
		l.invalidate(k)
	}
}

// invalidatePrefix drops every key that starts with prefix.
func (l *localTier) invalidatePrefix(prefix string) {
	l.global.Add(1)
	for k := range l.cache.Keys() {
		if strings.HasPrefix(k, prefix) {
			l.cache.Invalidate(k)
		}
	}
}

// reset drops everything.
func (l *localTier) reset() {
	l.global.Add(1)
	l.cache.InvalidateAll()
}

func (l *localTier) close() {
	if l.stop != nil {
		l.stop()
	}
	l.reset()
	l.cache.StopAllGoroutines()
}

// localFetch serves a Fetch or FetchWithTTL from the local tier; false
// means the store must be read. A hit is reported to the Observer here.
func (c *Cache) localFetch(ctx context.Context, key string, dst any, ttl *time.Duration) bool {
	if c.isClosed() {
		return false
	}
	e, ok := c.local.lookup(key)
	if !ok {
		return false
	}
	var left time.Duration
	if ttl != nil {
		if left = time.Duration(e.expires - time.Now().UnixNano()); left <= 0 {
			return false
		}
	}
	if !e.copyTo(dst) {
		return false
	}
	if ttl != nil {
		*ttl = left
	}
	c.localHit(ctx, key)
	return true
}

// copyTo copies the value of e into dst, a non-nil pointer of e's type,
// and reports whether it did. *string and *[]byte (the vanilla codec's
// types) are copied without reflection.
func (e *localEntry) copyTo(dst any) bool {
	switch d := dst.(type) {
	case *string:
		p, ok := e.ptr.(*string)
		if ok && d != nil {
			*d = *p
		}
		return ok && d != nil
	case *[]byte:
		p, ok := e.ptr.(*[]byte)
		if ok && d != nil {
			*d = *p
		}
		return ok && d != nil
	}
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Type() != e.typ {
		return false
	}
	rv.Elem().Set(reflect.ValueOf(e.ptr).Elem())
	return true
}

// localHit reports a hit of the local tier.
func (c *Cache) localHit(ctx context.Context, key string) {
	c.stats.localHit()
	if o := c.cfg.Observer; o != nil {
		o.Lookup(ctx, key, LookupLocalHit)
	}
}

// localFetchStore is fetch through the local tier: it reads the store,
// decodes into a new value, keeps it in the local tier and copies it to
// dst (a non-nil pointer).
func (c *Cache) localFetchStore(ctx context.Context, key string, dst any, wantTTL bool) (time.Duration, error) {
	if c.isClosed() {
		return 0, ErrClosed
	}
	f := c.local.begin(key)
	read := time.Now()
	// fetchPayload, keeping the header for its tags.
	raw, now, err := c.getTimed(ctx, key, true) // (storeclock.go)
	if err != nil {
		return 0, c.wrap("fetch", err)
	}
	h, payload, left, err := c.openEntryHeader(ctx, key, raw, c.codec.ID(), true, now)
	if err != nil {
		return 0, err
	}
	rv := reflect.ValueOf(dst)
	fresh := reflect.New(rv.Type().Elem())
	if err := c.codec.Decode(payload, fresh.Interface()); err != nil {
		if errors.Is(err, codecs.ErrType) {
			return 0, fmt.Errorf("cachette fetch %q: %w", key, err)
		}
		c.dropCorrupt(ctx, key, err)
		return 0, ErrNotFound
	}
	rv.Elem().Set(fresh.Elem())
	// read+left is at or before the stored expiry (left was measured later).
	c.local.fill(f, key, rv.Type(), fresh.Interface(), read, read.Add(left), h.tags)
	if !wantTTL {
		return 0, nil
	}
	return left, nil
}

// localInvalidate drops key from the local tier, if there is one.
func (c *Cache) localInvalidate(key string) {
	if c.local != nil {
		c.local.invalidate(key)
	}
}

// parseLocalTTL reads the local_ttl key: a Go duration ("30s", "250ms")
// or whole seconds ("30").
func parseLocalTTL(s string) (time.Duration, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		d := time.Duration(n) * time.Second
		return d, n > 0 && d <= MaxLocalTTL
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= time.Millisecond && d <= MaxLocalTTL
}

func localTTLProblem() problem {
	return problem{"local_ttl", `The "local_ttl" value must be a duration from 1ms to 1h ("30s", "250ms") or whole seconds`}
}

func localEntriesProblem() problem {
	return problem{"local_entries", `The "local_entries" value must be a whole number, 0 or more`}
}

// localProblems checks the local tier's fields.
func (c Config) localProblems() []problem {
	var ps []problem
	if c.LocalEntries < 0 {
		ps = append(ps, localEntriesProblem())
	}
	if c.LocalTTL < 0 || (c.LocalTTL == 0 && c.set["local_ttl"]) || (c.LocalTTL != 0 && (c.LocalTTL < time.Millisecond || c.LocalTTL > MaxLocalTTL)) {
		ps = append(ps, localTTLProblem())
	}
	return ps
}

// loadLocal reads the local tier's keys for load; false if key is not one.
func (c *Config) loadLocal(key, value string, ps *[]problem, bad map[string]bool) bool {
	switch key {
	case "local_entries":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			*ps = append(*ps, localEntriesProblem())
			bad[key] = true
		}
		c.LocalEntries = n
	case "local_ttl":
		d, ok := parseLocalTTL(value)
		if !ok {
			*ps = append(*ps, localTTLProblem())
			bad[key] = true
		}
		c.LocalTTL = d
	default:
		return false
	}
	return true
}
