package cachette

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// Early refresh (XFetch).
//
// A value that GetOrLoad stores with WithEarlyRefresh carries how long
// its load took (delta, in the entry's extension block, entry_ext.go).
// Each GetOrLoad with the option that reads it fresh from the store draws
// r uniformly in (0, 1] and reloads the value in the background when
//
//	now + delta * beta * -ln(r) >= expiry
//
// the rule of Vattani, Chierichetti and Lowenstein, "Optimal Probabilistic
// Cache Stampede Prevention" (VLDB 2015): the chance grows as the expiry
// nears, and sooner for values slow to load, so that a hot key is
// reloaded, by about one caller, shortly before it expires rather than by
// every caller once it has.

// WithEarlyRefresh lets GetOrLoad reload a value before it expires
// (probabilistic early expiration, "XFetch"): when a read finds the value
// fresh, the caller gets it at once and, with a chance that grows as the
// expiry nears, one reload starts in the background, as for
// WithStaleWhileRevalidate: one at a time per key in this process and
// across processes through the store's lock (Cache.Lock); a reload that
// finds the value stored again since it was read does not load it. beta
// scales how early: 1 is the usual choice, larger refreshes earlier, 0 or
// less turns it off.
//
// The chance depends on how long the value's last load took, which
// GetOrLoad stores with the value when this option is given (4 bytes more
// per entry): a value stored by Put, or by a GetOrLoad without the option,
// is not refreshed early. With a local tier (Config.LocalEntries) the
// chance is drawn when GetOrLoad reads the store, not on a local hit; the
// local copy of a value lasts at most LocalTTL. GetOrLoadMany does not
// refresh early.
func WithEarlyRefresh(beta float64) Option {
	return func(o *callOptions) {
		if beta > 0 && !math.IsInf(beta, 1) {
			o.beta = beta
		}
	}
}

// earlyRefreshDue reports whether GetOrLoad, with the options o, reloads
// the fresh entry h now (the XFetch rule above).
func (c *Cache) earlyRefreshDue(h entryHeader, o callOptions) bool {
	if o.beta <= 0 || h.loadTime <= 0 {
		return false
	}
	r := c.xfetchRand // tests' hook; nil in use
	if r == nil {
		r = uniformOpenZero
	}
	gap := float64(h.loadTime) * o.beta * -math.Log(r()) // +Inf when r() is 0
	return float64(time.Until(h.expiresAt)) <= gap
}

// uniformOpenZero returns a number drawn uniformly in (0, 1].
func uniformOpenZero() float64 { return 1 - rand.Float64() }

// storedLoadTime is the load duration a write with o stores: none without
// WithEarlyRefresh or a load, else d in whole microseconds, 1 at least.
func storedLoadTime(o callOptions) time.Duration {
	if o.beta <= 0 || o.loadTime <= 0 {
		return 0
	}
	return min(max(o.loadTime, time.Microsecond), maxLoadTime).Truncate(time.Microsecond)
}

// reloadedSince returns the value under key when its entry has another
// expiry than seen, the expiry an early refresh found: another process
// (or flight) stored it again since, and the refresh has nothing to load.
// (A value stored again within the same millisecond, with the same TTL,
// looks unchanged: it is loaded once more, which costs a load only.)
func reloadedSince[T any](ctx context.Context, c *Cache, key string, seen time.Time) (T, bool) {
	var v T
	h, payload, err := c.readEntry(ctx, key, c.codec.ID())
	if err != nil || h.negative || h.expiresAt.Equal(seen) || !time.Now().Before(h.expiresAt) {
		return v, false
	}
	if err := c.codec.Decode(payload, &v); err != nil {
		return v, false
	}
	return v, true
}
