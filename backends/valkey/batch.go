package valkey

import (
	"context"
	"errors"
	"fmt"
	"time"

	valkeygo "github.com/valkey-io/valkey-go"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/internal/rediswire"
)

var _ backends.Batcher = (*Store)(nil)

// GetMany reads keys in one round trip: valkey-go sends the GETs of one
// DoMulti as one pipeline per node (per hash slot's owner in a cluster).
func (s *Store) GetMany(ctx context.Context, keys []string) (map[string]backends.Item, error) {
	keys = backends.Distinct(keys)
	out := make(map[string]backends.Item, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	cmds := make(valkeygo.Commands, len(keys))
	for i, k := range keys {
		cmds[i] = s.client.B().Get().Key(backends.Key(s.prefix, k)).Build()
	}
	res := s.client.DoMulti(ctx, cmds...)
	now := time.Now()
	for i, r := range res {
		b, err := r.AsBytes()
		if valkeygo.IsValkeyNil(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("valkey: get many: %w", err)
		}
		value, expMs, ok := rediswire.DecodeEntry(b)
		if !ok {
			s.log.WarnContext(ctx, "cachette: valkey: ignoring a value that is not a cachette entry", "key", keys[i], "bytes", len(b))
			continue
		}
		if rediswire.Alive(expMs, now) {
			out[keys[i]] = backends.Item{Value: value, ExpiresAt: time.UnixMilli(expMs)}
		}
	}
	return out, nil
}

// SetMany writes entries in one DoMulti (one pipeline per node): SET with
// PX, or UNLINK for an expiry already past, as Set does.
func (s *Store) SetMany(ctx context.Context, entries []backends.Entry) error {
	entries = backends.LastEntries(entries)
	var errs []error
	keys := make([]string, 0, len(entries))
	cmds := make(valkeygo.Commands, 0, len(entries))
	nowMs := time.Now().UnixMilli()
	for _, e := range entries {
		if len(e.Value) > s.maxValue {
			errs = append(errs, backends.EntryError(e.Key, fmt.Errorf("valkey: set: %d bytes, limit %d: %w", len(e.Value), s.maxValue, backends.ErrTooLarge)))
			continue
		}
		k := backends.Key(s.prefix, e.Key)
		expMs := rediswire.CeilMilli(e.ExpiresAt)
		if ttl := expMs - nowMs; ttl > 0 {
			payload := rediswire.EncodeEntry(e.Value, expMs)
			cmds = append(cmds, s.client.B().Set().Key(k).Value(valkeygo.BinaryString(payload)).PxMilliseconds(ttl).Build())
		} else {
			cmds = append(cmds, s.client.B().Unlink().Key(k).Build())
		}
		keys = append(keys, e.Key)
	}
	if len(cmds) > 0 {
		ctx, cancel := s.opCtx(ctx)
		defer cancel()
		for i, r := range s.client.DoMulti(ctx, cmds...) {
			if err := r.Error(); err != nil {
				if rediswire.TooLarge(err) {
					err = fmt.Errorf("%w: %w", backends.ErrTooLarge, err)
				}
				errs = append(errs, backends.EntryError(keys[i], fmt.Errorf("valkey: set: %w", err)))
			}
		}
	}
	return errors.Join(errs...)
}
