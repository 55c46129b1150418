package client

import (
	"context"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
	"github.com/vmihailenco/msgpack/v5"
)

// newRedisClient opens a go-redis client on url with the library's
// defaults; every Remote adapter gets its own, configured alike.
func newRedisClient(ctx context.Context, url string) (*goredis.Client, error) {
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	c := goredis.NewClient(opt)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis ping: %w", err)
	}
	return c, nil
}

// GoRedis is the baseline: github.com/redis/go-redis/v9 GET and SET with
// msgpack encoding done by hand, no cache library at all.
type GoRedis struct {
	rdb    *goredis.Client
	prefix string
}

// NewGoRedis connects a plain go-redis client.
func NewGoRedis(ctx context.Context, url, prefix string) (Remote, error) {
	rdb, err := newRedisClient(ctx, url)
	if err != nil {
		return nil, err
	}
	return &GoRedis{rdb: rdb, prefix: prefix + ":"}, nil
}

func (*GoRedis) Name() string { return NameGoRedis }

func (a *GoRedis) Get(ctx context.Context, key string, dst *Item) error {
	b, err := a.rdb.Get(ctx, a.prefix+key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return ErrMiss
	}
	if err != nil {
		return err
	}
	return msgpack.Unmarshal(b, dst)
}

func (a *GoRedis) Set(ctx context.Context, key string, v *Item) error {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return err
	}
	return a.rdb.Set(ctx, a.prefix+key, b, TTL).Err()
}

func (a *GoRedis) Close() error { return a.rdb.Close() }
