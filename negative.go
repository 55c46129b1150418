package cachette

import (
	"context"
	"errors"
	"time"
)

// WithNegativeTTL makes GetOrLoad remember for d that a key does not
// exist: when load returns an error wrapping ErrNotFound, GetOrLoad
// returns it and stores a small negative marker for d, and the calls with
// this option that follow within d return ErrNotFound without calling
// load. The marker is never a value: Fetch and FetchWithTTL of the key
// return ErrNotFound, GetOrLoad without this option loads, and Put
// replaces it. WithTags applies to the marker too.
func WithNegativeTTL(d time.Duration) Option {
	return func(o *callOptions) {
		if d > 0 {
			o.negTTL = d
		}
	}
}

// loadFailed is called with the error of a load of key and returns it;
// with WithNegativeTTL, a not-found is remembered (unless the read before
// the load failed: nothing is written then, see callOptions.readFailed).
func (c *Cache) loadFailed(ctx context.Context, key string, err error, o callOptions) error {
	if o.negTTL > 0 && !o.readFailed && errors.Is(err, ErrNotFound) {
		if perr := c.putNegative(ctx, key, o); perr != nil {
			c.log.WarnContext(ctx, "cachette: storing a negative marker failed", "backend", c.cfg.Backend, "key", key, "error", perr)
		}
	}
	return err
}

// putNegative stores the negative marker of key for o.negTTL, without a
// stale window.
func (c *Cache) putNegative(ctx context.Context, key string, o callOptions) error {
	if c.isClosed() {
		return ErrClosed
	}
	o.ttl, o.swr, o.sie = o.negTTL, 0, 0
	w, err := c.planWrite(ctx, o)
	if err != nil {
		return err
	}
	w.h.codec, w.h.ext, w.h.negative = c.codec.ID(), true, true
	c.noteWrite(key) // invalidation delay (invaldelay.go)
	err = c.store.Set(ctx, key, c.encodeEntry(key, w.h, nil, false), w.storeExpiry)
	c.wrote(key, err == nil) // local tier (local.go, invaldelay.go)
	return c.wrap("put", err)
}
