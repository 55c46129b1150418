package cachette

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachette-go/cachette/backends"
	_ "github.com/cachette-go/cachette/backends/gob"      // always available
	_ "github.com/cachette-go/cachette/backends/inmemory" // the default
	"github.com/cachette-go/cachette/codecs"
)

// ErrNotFound is returned by Fetch on a miss or an expired entry.
var ErrNotFound = backends.ErrNotFound

// ErrNotSupported is returned for an operation the store cannot do.
var ErrNotSupported = backends.ErrNotSupported

// ErrTooLarge is wrapped by the error of Put and PutBytes for a value
// whose encoded bytes are longer than Config.MaxValueSize, and by a
// store's error for a value bigger than the store accepts.
var ErrTooLarge = backends.ErrTooLarge

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("cachette: cache is closed")

// Cache is a configured cache. Its methods are safe for concurrent use.
type Cache struct {
	store   backends.Backend
	codec   codecs.Codec
	cfg     Config
	log     *slog.Logger
	flights group
	local   *localTier           // nil without Config.LocalEntries (local.go)
	signer  *signer              // Config.SigningKey (sign.go); nil: entries are not signed
	timed   backends.TimedGetter // store, when it reports its clock reading on Get (storeclock.go)

	stats      stats    // Stats (stats.go)
	refreshing sync.Map // keys being refreshed in the background (stale.go)

	xfetchRand func() float64 // tests' source of WithEarlyRefresh's draws (xfetch.go); nil: math/rand/v2

	closed chan struct{}
	// isShut is set by Close before closed is closed: isClosed's one load,
	// where a select on closed costs a runtime call on every read. It is
	// read on every hit and has cache lines of its own: unpadded, a local
	// hit cost twice as much in 4 of 39 benchmark processes (which line it
	// shared was not found), padded in none of 27 (bench/results/local-tier.md).
	_         [64]byte
	isShut    atomic.Bool
	_         [64]byte
	closeOnce sync.Once
}

// Option adjusts one call.
type Option func(*callOptions)

type callOptions struct {
	ttl          time.Duration
	uncompressed bool // Uncompressed

	swr, sie time.Duration // stale windows (stale.go)
	negTTL   time.Duration // negative caching (negative.go)
	tags     []string      // WithTags (tags.go)

	// WithEarlyRefresh (xfetch.go): its beta, the duration of the load
	// whose value is stored, and the expiry an early refresh found.
	beta        float64
	loadTime    time.Duration
	refreshSeen time.Time

	// tagBlock holds the versions of tags when tagsStamped: GetOrLoad
	// reads them before its load runs (stale.go, planWrite).
	tagBlock    string
	tagsStamped bool

	// readFailed: GetOrLoad's read met a store error, so its load makes
	// no store call: it neither reads again before loading, nor reads tag
	// versions, nor writes the loaded value or a negative marker
	// (loadFlight, loadFailed): a down or hung store costs one timeout per
	// call, not three (docs/reliability.md). The next call loads and
	// stores it.
	readFailed bool
}

// Uncompressed stores the value of one Put or PutBytes as it is, whatever
// Config.Compression says: for a value that is compressed already, or one
// its reader wants to find without a decompression (httpcache compresses
// the bodies it stores itself, so that a HIT on a hot entry decompresses
// nothing).
func Uncompressed() Option {
	return func(o *callOptions) { o.uncompressed = true }
}

// WithTTL sets the time to live of one Put (or of the value GetOrLoad
// stores); any d > 0 is allowed, independently of Config.TTL's bounds.
func WithTTL(d time.Duration) Option {
	return func(o *callOptions) {
		if d > 0 {
			o.ttl = d
		}
	}
}

// New validates cfg and opens its backend. It does not need a network
// round trip for stores that connect lazily.
func New(ctx context.Context, cfg Config) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	codec, err := codecs.Lookup(cfg.Codec)
	if err != nil {
		return nil, err
	}
	name := canonicalBackend(cfg.Backend)
	store, err := backends.Open(ctx, name, cfg.settings())
	if err != nil {
		return nil, err
	}
	if cfg.Observer != nil {
		store = cfg.Observer.WrapStore(name, store)
	}
	c := newCache(store, codec, cfg)
	if err := c.startLocal(ctx); err != nil { // local tier (local.go)
		store.Close()
		return nil, err
	}
	return c, nil
}

