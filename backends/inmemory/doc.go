// Package inmemory is cachette's default store: a sharded, bounded map in
// the process's memory.
//
// Keys are spread over shards by hash (DefaultShards, 64) so that parallel
// readers and writers rarely meet on one lock. The store is bounded by a
// byte budget (DefaultMaxBytes, 256 MiB of keys, values and bookkeeping)
// and optionally an entry count, both split evenly over the shards (each
// shard holds at least one entry), so a full store is full shard by shard;
// when a write would go over its shard's share, entries of that shard are
// evicted by sampled LRU: a few entries of the shard are looked at and
// the least recently read goes, the way Redis approximates LRU. Expired
// entries are never returned (expiry is exact to the millisecond) and are
// removed by a background reaper every DefaultReapInterval (5 s), which
// Close stops. Locks, which httpcache uses to fill a key once, are a map
// of their own.
//
// # Configuration
//
// Registered as "inmemory", the backend of a zero cachette.Config; it is
// always linked and reads no keys of its own:
//
//	cache, err := cachette.New(ctx, cachette.Config{})
//
// The registered store uses DefaultMaxBytes; for another budget, build one
// with New and hand it to cachette.NewWithBackend:
//
//	store := inmemory.New(inmemory.Options{MaxBytes: 64 << 20, MaxEntries: 100_000})
//	cache, err := cachette.NewWithBackend(store, cachette.Config{Codec: "json"})
//
// The store lives inside one process: two processes, or two stores, never
// see each other's entries. Use a network store (redis, valkey, memcached,
// ...) to share a cache.
package inmemory
