package cachette

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/codecs"
)

// Batches: FetchMany, PutMany and GetOrLoadMany of Typed read and write
// through the store's backends.Batcher (one round trip, or one per node or
// per request limit) or, for a store without it, through bounded-parallel
// single calls. Each entry obeys the rules of Fetch and Put: a corrupt one
// is dropped and absent, never an error of the whole batch.

// errNotLoaded is the result of a key that a GetOrLoadMany load did not
// return. A GetOrLoad that joined that load loads the key itself.
var errNotLoaded = fmt.Errorf("%w: the batch load did not return the key", ErrNotFound)

// maxRejoins bounds how often a GetOrLoad or GetOrLoadMany joins another
// batch load that leaves its key out before it gives up (ErrNotFound for
// GetOrLoad, an absent key for GetOrLoadMany). Its own load always ends
// the loop; another batch load must start in between for it to repeat.
const maxRejoins = 3

func (c *Cache) storeGetMany(ctx context.Context, keys []string) (map[string]backends.Item, error) {
	if b, ok := c.store.(backends.Batcher); ok {
		return b.GetMany(ctx, keys)
	}
	return backends.GetManyParallel(ctx, c.store, keys, 0)
}

func (c *Cache) storeSetMany(ctx context.Context, entries []backends.Entry) error {
	if b, ok := c.store.(backends.Batcher); ok {
		return b.SetMany(ctx, entries)
	}
	return backends.SetManyParallel(ctx, c.store, entries, 0)
}

// fetchMany reads and decodes keys (distinct), reporting each lookup to
// the observer (and Stats) when observe is set. Entries that do not decode
// are dropped and left out. With a local tier, the keys it holds are
// served from it and the others read from the store fill it, as Fetch
// does (local_batch.go). When the store cannot be read, the error comes
// with the values the local tier served.
func fetchMany[T any](ctx context.Context, c *Cache, keys []string, observe bool) (map[string]T, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	out := make(map[string]T, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	var (
		fills []localFill // one per key, with a local tier
		read  time.Time
	)
	if c.local != nil { // local tier (local_batch.go)
		if keys = localFetchMany(ctx, c, keys, out, observe); len(keys) == 0 {
			return out, nil
		}
		fills, read = c.local.beginMany(keys), time.Now()
	}
	items, err := c.storeGetMany(ctx, keys)
	if err != nil {
		err = c.wrap("fetch many", err)
		if observe {
			for _, k := range keys {
				c.observeLookup(ctx, k, err)
			}
		}
		return out, err // out: the local tier's values, which GetOrLoadMany keeps
	}
	// Decoding costs more than the round trip for a large batch: spread
	// it over the CPUs.
	codecID := c.codec.ID()
	vals := make([]T, len(keys))
	errs := make([]error, len(keys))
	decode := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			k := keys[i]
			errs[i] = ErrNotFound
			if it, ok := items[k]; ok {
				if fills != nil {
					errs[i] = localDecodeItem(ctx, c, fills[i], read, k, it.Value, codecID, &vals[i])
				} else {
					errs[i] = c.decodeItem(ctx, k, it.Value, codecID, &vals[i])
				}
			}
			if observe && !errors.Is(errs[i], codecs.ErrType) {
				c.observeLookup(ctx, k, errs[i])
			}
		}
	}
	parts := min(runtime.GOMAXPROCS(0), len(items)/decodeChunk)
	if parts <= 1 {
		decode(0, len(keys))
	} else {
		var wg sync.WaitGroup
		per := (len(keys) + parts - 1) / parts
		for lo := 0; lo < len(keys); lo += per {
			wg.Add(1)
			go func() {
				defer wg.Done()
				decode(lo, min(lo+per, len(keys)))
			}()
		}
		wg.Wait()
	}
	for i, k := range keys {
		switch err := errs[i]; {
		case err == nil:
			out[k] = vals[i]
		case errors.Is(err, codecs.ErrType):
			return nil, err
		}
	}
	return out, nil
}

// decodeChunk is the fewest entries fetchMany decodes on a goroutine of
// its own.
const decodeChunk = 16

// decodeItem decodes the stored bytes raw of key into dst as Fetch does:
// ErrNotFound for an entry dropped as corrupt, or an error wrapping
// codecs.ErrType.
func (c *Cache) decodeItem(ctx context.Context, key string, raw []byte, codecID byte, dst any) error {
	payload, _, err := c.openEntry(ctx, key, raw, codecID, false)
	if err != nil {
		return err
	}
	if err := c.codec.Decode(payload, dst); err != nil {
		if errors.Is(err, codecs.ErrType) {
			return fmt.Errorf("cachette fetch %q: %w", key, err)
		}
		c.dropCorrupt(ctx, key, err)
		return ErrNotFound
	}
	return nil
}

