package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/internal/rediswire"
	"github.com/cachette-go/cachette/backends/internal/tlsca"
	"github.com/cachette-go/cachette/internal/storekeys"
)

// Name is the name the store registers under.
const Name = "redis"

// Defaults.
const (
	// DefaultTimeout bounds each call (and each dial, read and write) when
	// Settings.Timeout is 0.
	DefaultTimeout = 2 * time.Second
	// DefaultMaxValueSize is the largest value Set accepts: Redis's default
	// proto-max-bulk-len (512 MiB) less the 8-byte expiry header.
	DefaultMaxValueSize = rediswire.DefaultMaxValueSize
	// scanCount is the COUNT hint of each SCAN step, and so the size of the
	// pipelines that unlink what it finds.
	scanCount = 1000
)

var _ backends.Backend = (*Store)(nil)

func init() {
	backends.RegisterDriver(Name, storekeys.Redis.Driver(func(ctx context.Context, s backends.Settings) (backends.Backend, error) {
		return Open(ctx, s)
	}))
}

// Store is the Redis backend. It satisfies backends.Backend and is safe for
// concurrent use.
type Store struct {
	client    goredis.UniversalClient
	prefix    string
	owned     bool // Close closes client
	log       *slog.Logger
	detachLog func() // stops sending go-redis's lines to log; nil for NewFromClient
	maxValue  int
	timeout   time.Duration // bounds each call; 0: only the client's own timeouts
	closeOnce sync.Once
	closeErr  error
}

// Option configures a Store built by NewFromClient or Open.
type Option func(*Store)

// WithLogger sets the logger for the store's warnings (entries it cannot
// read). The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) {
		if l != nil {
			s.log = l
		}
	}
}

// WithTimeout bounds each call of the store as a whole (a context
// deadline, unless the caller's context ends sooner): its waits for a
// connection from the pool, its reads and writes and go-redis's retries
// together. Open uses Settings.Timeout (DefaultTimeout when 0);
// NewFromClient has no such bound unless this option is given, and the
// client's own timeouts apply (a deadline only shortens reads and writes
// when the client has ContextTimeoutEnabled). 0 or less removes the bound.
func WithTimeout(d time.Duration) Option {
	return func(s *Store) { s.timeout = max(d, 0) }
}

// WithMaxValueSize sets the largest value Set accepts; larger values give
// an error wrapping backends.ErrTooLarge without reaching the server. By
// default Open asks the server for its proto-max-bulk-len (less the 8-byte
// header) and falls back to DefaultMaxValueSize; NewFromClient uses
// DefaultMaxValueSize.
func WithMaxValueSize(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxValue = n
		}
	}
}

// NewFromClient builds a store on a client the caller owns. Close does not
// close client. prefix is the namespace of every key the store touches; it
// must be non-empty and must not contain ":".
func NewFromClient(client goredis.UniversalClient, prefix string, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("redis: NewFromClient: client is nil")
	}
	if err := rediswire.CheckPrefix(Name, prefix); err != nil {
		return nil, err
	}
	return newStore(client, prefix, false, opts), nil
}

