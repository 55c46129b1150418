package memcached

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/internal/storekeys"
)

// Defaults.
const (
	// DefaultPort is the port of a host given without one.
	DefaultPort = "11211"
	// DefaultTimeout bounds each network call when Settings.Timeout is 0.
	DefaultTimeout = time.Second
	// DefaultMaxIdleConns is the number of idle connections kept per
	// server, enough for a busy process to reuse connections rather than
	// dial for most calls.
	DefaultMaxIdleConns = 32
	// DefaultPrefix is used by NewFromClient when the prefix is empty.
	DefaultPrefix = "cachette"
)

const (
	maxKeyLen        = 250     // memcached's key length limit
	maxRawPrefixLen  = 150     // longer prefixes are hashed, so that hashed keys stay under maxKeyLen
	maxRelativeTTL   = 2592000 // 30 days: memcached reads larger expirations as Unix times
	envelopeVersion  = 1
	envelopeHeader   = 9 // version byte + expiry in Unix milliseconds
	hashedMarker     = "#"
	reservedMarker   = "!"
	genSuffix        = ":!gen"
	lockInfix        = "!lock:"
	takeoverAttempts = 3
)

// errClosed is returned by every call after Close.
var errClosed = errors.New("memcached: store is closed")

// testHookBeforeCAS, set only by tests, runs before each compare-and-swap
// of Delete and Unlock, to let a test rewrite the item in between.
var testHookBeforeCAS func(key string)

func init() {
	backends.RegisterDriver("memcached", storekeys.Memcached.Driver(func(ctx context.Context, s backends.Settings) (backends.Backend, error) {
		return Open(ctx, s)
	}))
}

// Options configures a store opened with Open or OpenHosts. Zero fields
// take the defaults.
type Options struct {
	Prefix       string        // namespace of every key; default DefaultPrefix
	Timeout      time.Duration // per network call; default DefaultTimeout
	MaxIdleConns int           // idle connections kept per server; default DefaultMaxIdleConns
	Logger       *slog.Logger  // default slog.Default()

	// TLSCAFile is a PEM file of CA certificates trusted besides the
	// system's roots, for memcacheds:// servers (key tls_ca_file).
	TLSCAFile string
	// TLSConfig, if set, is the TLS configuration for memcacheds://
	// servers (cloned per connection; ServerName defaults to each server's
	// host name); TLSCAFile, if set too, replaces its RootCAs.
	TLSConfig *tls.Config
}

// Option adjusts a store that Open, OpenHosts or NewFromClient makes, by
// editing its Options. For Open, an Option overrides what the Settings say;
// for NewFromClient, only the Logger counts (the client has its own
// timeout and connections).
type Option func(*Options)

// WithLogger sends the store's reports to l (nil means slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// WithTimeout bounds each network call (0 means DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(o *Options) { o.Timeout = d } }

// WithTLSConfig sets the TLS configuration of memcacheds:// servers (see
// Options.TLSConfig).
func WithTLSConfig(c *tls.Config) Option { return func(o *Options) { o.TLSConfig = c } }

// WithMaxIdleConns sets how many idle connections are kept per server (0
// means DefaultMaxIdleConns).
func WithMaxIdleConns(n int) Option { return func(o *Options) { o.MaxIdleConns = n } }

// Store is the memcached backend. It satisfies backends.Backend and is safe
// for concurrent use.
type Store struct {
	client *memcache.Client
	owned  bool // the store made the client and closes it
	prefix string
	ns     string // prefix as it appears in server keys
	genKey string
	log    *slog.Logger
	closed atomic.Bool
}

var _ backends.Backend = (*Store)(nil)

// Open makes a client for the servers of the memcached_host key
// (Settings.Value), under s.Prefix with s.Timeout and s.Logger, then opts;
// see OpenHosts. It is the opener registered as "memcached". It does not
// connect; the first operation does.
func Open(_ context.Context, s backends.Settings, opts ...Option) (*Store, error) {
	o := Options{Prefix: s.Prefix, Timeout: s.Timeout, Logger: s.Logger, TLSCAFile: s.Value(storekeys.TLSCAFileKey.Name)}
	for _, opt := range opts {
		opt(&o)
	}
	return OpenHosts(s.Value("memcached_host"), o)
}

