package cachette

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/codecs"
	"github.com/cachette-go/cachette/internal/storekeys"
)

// ErrInvalidConfig is wrapped by every configuration error.
var ErrInvalidConfig = errors.New("cachette: invalid config")

// Defaults.
const (
	DefaultBackend            = "inmemory"
	DefaultCodec              = "vanilla"
	DefaultTTL                = 60 * time.Second
	DefaultPrefix             = "cachette"
	DefaultDatabaseName       = "cachette-db"
	DefaultTableName          = "cachette"
	DefaultCompression        = "smart"
	DefaultCompressionMinSize = 1024
	DefaultMaxValueSize       = 64 << 20 // 64 MiB
	MinTTL                    = time.Second
	MaxTTL                    = 3600 * time.Second
)

// Config configures a Cache. The zero value is the in-memory default.
type Config struct {
	Backend            string        // "inmemory" (default) | "gob" (alias "pickle") | "memcached" | "mongodb" | "redis" | "valkey" | "dynamodb"
	Codec              string        // "vanilla" (default, also "") | "json" | "gob" (alias "pickle") | "msgpack" | "gojson" (alias "orjson") | "feather" | "parquet" | "csv"
	TTL                time.Duration // default 60s; must be 1s..3600s
	Prefix             string        // namespace of this cache inside a shared store; default "cachette"
	RedisURL           string        // redis://[user:pass@]host:port[/db], rediss://, or several nodes for a cluster
	ValkeyURL          string        // valkey://[user:pass@]host:port (valkeys:// for TLS), or several nodes
	MemcachedHost      string        // "host[:port][,host[:port]...]", port 11211 by default; "memcacheds://host[:port],..." for TLS
	MongoDBURL         string        // mongodb://[user:pass@]host:port
	DatabaseName       string        // MongoDB database, default "cachette-db"
	TableName          string        // MongoDB collection / DynamoDB table, default "cachette"
	PicklePath         string        // directory of the gob file store
	DynamoDBURL        string        // endpoint override (local DynamoDB); else the AWS default chain
	Region             string        // AWS region for DynamoDB
	Compression        string        // "smart" (default) | "all" | "disabled"
	CompressionMinSize int           // bytes; "smart" compresses payloads at least this big; default 1024
	MaxValueSize       int           // bytes; the largest encoded value Put stores and Fetch reads; default 64 MiB, at most 512 MiB
	LocalEntries       int           // decoded values kept in process in front of the store; 0 (default): no local tier
	LocalTTL           time.Duration // longest a local value is served after it was read; default 10s, 1ms to 1h

	// SigningKey, if set, authenticates every entry with HMAC-SHA-256
	// (see "Signed entries" in the package documentation): Put signs,
	// and Fetch treats an entry without a valid tag as a miss (logged,
	// removed, never decoded). At least MinSigningKeyLen (32) bytes;
	// several keys separated by commas rotate a key: the first signs,
	// every one verifies. "" (the default): entries are not signed, and
	// whoever can write to the store can plant entries the cache serves.
	// Key signing_key (CACHETTE_SIGNING_KEY); never logged nor quoted in
	// errors.
	SigningKey string

	// Timeout bounds each call to a network store; 0 means the store's default.
	// Not read by LoadConfig or ConfigFromEnv.
	Timeout time.Duration
	// Logger receives reports of corrupt entries and store errors; nil means slog.Default().
	// Not read by LoadConfig or ConfigFromEnv.
	Logger *slog.Logger
	// Observer, if set, is told of lookups, loads and store calls, for
	// metrics and traces (see Observer and the otelcache module); nil
	// costs nothing. Not read by LoadConfig or ConfigFromEnv.
	Observer Observer

	// BackendValues holds the keys of stores registered by other packages
	// (backends.RegisterDriver) that have no field above, by snake_case
	// name. LoadConfig and ConfigFromEnv fill it; New delivers the
	// configured store's keys to it in backends.Settings.Values. A key
	// present in the map counts as given, even with an empty value.
	BackendValues map[string]string

	// set records which keys LoadConfig saw, so that a key given with an
	// empty value counts as given.
	set map[string]bool
}

// genericKeys are the keys cachette reads itself, whatever the store: the
// first four come before the stores' keys in documentation order, the rest
// after.
var genericKeys = []string{
	"backend", "codec", "ttl", "prefix",
	"compression", "compression_min_size", "max_value_size",
	"local_entries", "local_ttl",
	"signing_key",
}