// putMany encodes and stores items; an item that cannot be encoded or
// stored does not stop the others, and the error joins one error per
// failed item.
func putMany[T any](ctx context.Context, c *Cache, items map[string]T, opts []Option) error {
	if c.isClosed() {
		return ErrClosed
	}
	return putManyOpts(ctx, c, items, c.callOpts(opts))
}

// putManyOpts is putMany with the call options applied.
func putManyOpts[T any](ctx context.Context, c *Cache, items map[string]T, o callOptions) error {
	if c.isClosed() {
		return ErrClosed
	}
	// One plan for the batch: its expiry, stale window and tag versions (stale.go).
	w, err := c.planWrite(ctx, o)
	if err != nil {
		return fmt.Errorf("cachette put many: %w", err)
	}
	codecID := c.codec.ID()
	entries := make([]backends.Entry, 0, len(items))
	var errs []error
	for k, v := range items {
		payload, err := c.codec.Encode(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("cachette put %q: %w", k, err))
			continue
		}
		buf, err := c.sealEntry(k, w, codecID, payload, !o.uncompressed)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		entries = append(entries, backends.Entry{Key: k, Value: buf, ExpiresAt: w.storeExpiry})
	}
	if len(entries) > 0 {
		for _, e := range entries {
			c.noteWrite(e.Key) // invalidation delay (invaldelay.go)
		}
		err := c.storeSetMany(ctx, entries)
		for _, e := range entries {
			c.wrote(e.Key, err == nil) // local tier (local.go, invaldelay.go): after the write, even a failed one
		}
		if err != nil {
			errs = append(errs, c.wrap("put many", err))
		}
	}
	return errors.Join(errs...)
}

// getOrLoadMany is Typed.GetOrLoadMany; the type is checked.
func getOrLoadMany[T any](ctx context.Context, c *Cache, keys []string, load func(context.Context, []string) (map[string]T, error), opts []Option) (map[string]T, error) {
	keys = backends.Distinct(keys)
	out, err := fetchMany[T](ctx, c, keys, true)
	firstFailed := false
	switch {
	case err == nil:
	case errors.Is(err, ErrClosed), errors.Is(err, codecs.ErrType):
		return nil, err
	default:
		firstFailed = true // a store error: not read again, nothing written
		c.log.WarnContext(ctx, "cachette: fetch many failed, loading", "backend", c.cfg.Backend, "keys", len(keys), "error", err)
		if out == nil { // else the local tier's values (local_batch.go)
			out = make(map[string]T, len(keys))
		}
	}
	var missing []string
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			missing = append(missing, k)
		}
	}
	typ := reflect.TypeFor[T]()
	fn := func(ctx context.Context, owned []string) (map[string]any, error) {
		// Other flights may have stored some while this one queued (not
		// worth a second store error when the read just failed).
		var found map[string]T
		readFailed := firstFailed
		if !readFailed {
			var err error
			found, err = fetchMany[T](ctx, c, owned, false)
			if err != nil {
				readFailed, found = true, nil
			}
		}
		var still []string
		for _, k := range owned {
			if _, ok := found[k]; !ok {
				still = append(still, k)
			}
		}
		res := make(map[string]any, len(owned))
		for k, v := range found {
			res[k] = v
		}
		if len(still) == 0 {
			return res, nil
		}
		// Tag versions are taken before the load, as GetOrLoad does, so
		// that an InvalidateTags while it runs makes its values misses.
		o, serr := c.callOpts(opts), error(nil)
		if !readFailed {
			o, serr = c.stampBeforeLoad(ctx, o)
		}
		loadStill := func(ctx context.Context) (map[string]T, error) { return load(ctx, still) }
		loaded, err := callLoad(ctx, c, still[0], loadStill) // counted in Stats, told to the Observer
		if err != nil {
			return nil, err
		}
		asked := make(map[string]T, len(loaded))
		for _, k := range still {
			if v, ok := loaded[k]; ok {
				asked[k] = v
				res[k] = v
			}
		}
		switch {
		case readFailed:
			// The store has just failed: a write to a hung one would cost
			// another timeout (GetOrLoad does the same); the next call
			// loads and stores the values.
		case serr != nil:
			c.log.WarnContext(ctx, "cachette: reading tag versions failed, loaded values not stored", "backend", c.cfg.Backend, "keys", len(asked), "error", serr)
		default:
			if perr := putManyOpts(ctx, c, asked, o); perr != nil {
				c.log.WarnContext(ctx, "cachette: storing loaded values failed", "backend", c.cfg.Backend, "keys", len(asked), "error", perr)
			}
		}
		return res, nil
	}
	for try := 0; len(missing) > 0 && try <= maxRejoins; try++ {
		fks := make([]flightKey, len(missing))
		for i, k := range missing {
			fks[i] = flightKey{typ, k}
		}
		results, err := c.flights.doMany(ctx, fks, fn)
		if err != nil {
			return nil, err
		}
		var again []string
		for i, r := range results {
			switch {
			case r.err == nil:
				v, _ := r.val.(T) // a nil interface value, when T is an interface type
				out[missing[i]] = v
			case errors.Is(r.err, errNotLoaded):
				if !r.owned {
					// Another GetOrLoadMany's load left it out; ours may not.
					again = append(again, missing[i])
				}
			default:
				return nil, r.err
			}
		}
		missing = again
	}
	return out, nil
}

