package client

import (
	"context"
	"errors"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/redis"
	_ "github.com/cachette-go/cachette/codecs/msgpack" // the "msgpack" codec
)

// CachetteRedis is cachette's redis backend through the public Cache API
// with the msgpack codec and the default ("smart") compression, built on a
// go-redis client the benchmark owns (redis.NewFromClient).
type CachetteRedis struct {
	c   *cachette.Cache
	rdb interface{ Close() error }
}

// NewCachetteRedis builds the cache around its own go-redis client.
func NewCachetteRedis(ctx context.Context, url, prefix string) (Remote, error) {
	rdb, err := newRedisClient(ctx, url)
	if err != nil {
		return nil, err
	}
	store, err := redis.NewFromClient(rdb, prefix)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	c, err := cachette.NewWithBackend(store, cachette.Config{Codec: "msgpack", TTL: TTL})
	if err != nil {
		rdb.Close()
		return nil, err
	}
	return &CachetteRedis{c: c, rdb: rdb}, nil
}

func (*CachetteRedis) Name() string { return NameCachetteRedis }

func (a *CachetteRedis) Get(ctx context.Context, key string, dst *Item) error {
	err := a.c.Fetch(ctx, key, dst)
	if errors.Is(err, cachette.ErrNotFound) {
		return ErrMiss
	}
	return err
}

func (a *CachetteRedis) Set(ctx context.Context, key string, v *Item) error {
	return a.c.Put(ctx, key, v)
}

func (a *CachetteRedis) Close() error {
	return errors.Join(a.c.Close(), a.rdb.Close())
}
