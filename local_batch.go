package cachette

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/cachette-go/cachette/codecs"
)

// Batches through the local tier: FetchMany and GetOrLoadMany (through
// fetchMany, batch.go) serve the keys the local tier holds from it, as
// local hits, and read only the others from the store, in one batch; what
// the store returns fills the local tier under Fetch's rules (localTier.fill:
// never past the entry's expiry or LocalTTL, tags remembered, no fill from
// a read that an invalidation overtook, every key's counters noted before
// the batch is sent). PutMany drops the local copies of its keys as Put
// does (putManyOpts).

// localFetchMany puts the values of keys that the local tier holds as T
// into out, reporting them as local hits when observe is set, and returns
// the keys it did not hold (keys itself when it held none).
func localFetchMany[T any](ctx context.Context, c *Cache, keys []string, out map[string]T, observe bool) []string {
	typ := reflect.TypeFor[*T]()
	var rest []string
	hits := 0
	for i, k := range keys {
		if p, ok := c.local.get(k, typ); ok {
			if hits == 0 {
				rest = append(make([]string, 0, len(keys)-1), keys[:i]...)
			}
			hits++
			out[k] = *p.(*T)
			if observe {
				c.localHit(ctx, k)
			}
			continue
		}
		if hits > 0 {
			rest = append(rest, k)
		}
	}
	if hits == 0 {
		return keys
	}
	return rest
}

// beginMany is begin for each of keys, before one read of them all.
func (l *localTier) beginMany(keys []string) []localFill {
	fills := make([]localFill, len(keys))
	for i, k := range keys {
		fills[i] = l.begin(k)
	}
	return fills
}

// localDecodeItem is decodeItem through the local tier: it decodes the
// stored bytes raw of key, read at read with f noted before, into a new T,
// copies it to dst and fills the local tier with it, as localFetchStore
// does for Fetch.
func localDecodeItem[T any](ctx context.Context, c *Cache, f localFill, read time.Time, key string, raw []byte, codecID byte, dst *T) error {
	h, payload, left, err := c.openEntryHeader(ctx, key, raw, codecID, true, time.Time{})
	if err != nil {
		return err
	}
	fresh := new(T)
	if err := c.codec.Decode(payload, fresh); err != nil {
		if errors.Is(err, codecs.ErrType) {
			return fmt.Errorf("cachette fetch %q: %w", key, err)
		}
		c.dropCorrupt(ctx, key, err)
		return ErrNotFound
	}
	*dst = *fresh
	// read+left is at or before the stored expiry (left was measured later).
	c.local.fill(f, key, reflect.TypeFor[*T](), fresh, read, read.Add(left), h.tags)
	return nil
}
