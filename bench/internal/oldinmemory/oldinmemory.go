// Package oldinmemory is cachette's in-memory store as it was before it
// was rebuilt on otter (a sharded map under RWMutexes, sampled LRU): the
// "before" of bench/results/inmemory-otter.md. Benchmarks only.
package oldinmemory

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachette-go/cachette/backends"
)

// Defaults.
const (
	DefaultMaxBytes     = 256 << 20 // 256 MiB of keys and values
	DefaultShards       = 64
	DefaultReapInterval = 5 * time.Second
	entryOverhead       = 80 // rough bytes per entry beyond key and value
	evictionSamples     = 5
)

// Options configures a Store. Zero fields take the defaults.
type Options struct {
	MaxBytes     int64         // budget for keys, values and bookkeeping; default DefaultMaxBytes
	MaxEntries   int           // 0 means no entry limit
	Shards       int           // rounded up to a power of two; default DefaultShards
	ReapInterval time.Duration // how often expired entries are removed; default DefaultReapInterval
}

// Option adjusts a store that Open makes, by editing its Options.
type Option func(*Options)

// WithMaxBytes sets Options.MaxBytes.
func WithMaxBytes(n int64) Option { return func(o *Options) { o.MaxBytes = n } }

// WithMaxEntries sets Options.MaxEntries.
func WithMaxEntries(n int) Option { return func(o *Options) { o.MaxEntries = n } }