// keyResult is the outcome of one key of group.doMany; owned says whether
// the key was loaded by this call's fn rather than by a flight it joined.
type keyResult struct {
	val   any
	err   error
	owned bool
}

// doMany is do for several keys: it joins the flights in progress for
// some and runs fn once, in its own goroutine, for the others (owned, fn's
// argument). Each owned key's flight gets fn's value for it, fn's error,
// or errNotLoaded when fn's map lacks it; a GetOrLoad of such a key joins
// it as it would join any flight. fn's context carries ctx's values; it
// ends when fn returns, or when no caller waits for any owned key any
// more. doMany returns ctx.Err() as soon as ctx ends.
func (g *group) doMany(ctx context.Context, keys []flightKey, fn func(context.Context, []string) (map[string]any, error)) ([]keyResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	// live counts the owned flights that someone still waits for; each
	// one's cancel runs at most once, when its last waiter leaves.
	var live atomic.Int64
	leave := func() {
		if live.Add(-1) == 0 {
			cancelRun()
		}
	}
	flights := make([]*flight, len(keys))
	owned := make([]bool, len(keys))
	var idx []int
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[flightKey]*flight)
	}
	for i, k := range keys {
		f, ok := g.m[k]
		if !ok {
			f = &flight{done: make(chan struct{}), cancel: leave}
			g.m[k] = f
			owned[i] = true
			idx = append(idx, i)
		}
		f.waiters++
		flights[i] = f
	}
	live.Store(int64(len(idx)))
	g.mu.Unlock()
	if len(idx) == 0 {
		cancelRun()
	} else {
		go g.runMany(runCtx, cancelRun, keys, flights, idx, fn)
	}

	res := make([]keyResult, len(keys))
	for i, f := range flights {
		select {
		case <-f.done:
			res[i] = keyResult{val: f.val, err: f.err, owned: owned[i]}
		case <-ctx.Done():
			g.mu.Lock()
			for j, f := range flights {
				f.waiters--
				if f.waiters == 0 {
					f.cancel()
					if g.m[keys[j]] == f {
						delete(g.m, keys[j])
					}
				}
			}
			g.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	return res, nil
}

// runMany calls fn for the owned keys keys[i], i in idx, and publishes
// its results, or its panic as an error, to their flights.
func (g *group) runMany(ctx context.Context, cancel context.CancelFunc, keys []flightKey, flights []*flight, idx []int, fn func(context.Context, []string) (map[string]any, error)) {
	var vals map[string]any
	var err error
	returned := false
	defer func() {
		if r := recover(); r != nil || !returned {
			if r == nil {
				r = errGoexit
			}
			pe := &LoadPanicError{Key: keys[idx[0]].key, Value: r, Stack: debug.Stack()}
			vals, err = nil, pe
			if g.onPanic != nil {
				g.onPanic(pe)
			}
		}
		for _, i := range idx {
			f := flights[i]
			if err != nil {
				f.err = err
			} else if v, ok := vals[keys[i].key]; ok {
				f.val = v
			} else {
				f.err = errNotLoaded
			}
		}
		g.mu.Lock()
		for _, i := range idx {
			if g.m[keys[i]] == flights[i] {
				delete(g.m, keys[i])
			}
		}
		g.mu.Unlock()
		cancel()
		for _, i := range idx {
			close(flights[i].done)
		}
	}()
	names := make([]string, len(idx))
	for j, i := range idx {
		names[j] = keys[i].key
	}
	vals, err = fn(ctx, names)
	returned = true
}