// configKeys lists the keys LoadConfig and ConfigFromEnv accept, in
// documentation order: the generic keys, with the keys of the shipped
// stores after "prefix", then those of other registered stores, sorted.
func configKeys() []string {
	keys := slices.Clone(genericKeys[:4])
	add := func(name string) {
		if !slices.Contains(keys, name) && !slices.Contains(genericKeys, name) {
			keys = append(keys, name)
		}
	}
	for _, s := range storekeys.Shipped {
		for _, k := range s.Spec.Keys {
			add(k.Name)
		}
	}
	var others []string
	for _, name := range backends.Registered() {
		d, _ := backends.Lookup(name)
		for _, k := range d.Keys {
			if !slices.Contains(keys, k.Name) && !slices.Contains(genericKeys, k.Name) && !slices.Contains(others, k.Name) {
				others = append(others, k.Name)
			}
		}
	}
	sort.Strings(others)
	keys = append(keys, others...)
	return append(keys, genericKeys[4:]...)
}

// storeField returns the field of c that holds the store key name, or nil
// for a key that has none (one of another package's store).
func (c *Config) storeField(name string) *string {
	switch name {
	case "redis_url":
		return &c.RedisURL
	case "valkey_url":
		return &c.ValkeyURL
	case "memcached_host":
		return &c.MemcachedHost
	case "mongodb_url":
		return &c.MongoDBURL
	case "database_name":
		return &c.DatabaseName
	case "table_name":
		return &c.TableName
	case "pickle_path":
		return &c.PicklePath
	case "dynamodb_url":
		return &c.DynamoDBURL
	case "region":
		return &c.Region
	}
	return nil
}

// driver returns how the store backend (lower-case, aliases allowed) is
// configured: its registered Driver, or for a shipped store that is not
// linked, the keys and checks it would register.
func driver(backend string) (backends.Driver, bool) {
	name := canonicalBackend(backend)
	if d, ok := backends.Lookup(name); ok {
		return d, true
	}
	if s, ok := storekeys.Lookup(name); ok {
		return backends.Driver{Keys: s.Keys, Check: s.Check}, true
	}
	return backends.Driver{}, false
}

// storeValues returns the values of d's keys in c: each key given (a
// non-empty field, or one LoadConfig saw, or one in BackendValues), else
// its default.
func (c Config) storeValues(d backends.Driver) backends.Values {
	v := make(backends.Values, len(d.Keys))
	for _, k := range d.Keys {
		if f := c.storeField(k.Name); f != nil {
			if *f != "" || c.set[k.Name] {
				v[k.Name] = *f
				continue
			}
		} else if val, ok := c.BackendValues[k.Name]; ok {
			v[k.Name] = val
			continue
		}
		if k.Default != "" {
			v[k.Name] = k.Default
		}
	}
	return v
}

// shippedBackends are the backend names cachette ships, linked or not.
var shippedBackends = []string{"inmemory", "gob", "pickle", "memcached", "mongodb", "redis", "valkey", "dynamodb"}

// shippedCodecs are the codec names cachette ships, for error messages.
var shippedCodecs = []string{"vanilla", "json", "gob", "pickle", "msgpack", "gojson", "orjson", "feather", "parquet", "csv"}

// problem is one thing wrong with a configuration, about one key.
type problem struct {
	key string
	msg string
}

// configError lists every problem of a configuration; it wraps ErrInvalidConfig.
type configError struct {
	problems []string
}

func (e *configError) Error() string {
	return ErrInvalidConfig.Error() + ": " + strings.Join(e.problems, "; ")
}

func (e *configError) Unwrap() error { return ErrInvalidConfig }

func newConfigError(ps []problem) error {
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(ps))
	seen := make(map[string]bool, len(ps))
	for _, p := range ps {
		if !seen[p.msg] {
			seen[p.msg] = true
			msgs = append(msgs, p.msg)
		}
	}
	return &configError{problems: msgs}
}

func ttlProblem() problem {
	return problem{"ttl", fmt.Sprintf(`The "ttl" value must be between %d and %d seconds`, int(MinTTL/time.Second), int(MaxTTL/time.Second))}
}

func minSizeProblem() problem {
	return problem{"compression_min_size", `The "compression_min_size" value must be a whole number of bytes, 0 or more`}
}

