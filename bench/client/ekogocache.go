package client

import (
	"context"
	"time"

	"github.com/eko/gocache/lib/v4/cache"
	"github.com/eko/gocache/lib/v4/store"
	gocachestore "github.com/eko/gocache/store/go_cache/v4"
	gocache "github.com/patrickmn/go-cache"
)

// EkoGoCache is github.com/eko/gocache/lib/v4 (cache.Cache[[]byte]) over its
// go-cache store, the in-memory setup its documentation shows first.
type EkoGoCache struct {
	c   *cache.Cache[[]byte]
	ctx context.Context
}

// NewEkoGoCache builds the gocache cache with TTL.
func NewEkoGoCache(int) (InMemory, error) {
	s := gocachestore.NewGoCache(gocache.New(TTL, time.Minute), store.WithExpiration(TTL))
	return &EkoGoCache{c: cache.New[[]byte](s), ctx: context.Background()}, nil
}

func (*EkoGoCache) Name() string { return NameEkoGoCache }

func (a *EkoGoCache) Get(key string) ([]byte, bool) {
	v, err := a.c.Get(a.ctx, key)
	return v, err == nil
}

func (a *EkoGoCache) Set(key string, value []byte) { _ = a.c.Set(a.ctx, key, value) }
func (a *EkoGoCache) Close()                       { _ = a.c.Clear(a.ctx) }