func newStore(client goredis.UniversalClient, prefix string, owned bool, opts []Option) *Store {
	s := &Store{client: client, prefix: prefix, owned: owned, log: slog.Default(), maxValue: DefaultMaxValueSize}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Open connects to the server(s) named by the redis_url key (s.Value; see the package
// documentation for the forms it takes) and checks the connection with a
// PING. The store owns the client: Close closes it.
func Open(ctx context.Context, s backends.Settings, opts ...Option) (*Store, error) {
	if err := rediswire.CheckPrefix(Name, s.Prefix); err != nil {
		return nil, err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cfg, err := ParseURL(s.Value("redis_url"))
	if err != nil {
		return nil, err
	}
	if err := tlsca.Apply(cfg.tlsConfig(), s.Value(tlsca.Key), "redis_url", "rediss"); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	base := []Option{WithTimeout(timeout)}
	if s.Logger != nil {
		base = append(base, WithLogger(s.Logger))
	}
	opts = append(base, opts...)
	st := newStore(nil, s.Prefix, true, opts)
	// Before connecting, so that go-redis's report of a failed dial
	// reaches this store's logger too.
	st.detachLog = attachDriverLogger(st.log)
	client, err := cfg.connect(ctx, timeout)
	if err != nil {
		st.detachLog()
		return nil, err
	}
	st.client = client
	if st.maxValue == DefaultMaxValueSize {
		st.maxValue = serverMaxValue(ctx, client, timeout)
	}
	return st, nil
}

// serverMaxValue asks the server for its proto-max-bulk-len, so that a
// value it would refuse (by closing the connection mid-write) is refused
// here with ErrTooLarge instead. Servers that do not allow CONFIG GET keep
// the default.
func serverMaxValue(ctx context.Context, client goredis.UniversalClient, timeout time.Duration) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := client.ConfigGet(ctx, "proto-max-bulk-len").Result()
	if err != nil {
		return DefaultMaxValueSize
	}
	return rediswire.MaxValue(m["proto-max-bulk-len"])
}

// Mode is the kind of deployment a URL names.
type Mode int

// Modes.
const (
	Standalone Mode = iota // one server (a cluster node is detected on connect)
	Cluster                // several nodes of a Redis Cluster
	Sentinel               // sentinels that know the master
)

func (m Mode) String() string {
	switch m {
	case Cluster:
		return "cluster"
	case Sentinel:
		return "sentinel"
	default:
		return "standalone"
	}
}

// Target is a parsed redis_url: what to connect to, with which options.
// Exactly one of the option fields is set, after Mode.
type Target struct {
	Mode     Mode
	Options  *goredis.Options         // Standalone
	Cluster  *goredis.ClusterOptions  // Cluster
	Failover *goredis.FailoverOptions // Sentinel
}

// ParseURL parses a redis_url (see the package documentation). It never
// connects. Its errors never contain the URL or any part of its userinfo.
func ParseURL(raw string) (*Target, error) {
	first, addrs, err := rediswire.SplitURL(Name, raw, func(n int, first, u *url.URL) error {
		if n == 1 && first.Scheme != "redis" && first.Scheme != "rediss" {
			return errors.New("redis: the URL must start with redis:// or rediss://")
		}
		if u.Scheme != first.Scheme {
			return fmt.Errorf("redis: node %d uses another scheme than node 1", n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	q := first.Query()
	if q.Has("master_name") || q.Has("master_set") {
		return parseSentinel(first, addrs)
	}
	if q.Has("sentinel_username") || q.Has("sentinel_password") {
		return nil, errors.New("redis: sentinel_username and sentinel_password need master_name")
	}
	if len(addrs) == 1 {
		o, err := goredis.ParseURL(first.String())
		if err != nil {
			return nil, rediswire.URLError(Name, err)
		}
		return &Target{Mode: Standalone, Options: o}, nil
	}
	db := rediswire.DBPath(first.Path)
	if q.Has("db") {
		db = q.Get("db")
	}
	if db != "" && db != "0" {
		return nil, errors.New("redis: a cluster has only database 0")
	}
	u := *first
	u.Path = ""
	q.Del("db")
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}
	u.RawQuery = q.Encode()
	o, err := goredis.ParseClusterURL(u.String())
	if err != nil {
		return nil, rediswire.URLError(Name, err)
	}
	return &Target{Mode: Cluster, Cluster: o}, nil
}

// parseSentinel builds failover options: the nodes are sentinels; the URL's
// userinfo is the master's, sentinel_username/sentinel_password the
// sentinels'.
func parseSentinel(first *url.URL, addrs []string) (*Target, error) {
	q := first.Query()
	master := q.Get("master_name")
	if master == "" {
		master = q.Get("master_set")
	}
	if master == "" {
		return nil, errors.New("redis: master_name is empty")
	}
	q.Del("master_set")
	q.Set("master_name", master)
	for _, k := range []string{"username", "password", "addr"} {
		if q.Has(k) {
			return nil, fmt.Errorf("redis: unknown URL option %q", k)
		}
	}
	u := *first
	u.User = nil
	if first.User != nil {
		if name := first.User.Username(); name != "" {
			q.Set("username", name)
		}
		if pw, ok := first.User.Password(); ok {
			q.Set("password", pw)
		}
	}
	su, sp := q.Get("sentinel_username"), q.Get("sentinel_password")
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	switch {
	case sp != "":
		u.User = url.UserPassword(su, sp)
	case su != "":
		u.User = url.User(su)
	}
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}
	u.RawQuery = q.Encode()
	o, err := goredis.ParseFailoverURL(u.String())
	if err != nil {
		return nil, rediswire.URLError(Name, err)
	}
	return &Target{Mode: Sentinel, Failover: o}, nil
}

// connect builds the client for t with timeout as the default of every
// network timeout, and PINGs it. A single node that turns out to be part of
// a cluster gets a cluster client instead.
func (t *Target) connect(ctx context.Context, timeout time.Duration) (goredis.UniversalClient, error) {
	var client goredis.UniversalClient
	switch t.Mode {
	case Cluster:
		o := *t.Cluster
		setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, timeout)
		o.ContextTimeoutEnabled = true
		client = withClusterReload(goredis.NewClusterClient(&o))
	case Sentinel:
		o := *t.Failover
		setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, timeout)
		o.ContextTimeoutEnabled = true
		client = goredis.NewFailoverClient(&o)
	default:
		o := *t.Options
		setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, timeout)
		o.ContextTimeoutEnabled = true
		c := goredis.NewClient(&o)
		isCluster, err := clusterEnabled(ctx, c, timeout)
		if err != nil {
			c.Close()
			return nil, err
		}
		if !isCluster {
			return c, nil
		}
		c.Close()
		if o.DB != 0 {
			return nil, errors.New("redis: connect: the server is a cluster node, and a cluster has only database 0")
		}
		client = withClusterReload(goredis.NewClusterClient(clusterOptionsFrom(&o)))
	}
	pctx, cancel := context.WithTimeout(ctx, 2*timeout)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis: connect (%s): %w", t.Mode, err)
	}
	return client, nil
}