// Store is the in-memory backend. It satisfies backends.Backend.
type Store struct {
	shards   []shard
	mask     uint64
	seed     maphash.Seed
	locksMu  sync.Mutex
	locks    map[string]heldLock
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

type shard struct {
	mu         sync.RWMutex
	m          map[string]*item
	bytes      int64
	maxBytes   int64
	maxEntries int
	clock      atomic.Int64 // logical clock for recency; eviction compares within a shard only
	_          [32]byte     // keep shards on separate cache lines
}

type item struct {
	value   []byte
	expires int64 // Unix nanoseconds
	used    atomic.Int64
}

type heldLock struct {
	token   string
	expires time.Time
}

var _ backends.Backend = (*Store)(nil)

// New returns a store and starts its reaper; Close stops it.
func New(o Options) *Store {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Shards <= 0 {
		o.Shards = DefaultShards
	}
	if o.ReapInterval <= 0 {
		o.ReapInterval = DefaultReapInterval
	}
	n := 1
	for n < o.Shards {
		n <<= 1
	}
	s := &Store{
		shards: make([]shard, n),
		mask:   uint64(n - 1),
		seed:   maphash.MakeSeed(),
		locks:  map[string]heldLock{},
		stop:   make(chan struct{}),
	}
	perEntries := 0
	if o.MaxEntries > 0 {
		perEntries = max(1, (o.MaxEntries+n-1)/n)
	}
	for i := range s.shards {
		s.shards[i].m = map[string]*item{}
		s.shards[i].maxBytes = max(1, o.MaxBytes/int64(n))
		s.shards[i].maxEntries = perEntries
	}
	s.wg.Add(1)
	go s.reap(o.ReapInterval)
	return s
}

func (s *Store) shard(key string) *shard {
	return &s.shards[maphash.String(s.seed, key)&s.mask]
}

func size(key string, value []byte) int64 {
	return int64(len(key) + len(value) + entryOverhead)
}

// Get returns the stored value; the caller must not modify it.
func (s *Store) Get(_ context.Context, key string) ([]byte, time.Time, error) {
	sh := s.shard(key)
	sh.mu.RLock()
	it, ok := sh.m[key]
	sh.mu.RUnlock()
	if !ok || time.Now().UnixNano() >= it.expires {
		return nil, time.Time{}, backends.ErrNotFound
	}
	it.used.Store(sh.clock.Add(1))
	return it.value, time.Unix(0, it.expires), nil
}

// Set stores a copy of value. A value bigger than a shard's budget is
// refused with an error wrapping backends.ErrTooLarge.
func (s *Store) Set(_ context.Context, key string, value []byte, expiresAt time.Time) error {
	sh := s.shard(key)
	sz := size(key, value)
	if sz > sh.maxBytes {
		return tooLarge(sz, sh.maxBytes)
	}
	it := &item{value: append([]byte(nil), value...), expires: expiresAt.UnixNano()}
	it.used.Store(sh.clock.Add(1))
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[key]; ok {
		sh.bytes -= size(key, old.value)
		delete(sh.m, key)
	}
	now := time.Now().UnixNano()
	for len(sh.m) > 0 && (sh.bytes+sz > sh.maxBytes || (sh.maxEntries > 0 && len(sh.m) >= sh.maxEntries)) {
		sh.evictOne(now)
	}
	sh.m[key] = it
	sh.bytes += sz
	return nil
}

func tooLarge(sz, limit int64) error {
	return &sizeError{sz, limit}
}

type sizeError struct{ size, limit int64 }

func (e *sizeError) Error() string {
	return "inmemory: entry of " + itoa(e.size) + " bytes exceeds the per-shard budget of " + itoa(e.limit) + " bytes (raise Options.MaxBytes)"
}
func (e *sizeError) Unwrap() error { return backends.ErrTooLarge }

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// evictOne removes an expired entry if the sample holds one, else the
// least recently used of the sample. The caller holds sh.mu.
func (sh *shard) evictOne(now int64) {
	var victim string
	var oldest int64 = 1<<63 - 1
	n := 0
	for k, it := range sh.m { // map iteration starts at a random entry
		if it.expires <= now {
			victim = k
			break
		}
		if u := it.used.Load(); u < oldest {
			oldest, victim = u, k
		}
		if n++; n >= evictionSamples {
			break
		}
	}
	sh.bytes -= size(victim, sh.m[victim].value)
	delete(sh.m, victim)
}

// Delete removes key and reports whether a live entry was removed.
func (s *Store) Delete(_ context.Context, key string) (bool, error) {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	it, ok := sh.m[key]
	if !ok {
		return false, nil
	}
	sh.bytes -= size(key, it.value)
	delete(sh.m, key)
	return time.Now().UnixNano() < it.expires, nil
}

// removeWhere deletes the entries match selects and counts the live ones.
func (s *Store) removeWhere(match func(key string, it *item) bool) int {
	now := time.Now().UnixNano()
	live := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, it := range sh.m {
			if match(k, it) {
				if now < it.expires {
					live++
				}
				sh.bytes -= size(k, it.value)
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
	return live
}

// ClearNamespace removes the keys that start with namespace+":".
func (s *Store) ClearNamespace(_ context.Context, namespace string) (int, error) {
	p := namespace + ":"
	return s.removeWhere(func(k string, _ *item) bool { return strings.HasPrefix(k, p) }), nil
}

// Flush removes every entry and lock of this store.
func (s *Store) Flush(_ context.Context) error {
	s.removeWhere(func(string, *item) bool { return true })
	s.locksMu.Lock()
	clear(s.locks)
	s.locksMu.Unlock()
	return nil
}

// FlushExpired removes expired entries and locks now.
func (s *Store) FlushExpired(_ context.Context) error {
	s.flushExpired()
	return nil
}

func (s *Store) flushExpired() {
	now := time.Now()
	ns := now.UnixNano()
	s.removeWhere(func(_ string, it *item) bool { return it.expires <= ns })
	s.locksMu.Lock()
	for k, l := range s.locks {
		if !now.Before(l.expires) {
			delete(s.locks, k)
		}
	}
	s.locksMu.Unlock()
}

// Len returns the number of entries held, expired ones not yet reaped included.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		s.shards[i].mu.RLock()
		n += len(s.shards[i].m)
		s.shards[i].mu.RUnlock()
	}
	return n
}

// Bytes returns the bytes accounted against the budget.
func (s *Store) Bytes() int64 {
	var n int64
	for i := range s.shards {
		s.shards[i].mu.RLock()
		n += s.shards[i].bytes
		s.shards[i].mu.RUnlock()
	}
	return n
}

// Lock takes the lock called key for ttl unless a live holder has it.
func (s *Store) Lock(_ context.Context, key string, ttl time.Duration) (string, bool, error) {
	now := time.Now()
	s.locksMu.Lock()
	defer s.locksMu.Unlock()
	if l, ok := s.locks[key]; ok && now.Before(l.expires) {
		return "", false, nil
	}
	tok := backends.NewToken()
	s.locks[key] = heldLock{token: tok, expires: now.Add(ttl)}
	return tok, true, nil
}

// Unlock releases the lock if token is its live holder's.
func (s *Store) Unlock(_ context.Context, key, token string) (bool, error) {
	s.locksMu.Lock()
	defer s.locksMu.Unlock()
	l, ok := s.locks[key]
	if !ok || l.token != token || !time.Now().Before(l.expires) {
		return false, nil
	}
	delete(s.locks, key)
	return true, nil
}

func (s *Store) reap(every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.flushExpired()
		}
	}
}

// Close stops the reaper and waits for it; the entries stay readable.
func (s *Store) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
	return nil
}
