// Package inmemory is cachette's default store: a bounded cache in the
// process's memory, built on github.com/maypok86/otter/v2 (the library of
// cachette's local tier).
//
// Reads take no lock: a hit is a lookup in otter's concurrent hash table,
// one reading of the monotonic clock and no allocation. Get returns the
// stored slice itself, not a copy (Set stores a copy of what it is given):
// callers must treat it as read-only, as the backends.Backend contract
// says.
//
// # Bounds and eviction
//
// The store is bounded by a byte budget (Options.MaxBytes, default
// DefaultMaxBytes, 256 MiB) and optionally by an entry count
// (Options.MaxEntries). An entry's size is len(key) + len(value) + 80
// bytes of bookkeeping. otter bounds one sum of weights, so both bounds are
// expressed as one: with MaxEntries set, an entry weighs its size but at
// least unit = MaxBytes/MaxEntries bytes, and the store holds at most
// unit*MaxEntries of weight (MaxBytes rounded down to a multiple of
// MaxEntries). Then the store never holds more than MaxEntries entries,
// nor more than MaxBytes bytes; the price is that, with both set, an entry
// smaller than unit takes unit of the budget. Without MaxEntries, an entry
// weighs its size. An entry bigger than the budget is refused with an
// error wrapping backends.ErrTooLarge. The bounds hold when Set returns:
// otter's maintenance runs on the writing goroutine.
//
// When a write would go over the bound, otter evicts by W-TinyLFU: a
// new entry first enters a small window (about 1% of the bound); leaving
// it, it is admitted into the main space only if it was asked for more
// often than the entry it would evict. Entries read often therefore
// outlive a scan of one-off writes, and an entry bigger than the window
// may be refused at once when the store is full and its victims are read
// more often than it is.
//
// # Expiry
//
// Expired entries are never returned: Get compares the entry's deadline
// with the clock on every read, to the nanosecond. Deadlines are kept on
// the monotonic clock: an entry lives for expiresAt minus the time of its
// Set, even if the wall clock is set meanwhile. Expired entries are
// removed by a background reaper every Options.ReapInterval (default
// DefaultReapInterval, 5 s), which Close stops, by FlushExpired, or by
// eviction. The store implements backends.TimedGetter, so that
// cachette's FetchBytes learns the time left from Get's clock reading
// instead of reading the clock again. Locks, which httpcache and
// GetOrLoad's background reloads use, are a small map of their own under
// a mutex.
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