func setTimeouts(dial, read, write *time.Duration, d time.Duration) {
	for _, p := range []*time.Duration{dial, read, write} {
		if *p == 0 {
			*p = d
		}
	}
}

// clusterEnabled PINGs a single node and asks whether it runs in cluster
// mode.
func clusterEnabled(ctx context.Context, c *goredis.Client, timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*timeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		return false, fmt.Errorf("redis: connect: %w", err)
	}
	info, err := c.Info(ctx, "cluster").Result()
	if err != nil {
		// Some proxies refuse INFO; treat them as one server.
		return false, nil
	}
	return strings.Contains(info, "cluster_enabled:1"), nil
}

// clusterOptionsFrom turns the options of one node into those of a cluster
// client seeded with it.
func clusterOptionsFrom(o *goredis.Options) *goredis.ClusterOptions {
	return &goredis.ClusterOptions{
		Addrs:                 []string{o.Addr},
		ClientName:            o.ClientName,
		Protocol:              o.Protocol,
		Username:              o.Username,
		Password:              o.Password,
		MaxRetries:            o.MaxRetries,
		MinRetryBackoff:       o.MinRetryBackoff,
		MaxRetryBackoff:       o.MaxRetryBackoff,
		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.WriteTimeout,
		ContextTimeoutEnabled: o.ContextTimeoutEnabled,
		PoolFIFO:              o.PoolFIFO,
		PoolSize:              o.PoolSize,
		PoolTimeout:           o.PoolTimeout,
		MinIdleConns:          o.MinIdleConns,
		MaxIdleConns:          o.MaxIdleConns,
		MaxActiveConns:        o.MaxActiveConns,
		ConnMaxIdleTime:       o.ConnMaxIdleTime,
		ConnMaxLifetime:       o.ConnMaxLifetime,
		TLSConfig:             o.TLSConfig,
	}
}

// Client returns the go-redis client under the store.
func (s *Store) Client() goredis.UniversalClient { return s.client }

// Prefix returns the store's namespace.
func (s *Store) Prefix() string { return s.prefix }

// opCtx bounds one call by the store's timeout, unless it has none or
// ctx already ends sooner. go-redis's Timeout options bound each dial,
// read and write, and it retries a failed command (three times by
// default, with backoff) and waits for a free connection (PoolTimeout):
// without this, one call on a hung server took several timeouts.
func (s *Store) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout <= 0 {
		return ctx, noCancel
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= s.timeout {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, s.timeout)
}

func noCancel() {}

// Get returns the value under key and its expiry, or backends.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	b, err := s.client.Get(ctx, backends.Key(s.prefix, key)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, time.Time{}, backends.ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("redis: get: %w", err)
	}
	value, expMs, ok := rediswire.DecodeEntry(b)
	if !ok {
		s.log.WarnContext(ctx, "cachette: redis: ignoring a value that is not a cachette entry", "key", key, "bytes", len(b))
		return nil, time.Time{}, backends.ErrNotFound
	}
	if !rediswire.Alive(expMs, time.Now()) {
		return nil, time.Time{}, backends.ErrNotFound
	}
	return value, time.UnixMilli(expMs), nil
}

// Set stores value under key until expiresAt. An expiresAt already past
// removes the key.
func (s *Store) Set(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	if len(value) > s.maxValue {
		return fmt.Errorf("redis: set: %d bytes, limit %d: %w", len(value), s.maxValue, backends.ErrTooLarge)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	k := backends.Key(s.prefix, key)
	expMs := rediswire.CeilMilli(expiresAt)
	ttl := expMs - time.Now().UnixMilli()
	if ttl <= 0 {
		if err := s.client.Unlink(ctx, k).Err(); err != nil {
			return fmt.Errorf("redis: set: %w", err)
		}
		return nil
	}
	err := s.client.Set(ctx, k, rediswire.EncodeEntry(value, expMs), time.Duration(ttl)*time.Millisecond).Err()
	if err != nil {
		if rediswire.TooLarge(err) {
			return fmt.Errorf("redis: set: %w: %w", backends.ErrTooLarge, err)
		}
		return fmt.Errorf("redis: set: %w", err)
	}
	return nil
}

// The store's Lua scripts; rediswire documents what each does.
var (
	delScript    = goredis.NewScript(rediswire.DelScript)
	lockScript   = goredis.NewScript(rediswire.LockScript)
	unlockScript = goredis.NewScript(rediswire.UnlockScript)
)

// Delete removes key and reports whether a live entry was removed.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	h, err := delScript.Run(ctx, s.client, []string{backends.Key(s.prefix, key)}).Text()
	if errors.Is(err, goredis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("redis: delete: %w", err)
	}
	return rediswire.LiveHeader(h, time.Now()), nil
}