// NewWithBackend builds a Cache around a store the caller opened, for
// example redis.NewFromClient(client, prefix). cfg.Backend and the
// connection fields are ignored; codec, TTL and compression are read.
func NewWithBackend(store backends.Backend, cfg Config) (*Cache, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: NewWithBackend needs a store", ErrInvalidConfig)
	}
	name := cfg.Backend
	if name == "" {
		name = storeName(store)
	}
	cfg.Backend = DefaultBackend // the connection fields do not apply
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.Backend = name // errors and logs name the real store
	codec, err := codecs.Lookup(cfg.Codec)
	if err != nil {
		return nil, err
	}
	if cfg.Observer != nil {
		store = cfg.Observer.WrapStore(canonicalBackend(name), store)
	}
	c := newCache(store, codec, cfg)
	if err := c.startLocal(context.Background()); err != nil { // local tier (local.go)
		return nil, err
	}
	return c, nil
}

// decodedSizeFactor times Config.MaxValueSize is the budget of codecs
// whose decoding may expand (codecs.DecodeBounder: feather, parquet).
const decodedSizeFactor = 8

func newCache(store backends.Backend, codec codecs.Codec, cfg Config) *Cache {
	if b, ok := codec.(codecs.DecodeBounder); ok {
		codec = b.WithMaxDecodedSize(decodedSizeFactor * int64(cfg.MaxValueSize))
	}
	c := &Cache{store: store, codec: codec, cfg: cfg, log: cfg.Logger, closed: make(chan struct{}), timed: timedGetter(store)}
	c.signer = newSigner(cfg, store)
	c.flights.onPanic = func(e *LoadPanicError) {
		c.log.Error("cachette: load panicked", "backend", cfg.Backend, "key", e.Key, "panic", e.Value, "stack", string(e.Stack))
	}
	return c
}

// storeName names a store by its package: *redis.Store gives "redis". A
// decorator (an Observer's, say) with an Unwrap() backends.Backend method
// is named after the store it wraps.
func storeName(store backends.Backend) string {
	t := reflect.TypeOf(backends.Unwrap(store))
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if p := t.PkgPath(); p != "" {
		return p[strings.LastIndex(p, "/")+1:]
	}
	return t.String()
}

func canonicalBackend(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "pickle" {
		return "gob"
	}
	return name
}

// settings is what the store is opened with: the generic fields, and in
// Values the keys its Driver declares (see Config.storeValues). The
// deprecated per-store fields are filled too, for stores that still read them.
func (c Config) settings() backends.Settings {
	var values backends.Values
	if d, ok := driver(c.Backend); ok {
		values = c.storeValues(d)
	}
	return backends.Settings{
		Prefix:        c.Prefix,
		Values:        values,
		RedisURL:      c.RedisURL,
		ValkeyURL:     c.ValkeyURL,
		MemcachedHost: c.MemcachedHost,
		MongoDBURL:    c.MongoDBURL,
		DatabaseName:  c.DatabaseName,
		TableName:     c.TableName,
		PicklePath:    c.PicklePath,
		DynamoDBURL:   c.DynamoDBURL,
		Region:        c.Region,
		Timeout:       c.Timeout,
		Logger:        c.Logger,
	}
}

// Config returns the configuration the cache runs with, defaults filled in.
func (c *Cache) Config() Config { return c.cfg }

// Backend returns the store under the cache.
func (c *Cache) Backend() backends.Backend { return c.store }

func (c *Cache) isClosed() bool {
	return c.isShut.Load()
}

func (c *Cache) wrap(op string, err error) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return err
	}
	c.stats.storeError()
	return fmt.Errorf("cachette %s (%s): %w", op, c.cfg.Backend, err)
}

