// # Configuration
//
// A Config can be written as a Go literal, or read from snake_case
// key/value pairs by LoadConfig (Cachette's load_config) or from the
// environment by ConfigFromEnv. Keys, backend names and codec names are
// case-insensitive; values are trimmed of surrounding white space.
//
//	key                   field               default        meaning
//	backend               Backend             inmemory       inmemory, gob (alias pickle), memcached, mongodb, redis, valkey, dynamodb
//	codec                 Codec               vanilla        vanilla (also ""), json, gob (alias pickle), msgpack, gojson (alias orjson), feather, parquet, csv
//	ttl                   TTL                 60             whole seconds, 1 to 3600
//	prefix                Prefix              cachette       namespace of this cache inside a shared store; not empty, no ":"
//	redis_url             RedisURL                           redis://[user:pass@]host[:port][/db] or rediss://; comma-separated for a cluster
//	valkey_url            ValkeyURL                          valkey:// or valkeys:// (redis:// and rediss:// too); comma-separated for a cluster
//	memcached_host        MemcachedHost                      host[:port][,host[:port]...], no scheme; port 11211 by default
//	mongodb_url           MongoDBURL                         mongodb://[user:pass@]host[:port][,host[:port]...] or mongodb+srv://host
//	database_name         DatabaseName        cachette-db    MongoDB database
//	table_name            TableName           cachette       MongoDB collection or DynamoDB table
//	pickle_path           PicklePath                         directory of the gob file store
//	dynamodb_url          DynamoDBURL                        http:// or https:// endpoint (local DynamoDB); else the AWS default
//	region                Region                             AWS region of DynamoDB
//	compression           Compression         smart          smart, all, disabled
//	compression_min_size  CompressionMinSize  1024           bytes, 0 or more; smart compresses payloads at least this big
//	max_value_size        MaxValueSize        67108864       bytes, 1 to 536870912; the largest value stored or decoded
//
// Which keys are required depends on the backend: memcached needs
// memcached_host; mongodb needs mongodb_url (database_name and table_name
// have defaults); redis needs redis_url; valkey needs valkey_url; gob (and
// pickle) needs pickle_path; dynamodb needs a region or a dynamodb_url. Keys
// that belong to another backend are not checked and not used.
//
// A key that is given counts as given even when its value is empty:
// table_name="" with backend=mongodb is an error rather than the default,
// and so are an empty ttl, backend, compression or prefix. An empty codec
// means vanilla. An unknown key is an error, so a typo never falls back to
// the in-memory default silently.
//
// ConfigFromEnv reads the same keys from variables named prefix + upper-case
// key (CACHETTE_BACKEND, CACHETTE_REDIS_URL, CACHETTE_TTL, ...). A variable
// that is set counts as given, even if empty, and any other variable that
// starts with the prefix is an error (CACHETTE_REDIS_ULR names no key),
// except prefix + "TEST_" variables, which the test suites read.
//
// max_value_size (64 MiB by default, at most 512 MiB) bounds what one
// entry may cost. Put and PutBytes refuse a value whose encoded bytes
// (before compression) are longer, with an error wrapping ErrTooLarge, and
// a stored entry that is longer, or whose zstd frames declare more, is a
// miss (removed and logged) that is never decompressed. So however its
// bytes were written (by another process, or by anyone who can write to a
// shared Redis or memcached), an entry never makes a reader allocate much
// more than max_value_size. Processes that share a store should share the
// setting. httpcache stores each response as one value: responses larger
// than max_value_size (less a few hundred bytes of headers) are not stored,
// so keep its Options.MaxBodySize below it (the defaults are 8 MiB and 64 MiB).
//
// Validation never connects to anything. Its error wraps ErrInvalidConfig
// and names every bad key, each in double quotes, for example
//
//	The "ttl" value must be between 1 and 3600 seconds
//	The "redis_url" cannot be empty when using redis as backend
//
// URLs and memcached_host entries are never quoted in errors, so passwords
// in them cannot leak; an error names the key and says what is wrong.
//
// LoadConfig keeps backend and codec names as given, lower-cased ("pickle"
// and "orjson" stay as they are); New resolves the aliases. The prefix may not contain ":",
// because keys are stored as "prefix:key" and a cache with prefix "a" would
// otherwise flush the keys of a cache with prefix "a:b".
package cachette

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/codecs"
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
	MemcachedHost      string        // "host[:port][,host[:port]...]", port 11211 by default
	MongoDBURL         string        // mongodb://[user:pass@]host:port
	DatabaseName       string        // MongoDB database, default "cachette-db"
	TableName          string        // MongoDB collection / DynamoDB table, default "cachette"
	PicklePath         string        // directory of the gob file store
	DynamoDBURL        string        // endpoint override (local DynamoDB); else the AWS default chain
	Region             string        // AWS region for DynamoDB
	Compression        string        // "smart" (default) | "all" | "disabled"
	CompressionMinSize int           // bytes; "smart" compresses payloads at least this big; default 1024
	MaxValueSize       int           // bytes; the largest encoded value Put stores and Fetch reads; default 64 MiB, at most 512 MiB

	// Timeout bounds each call to a network store; 0 means the store's default.
	// Not read by LoadConfig or ConfigFromEnv.
	Timeout time.Duration
	// Logger receives reports of corrupt entries and store errors; nil means slog.Default().
	// Not read by LoadConfig or ConfigFromEnv.
	Logger *slog.Logger

	// set records which keys LoadConfig saw, so that a key given with an
	// empty value counts as given.
	set map[string]bool
}