// OpenHosts makes a client for hosts, "host[:port][,host[:port]...]" (port 11211
// by default; [v6addr]:port, a bare IPv6 address and a Unix socket path
// starting with "/" are accepted too), and returns a store over it. Keys are
// spread over the servers by hash. With "memcacheds://host[:port][,...]"
// (every entry in that form) the client speaks TLS, verifying each
// server's certificate against the system's roots plus opts.TLSCAFile, or
// as opts.TLSConfig says. OpenHosts resolves the names but does not
// connect; the first operation does.
func OpenHosts(hosts string, opts Options) (*Store, error) {
	servers, useTLS, err := parseHosts(hosts)
	if err != nil {
		return nil, err
	}
	var list memcache.ServerList
	if err := list.SetServers(servers...); err != nil {
		return nil, fmt.Errorf("memcached: resolving %s: %w", strings.Join(servers, ","), err)
	}
	client := memcache.NewFromSelector(&list)
	client.Timeout = opts.Timeout
	if client.Timeout <= 0 {
		client.Timeout = DefaultTimeout
	}
	switch {
	case useTLS:
		dial, err := tlsDialer(servers, opts.TLSConfig, opts.TLSCAFile, client.Timeout)
		if err != nil {
			return nil, fmt.Errorf("memcached: %w", err)
		}
		client.DialContext = dial
	case opts.TLSCAFile != "":
		return nil, fmt.Errorf(`memcached: the %q is set but the "memcached_host" does not use TLS (memcacheds://)`, storekeys.TLSCAFileKey.Name)
	}
	client.MaxIdleConns = opts.MaxIdleConns
	if client.MaxIdleConns <= 0 {
		client.MaxIdleConns = DefaultMaxIdleConns
	}
	s := newStore(client, opts.Prefix, opts.Logger)
	s.owned = true
	return s, nil
}

// NewFromClient returns a store over a client the caller owns and
// configured (servers, Timeout, MaxIdleConns); Close leaves the client open.
// An empty prefix means DefaultPrefix.
func NewFromClient(client *memcache.Client, prefix string, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("memcached: NewFromClient: client is nil")
	}
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	return newStore(client, prefix, o.Logger), nil
}

func newStore(client *memcache.Client, prefix string, log *slog.Logger) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if log == nil {
		log = slog.Default()
	}
	ns := prefix
	if !legalKey(prefix) || len(prefix) > maxRawPrefixLen || strings.Contains(prefix, ":") ||
		strings.HasPrefix(prefix, hashedMarker) {
		ns = hashedMarker + hashHex(prefix)
	}
	return &Store{client: client, prefix: prefix, ns: ns, genKey: ns + genSuffix, log: log}
}

// Prefix returns the namespace the store was opened with.
func (s *Store) Prefix() string { return s.prefix }

// ParseHosts splits "host[:port][,host[:port]...]" into server addresses,
// adding DefaultPort where a host has none. Its errors name a bad entry by
// its position and never quote it, since a mistyped entry may hold a
// password ("user:secret@host"): memcached takes no credentials, so an
// entry with "@" is refused.
//
// Entries of the form "memcacheds://host[:port]" (TLS) are returned
// without their scheme; every entry must then have it.
func ParseHosts(raw string) ([]string, error) {
	out, _, err := parseHosts(raw)
	return out, err
}

// parseHosts is ParseHosts, and reports whether the entries ask for TLS.
func parseHosts(raw string) ([]string, bool, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, false, errors.New(`memcached: no servers: the "memcached_host" is empty`)
	}
	var out []string
	n, tlsEntries := 0, 0
	for h := range strings.SplitSeq(raw, ",") {
		n++
		h, isTLS := storekeys.CutMemcachedTLS(strings.TrimSpace(h))
		if isTLS {
			tlsEntries++
			if strings.HasPrefix(h, "/") {
				return nil, false, fmt.Errorf(`memcached: entry %d of the "memcached_host": memcacheds:// takes host[:port], not a Unix socket`, n)
			}
		}
		addr, err := hostAddr(h)
		if err != nil {
			return nil, false, fmt.Errorf(`memcached: entry %d of the "memcached_host": %s`, n, err)
		}
		out = append(out, addr)
	}
	if tlsEntries > 0 && tlsEntries < n {
		return nil, false, errors.New(`memcached: the "memcached_host" mixes memcacheds:// entries with plain ones; give every server the same form`)
	}
	return out, tlsEntries > 0, nil
}