// callOpts applies opts to the cache's defaults.
func (c *Cache) callOpts(opts []Option) callOptions {
	o := callOptions{ttl: c.cfg.TTL}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Put stores value under key with the cache's codec, for Config.TTL or
// the TTL given by WithTTL. WithTags, WithStaleWhileRevalidate and
// WithStaleIfError apply to the stored entry too.
func (c *Cache) Put(ctx context.Context, key string, value any, opts ...Option) error {
	return c.put(ctx, key, value, c.callOpts(opts))
}

func (c *Cache) put(ctx context.Context, key string, value any, o callOptions) error {
	payload, err := c.codec.Encode(value)
	if err != nil {
		return fmt.Errorf("cachette put %q: %w", key, err)
	}
	return c.putPayload(ctx, key, c.codec.ID(), payload, o)
}

// PutBytes stores raw bytes under key without the codec (still compressed
// according to Config.Compression). FetchBytes reads them back. httpcache
// stores responses this way, whatever the cache's codec. WithTags and the
// stale windows apply as on Put.
func (c *Cache) PutBytes(ctx context.Context, key string, value []byte, opts ...Option) error {
	return c.putPayload(ctx, key, codecRaw, value, c.callOpts(opts))
}

func (c *Cache) putPayload(ctx context.Context, key string, codecID byte, payload []byte, o callOptions) error {
	if c.isClosed() {
		return ErrClosed
	}
	w, err := c.planWrite(ctx, o) // expiry, stale window, tag versions (stale.go)
	if err != nil {
		return fmt.Errorf("cachette put %q: %w", key, err)
	}
	buf, err := c.sealEntry(key, w, codecID, payload, !o.uncompressed)
	if err != nil {
		return err
	}
	c.noteWrite(key) // invalidation delay (invaldelay.go)
	err = c.store.Set(ctx, key, buf, w.storeExpiry)
	c.wrote(key, err == nil) // local tier (local.go, invaldelay.go): after the write, even a failed one
	return c.wrap("put", err)
}

// sealEntry makes the stored bytes of an entry under the write plan w
// (header, extension block, payload compressed or not); Put and PutMany
// store what it makes, until w.storeExpiry.
func (c *Cache) sealEntry(key string, w writePlan, codecID byte, payload []byte, compress bool) ([]byte, error) {
	if len(payload) > c.cfg.MaxValueSize {
		return nil, fmt.Errorf("cachette put %q: %d bytes, more than max_value_size %d: %w", key, len(payload), c.cfg.MaxValueSize, ErrTooLarge)
	}
	w.h.codec = codecID
	return c.encodeEntry(key, w.h, payload, compress), nil
}

// encodeEntry returns the stored form of payload under header h (its
// extension block included), compressed according to the configuration
// when compress is true, and signed for key when the cache signs.
func (c *Cache) encodeEntry(key string, h entryHeader, payload []byte, compress bool) []byte {
	buf := make([]byte, entryHeaderSize, entryHeaderSize+len(payload)+macSize)
	if h.ext {
		buf = appendExt(buf, h)
	}
	if compress && codecs.ShouldCompress(c.cfg.Compression, c.cfg.CompressionMinSize, len(payload)) {
		before := len(buf)
		compressed := codecs.Compress(buf, payload)
		// Keep the compressed form when it saves space, or when asked to always compress.
		if len(compressed)-before < len(payload) || strings.EqualFold(c.cfg.Compression, codecs.CompressAll) {
			h.compressed = true
			buf = compressed
		}
	}
	if !h.compressed {
		buf = append(buf, payload...)
	}
	putHeader(buf, h)
	if c.signer != nil {
		buf = c.signer.sign(key, buf)
	}
	return buf
}

// Fetch decodes the value stored under key into dst, a non-nil pointer. It
// returns ErrNotFound on a miss or an expired entry. An entry that cannot be
// decoded is removed, logged and reported as ErrNotFound.
func (c *Cache) Fetch(ctx context.Context, key string, dst any) error {
	if c.local != nil && c.localFetch(ctx, key, dst, nil) { // local tier hit (local.go)
		return nil
	}
	_, err := c.fetch(ctx, key, dst, false)
	c.observeLookup(ctx, key, err)
	return err
}

// FetchWithTTL is Fetch that also returns the entry's remaining time to live.
func (c *Cache) FetchWithTTL(ctx context.Context, key string, dst any) (time.Duration, error) {
	var left time.Duration
	if c.local != nil && c.localFetch(ctx, key, dst, &left) { // local tier hit (local.go)
		return left, nil
	}
	left, err := c.fetch(ctx, key, dst, true)
	c.observeLookup(ctx, key, err)
	return left, err
}

func (c *Cache) fetch(ctx context.Context, key string, dst any, wantTTL bool) (time.Duration, error) {
	if rv := reflect.ValueOf(dst); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return 0, fmt.Errorf("cachette fetch %q: %w: dst must be a non-nil pointer, not %T", key, codecs.ErrType, dst)
	}
	if c.local != nil { // through the local tier (local.go)
		return c.localFetchStore(ctx, key, dst, wantTTL)
	}
	payload, left, err := c.fetchPayload(ctx, key, c.codec.ID(), wantTTL)
	if err != nil {
		return 0, err
	}
	if err := c.codec.Decode(payload, dst); err != nil {
		if errors.Is(err, codecs.ErrType) {
			return 0, fmt.Errorf("cachette fetch %q: %w", key, err)
		}
		c.dropCorrupt(ctx, key, err)
		return 0, ErrNotFound
	}
	return left, nil
}

