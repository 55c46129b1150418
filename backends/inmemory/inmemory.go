package inmemory

import (
	"context"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/cachette-go/cachette/backends"
)

// Defaults.
const (
	DefaultMaxBytes     = 256 << 20 // 256 MiB of keys and values
	DefaultShards       = 64        // Deprecated: Options.Shards is ignored
	DefaultReapInterval = 5 * time.Second
	entryOverhead       = 80 // rough bytes per entry beyond key and value
)

func init() {
	backends.RegisterDriver("inmemory", backends.Driver{Open: func(ctx context.Context, s backends.Settings) (backends.Backend, error) {
		return Open(ctx, s)
	}})
}

// Options configures a Store. Zero fields take the defaults.
type Options struct {
	MaxBytes   int64 // budget for keys, values and bookkeeping; default DefaultMaxBytes
	MaxEntries int   // 0 means no entry limit
	// Shards is ignored: the store is one otter cache, whose reads take no
	// lock. It is kept so that code setting it still compiles.
	//
	// Deprecated: the store has no shards.
	Shards       int
	ReapInterval time.Duration // how often expired entries are removed; default DefaultReapInterval
}

// Option adjusts a store that Open makes, by editing its Options.
type Option func(*Options)

// WithMaxBytes sets Options.MaxBytes.
func WithMaxBytes(n int64) Option { return func(o *Options) { o.MaxBytes = n } }

// WithMaxEntries sets Options.MaxEntries.
func WithMaxEntries(n int) Option { return func(o *Options) { o.MaxEntries = n } }

// Open returns a new store with the default Options, then opts; it is the
// opener registered as "inmemory", and reads no key of the Settings (the
// store holds one process's entries, and needs no prefix). It never fails.
func Open(_ context.Context, _ backends.Settings, opts ...Option) (*Store, error) {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	return New(o), nil
}

// Store is the in-memory backend. It satisfies backends.Backend.
type Store struct {
	c *otter.Cache[string, *item]
	// base is the origin of deadlines, with its monotonic clock reading:
	// reading time.Since(base) costs about half of time.Now.
	base time.Time
	// baseUnix is base in Unix nanoseconds: GetTimed's reading is
	// baseUnix plus the monotonic time since base.
	baseUnix int64
	// Weights (see weigh): an entry weighs ceil(max(size, unit)/scale),
	// and the otter cache holds at most limit/scale of weight.
	unit, scale, limit int64
	bytes              atomic.Int64
	locksMu            sync.Mutex
	locks              map[string]heldLock
	stop               chan struct{}
	stopOnce           sync.Once
	wg                 sync.WaitGroup
}

// item is one stored entry; it is never modified once stored.
type item struct {
	value    []byte
	deadline int64 // nanoseconds since Store.base, on the monotonic clock: expired from then on
	expires  int64 // Unix nanoseconds, what Get reports
	size     int64 // bytes accounted against MaxBytes
	weight   uint32
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
	if o.ReapInterval <= 0 {
		o.ReapInterval = DefaultReapInterval
	}
	s := &Store{
		base:  time.Now(),
		locks: map[string]heldLock{},
		stop:  make(chan struct{}),
	}
	s.baseUnix = s.base.UnixNano()
	// otter bounds one total of uint32 weights. To hold MaxBytes and
	// MaxEntries at once, every entry weighs at least unit =
	// MaxBytes/MaxEntries bytes, and the limit is unit*MaxEntries (at most
	// MaxBytes): then n entries weigh at least n*unit, so n <= MaxEntries,
	// and their bytes are at most their weight. Weights are in units of
	// scale bytes, so that the largest (the limit) fits in a uint32.
	s.scale = max(1, (o.MaxBytes+math.MaxUint32-1)/math.MaxUint32)
	s.limit = o.MaxBytes / s.scale * s.scale
	if o.MaxEntries > 0 {
		e := min(int64(o.MaxEntries), s.limit/s.scale)
		s.unit = s.limit / e / s.scale * s.scale
		s.limit = s.unit * e
	}
	s.c = otter.Must(&otter.Options[string, *item]{
		MaximumWeight: uint64(s.limit / s.scale),
		Weigher:       func(_ string, it *item) uint32 { return it.weight },
		// Maintenance (eviction) runs on the goroutine that needs it, so
		// that the bounds hold when Set returns.
		Executor: func(fn func()) { fn() },
		OnAtomicDeletion: func(e otter.DeletionEvent[string, *item]) {
			s.bytes.Add(-e.Value.size)
		},
	})
	s.wg.Add(1)
	go s.reap(o.ReapInterval)
	return s
}