// hostAddr turns one entry into an address. Its errors do not quote h.
func hostAddr(h string) (string, error) {
	bad := func(why string) (string, error) { return "", errors.New(why) }
	switch {
	case h == "":
		return bad("empty entry in the comma-separated list")
	case strings.Contains(h, "://"):
		return bad("give host[:port] without a scheme, or memcacheds://host[:port] for TLS")
	case strings.Contains(h, "@"):
		return bad(`it holds a user or password ("@"); memcached takes host[:port] only`)
	case strings.HasPrefix(h, "/"):
		return h, nil // a Unix socket
	case strings.HasPrefix(h, "["):
		end := strings.Index(h, "]")
		if end < 0 {
			return bad("missing ']'")
		}
		if a, err := netip.ParseAddr(h[1:end]); err != nil || !a.Is6() {
			return bad("not an IPv6 address between '[' and ']'")
		}
		switch rest := h[end+1:]; {
		case rest == "":
			return h + ":" + DefaultPort, nil
		case strings.HasPrefix(rest, ":") && validPort(rest[1:]):
			return h, nil
		default:
			return bad("not [address]:port with a port between 1 and 65535")
		}
	case strings.Count(h, ":") > 1:
		if a, err := netip.ParseAddr(h); err != nil || !a.Is6() {
			return bad("not host[:port], nor an IPv6 address (write [address]:port to give one a port)")
		}
		return "[" + h + "]:" + DefaultPort, nil // a bare IPv6 address
	}
	host, port, hasPort := strings.Cut(h, ":")
	if host == "" {
		return bad("no host name")
	}
	if !validHost(host) {
		return bad("the host is not a name or an IPv4 address (letters, digits, '-', '.' and '_')")
	}
	if !hasPort {
		return h + ":" + DefaultPort, nil
	}
	if !validPort(port) {
		return bad("the port must be between 1 and 65535")
	}
	return h, nil
}

// validHost reports whether h is a plausible DNS name or IPv4 address.
func validHost(h string) bool {
	for _, r := range h {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return len(h) <= 253
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && p[0] != '+' && p[0] != '-'
}

// legalKey reports whether memcached accepts k as a key (gomemcache's rule).
func legalKey(k string) bool {
	if len(k) > maxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] == 0x7f {
			return false
		}
	}
	return true
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// itemKey names the entry key under generation gen on the server.
func (s *Store) itemKey(gen uint64, key string) string {
	return s.serverKey(gen, "", key)
}

// lockKey names the lock key under generation gen on the server.
func (s *Store) lockKey(gen uint64, key string) string {
	return s.serverKey(gen, lockInfix, key)
}

// serverKey is ns:gen:infix+key, or ns:gen:infix#sha256(key) when that
// would not be a legal key or key starts with a marker.
func (s *Store) serverKey(gen uint64, infix, key string) string {
	head := s.ns + ":" + strconv.FormatUint(gen, 10) + ":" + infix
	if !strings.HasPrefix(key, hashedMarker) && !strings.HasPrefix(key, reservedMarker) && legalKey(head+key) {
		return head + key
	}
	return head + hashedMarker + hashHex(key)
}

// encodeEnvelope lays out version, expiry (Unix ms, big-endian) and value.
func encodeEnvelope(expiresAt time.Time, value []byte) []byte {
	b := make([]byte, envelopeHeader+len(value))
	b[0] = envelopeVersion
	binary.BigEndian.PutUint64(b[1:envelopeHeader], uint64(backends.CeilMilli(expiresAt)))
	copy(b[envelopeHeader:], value)
	return b
}

