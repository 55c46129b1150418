// Package backends defines the contract every cachette store implements and
// the registry that cachette.New resolves backend names through.
//
// A store keeps opaque byte values with an absolute expiry, under the
// namespace (Settings.Prefix) it was opened with: every key it writes to a
// shared server starts with that prefix, Flush removes exactly those keys, and
// nothing ever wipes a whole server. Stores register themselves by name when
// their package is imported, the way database/sql drivers do:
//
//	import _ "github.com/cachette-go/cachette/backends/redis"
//
// Expiry is exact to the millisecond: an entry is alive while now < expiresAt,
// whatever the server's own TTL granularity; Get never returns an expired entry.
//
// # Writing a store
//
// A store is a package that implements Backend and registers a Driver in
// its init function. The Driver says how to open the store and which
// configuration keys it reads: the store owns its keys, as a database/sql
// driver owns its data source name.
//
//	func init() {
//		backends.RegisterDriver("mystore", backends.Driver{
//			Keys: []backends.ConfigKey{
//				{Name: "mystore_url", Doc: "mystore://host[:port]"},
//				{Name: "mystore_shards", Default: "4", Doc: "number of shards"},
//			},
//			Check: func(name string, v backends.Values) []error {
//				if v["mystore_url"] == "" {
//					return []error{fmt.Errorf(`The "mystore_url" cannot be empty when using %s as backend`, name)}
//				}
//				return nil
//			},
//			Open: func(ctx context.Context, s backends.Settings) (backends.Backend, error) {
//				return Open(ctx, s)
//			},
//		})
//	}
//
// Once the package is imported, cachette.LoadConfig and
// cachette.ConfigFromEnv accept its keys (mystore_url, or
// CACHETTE_MYSTORE_URL in the environment), run Check when the
// configuration names the store (never connecting to anything; one error
// per bad key, naming the key in double quotes and never quoting a value
// that may hold a password), and cachette.New opens it with the keys in
// Settings.Values, defaults filled in. The generic settings (Prefix,
// Timeout, Logger) are fields of Settings.
//
// The shipped stores all have the same shapes, and a new store should too:
//
//	func Open(ctx context.Context, s backends.Settings, opts ...Option) (*Store, error)
//	func NewFromClient([ctx,] client, [names,] prefix string, opts ...Option) (*Store, error)
//
// Open makes its own client from the settings (and Close closes it);
// NewFromClient wraps a client the caller owns (and Close leaves it open).
// An Option overrides the settings: WithLogger and, on network stores,
// WithTimeout are spelt the same everywhere. Stores whose options are a
// struct (inmemory, gob, memcached) define Option as func(*Options).
// Keys are stored under Key(prefix, key), locks under LockKey, and Flush
// removes the prefix's keys only; backendtest runs the conformance suite
// every shipped store passes.
package backends

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ErrNotFound is returned by Get when the key is absent or expired.
var ErrNotFound = errors.New("cachette: not found")

// ErrNotSupported is returned for an operation a store cannot do
// (ClearNamespace on memcached, which cannot enumerate keys).
var ErrNotSupported = errors.New("cachette: operation not supported by this backend")

// ErrTooLarge is returned by Set when a value is larger than the store accepts.
var ErrTooLarge = errors.New("cachette: value too large for this backend")

// ErrInvalidKey is wrapped by a store's error about a key it cannot hold
// (longer than its limit, say): the key is at fault, not the store, which
// keeps working for other keys.
var ErrInvalidKey = errors.New("cachette: key not accepted by this backend")

// ErrUnknownBackend is returned by Open for a name no imported package registered.
var ErrUnknownBackend = errors.New("cachette: unknown backend")

