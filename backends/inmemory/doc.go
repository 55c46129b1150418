// Package inmemory is cachette's default store: a sharded, bounded map in
// the process's memory.
//
// Keys are spread over shards by hash so that parallel readers and writers
// rarely meet on one lock. The store is bounded by a byte budget (and
// optionally an entry count); when a write would go over it, entries are
// evicted by sampled LRU: a few entries of the shard are looked at and the
// least recently read goes, the way Redis approximates LRU. Expired entries
// are never returned and are removed by a background reaper, which Close
// stops.
//
// The store registered as "inmemory" uses DefaultMaxBytes; for another
// budget, build one with New and hand it to cachette.NewWithBackend.
package inmemory