// errMalformed reports bytes on the server that are not an envelope of ours.
var errMalformed = errors.New("memcached: malformed stored value")

// decodeEnvelope reads what encodeEnvelope wrote. The value aliases b.
func decodeEnvelope(b []byte) (value []byte, expiresAt time.Time, err error) {
	if len(b) < envelopeHeader || b[0] != envelopeVersion {
		return nil, time.Time{}, errMalformed
	}
	ms := int64(binary.BigEndian.Uint64(b[1:envelopeHeader]))
	return b[envelopeHeader:], time.UnixMilli(ms), nil
}

// serverExpiry converts an expiry to memcached's whole seconds: rounded up,
// plus one second because the server's clock only ticks once a second and
// could otherwise drop the item before expiresAt. Beyond 30 days it is an
// absolute Unix time (capped at the largest the protocol's 32 bits hold).
// An expiry already passed gives -1, which memcached drops at once.
func serverExpiry(expiresAt, now time.Time) int32 {
	d := expiresAt.Sub(now)
	if d <= 0 {
		return -1
	}
	secs := int64((d+time.Second-1)/time.Second) + 1
	if secs <= maxRelativeTTL {
		return int32(secs)
	}
	abs := (expiresAt.UnixMilli()+999)/1000 + 1
	if abs > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(abs)
}

// timeout is the client's timeout of each network call.
func (s *Store) timeout() time.Duration {
	if s.client.Timeout > 0 {
		return s.client.Timeout
	}
	return memcache.DefaultTimeout
}

func (s *Store) check(ctx context.Context, op string) error {
	if s.closed.Load() {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcached: %s: %w", op, err)
	}
	return nil
}

// wrap names the operation and the backend in err.
func wrap(op string, err error) error {
	return fmt.Errorf("memcached: %s: %w", op, err)
}

func isMiss(err error) bool {
	return errors.Is(err, memcache.ErrCacheMiss) || errors.Is(err, memcache.ErrNotStored)
}

func randomGeneration() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("memcached: crypto/rand: " + err.Error())
	}
	// Far from the 64-bit wrap of incr.
	return binary.BigEndian.Uint64(b[:]) >> 2
}

// generation reads the namespace generation, creating it when absent.
func (s *Store) generation(ctx context.Context, op string) (uint64, error) {
	for range 3 {
		if err := s.check(ctx, op); err != nil {
			return 0, err
		}
		it, err := s.client.Get(s.genKey)
		if err == nil {
			g, perr := strconv.ParseUint(strings.TrimSpace(string(it.Value)), 10, 64)
			if perr == nil {
				return g, nil
			}
			// Not a number (written by something else): start afresh.
			g = randomGeneration()
			s.log.Warn("cachette memcached: generation key held a non-number; replacing it (acts as a flush)",
				"key", s.genKey)
			if err := s.client.Set(&memcache.Item{Key: s.genKey, Value: []byte(strconv.FormatUint(g, 10))}); err != nil {
				return 0, wrap(op, err)
			}
			return g, nil
		}
		if !errors.Is(err, memcache.ErrCacheMiss) {
			return 0, wrap(op, err)
		}
		g := randomGeneration()
		err = s.client.Add(&memcache.Item{Key: s.genKey, Value: []byte(strconv.FormatUint(g, 10))})
		if err == nil {
			return g, nil
		}
		if !errors.Is(err, memcache.ErrNotStored) {
			return 0, wrap(op, err)
		}
		// Someone else created it first: read theirs.
	}
	return 0, wrap(op, errors.New("generation key keeps disappearing"))
}

// Get returns the value under key, or backends.ErrNotFound when it is
// absent, expired or not an envelope of this store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	gen, err := s.generation(ctx, "get")
	if err != nil {
		return nil, time.Time{}, err
	}
	if err := s.check(ctx, "get"); err != nil {
		return nil, time.Time{}, err
	}
	it, err := s.client.Get(s.itemKey(gen, key))
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, time.Time{}, backends.ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, wrap("get", err)
	}
	value, exp, err := decodeEnvelope(it.Value)
	if err != nil {
		s.log.Debug("cachette memcached: ignoring a malformed stored value", "key", it.Key)
		return nil, time.Time{}, backends.ErrNotFound
	}
	if !backends.Alive(exp, time.Now()) {
		return nil, time.Time{}, backends.ErrNotFound
	}
	return value, exp, nil
}

