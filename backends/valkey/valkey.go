package valkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	valkeygo "github.com/valkey-io/valkey-go"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/internal/rediswire"
	"github.com/cachette-go/cachette/backends/internal/tlsca"
	"github.com/cachette-go/cachette/internal/storekeys"
)

// Name is the name the store registers under.
const Name = "valkey"

// Defaults.
const (
	// DefaultTimeout bounds each call when Settings.Timeout is 0.
	DefaultTimeout = 2 * time.Second
	// DefaultMaxValueSize is the largest value Set accepts when the server
	// does not tell its own limit: the default proto-max-bulk-len (512 MiB)
	// less the 8-byte expiry header.
	DefaultMaxValueSize = rediswire.DefaultMaxValueSize
	// scanCount is the COUNT hint of each SCAN step.
	scanCount = 1000
)

var _ backends.Backend = (*Store)(nil)

func init() {
	backends.RegisterDriver(Name, storekeys.Valkey.Driver(func(ctx context.Context, s backends.Settings) (backends.Backend, error) {
		return Open(ctx, s)
	}))
}

// Store is the Valkey backend. It satisfies backends.Backend and is safe
// for concurrent use.
type Store struct {
	client    valkeygo.Client
	prefix    string
	owned     bool
	log       *slog.Logger
	timeout   time.Duration
	maxValue  int
	closeOnce sync.Once
}

// Option configures a Store built by NewFromClient or Open.
type Option func(*Store)

// WithLogger sets the logger for the store's warnings. The default is
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) {
		if l != nil {
			s.log = l
		}
	}
}

// WithTimeout bounds each command the store sends (default
// DefaultTimeout, or Settings.Timeout for Open).
func WithTimeout(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.timeout = d
		}
	}
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
func NewFromClient(client valkeygo.Client, prefix string, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("valkey: NewFromClient: client is nil")
	}
	if err := rediswire.CheckPrefix(Name, prefix); err != nil {
		return nil, err
	}
	return newStore(client, prefix, false, opts), nil
}