// FetchBytes returns the raw bytes stored under key by PutBytes and their
// remaining time to live. The slice may be shared with the store (the
// in-memory store hands out the slice it holds): read it, do not modify it.
func (c *Cache) FetchBytes(ctx context.Context, key string) ([]byte, time.Duration, error) {
	return c.fetchPayload(ctx, key, codecRaw, true)
}

// fetchPayload reads and checks the entry under key. Stores never return
// entries past their store expiry, which is the entry's own unless it has
// a stale window, so the clock is read again only for those and when the
// caller wants the time left (reading it costs as much as the rest of an
// in-memory hit).
func (c *Cache) fetchPayload(ctx context.Context, key string, codecID byte, wantTTL bool) ([]byte, time.Duration, error) {
	if c.isClosed() {
		return nil, 0, ErrClosed
	}
	raw, now, err := c.getTimed(ctx, key, wantTTL) // (storeclock.go)
	if err != nil {
		return nil, 0, c.wrap("fetch", err)
	}
	return c.openEntryAt(ctx, key, raw, codecID, wantTTL, now)
}

// openEntry checks the stored bytes raw of key and returns their payload:
// an entry that does not decode, was written by another codec or has a
// tag invalidated since is ErrNotFound (the first two are dropped: removed
// and logged), and so is a negative marker or an expired entry. Fetch and
// FetchMany read entries through it.
func (c *Cache) openEntry(ctx context.Context, key string, raw []byte, codecID byte, wantTTL bool) ([]byte, time.Duration, error) {
	return c.openEntryAt(ctx, key, raw, codecID, wantTTL, time.Time{})
}

// openEntryAt is openEntry with the time of the store's read, now, when the
// store reported it (zero otherwise: the clock is read).
func (c *Cache) openEntryAt(ctx context.Context, key string, raw []byte, codecID byte, wantTTL bool, now time.Time) ([]byte, time.Duration, error) {
	if payload, left, done, err := c.openPlain(raw, codecID, wantTTL, now); done { // common entries' shortcut (fastpath.go)
		return payload, left, err
	}
	_, payload, left, err := c.openEntryHeader(ctx, key, raw, codecID, wantTTL, now)
	return payload, left, err
}

// openEntryHeader is openEntryAt that returns the entry's header too (the
// local tier keeps the tags of the values it holds, local_tags.go).
func (c *Cache) openEntryHeader(ctx context.Context, key string, raw []byte, codecID byte, wantTTL bool, now time.Time) (entryHeader, []byte, time.Duration, error) {
	h, payload, err := c.checkEntry(ctx, key, raw, codecID) // (stale.go)
	if err != nil {
		return h, nil, 0, err
	}
	if h.negative {
		return h, nil, 0, ErrNotFound
	}
	// Only an entry with a stale window outlives its expiry in the store.
	if !wantTTL && h.staleWindow == 0 {
		return h, payload, 0, nil
	}
	left := timeLeft(h.expiresAt, now) // (storeclock.go)
	if left <= 0 {
		return h, nil, 0, ErrNotFound
	}
	return h, payload, left, nil
}

func (c *Cache) dropCorrupt(ctx context.Context, key string, reason error) {
	c.log.WarnContext(ctx, "cachette: dropping undecodable entry", "backend", c.cfg.Backend, "key", key, "error", reason)
	if _, err := c.store.Delete(ctx, key); err != nil {
		c.log.WarnContext(ctx, "cachette: removing undecodable entry failed", "backend", c.cfg.Backend, "key", key, "error", err)
	}
}

// Clear removes key; it reports whether a live entry was removed.
func (c *Cache) Clear(ctx context.Context, key string) (bool, error) {
	if c.isClosed() {
		return false, ErrClosed
	}
	c.noteWrite(key) // invalidation delay (invaldelay.go)
	ok, err := c.store.Delete(ctx, key)
	c.wrote(key, ok && err == nil) // local tier (local.go, invaldelay.go)
	return ok, c.wrap("clear", err)
}

