package cachette

import (
	"context"
	"time"

	"github.com/cachette-go/cachette/backends"
)

// getTimed reads key from the store, and, when wantTTL and the store reads
// the clock to check expiry (backends.TimedGetter: the in-memory store),
// the instant of that check; otherwise now is zero and openEntryAt reads
// the clock itself when it needs to.
func (c *Cache) getTimed(ctx context.Context, key string, wantTTL bool) (raw []byte, now time.Time, err error) {
	if wantTTL && c.timed != nil {
		raw, _, now, err = c.timed.GetTimed(ctx, key)
		return raw, now, err
	}
	raw, _, err = c.store.Get(ctx, key)
	return raw, time.Time{}, err
}

// timeLeft is the time from now (the clock, when now is zero) to expiresAt.
func timeLeft(expiresAt, now time.Time) time.Duration {
	if now.IsZero() {
		return time.Until(expiresAt)
	}
	return expiresAt.Sub(now)
}

// timedGetter returns store as a backends.TimedGetter, if it is one.
func timedGetter(store backends.Backend) backends.TimedGetter {
	t, _ := store.(backends.TimedGetter)
	return t
}