// now is the current time as a deadline: nanoseconds since s.base.
func (s *Store) now() int64 { return int64(time.Since(s.base)) }

func size(key string, value []byte) int64 {
	return int64(len(key) + len(value) + entryOverhead)
}

// Get returns the stored value; the caller must not modify it. It makes
// one clock reading and no allocation.
func (s *Store) Get(_ context.Context, key string) ([]byte, time.Time, error) {
	it, ok := s.c.GetIfPresent(key)
	if !ok || s.now() >= it.deadline {
		return nil, time.Time{}, backends.ErrNotFound
	}
	return it.value, time.Unix(0, it.expires), nil
}

var _ backends.TimedGetter = (*Store)(nil)

// GetTimed is Get that also returns the time at which the entry was found
// live, on the store's clock (the wall time at New plus the monotonic time
// since, as a time without monotonic reading: building it from Unix
// nanoseconds costs less than base.Add), so that cachette learns the time
// left without another reading.
func (s *Store) GetTimed(_ context.Context, key string) ([]byte, time.Time, time.Time, error) {
	it, ok := s.c.GetIfPresent(key)
	if !ok {
		return nil, time.Time{}, time.Time{}, backends.ErrNotFound
	}
	now := s.now()
	if now >= it.deadline {
		return nil, time.Time{}, time.Time{}, backends.ErrNotFound
	}
	return it.value, time.Unix(0, it.expires), time.Unix(0, s.baseUnix+now), nil
}

// Set stores a copy of value. An entry bigger than the whole budget is
// refused with an error wrapping backends.ErrTooLarge.
func (s *Store) Set(_ context.Context, key string, value []byte, expiresAt time.Time) error {
	sz := size(key, value)
	if sz > s.limit {
		return tooLarge(sz, s.limit)
	}
	now := time.Now()
	it := &item{
		value:    append([]byte(nil), value...),
		deadline: s.deadline(now, expiresAt),
		expires:  expiresAt.UnixNano(),
		size:     sz,
		weight:   uint32((max(sz, s.unit) + s.scale - 1) / s.scale),
	}
	s.bytes.Add(sz)
	s.c.Set(key, it)
	return nil
}

// deadline turns expiresAt into a deadline on the monotonic clock, as
// seen at now: the entry lives as long as expiresAt.Sub(now) says, even if
// the wall clock is set while it does.
func (s *Store) deadline(now, expiresAt time.Time) int64 {
	since := int64(now.Sub(s.base))
	left := int64(expiresAt.Sub(now))
	switch {
	case left > 0 && since > math.MaxInt64-left:
		return math.MaxInt64
	case left < 0 && since < math.MinInt64-left:
		return math.MinInt64
	}
	return since + left
}

func tooLarge(sz, limit int64) error {
	return &sizeError{sz, limit}
}

type sizeError struct{ size, limit int64 }

func (e *sizeError) Error() string {
	return "inmemory: entry of " + itoa(e.size) + " bytes exceeds the store's budget of " + itoa(e.limit) + " bytes (raise Options.MaxBytes)"
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

// Delete removes key and reports whether a live entry was removed.
func (s *Store) Delete(_ context.Context, key string) (bool, error) {
	it, ok := s.c.Invalidate(key)
	return ok && s.now() < it.deadline, nil
}

// removeWhere deletes the entries match selects and counts the live ones.
// An entry replaced while it runs is left alone.
func (s *Store) removeWhere(match func(key string, it *item) bool) int {
	now := s.now()
	live := 0
	for k, it := range s.c.All() {
		if !match(k, it) {
			continue
		}
		removed := false
		s.c.ComputeIfPresent(k, func(cur *item) (*item, otter.ComputeOp) {
			if cur != it {
				return cur, otter.CancelOp
			}
			removed = true
			return nil, otter.InvalidateOp
		})
		if removed && now < it.deadline {
			live++
		}
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
	s.c.InvalidateAll()
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
	now := s.now()
	s.removeWhere(func(_ string, it *item) bool { return it.deadline <= now })
	t := time.Now()
	s.locksMu.Lock()
	for k, l := range s.locks {
		if !t.Before(l.expires) {
			delete(s.locks, k)
		}
	}
	s.locksMu.Unlock()
}

// Len returns the number of entries held, expired ones not yet reaped included.
func (s *Store) Len() int { return s.c.EstimatedSize() }

// Bytes returns the bytes of the entries held, by the measure MaxBytes
// bounds (keys, values and a fixed overhead per entry).
func (s *Store) Bytes() int64 { return s.bytes.Load() }

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
