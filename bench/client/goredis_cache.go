package client

import (
	"context"
	"errors"

	"github.com/go-redis/cache/v9"
	goredis "github.com/redis/go-redis/v9"
)

// GoRedisCache is github.com/go-redis/cache/v9 without its local cache, so
// every Get is a Redis round trip as for the others. It encodes with
// msgpack and compresses values of 64 bytes or more with s2, by design.
type GoRedisCache struct {
	c      *cache.Cache
	rdb    *goredis.Client
	prefix string
}

// NewGoRedisCache builds the cache around its own go-redis client.
func NewGoRedisCache(ctx context.Context, url, prefix string) (Remote, error) {
	rdb, err := newRedisClient(ctx, url)
	if err != nil {
		return nil, err
	}
	return &GoRedisCache{c: cache.New(&cache.Options{Redis: rdb}), rdb: rdb, prefix: prefix + ":"}, nil
}

func (*GoRedisCache) Name() string { return NameGoRedisCache }

func (a *GoRedisCache) Get(ctx context.Context, key string, dst *Item) error {
	err := a.c.Get(ctx, a.prefix+key, dst)
	if errors.Is(err, cache.ErrCacheMiss) {
		return ErrMiss
	}
	return err
}

func (a *GoRedisCache) Set(ctx context.Context, key string, v *Item) error {
	return a.c.Set(&cache.Item{Ctx: ctx, Key: a.prefix + key, Value: v, TTL: TTL})
}

func (a *GoRedisCache) Close() error { return a.rdb.Close() }