// ClearNamespace removes every key under namespace+":" and returns how many
// live entries it removed.
func (s *Store) ClearNamespace(ctx context.Context, namespace string) (int, error) {
	var n atomic.Int64
	pattern := rediswire.Pattern(backends.NamespacePrefix(s.prefix, namespace))
	err := s.scan(ctx, pattern, func(ctx context.Context, keys []string) error {
		ctx, cancel := s.opCtx(ctx)
		defer cancel()
		pipe := s.client.Pipeline()
		cmds := make([]*goredis.Cmd, len(keys))
		for i, k := range keys {
			cmds[i] = delScript.Eval(ctx, pipe, []string{k})
		}
		_, _ = pipe.Exec(ctx) // each command's error is looked at below
		now := time.Now()
		for _, c := range cmds {
			h, err := c.Text()
			if errors.Is(err, goredis.Nil) {
				continue // gone meanwhile
			}
			if err != nil {
				return err
			}
			if rediswire.LiveHeader(h, now) {
				n.Add(1)
			}
		}
		return nil
	})
	if err != nil {
		return int(n.Load()), fmt.Errorf("redis: clear namespace: %w", err)
	}
	return int(n.Load()), nil
}

// Flush removes every key of the store's prefix, entries and locks, and
// nothing else.
func (s *Store) Flush(ctx context.Context) error {
	pattern := rediswire.Pattern(s.prefix + ":")
	err := s.scan(ctx, pattern, func(ctx context.Context, keys []string) error {
		ctx, cancel := s.opCtx(ctx)
		defer cancel()
		pipe := s.client.Pipeline()
		for _, k := range keys {
			pipe.Unlink(ctx, k)
		}
		_, err := pipe.Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("redis: flush: %w", err)
	}
	return nil
}

// FlushExpired does nothing: the server removes expired keys itself (each
// is written with PX), and Get never returns one.
func (s *Store) FlushExpired(context.Context) error { return nil }

// scan calls fn with each batch of keys matching pattern, on every node
// that holds keys: each master of a cluster, each shard of a ring, or the
// one server. fn may be called from several goroutines at once.
func (s *Store) scan(ctx context.Context, pattern string, fn func(context.Context, []string) error) error {
	each := func(ctx context.Context, node goredis.Cmdable) error {
		var cursor uint64
		for {
			sctx, cancel := s.opCtx(ctx)
			keys, next, err := node.Scan(sctx, cursor, pattern, scanCount).Result()
			cancel()
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				if err := fn(ctx, keys); err != nil {
					return err
				}
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	switch c := s.client.(type) {
	case *goredis.ClusterClient:
		return c.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error { return each(ctx, node) })
	case *goredis.Ring:
		return c.ForEachShard(ctx, func(ctx context.Context, node *goredis.Client) error { return each(ctx, node) })
	default:
		return each(ctx, s.client)
	}
}

// Lock takes the lock named key for ttl, with a fresh token.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (string, bool, error) {
	now := time.Now()
	token, px, err := rediswire.LockToken(now, ttl)
	if err != nil {
		return "", false, fmt.Errorf("redis: lock: %w", err)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	n, err := lockScript.Run(ctx, s.client, []string{backends.LockKey(s.prefix, key)}, token, now.UnixMilli(), px).Int64()
	if err != nil {
		return "", false, fmt.Errorf("redis: lock: %w", err)
	}
	if n != 1 {
		return "", false, nil
	}
	return token, true, nil
}

// Unlock releases the lock named key if token is its holder's and the lock
// has not expired.
func (s *Store) Unlock(ctx context.Context, key, token string) (bool, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	n, err := unlockScript.Run(ctx, s.client, []string{backends.LockKey(s.prefix, key)}, token, time.Now().UnixMilli()).Int64()
	if err != nil {
		return false, fmt.Errorf("redis: unlock: %w", err)
	}
	return n == 1, nil
}

// Close closes the client if the store opened it; a client given to
// NewFromClient stays open. Calling Close twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.detachLog != nil {
			defer s.detachLog()
		}
		if s.owned {
			if err := s.client.Close(); err != nil {
				s.closeErr = fmt.Errorf("redis: close: %w", err)
			}
		}
	})
	return s.closeErr
}