// Backend is a byte store with expiry, scoped to one prefix.
// Every method is safe for concurrent use.
type Backend interface {
	// Get returns the value stored under key and its expiry,
	// or ErrNotFound when the key is absent or expired. The caller must
	// treat value as read-only: a store may return the slice it holds
	// (the in-memory store does).
	Get(ctx context.Context, key string) (value []byte, expiresAt time.Time, err error)
	// Set stores value under key until expiresAt (which is in the future).
	Set(ctx context.Context, key string, value []byte, expiresAt time.Time) error
	// Delete removes key; it reports whether a live entry was removed.
	Delete(ctx context.Context, key string) (bool, error)
	// ClearNamespace removes every key that starts with namespace+":" and
	// returns how many live entries were removed, or an error wrapping
	// ErrNotSupported.
	ClearNamespace(ctx context.Context, namespace string) (int, error)
	// Flush removes every key of this store's prefix, and nothing else.
	Flush(ctx context.Context) error
	// FlushExpired removes expired entries where the store keeps them.
	FlushExpired(ctx context.Context) error
	// Lock tries to take the lock named key for ttl. It returns a fresh
	// token and true when taken, or "" and false when someone holds it.
	// A lock whose ttl has passed may be taken by anyone.
	Lock(ctx context.Context, key string, ttl time.Duration) (token string, ok bool, err error)
	// Unlock releases the lock if token is the one its holder got; it
	// reports whether it did.
	Unlock(ctx context.Context, key, token string) (bool, error)
	// Close releases the store's resources (connections, goroutines).
	// Stores built around a client the caller owns leave that client open.
	Close() error
}

// Settings is what a store is opened with. cachette.New fills it from its
// Config: the generic fields below, and in Values the store's own keys (the
// ones its Driver declares), defaults included. A store reads its keys with
// Value.
type Settings struct {
	Prefix  string        // namespace of every key; never empty when opened by cachette.New
	Timeout time.Duration // per-operation network timeout; 0 means the store's default
	Logger  *slog.Logger  // never nil when opened by cachette.New

	// Values holds the store's own configuration keys by their snake_case
	// names ("redis_url"), as its Driver declares them: every key that was
	// given, even empty, and the Default of each key that was not.
	Values Values

	// The fields below are the shipped stores' keys, from before Values;
	// Value falls back to them for a key that Values lacks, so Settings
	// literals written with them keep working.

	RedisURL      string // Deprecated: use Values["redis_url"].
	ValkeyURL     string // Deprecated: use Values["valkey_url"].
	MemcachedHost string // Deprecated: use Values["memcached_host"].
	MongoDBURL    string // Deprecated: use Values["mongodb_url"].
	DatabaseName  string // Deprecated: use Values["database_name"].
	TableName     string // Deprecated: use Values["table_name"].
	PicklePath    string // Deprecated: use Values["pickle_path"].
	DynamoDBURL   string // Deprecated: use Values["dynamodb_url"].
	Region        string // Deprecated: use Values["region"].
}

// Value returns the store key named key (snake_case): Values[key] when
// Values has it, else the deprecated field of that key, else "".
func (s Settings) Value(key string) string {
	if v, ok := s.Values[key]; ok {
		return v
	}
	switch key {
	case "redis_url":
		return s.RedisURL
	case "valkey_url":
		return s.ValkeyURL
	case "memcached_host":
		return s.MemcachedHost
	case "mongodb_url":
		return s.MongoDBURL
	case "database_name":
		return s.DatabaseName
	case "table_name":
		return s.TableName
	case "pickle_path":
		return s.PicklePath
	case "dynamodb_url":
		return s.DynamoDBURL
	case "region":
		return s.Region
	}
	return ""
}

// Values are a store's configuration keys, by snake_case name. A key that
// is present was given (or has a default), even when its value is empty.
type Values map[string]string

// Opener opens a store.
type Opener func(ctx context.Context, s Settings) (Backend, error)

