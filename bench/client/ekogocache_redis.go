package client

import (
	"context"
	"errors"

	"github.com/eko/gocache/lib/v4/cache"
	"github.com/eko/gocache/lib/v4/marshaler"
	"github.com/eko/gocache/lib/v4/store"
	redisstore "github.com/eko/gocache/store/redis/v4"
	goredis "github.com/redis/go-redis/v9"
)

// EkoGoCacheRedis is github.com/eko/gocache/lib/v4 over its redis store,
// with its marshaler (msgpack) turning Items into bytes.
type EkoGoCacheRedis struct {
	m      *marshaler.Marshaler
	rdb    *goredis.Client
	prefix string
}

// NewEkoGoCacheRedis builds the cache around its own go-redis client.
func NewEkoGoCacheRedis(ctx context.Context, url, prefix string) (Remote, error) {
	rdb, err := newRedisClient(ctx, url)
	if err != nil {
		return nil, err
	}
	s := redisstore.NewRedis(rdb, store.WithExpiration(TTL))
	return &EkoGoCacheRedis{m: marshaler.New(cache.New[any](s)), rdb: rdb, prefix: prefix + ":"}, nil
}

func (*EkoGoCacheRedis) Name() string { return NameEkoGoCacheRedis }

func (a *EkoGoCacheRedis) Get(ctx context.Context, key string, dst *Item) error {
	_, err := a.m.Get(ctx, a.prefix+key, dst)
	var nf *store.NotFound
	if errors.As(err, &nf) {
		return ErrMiss
	}
	return err
}

func (a *EkoGoCacheRedis) Set(ctx context.Context, key string, v *Item) error {
	return a.m.Set(ctx, a.prefix+key, v)
}

func (a *EkoGoCacheRedis) Close() error { return a.rdb.Close() }