// Set stores value under key until expiresAt.
func (s *Store) Set(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	gen, err := s.generation(ctx, "set")
	if err != nil {
		return err
	}
	if err := s.check(ctx, "set"); err != nil {
		return err
	}
	err = s.client.Set(&memcache.Item{
		Key:        s.itemKey(gen, key),
		Value:      encodeEnvelope(expiresAt, value),
		Expiration: serverExpiry(expiresAt, time.Now()),
	})
	if err != nil {
		if strings.Contains(err.Error(), "object too large") {
			return fmt.Errorf("memcached: set: value of %d bytes: %w: over the server's item size limit (raise it with memcached's -I option, e.g. -I 4m)",
				len(value), backends.ErrTooLarge)
		}
		return wrap("set", err)
	}
	return nil
}

// expireWithCAS replaces the item read as it with an immediately expired
// one, unless it changed since. It reports whether the swap happened.
func (s *Store) expireWithCAS(it *memcache.Item) (bool, error) {
	if testHookBeforeCAS != nil {
		testHookBeforeCAS(it.Key)
	}
	err := s.client.CompareAndSwap(&memcache.Item{Key: it.Key, Expiration: -1, CasID: it.CasID})
	switch {
	case err == nil:
		return true, nil
	case isMiss(err), errors.Is(err, memcache.ErrCASConflict):
		return false, nil
	}
	return false, err
}

// Delete removes key and reports whether a live entry was removed. It reads
// the entry, then expires it with compare-and-swap, so an entry rewritten in
// between is looked at again rather than removed blindly. After
// takeoverAttempts lost rounds it deletes whatever is there and reports
// whether the entry it read just before was live.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	gen, err := s.generation(ctx, "delete")
	if err != nil {
		return false, err
	}
	k := s.itemKey(gen, key)
	for range takeoverAttempts {
		if err := s.check(ctx, "delete"); err != nil {
			return false, err
		}
		it, err := s.client.Get(k)
		if errors.Is(err, memcache.ErrCacheMiss) {
			return false, nil
		}
		if err != nil {
			return false, wrap("delete", err)
		}
		_, exp, derr := decodeEnvelope(it.Value)
		live := derr == nil && backends.Alive(exp, time.Now())
		swapped, err := s.expireWithCAS(it)
		if err != nil {
			return false, wrap("delete", err)
		}
		if swapped || !live {
			// An expired entry rewritten meanwhile is left alone: this
			// Delete came first.
			return swapped && live, nil
		}
		// A live entry was rewritten or removed meanwhile: look again.
	}
	// Rewritten on every attempt: remove whatever is there now, and report
	// whether the entry last read just before was live. (An entry written
	// between that read and the delete is removed too and not counted.)
	it, err := s.client.Get(k)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return false, nil
	}
	if err != nil {
		return false, wrap("delete", err)
	}
	_, exp, derr := decodeEnvelope(it.Value)
	live := derr == nil && backends.Alive(exp, time.Now())
	if err := s.client.Delete(k); err != nil {
		if errors.Is(err, memcache.ErrCacheMiss) {
			return false, nil
		}
		return false, wrap("delete", err)
	}
	return live, nil
}

// ClearNamespace is not supported: memcached cannot enumerate keys. It
// returns an error wrapping backends.ErrNotSupported and removes nothing.
func (s *Store) ClearNamespace(ctx context.Context, namespace string) (int, error) {
	if err := s.check(ctx, "clear namespace"); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("memcached: clear namespace %q: %w: memcached cannot enumerate keys (use Flush, or delete keys one by one)",
		namespace, backends.ErrNotSupported)
}