// Keys are the keys LoadConfig and ConfigFromEnv accept, in documentation order.
var configKeys = []string{
	"backend", "codec", "ttl", "prefix",
	"redis_url", "valkey_url", "memcached_host", "mongodb_url",
	"database_name", "table_name", "pickle_path", "dynamodb_url", "region",
	"compression", "compression_min_size", "max_value_size",
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
	known := make([][2]string, 0, len(pairs))
	for _, kv := range pairs {
		key := strings.ToLower(strings.TrimSpace(kv[0]))
		if !slices.Contains(configKeys, key) {
			ps = append(ps, problem{key, fmt.Sprintf("The key %q is unknown; the keys are %s", kv[0], strings.Join(configKeys, ", "))})
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
	if prefix == "" {
		for _, k := range configKeys {
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
		if !slices.Contains(configKeys, key) {
			upper := make([]string, len(configKeys))
			for i, k := range configKeys {
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
		case "redis_url":
			c.RedisURL = value
		case "valkey_url":
			c.ValkeyURL = value
		case "memcached_host":
			c.MemcachedHost = value
		case "mongodb_url":
			c.MongoDBURL = value
		case "database_name":
			c.DatabaseName = value
		case "table_name":
			c.TableName = value
		case "pickle_path":
			c.PicklePath = value
		case "dynamodb_url":
			c.DynamoDBURL = value
		case "region":
			c.Region = value
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
	if !knownBackend(backend) {
		add("backend", "The \"backend\" value %q is unknown; use one of %s", c.Backend, strings.Join(backendNames(), ", "))
		backend = "" // check no backend-specific key
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

	empty := func(key string) {
		add(key, "The %q cannot be empty when using %s as backend", key, backend)
	}
	switch backend {
	case "redis":
		if c.RedisURL == "" {
			empty("redis_url")
		} else if msg := checkNodeURLs("redis_url", c.RedisURL, "redis", "rediss"); msg != "" {
			add("redis_url", "%s", msg)
		}
	case "valkey":
		if c.ValkeyURL == "" {
			empty("valkey_url")
		} else if msg := checkNodeURLs("valkey_url", c.ValkeyURL, "valkey", "valkeys", "redis", "rediss"); msg != "" {
			add("valkey_url", "%s", msg)
		}
	case "memcached":
		if c.MemcachedHost == "" {
			empty("memcached_host")
		} else if msg := checkMemcachedHosts(c.MemcachedHost); msg != "" {
			add("memcached_host", "%s", msg)
		}
	case "mongodb":
		if c.MongoDBURL == "" {
			empty("mongodb_url")
		} else if msg := checkMongoURL(c.MongoDBURL); msg != "" {
			add("mongodb_url", "%s", msg)
		}
		db, coll := c.DatabaseName, c.TableName
		if db == "" && !c.set["database_name"] {
			db = DefaultDatabaseName
		}
		if coll == "" && !c.set["table_name"] {
			coll = DefaultTableName
		}
		switch {
		case db == "":
			empty("database_name")
		case strings.ContainsAny(db, "/\\. \"$\x00"):
			add("database_name", `The "database_name" value %q contains a character MongoDB rejects (/\. "$ or NUL)`, db)
		case len(db) > 63:
			add("database_name", `The "database_name" value must be at most 63 bytes long`)
		}
		switch {
		case coll == "":
			empty("table_name")
		case strings.ContainsAny(coll, "$\x00"):
			add("table_name", `The "table_name" value %q contains a character MongoDB rejects ($ or NUL)`, coll)
		case strings.HasPrefix(coll, "system."):
			add("table_name", `The "table_name" value %q cannot start with "system." on MongoDB`, coll)
		case db != "" && len(db)+1+len(coll) > 255:
			add("table_name", `The "table_name" value is too long: "database_name.table_name" must be at most 255 bytes on MongoDB`)
		}
	case "gob", "pickle":
		if c.PicklePath == "" {
			empty("pickle_path")
		}
	case "dynamodb":
		if c.DynamoDBURL == "" && c.Region == "" {
			add("dynamodb_url", `The "dynamodb_url" cannot be empty when using dynamodb as backend and no "region" is given`)
		}
		if c.DynamoDBURL != "" {
			if msg := checkURL("dynamodb_url", c.DynamoDBURL, "http", "https"); msg != "" {
				add("dynamodb_url", "%s", msg)
			}
		} else if c.Region != "" && !awsRegion.MatchString(c.Region) {
			add("region", `The "region" value %q is not an AWS region name such as "us-east-1"`, c.Region)
		}
		table := c.TableName
		if table == "" && !c.set["table_name"] {
			table = DefaultTableName
		}
		switch {
		case table == "":
			empty("table_name")
		case !dynamoTable.MatchString(table):
			add("table_name", `The "table_name" value %q must be 3 to 255 characters among a-z, A-Z, 0-9, "_", "-" and "." on DynamoDB`, table)
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
	return ps
}

var (
	awsRegion   = regexp.MustCompile(`^[a-z]+(-[a-z]+)+-[0-9]+$`)
	dynamoTable = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)
)

// knownBackend reports whether name (lower-case) is a backend cachette
// ships or one a program registered.
func knownBackend(name string) bool {
	return slices.Contains(shippedBackends, name) || slices.Contains(backends.Registered(), name)
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

// schemeList formats schemes as "a://, b:// or c://".
func schemeList(schemes []string) string {
	s := make([]string, len(schemes))
	for i, sc := range schemes {
		s[i] = sc + "://"
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// checkNodeURLs checks a comma-separated list of server URLs. Messages never
// quote the URL, which may hold a password.
func checkNodeURLs(key, raw string, schemes ...string) string {
	first := ""
	for node := range strings.SplitSeq(raw, ",") {
		node = strings.TrimSpace(node)
		if node == "" {
			return fmt.Sprintf("The %q has an empty entry in its comma-separated list", key)
		}
		if first == "" {
			first, _, _ = strings.Cut(node, "://")
		} else if !strings.Contains(node, "://") {
			// Short cluster form: "redis://h1:7001,h2:7002" — later nodes take the first one's scheme.
			node = first + "://" + node
		}
		if msg := checkURL(key, node, schemes...); msg != "" {
			return msg
		}
		u, _ := url.Parse(node) // checkURL parsed it
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				return fmt.Sprintf("The %q database must be a number, as in %s://host:6379/0", key, schemes[0])
			}
		}
	}
	return ""
}

// checkURL checks one server URL: its scheme, that it parses and has a host,
// and its port. Messages never quote the URL.
func checkURL(key, raw string, schemes ...string) string {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok || !slices.Contains(schemes, strings.ToLower(scheme)) {
		return fmt.Sprintf("The %q must be a URL starting with %s", key, schemeList(schemes))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("The %q is not a valid URL", key)
	}
	if u.Hostname() == "" {
		return fmt.Sprintf("The %q has no host", key)
	}
	if p := u.Port(); p != "" && !validPort(p) {
		return fmt.Sprintf("The %q port must be between 1 and 65535", key)
	}
	return ""
}

// checkMongoURL checks a MongoDB connection string, which may list several
// hosts: mongodb://[user:pass@]host[:port][,host[:port]...][/db][?options].
func checkMongoURL(raw string) string {
	const key = "mongodb_url"
	scheme, rest, ok := strings.Cut(raw, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "mongodb" && scheme != "mongodb+srv") {
		return fmt.Sprintf("The %q must be a URL starting with mongodb:// or mongodb+srv://", key)
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	if hosts == "" {
		return fmt.Sprintf("The %q has no host", key)
	}
	list := strings.Split(hosts, ",")
	if scheme == "mongodb+srv" && (len(list) != 1 || strings.Contains(hosts, ":")) {
		return fmt.Sprintf("The %q with mongodb+srv:// takes one host name without a port", key)
	}
	for _, h := range list {
		if !validHostPort(h) {
			return fmt.Sprintf("The %q has an invalid host or port (ports are 1 to 65535)", key)
		}
	}
	// The rest must be URL syntax; check it with a single placeholder host.
	if _, err := url.Parse(scheme + "://" + userinfo + "host" + tail); err != nil {
		return fmt.Sprintf("The %q is not a valid URL", key)
	}
	return ""
}

// checkMemcachedHosts checks "host[:port][,host[:port]...]"; an entry that
// starts with "/" is a Unix socket path. Messages name an entry by its
// position, never quote it: a mistyped one may hold a password.
func checkMemcachedHosts(raw string) string {
	const key = "memcached_host"
	n := 0
	for h := range strings.SplitSeq(raw, ",") {
		h = strings.TrimSpace(h)
		n++
		switch {
		case h == "":
			return fmt.Sprintf("The %q has an empty entry in its comma-separated list", key)
		case strings.Contains(h, "://"):
			return fmt.Sprintf("The %q takes host[:port] entries without a scheme", key)
		case strings.Contains(h, "@"):
			return fmt.Sprintf(`The %q entry %d holds a user or password ("@"); memcached takes host[:port] only`, key, n)
		case strings.HasPrefix(h, "/"):
			// A Unix socket.
		case !validHostPort(h):
			return fmt.Sprintf("The %q entry %d is not host[:port] with a port between 1 and 65535", key, n)
		}
	}
	return ""
}

// validHostPort reports whether s is host, host:port, [ipv6], [ipv6]:port
// or a bare IPv6 address, with a port of 1 to 65535.
func validHostPort(s string) bool {
	host, port, hasPort := s, "", false
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return false
		}
		addr, err := netip.ParseAddr(s[1:end])
		if err != nil || !addr.Is6() {
			return false
		}
		rest := s[end+1:]
		if rest == "" {
			return true
		}
		p, ok := strings.CutPrefix(rest, ":")
		return ok && validPort(p)
	case strings.Count(s, ":") > 1:
		addr, err := netip.ParseAddr(s)
		return err == nil && addr.Is6()
	default:
		host, port, hasPort = strings.Cut(s, ":")
	}
	if hasPort && !validPort(port) {
		return false
	}
	return validHostName(host)
}

// validHostName reports whether h is a plausible DNS name or IPv4 address.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return true
}

// validPort reports whether p is a decimal port number from 1 to 65535.
func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
	}
	n, _ := strconv.Atoi(p)
	return n >= 1 && n <= 65535
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