func newStore(client valkeygo.Client, prefix string, owned bool, opts []Option) *Store {
	s := &Store{client: client, prefix: prefix, owned: owned, log: slog.Default(),
		timeout: DefaultTimeout, maxValue: DefaultMaxValueSize}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Open connects to the server(s) named by the valkey_url key (s.Value; see the package
// documentation). The store owns the client: Close closes it.
func Open(ctx context.Context, s backends.Settings, opts ...Option) (*Store, error) {
	if err := rediswire.CheckPrefix(Name, s.Prefix); err != nil {
		return nil, err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	opt, err := ParseURL(s.Value("valkey_url"))
	if err != nil {
		return nil, err
	}
	if err := applyCAFile(&opt, s.Value(tlsca.Key)); err != nil {
		return nil, fmt.Errorf("valkey: %w", err)
	}
	if opt.Dialer.Timeout == 0 {
		opt.Dialer.Timeout = timeout
	}
	if opt.ConnWriteTimeout == 0 {
		opt.ConnWriteTimeout = timeout
	}
	if opt.Sentinel.MasterSet != "" && opt.Sentinel.Dialer.Timeout == 0 {
		opt.Sentinel.Dialer.Timeout = opt.Dialer.Timeout
	}
	client, err := newClient(ctx, opt, 2*timeout)
	if err != nil {
		return nil, fmt.Errorf("valkey: connect: %w", err)
	}
	base := []Option{WithTimeout(timeout)}
	if s.Logger != nil {
		base = append(base, WithLogger(s.Logger))
	}
	st := newStore(client, s.Prefix, true, append(base, opts...))
	if st.maxValue == DefaultMaxValueSize {
		st.maxValue = st.serverMaxValue(ctx)
	}
	return st, nil
}

type dialResult struct {
	c   valkeygo.Client
	err error
}

// newClient runs valkeygo.NewClient, which dials at once, but gives up
// after limit, or when ctx ends, whichever comes first.
func newClient(ctx context.Context, opt valkeygo.ClientOption, limit time.Duration) (valkeygo.Client, error) {
	done := make(chan dialResult, 1)
	go func() {
		c, err := valkeygo.NewClient(opt)
		done <- dialResult{c, err}
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.c, r.err
	case <-ctx.Done():
		go closeLate(done)
		return nil, ctx.Err()
	case <-timer.C:
		go closeLate(done)
		return nil, fmt.Errorf("no answer within %v", limit)
	}
}

// closeLate closes a client whose dial finished after its caller gave up.
func closeLate(done <-chan dialResult) {
	if r := <-done; r.c != nil {
		r.c.Close()
	}
}

// serverMaxValue asks the server for its proto-max-bulk-len, so a value it
// would refuse by closing the connection is refused here with ErrTooLarge.
func (s *Store) serverMaxValue(ctx context.Context) int {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	m, err := s.client.Do(ctx, s.client.B().ConfigGet().Parameter("proto-max-bulk-len").Build()).AsStrMap()
	if err != nil {
		return DefaultMaxValueSize
	}
	return rediswire.MaxValue(m["proto-max-bulk-len"])
}

// urlOptions are the query options ParseURL accepts.
var urlOptions = map[string]bool{
	"db": true, "dial_timeout": true, "write_timeout": true, "protocol": true,
	"max_retries": true, "client_name": true, "skip_verify": true, "addr": true,
	"master_set": true, "master_name": true, "sentinel_username": true, "sentinel_password": true,
}

// ParseURL parses a valkey_url (see the package documentation) into client
// options, with client-side caching off. It never connects, and its errors
// never contain the URL or any part of its userinfo.
func ParseURL(raw string) (valkeygo.ClientOption, error) {
	var none valkeygo.ClientOption
	first, addrs, err := rediswire.SplitURL(Name, raw, func(n int, first, u *url.URL) error {
		tls := first.Scheme == "valkeys" || first.Scheme == "rediss"
		if n == 1 {
			switch first.Scheme {
			case "valkey", "valkeys", "redis", "rediss":
				return nil
			default:
				return errors.New("valkey: the URL must start with valkey://, valkeys://, redis:// or rediss://")
			}
		}
		switch u.Scheme {
		case "valkey", "redis":
			if tls {
				return fmt.Errorf("valkey: node %d is not TLS while node 1 is", n)
			}
		case "valkeys", "rediss":
			if !tls {
				return fmt.Errorf("valkey: node %d is TLS while node 1 is not", n)
			}
		default:
			return fmt.Errorf("valkey: node %d has an unknown scheme", n)
		}
		return nil
	})
	if err != nil {
		return none, err
	}
	tls := first.Scheme == "valkeys" || first.Scheme == "rediss"
	if strings.Count(first.Path, "/") > 1 {
		return none, errors.New("valkey: the URL path must be at most a database number, as in /0")
	}
	q := first.Query()
	for k := range q {
		if !urlOptions[k] {
			return none, fmt.Errorf("valkey: unknown URL option %q", k)
		}
	}
	master := q.Get("master_set")
	if master == "" {
		master = q.Get("master_name")
	}
	if (q.Has("master_set") || q.Has("master_name")) && master == "" {
		return none, errors.New("valkey: master_set is empty")
	}
	if master == "" && (q.Has("sentinel_username") || q.Has("sentinel_password")) {
		return none, errors.New("valkey: sentinel_username and sentinel_password need master_set")
	}
	for _, k := range []string{"db", "dial_timeout", "write_timeout", "max_retries", "protocol"} {
		if q.Has(k) && q.Get(k) == "" {
			return none, fmt.Errorf("valkey: URL option %q is empty", k)
		}
	}
	for _, k := range []string{"dial_timeout", "write_timeout"} {
		if v := q.Get(k); v != "" {
			if d, err := time.ParseDuration(v); err != nil || d < 0 {
				return none, fmt.Errorf("valkey: URL option %q must be a duration such as 3s", k)
			}
		}
	}
	if v := q.Get("protocol"); v != "" && v != "2" && v != "3" {
		return none, errors.New(`valkey: URL option "protocol" must be 2 or 3`)
	}
	if v := q.Get("max_retries"); v != "" && v != "0" {
		return none, errors.New(`valkey: URL option "max_retries" may only be 0 (no retries)`)
	}
	su, sp := q.Get("sentinel_username"), q.Get("sentinel_password")
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	q.Del("master_name")
	if master != "" {
		q.Set("master_set", master)
	}
	q.Del("addr")
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}
	u := *first
	u.RawQuery = q.Encode()
	opt, err := valkeygo.ParseURL(u.String())
	if err != nil {
		return none, rediswire.URLError(Name, err)
	}
	if opt.SelectDB < 0 {
		return none, errors.New("valkey: the database number must not be negative")
	}
	if len(opt.InitAddress) > 1 && master == "" && opt.SelectDB != 0 {
		return none, errors.New("valkey: a cluster has only database 0")
	}
	opt.Sentinel.Username, opt.Sentinel.Password = su, sp
	if tls && master != "" {
		opt.Sentinel.TLSConfig = opt.TLSConfig.Clone()
	}
	opt.DisableCache = true
	return opt, nil
}

// Client returns the valkey-go client under the store.
func (s *Store) Client() valkeygo.Client { return s.client }

// Prefix returns the store's namespace.
func (s *Store) Prefix() string { return s.prefix }

// opCtx bounds one command by the store's timeout, unless ctx already ends
// sooner.
func (s *Store) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= s.timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

// Get returns the value under key and its expiry, or backends.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	b, err := s.client.Do(ctx, s.client.B().Get().Key(backends.Key(s.prefix, key)).Build()).AsBytes()
	if valkeygo.IsValkeyNil(err) {
		return nil, time.Time{}, backends.ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("valkey: get: %w", err)
	}
	value, expMs, ok := rediswire.DecodeEntry(b)
	if !ok {
		s.log.WarnContext(ctx, "cachette: valkey: ignoring a value that is not a cachette entry", "key", key, "bytes", len(b))
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
		return fmt.Errorf("valkey: set: %d bytes, limit %d: %w", len(value), s.maxValue, backends.ErrTooLarge)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	k := backends.Key(s.prefix, key)
	expMs := rediswire.CeilMilli(expiresAt)
	ttl := expMs - time.Now().UnixMilli()
	var cmd valkeygo.Completed
	if ttl <= 0 {
		cmd = s.client.B().Unlink().Key(k).Build()
	} else {
		payload := rediswire.EncodeEntry(value, expMs)
		cmd = s.client.B().Set().Key(k).Value(valkeygo.BinaryString(payload)).PxMilliseconds(ttl).Build()
	}
	if err := s.client.Do(ctx, cmd).Error(); err != nil {
		if rediswire.TooLarge(err) {
			return fmt.Errorf("valkey: set: %w: %w", backends.ErrTooLarge, err)
		}
		return fmt.Errorf("valkey: set: %w", err)
	}
	return nil
}

// The store's Lua scripts; rediswire documents what each does.
var (
	delScript    = valkeygo.NewLuaScript(rediswire.DelScript)
	lockScript   = valkeygo.NewLuaScript(rediswire.LockScript)
	unlockScript = valkeygo.NewLuaScript(rediswire.UnlockScript)
)

// Delete removes key and reports whether a live entry was removed.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	h, err := delScript.Exec(ctx, s.client, []string{backends.Key(s.prefix, key)}, nil).ToString()
	if valkeygo.IsValkeyNil(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("valkey: delete: %w", err)
	}
	return rediswire.LiveHeader(h, time.Now()), nil
}

// ClearNamespace removes every key under namespace+":" and returns how many
// live entries it removed.
func (s *Store) ClearNamespace(ctx context.Context, namespace string) (int, error) {
	var n atomic.Int64
	pattern := rediswire.Pattern(backends.NamespacePrefix(s.prefix, namespace))
	err := s.scan(ctx, pattern, func(ctx context.Context, keys []string) error {
		execs := make([]valkeygo.LuaExec, len(keys))
		for i, k := range keys {
			execs[i] = valkeygo.LuaExec{Keys: []string{k}}
		}
		ctx, cancel := s.opCtx(ctx)
		defer cancel()
		now := time.Now()
		for _, r := range delScript.ExecMulti(ctx, s.client, execs...) {
			h, err := r.ToString()
			if valkeygo.IsValkeyNil(err) {
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
		return int(n.Load()), fmt.Errorf("valkey: clear namespace: %w", err)
	}
	return int(n.Load()), nil
}

// Flush removes every key of the store's prefix, entries and locks, and
// nothing else.
func (s *Store) Flush(ctx context.Context) error {
	pattern := rediswire.Pattern(s.prefix + ":")
	err := s.scan(ctx, pattern, func(ctx context.Context, keys []string) error {
		cmds := make(valkeygo.Commands, len(keys))
		for i, k := range keys {
			cmds[i] = s.client.B().Unlink().Key(k).Build()
		}
		ctx, cancel := s.opCtx(ctx)
		defer cancel()
		for _, r := range s.client.DoMulti(ctx, cmds...) {
			if err := r.Error(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("valkey: flush: %w", err)
	}
	return nil
}

// FlushExpired does nothing: the server removes expired keys itself (each
// is written with PX), and Get never returns one.
func (s *Store) FlushExpired(context.Context) error { return nil }

// scan calls fn with each batch of keys matching pattern, on every primary
// node the client knows (replicas hold copies of the same keys). Nodes are
// scanned concurrently. A client that knows a single node outside a
// cluster (one server, or a Sentinel's master) scans it without asking its
// ROLE, which some servers do not offer.
func (s *Store) scan(ctx context.Context, pattern string, fn func(context.Context, []string) error) error {
	nodes := s.client.Nodes()
	if s.client.Mode() != valkeygo.ClientModeCluster && len(nodes) == 1 {
		for _, node := range nodes {
			return s.scanKeys(ctx, node, pattern, fn)
		}
	}
	errs := make(chan error, len(nodes))
	var wg sync.WaitGroup
	for addr, node := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.scanNode(ctx, node, pattern, fn); err != nil {
				errs <- fmt.Errorf("node %s: %w", addr, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

func (s *Store) scanNode(ctx context.Context, node valkeygo.Client, pattern string, fn func(context.Context, []string) error) error {
	primary, err := s.isPrimary(ctx, node)
	if err != nil || !primary {
		return err
	}
	return s.scanKeys(ctx, node, pattern, fn)
}

// scanKeys runs SCAN on one node and calls fn with each batch of keys.
func (s *Store) scanKeys(ctx context.Context, node valkeygo.Client, pattern string, fn func(context.Context, []string) error) error {
	var cursor uint64
	for {
		cctx, cancel := s.opCtx(ctx)
		e, err := node.Do(cctx, node.B().Scan().Cursor(cursor).Match(pattern).Count(scanCount).Build()).AsScanEntry()
		cancel()
		if err != nil {
			return err
		}
		if len(e.Elements) > 0 {
			if err := fn(ctx, e.Elements); err != nil {
				return err
			}
		}
		if e.Cursor == 0 {
			return nil
		}
		cursor = e.Cursor
	}
}

// isPrimary asks a node for its ROLE.
func (s *Store) isPrimary(ctx context.Context, node valkeygo.Client) (bool, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	role, err := node.Do(ctx, node.B().Role().Build()).ToArray()
	if err != nil {
		return false, err
	}
	if len(role) == 0 {
		return false, errors.New("empty ROLE reply")
	}
	name, err := role[0].ToString()
	if err != nil {
		return false, err
	}
	return name == "master" || name == "primary", nil
}

// Lock takes the lock named key for ttl, with a fresh token.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (string, bool, error) {
	now := time.Now()
	token, px, err := rediswire.LockToken(now, ttl)
	if err != nil {
		return "", false, fmt.Errorf("valkey: lock: %w", err)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	args := []string{token, strconv.FormatInt(now.UnixMilli(), 10), strconv.FormatInt(px, 10)}
	n, err := lockScript.Exec(ctx, s.client, []string{backends.LockKey(s.prefix, key)}, args).AsInt64()
	if err != nil {
		return "", false, fmt.Errorf("valkey: lock: %w", err)
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
	args := []string{token, strconv.FormatInt(time.Now().UnixMilli(), 10)}
	n, err := unlockScript.Exec(ctx, s.client, []string{backends.LockKey(s.prefix, key)}, args).AsInt64()
	if err != nil {
		return false, fmt.Errorf("valkey: unlock: %w", err)
	}
	return n == 1, nil
}

// Close closes the client if the store opened it; a client given to
// NewFromClient stays open. Calling Close twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.owned {
			s.client.Close()
		}
	})
	return nil
}
