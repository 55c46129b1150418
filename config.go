package cachette

import (
	"errors"
	"log/slog"
	"time"
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
	MinTTL                    = time.Second
	MaxTTL                    = 3600 * time.Second
)

// Config configures a Cache. The zero value is the in-memory default.
type Config struct {
	Backend            string        // "inmemory" (default) | "gob" (alias "pickle") | "memcached" | "mongodb" | "redis" | "valkey" | "dynamodb"
	Codec              string        // "vanilla" (default, also "") | "json" | "gob" (alias "pickle") | "msgpack" | "feather" | "parquet"
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

// LoadConfig builds a Config from snake_case key/value pairs (Cachette's
// load_config). See the package documentation for the keys.
func LoadConfig(pairs [][2]string) (Config, error) {
	panic("TODO")
}

// ConfigFromEnv reads the keys from environment variables named prefix +
// upper-case key, e.g. CACHETTE_BACKEND, CACHETTE_REDIS_URL, CACHETTE_TTL.
func ConfigFromEnv(prefix string) (Config, error) {
	panic("TODO")
}

// Validate checks c without connecting to anything. It returns one error,
// wrapping ErrInvalidConfig, that names every bad key.
func (c Config) Validate() error {
	return nil
}

// withDefaults returns c with every unset field given its default.
func (c Config) withDefaults() Config {
	if c.Backend == "" {
		c.Backend = DefaultBackend
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
	if c.CompressionMinSize == 0 {
		c.CompressionMinSize = DefaultCompressionMinSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