// Flush makes every key of this prefix unreachable by advancing the
// namespace generation; the old items age out on the servers. Other
// prefixes are untouched, and nothing is flushed server-wide.
func (s *Store) Flush(ctx context.Context) error {
	if err := s.check(ctx, "flush"); err != nil {
		return err
	}
	_, err := s.client.Increment(s.genKey, 1)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, memcache.ErrCacheMiss):
		// No generation: nothing is reachable, and the next call picks a
		// fresh random one.
		return nil
	case strings.Contains(err.Error(), "client error"):
		// Not a number: replace it with a fresh generation.
		g := randomGeneration()
		if err := s.client.Set(&memcache.Item{Key: s.genKey, Value: []byte(strconv.FormatUint(g, 10))}); err != nil {
			return wrap("flush", err)
		}
		return nil
	}
	return wrap("flush", err)
}

// FlushExpired does nothing: memcached drops expired items itself, and
// entries past their stored expiry are never returned.
func (s *Store) FlushExpired(ctx context.Context) error {
	return s.check(ctx, "flush expired")
}

// Lock takes the lock named key for ttl with add. A lock whose stored expiry
// has passed is taken over with compare-and-swap, so of several takers only
// one wins.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (string, bool, error) {
	if ttl <= 0 {
		return "", false, fmt.Errorf("memcached: lock %q: ttl must be positive, got %v", key, ttl)
	}
	// The lock runs for ttl from the call, not from the round trips'
	// end, so it never outlives what the caller asked for.
	exp := time.Now().Add(ttl)
	gen, err := s.generation(ctx, "lock")
	if err != nil {
		return "", false, err
	}
	lk := s.lockKey(gen, key)
	token := backends.NewToken()
	value := encodeEnvelope(exp, []byte(token))
	for range takeoverAttempts {
		if err := s.check(ctx, "lock"); err != nil {
			return "", false, err
		}
		item := &memcache.Item{Key: lk, Value: value, Expiration: serverExpiry(exp, time.Now())}
		if item.Expiration < 0 {
			return "", false, nil // the ttl ran out during the round trips
		}
		err := s.client.Add(item)
		if err == nil {
			return token, true, nil
		}
		if !errors.Is(err, memcache.ErrNotStored) {
			return "", false, wrap("lock", err)
		}
		cur, err := s.client.Get(lk)
		if errors.Is(err, memcache.ErrCacheMiss) {
			continue // released meanwhile: try add again
		}
		if err != nil {
			return "", false, wrap("lock", err)
		}
		if _, curExp, derr := decodeEnvelope(cur.Value); derr == nil && backends.Alive(curExp, time.Now()) {
			return "", false, nil // held
		}
		item.CasID = cur.CasID
		err = s.client.CompareAndSwap(item)
		switch {
		case err == nil:
			return token, true, nil
		case errors.Is(err, memcache.ErrCASConflict):
			return "", false, nil // another taker won
		case isMiss(err):
			continue // gone meanwhile: try add again
		default:
			return "", false, wrap("lock", err)
		}
	}
	return "", false, nil
}

// Unlock releases the lock if token is its holder's and it has not
// expired. The release is a compare-and-swap against the lock as read, so a
// lock someone else took over in between is never released.
func (s *Store) Unlock(ctx context.Context, key, token string) (bool, error) {
	gen, err := s.generation(ctx, "unlock")
	if err != nil {
		return false, err
	}
	if err := s.check(ctx, "unlock"); err != nil {
		return false, err
	}
	cur, err := s.client.Get(s.lockKey(gen, key))
	if errors.Is(err, memcache.ErrCacheMiss) {
		return false, nil
	}
	if err != nil {
		return false, wrap("unlock", err)
	}
	held, exp, derr := decodeEnvelope(cur.Value)
	if derr != nil || subtle.ConstantTimeCompare(held, []byte(token)) != 1 || !backends.Alive(exp, time.Now()) {
		return false, nil
	}
	ok, err := s.expireWithCAS(cur)
	if err != nil {
		return false, wrap("unlock", err)
	}
	return ok, nil
}

// Close closes the connections of a client Open made; a client passed to
// NewFromClient stays open. Calls after Close return an error.
func (s *Store) Close() error {
	if s.closed.Swap(true) || !s.owned {
		return nil
	}
	if err := s.client.Close(); err != nil {
		return wrap("close", err)
	}
	return nil
}
