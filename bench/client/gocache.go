package client

import (
	"time"

	gocache "github.com/patrickmn/go-cache"
)

// GoCache is github.com/patrickmn/go-cache: one map behind one RWMutex,
// unbounded, values stored as interface{}.
type GoCache struct{ c *gocache.Cache }

// NewGoCache builds a go-cache with TTL and a one-minute janitor.
func NewGoCache(int) (InMemory, error) {
	return &GoCache{c: gocache.New(TTL, time.Minute)}, nil
}

func (*GoCache) Name() string { return NameGoCache }

func (a *GoCache) Get(key string) ([]byte, bool) {
	v, ok := a.c.Get(key)
	if !ok {
		return nil, false
	}
	b, ok := v.([]byte)
	return b, ok
}

func (a *GoCache) Set(key string, value []byte) { a.c.SetDefault(key, value) }
func (a *GoCache) Close()                       { a.c.Flush() }
