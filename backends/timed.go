package backends

import (
	"context"
	"time"
)

// TimedGetter is implemented by stores that read the clock on Get to check
// an entry's expiry (the in-memory store). GetTimed is Get that also
// returns that reading, so that the caller learns an entry's time left
// without reading the clock again: on a hit in process memory, a clock
// reading costs about as much as the rest of the lookup.
//
// now is the instant at which the entry was found live: for an entry
// returned, now is before expiresAt. A type that wraps such a store and
// changes what Get does must not expose its GetTimed.
type TimedGetter interface {
	GetTimed(ctx context.Context, key string) (value []byte, expiresAt, now time.Time, err error)
}
