package gob

import (
	"context"

	"github.com/cachette-go/cachette/backends"
)

var _ backends.Batcher = (*Store)(nil)

// GetMany reads the entries' files in parallel (backends.DefaultParallel
// at a time): each entry is a file of its own.
func (s *Store) GetMany(ctx context.Context, keys []string) (map[string]backends.Item, error) {
	return backends.GetManyParallel(ctx, s, keys, 0)
}

// SetMany writes the entries' files in parallel (backends.DefaultParallel
// at a time), each as Set writes it.
func (s *Store) SetMany(ctx context.Context, entries []backends.Entry) error {
	return backends.SetManyParallel(ctx, s, entries, 0)
}
