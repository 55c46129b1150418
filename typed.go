package cachette

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/codecs"
)

// Typed is a view of a Cache for values of type T, made by For: Fetch
// returns a T instead of filling a pointer, and the batch calls read and
// write many keys in one round trip where the store allows it.
//
// A Typed is a small value; copy it freely. Its methods are safe for
// concurrent use. Every method first checks that the cache's codec can
// hold T: the vanilla codec holds only string and []byte, so For[User]
// on a cache with the vanilla codec returns an error wrapping
// codecs.ErrType from every call, before the store is read and before any
// load runs, never a silent miss.
type Typed[T any] struct {
	c *Cache
}

// For returns the typed view of c for values of type T.
func For[T any](c *Cache) Typed[T] { return Typed[T]{c: c} }

// Cache returns the cache under t.
func (t Typed[T]) Cache() *Cache { return t.c }

func (t Typed[T]) check(op string) error {
	if err := codecs.CheckType(t.c.codec, reflect.TypeFor[T]()); err != nil {
		return fmt.Errorf("cachette %s: %w", op, err)
	}
	return nil
}

// Fetch returns the value stored under key, or ErrNotFound on a miss or
// an expired entry. An entry that cannot be decoded is removed, logged
// and reported as ErrNotFound.
func (t Typed[T]) Fetch(ctx context.Context, key string) (T, error) {
	var v T
	if err := t.check("fetch"); err != nil {
		return v, err
	}
	err := t.c.Fetch(ctx, key, &v)
	return v, err
}

// FetchWithTTL is Fetch that also returns the entry's remaining time to live.
func (t Typed[T]) FetchWithTTL(ctx context.Context, key string) (T, time.Duration, error) {
	var v T
	if err := t.check("fetch"); err != nil {
		return v, 0, err
	}
	left, err := t.c.FetchWithTTL(ctx, key, &v)
	return v, left, err
}

// Put stores value under key, for Config.TTL or the TTL of WithTTL.
func (t Typed[T]) Put(ctx context.Context, key string, value T, opts ...Option) error {
	if err := t.check("put"); err != nil {
		return err
	}
	return t.c.Put(ctx, key, value, opts...)
}

// GetOrLoad is the package function GetOrLoad for T: the cached value, or
// load's, stored, with concurrent loads of one key coalesced (also with
// the loads of GetOrLoadMany).
func (t Typed[T]) GetOrLoad(ctx context.Context, key string, load func(context.Context) (T, error), opts ...Option) (T, error) {
	return GetOrLoad(ctx, t.c, key, load, opts...)
}

// FetchMany returns the values stored under keys, by key: only the keys
// found; missing, expired and undecodable entries (the last removed and
// logged, as by Fetch) are absent, and are not an error. It reads all keys
// in one round trip where the store allows it (an MGET or a pipeline on
// Redis and Valkey, one per node of a cluster; a multi-key get per
// memcached server; one BatchGetItem per 100 keys on DynamoDB; one $in
// find on MongoDB; the gob store's files in parallel); a store without
// backends.Batcher is read with bounded-parallel Gets. An error is the
// failure of the whole read.
//
// With a local tier (Config.LocalEntries), the keys it holds as T are
// served from it (local hits, in Stats and to the Observer), only the
// others are read from the store, and the values read fill the local tier
// as Fetch's do (see "Local tier" in the package documentation).
func (t Typed[T]) FetchMany(ctx context.Context, keys []string) (map[string]T, error) {
	if err := t.check("fetch many"); err != nil {
		return nil, err
	}
	out, err := fetchMany[T](ctx, t.c, backends.Distinct(keys), true)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutMany stores items, each for Config.TTL or the TTL of WithTTL, in one
// round trip where the store allows it (pipelines, bulk writes,
// BatchWriteItem per 25 items; memcached and the gob store in parallel).
// An item that cannot be encoded or stored (too large, say) does not stop
// the others: the error joins one error per such item, each naming its
// key (errors.Is(err, ErrTooLarge) works on it).
func (t Typed[T]) PutMany(ctx context.Context, items map[string]T, opts ...Option) error {
	if err := t.check("put many"); err != nil {
		return err
	}
	return putMany(ctx, t.c, items, opts)
}

// GetOrLoadMany returns the values of keys: those in the cache, read as
// FetchMany reads them, and the others from one call of load with only
// the missing keys, whose results it stores (as PutMany, with opts) and
// returns too. Keys that load does not return stay absent, and are not an
// error; keys it returns that were not asked for are ignored.
//
// Loads are coalesced with GetOrLoad and other GetOrLoadMany calls for
// the same keys and T: a key already being loaded by one of them is
// waited for rather than loaded again, and a GetOrLoad of a key this load
// covers waits for it (and loads the key itself if load leaves it out).
// load runs in its own goroutine, on a context that keeps ctx's values but
// not its cancellation; a caller whose ctx ends returns ctx.Err() at once.
// An error or a panic of load (an error wrapping ErrLoadPanicked) is
// returned, with no values; an error storing the loaded values is logged
// and the values are still returned.
//
// Of the options, WithTTL, WithTags (whose versions are taken before load
// runs) and Uncompressed apply to the stored values; the stale windows,
// WithNegativeTTL and WithEarlyRefresh are GetOrLoad's alone and have no
// effect here. Its read goes through the local tier as FetchMany's does.
func (t Typed[T]) GetOrLoadMany(ctx context.Context, keys []string, load func(ctx context.Context, missing []string) (map[string]T, error), opts ...Option) (map[string]T, error) {
	if err := t.check("getorload many"); err != nil {
		return nil, err
	}
	return getOrLoadMany(ctx, t.c, keys, load, opts)
}