// A ConfigKey is one configuration key a store reads, beside the generic ones
// (backend, codec, ttl, prefix, compression, ...) that cachette itself reads.
type ConfigKey struct {
	// Name is the key in snake_case, as cachette.LoadConfig takes it
	// ("redis_url"); cachette.ConfigFromEnv reads it from the variable
	// named by its prefix and Name in upper case (CACHETTE_REDIS_URL).
	// Names are lower-case letters, digits and "_", start with a letter,
	// and do not start with "test_". Several stores may declare one name
	// (table_name is MongoDB's and DynamoDB's). A name that is one of
	// cachette's own keys (backend, codec, ttl, prefix, compression, ...)
	// stays cachette's and never reaches the store.
	Name string
	// Default is the value the store gets when the key is not given; ""
	// means none.
	Default string
	// Doc says in one line what the key holds, for documentation and help.
	Doc string
}

// Driver is what a store registers: how it is opened and which
// configuration keys it reads and checks, the way a database/sql driver
// owns its data source name.
type Driver struct {
	// Open opens the store from Settings.
	Open Opener
	// Keys are the store's own configuration keys. cachette.LoadConfig and
	// cachette.ConfigFromEnv accept the keys of every registered store, and
	// deliver those of the configured one in Settings.Values.
	Keys []ConfigKey
	// Check validates the store's keys when the configuration names this
	// store, without connecting to anything. name is the backend as the
	// configuration spells it (an alias, perhaps), for messages such as
	// `The "redis_url" cannot be empty when using redis as backend`. v is
	// what Open would get in Settings.Values. Check returns one error per
	// bad key, each message naming its key in double quotes and never
	// quoting a value that may hold a password. Nil means no checks.
	Check func(name string, v Values) []error
}

var (
	regMu    sync.RWMutex
	registry = map[string]Driver{}
)

// Register makes a store available under name (case-insensitive), with no
// configuration keys of its own; RegisterDriver declares keys too. It
// panics if name is registered twice, like database/sql.Register.
func Register(name string, open Opener) {
	RegisterDriver(name, Driver{Open: open})
}

// RegisterDriver makes a store available under name (case-insensitive),
// with the configuration keys it reads. It panics if name is registered
// twice, if d.Open is nil, or if a key's name is not valid.
func RegisterDriver(name string, d Driver) {
	if d.Open == nil {
		panic("cachette/backends: RegisterDriver with a nil Open for " + name)
	}
	for _, k := range d.Keys {
		if !ValidKeyName(k.Name) {
			panic(fmt.Sprintf("cachette/backends: RegisterDriver(%s): invalid key name %q", name, k.Name))
		}
	}
	regMu.Lock()
	defer regMu.Unlock()
	name = strings.ToLower(name)
	if _, dup := registry[name]; dup {
		panic("cachette/backends: Register called twice for " + name)
	}
	d.Keys = append([]ConfigKey(nil), d.Keys...)
	registry[name] = d
}