// ClearNamespace removes every key that starts with namespace+":" and
// returns how many live entries it removed. Stores that cannot enumerate
// keys return an error wrapping ErrNotSupported.
func (c *Cache) ClearNamespace(ctx context.Context, namespace string) (int, error) {
	if c.isClosed() {
		return 0, ErrClosed
	}
	n, err := c.store.ClearNamespace(ctx, namespace)
	if c.local != nil { // local tier (local.go)
		c.local.invalidatePrefix(namespace + ":")
	}
	return n, c.wrap("clear namespace", err)
}

// Flush removes every key of this cache (its Prefix) and nothing else.
func (c *Cache) Flush(ctx context.Context) error {
	if c.isClosed() {
		return ErrClosed
	}
	err := c.store.Flush(ctx)
	if c.local != nil { // local tier (local.go)
		c.local.reset()
	}
	return c.wrap("flush", err)
}

// FlushExpired removes expired entries where the store keeps them.
func (c *Cache) FlushExpired(ctx context.Context) error {
	if c.isClosed() {
		return ErrClosed
	}
	return c.wrap("flush expired", c.store.FlushExpired(ctx))
}

// Lock takes the store's distributed lock called name for ttl. It returns
// a token for Unlock and true, or false when another holder has it.
func (c *Cache) Lock(ctx context.Context, name string, ttl time.Duration) (string, bool, error) {
	if c.isClosed() {
		return "", false, ErrClosed
	}
	tok, ok, err := c.store.Lock(ctx, name, ttl)
	return tok, ok, c.wrap("lock", err)
}

// Unlock releases the lock called name if token is its holder's.
func (c *Cache) Unlock(ctx context.Context, name, token string) (bool, error) {
	if c.isClosed() {
		return false, ErrClosed
	}
	ok, err := c.store.Unlock(ctx, name, token)
	return ok, c.wrap("unlock", err)
}

// Close closes the store; every later call of another method returns
// ErrClosed. Close may be called more than once, concurrently too: the
// store is closed once, and every call but the first returns nil once the
// first has finished.
func (c *Cache) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.isShut.Store(true)
		close(c.closed)
		if c.local != nil { // local tier (local.go)
			c.local.close()
		}
		err = c.wrap("close", c.store.Close())
	})
	return err
}