func maxValueSizeProblem() problem {
	return problem{"max_value_size", fmt.Sprintf(`The "max_value_size" value must be a whole number of bytes between 1 and %d`, codecs.MaxDecompressedSize)}
}

// LoadConfig builds a Config from snake_case key/value pairs (Cachette's
// load_config). See the package documentation for the keys. It returns the
// Config with its defaults filled in (but no Logger), or an error from
// Validate that names every bad key; an unknown or repeated key is an error.
func LoadConfig(pairs [][2]string) (Config, error) {
	var ps []problem
	keys := configKeys()
	known := make([][2]string, 0, len(pairs))
	for _, kv := range pairs {
		key := strings.ToLower(strings.TrimSpace(kv[0]))
		if !slices.Contains(keys, key) {
			ps = append(ps, problem{key, fmt.Sprintf("The key %q is unknown; the keys are %s", kv[0], strings.Join(keys, ", "))})
			continue
		}
		known = append(known, [2]string{key, kv[1]})
	}
	return load(known, ps)
}

// ConfigFromEnv reads the keys from environment variables named prefix +
// upper-case key, e.g. CACHETTE_BACKEND, CACHETTE_REDIS_URL, CACHETTE_TTL.
// A variable that is set counts as given even when empty. Any other variable
// whose name starts with prefix is an error, so a misspelt variable is never
// ignored; with an empty prefix only the exact key names are read.
func ConfigFromEnv(prefix string) (Config, error) {
	var ps []problem
	var pairs [][2]string
	keys := configKeys()
	if prefix == "" {
		for _, k := range keys {
			if v, ok := os.LookupEnv(strings.ToUpper(k)); ok {
				pairs = append(pairs, [2]string{k, v})
			}
		}
		return load(pairs, nil)
	}
	env := os.Environ()
	sort.Strings(env)
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		key := strings.ToLower(rest)
		if strings.HasPrefix(key, "test_") {
			continue // the project's test-server variables (CACHETTE_TEST_REDIS_URL, ...)
		}
		if !slices.Contains(keys, key) {
			upper := make([]string, len(keys))
			for i, k := range keys {
				upper[i] = strings.ToUpper(k)
			}
			ps = append(ps, problem{key, fmt.Sprintf("The environment variable %q names no key; the variables are %s followed by one of %s",
				name, prefix, strings.Join(upper, ", "))})
			continue
		}
		pairs = append(pairs, [2]string{key, value})
	}
	return load(pairs, ps)
}

// load fills a Config from pairs whose keys are known and lower-case, then
// validates it. ps holds the problems found so far.
func load(pairs [][2]string, ps []problem) (Config, error) {
	c := Config{set: make(map[string]bool, len(pairs))}
	bad := map[string]bool{} // keys whose value did not parse
	for _, kv := range pairs {
		key, value := kv[0], strings.TrimSpace(kv[1])
		if c.set[key] {
			ps = append(ps, problem{key, fmt.Sprintf("The %q key is given more than once", key)})
			continue
		}
		c.set[key] = true
		switch key {
		case "backend":
			c.Backend = strings.ToLower(value)
		case "codec":
			c.Codec = strings.ToLower(value)
		case "ttl":
			n, err := strconv.Atoi(value)
			if err != nil || n < int(MinTTL/time.Second) || n > int(MaxTTL/time.Second) {
				ps = append(ps, ttlProblem())
				bad[key] = true
				continue
			}
			c.TTL = time.Duration(n) * time.Second
		case "prefix":
			c.Prefix = value
		case "compression":
			c.Compression = strings.ToLower(value)
		case "compression_min_size":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				ps = append(ps, minSizeProblem())
				bad[key] = true
				continue
			}
			c.CompressionMinSize = n
		case "max_value_size":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > codecs.MaxDecompressedSize {
				ps = append(ps, maxValueSizeProblem())
				bad[key] = true
				continue
			}
			c.MaxValueSize = n
		case "signing_key":
			c.SigningKey = value
		default: // a store's key
			if c.loadLocal(key, value, &ps, bad) { // local.go
				continue
			}
			if f := c.storeField(key); f != nil {
				*f = value
			} else {
				if c.BackendValues == nil {
					c.BackendValues = map[string]string{}
				}
				c.BackendValues[key] = value
			}
		}
	}
	for _, p := range c.problems() {
		if !bad[p.key] {
			ps = append(ps, p)
		}
	}
	if err := newConfigError(ps); err != nil {
		return Config{}, err
	}
	return c.fillDefaults(), nil
}

