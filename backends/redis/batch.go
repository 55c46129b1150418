package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/internal/rediswire"
)

var _ backends.Batcher = (*Store)(nil)

// GetMany reads keys in one round trip: one MGET on a single server, or a
// pipeline of GETs, which go-redis sends as one pipeline per node of a
// cluster or shard of a ring (an MGET there would need all keys in one
// hash slot).
func (s *Store) GetMany(ctx context.Context, keys []string) (map[string]backends.Item, error) {
	keys = backends.Distinct(keys)
	out := make(map[string]backends.Item, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = backends.Key(s.prefix, k)
	}
	raws := make([][]byte, len(keys))
	switch s.client.(type) {
	case *goredis.ClusterClient, *goredis.Ring:
		cmds := make([]*goredis.StringCmd, len(keys))
		pipe := s.client.Pipeline()
		for i, k := range full {
			cmds[i] = pipe.Get(ctx, k)
		}
		_, _ = pipe.Exec(ctx) // each command's error is looked at below
		for i, c := range cmds {
			b, err := c.Bytes()
			if errors.Is(err, goredis.Nil) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("redis: get many: %w", err)
			}
			raws[i] = b
		}
	default:
		vals, err := s.client.MGet(ctx, full...).Result()
		if err != nil {
			return nil, fmt.Errorf("redis: get many: %w", err)
		}
		for i, v := range vals {
			if str, ok := v.(string); ok {
				raws[i] = []byte(str)
			}
		}
	}
	now := time.Now()
	for i, b := range raws {
		if b == nil {
			continue
		}
		value, expMs, ok := rediswire.DecodeEntry(b)
		if !ok {
			s.log.WarnContext(ctx, "cachette: redis: ignoring a value that is not a cachette entry", "key", keys[i], "bytes", len(b))
			continue
		}
		if rediswire.Alive(expMs, now) {
			out[keys[i]] = backends.Item{Value: value, ExpiresAt: time.UnixMilli(expMs)}
		}
	}
	return out, nil
}

// SetMany writes entries in one pipeline (one per node of a cluster): SET
// with PX, or UNLINK for an expiry already past, as Set does.
func (s *Store) SetMany(ctx context.Context, entries []backends.Entry) error {
	entries = backends.LastEntries(entries)
	var errs []error
	pipe := s.client.Pipeline()
	keys := make([]string, 0, len(entries))
	cmds := make([]goredis.Cmder, 0, len(entries))
	nowMs := time.Now().UnixMilli()
	for _, e := range entries {
		if len(e.Value) > s.maxValue {
			errs = append(errs, backends.EntryError(e.Key, fmt.Errorf("redis: set: %d bytes, limit %d: %w", len(e.Value), s.maxValue, backends.ErrTooLarge)))
			continue
		}
		k := backends.Key(s.prefix, e.Key)
		expMs := rediswire.CeilMilli(e.ExpiresAt)
		if ttl := expMs - nowMs; ttl > 0 {
			cmds = append(cmds, pipe.Set(ctx, k, rediswire.EncodeEntry(e.Value, expMs), time.Duration(ttl)*time.Millisecond))
		} else {
			cmds = append(cmds, pipe.Unlink(ctx, k))
		}
		keys = append(keys, e.Key)
	}
	if len(cmds) > 0 {
		ctx, cancel := s.opCtx(ctx)
		defer cancel()
		_, _ = pipe.Exec(ctx) // each command's error is looked at below
	}
	for i, c := range cmds {
		if err := c.Err(); err != nil {
			if rediswire.TooLarge(err) {
				err = fmt.Errorf("%w: %w", backends.ErrTooLarge, err)
			}
			errs = append(errs, backends.EntryError(keys[i], fmt.Errorf("redis: set: %w", err)))
		}
	}
	return errors.Join(errs...)
}