// GetOrLoad returns the value cached under key, or calls load, stores what
// it returns and returns it. Errors from load are returned and not cached;
// an error storing the value is logged and the loaded value is still
// returned.
//
// However many goroutines ask for one key (as one type T) at once, load
// runs once and they all get its result. It runs in its own goroutine, on a
// context that carries the values of the first caller's ctx but not its
// cancellation or deadline: a caller whose ctx ends returns ctx.Err() at
// once, and load goes on for the callers still waiting. When every caller
// has left, load's context is cancelled and nothing is stored (unless load
// returns a value anyway); the next call starts a new load. Callers asking
// for one key as different types T run separate loads.
//
// If load panics, every caller waiting for it, the first one included,
// gets an error wrapping ErrLoadPanicked (a *LoadPanicError holding the
// panic value and stack), and the panic is logged at error level; nothing
// re-panics, because load ran on a goroutine of its own.
//
// A codec that cannot hold T (vanilla, with anything but string or
// []byte) is an error wrapping codecs.ErrType, returned before the store
// is read and before load runs.
//
// Options: WithTTL and WithTags apply to the stored value (the versions of
// its tags are read before load runs, so that an InvalidateTags while it
// runs makes the value a miss). WithStaleWhileRevalidate and
// WithStaleIfError keep it in the store past its TTL and let GetOrLoad
// return it then, inside their windows: at once, with a reload in the
// background, or when load fails. WithNegativeTTL remembers a load error
// wrapping ErrNotFound. The options of the call whose load runs decide
// what is stored; each caller's own decide what it is served.
func GetOrLoad[T any](ctx context.Context, c *Cache, key string, load func(context.Context) (T, error), opts ...Option) (T, error) {
	var zero T
	typ := reflect.TypeFor[T]()
	if err := codecs.CheckType(c.codec, typ); err != nil {
		return zero, fmt.Errorf("cachette getorload %q: %w", key, err)
	}
	o := c.callOpts(opts)
	var v T
	if c.local != nil { // local tier hit (local.go)
		if p, ok := c.local.get(key, reflect.TypeFor[*T]()); ok && !c.isClosed() {
			c.localHit(ctx, key)
			return *p.(*T), nil
		}
	}
	var (
		st   readState
		seen time.Time
		err  error
	)
	if c.local != nil && o.swr == 0 && o.sie == 0 && o.negTTL == 0 && o.beta == 0 {
		// A plain read goes through Fetch's path, which fills the local
		// tier (local.go); stale, negative and early-refresh reads need
		// the entry's header and do not.
		if _, err = c.fetch(ctx, key, &v, false); err == nil {
			st = readFresh
		}
	} else {
		st, seen, err = c.readForLoad(ctx, key, &v, o) // fresh, stale or negative (stale.go)
	}
	switch st {
	case readFresh:
		c.observeLookup(ctx, key, nil)
		return v, nil
	case readEarlyRefresh: // WithEarlyRefresh (xfetch.go)
		c.observeLookup(ctx, key, nil)
		o.refreshSeen = seen
		refreshInBackground(ctx, c, key, load, o)
		return v, nil
	case readNegative:
		c.observeLookup(ctx, key, nil)
		return zero, ErrNotFound
	case readStaleRevalidate:
		c.observeStale(ctx, key)
		refreshInBackground(ctx, c, key, load, o)
		return v, nil
	case readStaleIfError:
		// Reported once the load's outcome is known.
	default:
		c.observeLookup(ctx, key, err)
	}
	if errors.Is(err, ErrClosed) {
		return zero, err
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		c.log.WarnContext(ctx, "cachette: fetch failed, loading", "backend", c.cfg.Backend, "key", key, "error", err)
		o.readFailed = true
	}
	res, err, shared := c.flights.do(ctx, flightKey{typ, key}, loadFlight(c, key, load, o))
	for tries := 0; shared && errors.Is(err, errNotLoaded) && tries < maxRejoins; tries++ {
		// A GetOrLoadMany's load left key out (batch.go): load it here.
		res, err, shared = c.flights.do(ctx, flightKey{typ, key}, loadFlight(c, key, load, o))
	}
	if st == readStaleIfError {
		if c.serveStaleOnError(ctx, key, err) {
			return v, nil
		}
		c.observeLookup(ctx, key, ErrNotFound)
	}
	if err != nil {
		return zero, err
	}
	out, _ := res.(T) // a nil interface value, when T is an interface type
	return out, nil
}

// loadFlight is the flight of GetOrLoad for key: unless another flight
// stored the value meanwhile, it runs load and stores its value with o, or
// remembers a not-found (WithNegativeTTL). A store error is logged and the
// loaded value still returned. After a failed read (o.readFailed) nothing
// is written: the store has just failed, and a write to a hung one would
// cost another timeout.
func loadFlight[T any](c *Cache, key string, load func(context.Context) (T, error), o callOptions) func(context.Context) (any, error) {
	return func(ctx context.Context) (any, error) {
		// Another flight may have stored it while this one queued (not
		// worth a second store error when the read just failed).
		var cached T
		if !o.refreshSeen.IsZero() { // an early refresh: the value read was fresh (xfetch.go)
			if v, ok := reloadedSince[T](ctx, c, key, o.refreshSeen); ok {
				return v, nil
			}
		} else if !o.readFailed {
			if _, err := c.fetch(ctx, key, &cached, false); err == nil {
				return cached, nil
			}
		}
		// Tag versions are taken before the load, so that an
		// InvalidateTags while it runs makes its value a miss (stale.go);
		// not after a failed read, as nothing is written then.
		var serr error
		if !o.readFailed {
			o, serr = c.stampBeforeLoad(ctx, o)
		}
		start := time.Now()
		loaded, err := callLoad(ctx, c, key, load)
		o.loadTime = time.Since(start) // stored with WithEarlyRefresh (xfetch.go)
		if err != nil {
			return nil, c.loadFailed(ctx, key, err, o)
		}
		if o.readFailed {
			return loaded, nil
		}
		if serr == nil {
			serr = c.put(ctx, key, loaded, o)
		}
		if serr != nil {
			c.log.WarnContext(ctx, "cachette: storing loaded value failed", "backend", c.cfg.Backend, "key", key, "error", serr)
		}
		return loaded, nil
	}
}
