package inmemory

import (
	"context"
	"errors"
	"time"

	"github.com/cachette-go/cachette/backends"
)

var _ backends.Batcher = (*Store)(nil)

// GetMany returns the live entries among keys. The values are the store's
// own: the caller must not modify them.
func (s *Store) GetMany(ctx context.Context, keys []string) (map[string]backends.Item, error) {
	out := make(map[string]backends.Item, len(keys))
	now := s.now() // one clock reading for the batch
	for _, k := range keys {
		if it, ok := s.c.GetIfPresent(k); ok && now < it.deadline {
			out[k] = backends.Item{Value: it.value, ExpiresAt: time.Unix(0, it.expires)}
		}
	}
	return out, nil
}

// SetMany stores every entry; an entry bigger than the budget is
// refused (ErrTooLarge) and the others are stored.
func (s *Store) SetMany(ctx context.Context, entries []backends.Entry) error {
	var errs []error
	for _, e := range entries {
		if err := s.Set(ctx, e.Key, e.Value, e.ExpiresAt); err != nil {
			errs = append(errs, backends.EntryError(e.Key, err))
		}
	}
	return errors.Join(errs...)
}