// Validate checks c without connecting to anything. It returns one error,
// wrapping ErrInvalidConfig, that names every bad key. Zero fields stand for
// their defaults; only the keys of the configured backend are checked.
func (c Config) Validate() error {
	return newConfigError(c.problems())
}

// problems lists what is wrong with c, in key order.
func (c Config) problems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{key, fmt.Sprintf(format, args...)})
	}

	backend := strings.ToLower(strings.TrimSpace(c.Backend))
	if backend == "" && !c.set["backend"] {
		backend = DefaultBackend
	}
	store, known := driver(backend)
	if !known {
		add("backend", "The \"backend\" value %q is unknown; use one of %s", c.Backend, strings.Join(backendNames(), ", "))
	}
	if !knownCodec(c.Codec) {
		add("codec", "The \"codec\" value %q is unknown; use one of %s", c.Codec, strings.Join(codecNames(), ", "))
	}
	if c.TTL < 0 || (c.TTL == 0 && c.set["ttl"]) || (c.TTL != 0 && (c.TTL < MinTTL || c.TTL > MaxTTL)) {
		ps = append(ps, ttlProblem())
	}
	switch {
	case c.Prefix == "" && c.set["prefix"]:
		add("prefix", `The "prefix" cannot be empty when given`)
	case strings.Contains(c.Prefix, ":"):
		add("prefix", `The "prefix" value %q cannot contain ":"`, c.Prefix)
	}

	// The store's own keys, checked by the store (its registered Driver,
	// or for a shipped store that is not linked, what it would register).
	// An unknown backend is reported alone, without the keys of no store.
	if known && store.Check != nil {
		for _, err := range store.Check(backend, c.storeValues(store)) {
			ps = append(ps, problem{backend, err.Error()})
		}
	}

	if (c.Compression == "" && c.set["compression"]) || !codecs.ValidCompression(c.Compression) {
		add("compression", "The \"compression\" value %q is unknown; use one of %s, %s, %s",
			c.Compression, codecs.CompressSmart, codecs.CompressAll, codecs.CompressDisabled)
	}
	if c.CompressionMinSize < 0 {
		ps = append(ps, minSizeProblem())
	}
	if c.MaxValueSize < 0 || (c.MaxValueSize == 0 && c.set["max_value_size"]) || c.MaxValueSize > codecs.MaxDecompressedSize {
		ps = append(ps, maxValueSizeProblem())
	}
	if p, bad := signingKeyProblem(c.SigningKey, c.set["signing_key"]); bad {
		ps = append(ps, p)
	}
	return append(ps, c.localProblems()...) // local.go
}

func backendNames() []string {
	names := slices.Clone(shippedBackends)
	for _, n := range backends.Registered() {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// knownCodec reports whether name is a codec cachette ships (or its alias,
// "" included) or one a program registered.
func knownCodec(name string) bool {
	return codecs.Known(name) || slices.Contains(codecs.Registered(), codecs.Canonical(name))
}

func codecNames() []string {
	names := slices.Clone(shippedCodecs)
	for _, n := range codecs.Registered() {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// fillDefaults returns c with every unset field but Logger given its default.
func (c Config) fillDefaults() Config {
	if c.Backend == "" {
		c.Backend = DefaultBackend
	}
	if c.Codec == "" {
		c.Codec = DefaultCodec
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.DatabaseName == "" && !c.set["database_name"] {
		c.DatabaseName = DefaultDatabaseName
	}
	if c.TableName == "" && !c.set["table_name"] {
		c.TableName = DefaultTableName
	}
	if c.Compression == "" {
		c.Compression = DefaultCompression
	}
	if c.CompressionMinSize == 0 && !c.set["compression_min_size"] {
		c.CompressionMinSize = DefaultCompressionMinSize
	}
	if c.MaxValueSize == 0 {
		c.MaxValueSize = DefaultMaxValueSize
	}
	if c.LocalTTL == 0 {
		c.LocalTTL = DefaultLocalTTL
	}
	return c
}

// withDefaults returns c with every unset field given its default, the
// Logger included.
func (c Config) withDefaults() Config {
	c = c.fillDefaults()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
