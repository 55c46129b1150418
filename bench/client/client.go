// Package client puts every cache the benchmarks compare behind two small
// interfaces, one adapter file per system, so that a scenario is written
// once and adding a peer is one file.
//
// InMemory is a local cache of []byte values under string keys; Remote is a
// cache in a Redis server holding Item structs, encoded by the adapter the
// way its library does (msgpack for every one of them here).
package client

import (
	"context"
	"errors"
	"time"
)

// TTL is the time to live every adapter gives its entries: long enough that
// nothing expires during a run, so a Fetch benchmark measures hits only.
const TTL = 10 * time.Minute

// ErrMiss is returned by an adapter's Get when the key is not cached.
var ErrMiss = errors.New("bench: miss")

// InMemory is a process-local cache of byte values.
type InMemory interface {
	// Name is the system's label in results ("otter", "cachette", ...).
	Name() string
	// Get returns the value under key and whether it was found.
	Get(key string) ([]byte, bool)
	// Set stores value under key for TTL.
	Set(key string, value []byte)
	// Close releases the cache.
	Close()
}

// InMemoryFactory builds an empty cache sized for capacity entries.
type InMemoryFactory struct {
	Name string
	New  func(capacity int) (InMemory, error)
}

// InMemoryFactories lists the in-memory systems in the order results show
// them: cachette first, it is the reference of every ratio.
func InMemoryFactories() []InMemoryFactory {
	return []InMemoryFactory{
		{NameCachette, NewCachette},
		{NameCachetteBytes, NewCachetteBytes},
		{NameOtter, NewOtter},
		{NameRistretto, NewRistretto},
		{NameGoCache, NewGoCache},
		{NameEkoGoCache, NewEkoGoCache},
	}
}

// Remote is a cache in a Redis server.
type Remote interface {
	Name() string
	// Get decodes the value under key into dst; ErrMiss when absent.
	Get(ctx context.Context, key string, dst *Item) error
	// Set stores v under key for TTL.
	Set(ctx context.Context, key string, v *Item) error
	Close() error
}

// RemoteFactory builds a Remote on a server URL; prefix namespaces its keys.
type RemoteFactory struct {
	Name string
	New  func(ctx context.Context, redisURL, prefix string) (Remote, error)
}

// RemoteFactories lists the Redis systems, cachette first.
func RemoteFactories() []RemoteFactory {
	return []RemoteFactory{
		{NameCachetteRedis, NewCachetteRedis},
		{NameGoRedis, NewGoRedis},
		{NameGoRedisCache, NewGoRedisCache},
		{NameEkoGoCacheRedis, NewEkoGoCacheRedis},
	}
}

// System names, as they appear in benchmark names and reports.
const (
	NameCachette        = "cachette"
	NameCachetteBytes   = "cachette-bytes"
	NameOtter           = "otter"
	NameRistretto       = "ristretto"
	NameGoCache         = "go-cache"
	NameEkoGoCache      = "gocache"
	NameCachetteRedis   = "cachette"
	NameGoRedis         = "go-redis"
	NameGoRedisCache    = "go-redis-cache"
	NameEkoGoCacheRedis = "gocache"
)