// ValidKeyName reports whether name can name a store's configuration key:
// lower-case letters, digits and "_", starting with a letter, and not
// starting with "test_" (the environment variables of the test suites).
func ValidKeyName(name string) bool {
	if name == "" || name[0] < 'a' || name[0] > 'z' || strings.HasPrefix(name, "test_") {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// Lookup returns the driver registered under name (case-insensitive).
func Lookup(name string) (Driver, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	d, ok := registry[strings.ToLower(name)]
	return d, ok
}

// Registered lists the registered names, sorted.
func Registered() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ImportPath returns the package that registers the named backend.
func ImportPath(name string) string {
	return "github.com/cachette-go/cachette/backends/" + strings.ToLower(name)
}

// Open opens the store registered under name. A name that is not
// registered gives an error wrapping ErrUnknownBackend that names the import
// that would provide it.
func Open(ctx context.Context, name string, s Settings) (Backend, error) {
	name = strings.ToLower(name)
	d, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w %q: add `import _ %q` to your program (registered: %s)",
			ErrUnknownBackend, name, ImportPath(name), strings.Join(Registered(), ", "))
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	return d.Open(ctx, s)
}

// Key joins a store prefix and a key the way every store names its entries:
// "prefix:key". Store keys that start with "prefix:!" followed by anything
// but a second "!" are reserved for the stores' own records (locks, see
// LockKey, and InternalKey), so a user key that starts with "!" gets one
// more "!": the key "!lock:job" is stored as "prefix:!!lock:job", never as
// the lock "prefix:!lock:job". Key is injective, and since the escape
// depends only on the key's first byte, the store keys of every user key
// that starts with s start with Key(prefix, s) (see NamespacePrefix).
func Key(prefix, key string) string {
	if strings.HasPrefix(key, "!") {
		return prefix + ":!" + key
	}
	return prefix + ":" + key
}

// NamespacePrefix is the start of the store key of every user key in
// namespace (the keys "namespace:..."), and of no other user key nor any
// record of the store's own: Key(prefix, namespace+":"). Stores match it in
// ClearNamespace. The namespace "!lock" gives "prefix:!!lock:", which the
// locks ("prefix:!lock:...") do not start with.
func NamespacePrefix(prefix, namespace string) string { return Key(prefix, namespace+":") }

// InternalKey names a record a store keeps for itself under prefix:
// "prefix:!kind:key". kind must be non-empty and must not start with "!";
// no user key (see Key) maps to such a name.
func InternalKey(prefix, kind, key string) string { return prefix + ":!" + kind + ":" + key }

// LockKey is the name under which a store keeps the lock called key:
// "prefix:!lock:key". Locks live under the prefix (Flush removes them too)
// but apart from every user key, including "!lock:key" (see Key).
func LockKey(prefix, key string) string { return InternalKey(prefix, "lock", key) }

// CheckPrefix checks the prefix a store is opened with: it must be
// non-empty and must not contain ":", so that no prefix's keys start with
// another prefix's (Flush of "a" would otherwise remove the keys of
// "a:b"). name is the store's name, which starts the error.
func CheckPrefix(name, prefix string) error {
	if prefix == "" {
		return fmt.Errorf("%s: the prefix must not be empty", name)
	}
	if strings.Contains(prefix, ":") {
		return fmt.Errorf(`%s: the prefix %q must not contain ":"`, name, prefix)
	}
	return nil
}

// CeilMilli is t in Unix milliseconds, rounded up, so that a store that
// keeps expiries to the millisecond never drops an entry before the instant
// it was given.
func CeilMilli(t time.Time) int64 {
	// Not through UnixNano, which overflows outside the years 1678-2262.
	ms := t.UnixMilli() // rounded down: Nanosecond() is never negative
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return ms
}

// NewToken returns a fresh random lock token (128 bits, hex).
func NewToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("cachette/backends: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// Alive reports whether an entry expiring at expiresAt is alive at now.
func Alive(expiresAt, now time.Time) bool { return now.Before(expiresAt) }

// EscapeUTF8 makes a store key valid UTF-8, for stores whose keys must be
// (MongoDB's BSON strings, DynamoDB's string keys), reversibly: each byte
// that is not part of valid UTF-8 becomes U+FFFD and two hex digits, and
// U+FFFD itself becomes U+FFFD "uu". Keys that are valid UTF-8 without
// U+FFFD are returned as they are. The escape of a string is the escape of
// its parts joined, so a prefix maps to the prefix of the mapped keys, and
// distinct keys stay distinct.
func EscapeUTF8(k string) string {
	if PlainUTF8(k) {
		return k
	}
	var b strings.Builder
	b.Grow(len(k) + 8)
	for i := 0; i < len(k); {
		r, n := utf8.DecodeRuneInString(k[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
			b.WriteString(hex.EncodeToString([]byte{k[i]}))
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
			b.WriteString("uu")
		default:
			b.WriteString(k[i : i+n])
		}
		i += n
	}
	return b.String()
}

// PlainUTF8 reports whether EscapeUTF8 leaves k as it is: valid UTF-8
// without U+FFFD, the rune that marks its escapes.
func PlainUTF8(k string) bool {
	return utf8.ValidString(k) && !strings.ContainsRune(k, utf8.RuneError)
}

// Redact returns err with every non-empty secret in its message replaced by
// "xxxxx", keeping err's chain for errors.Is and errors.As; stores use it so
// that passwords from their URLs never reach an error or a log.
func Redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
