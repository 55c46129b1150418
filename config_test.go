package cachette

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette/codecs"
)

const (
	msgTTL           = `The "ttl" value must be between 1 and 3600 seconds`
	msgMemcachedHost = `The "memcached_host" cannot be empty when using memcached as backend`
	msgRedisURL      = `The "redis_url" cannot be empty when using redis as backend`
	msgValkeyURL     = `The "valkey_url" cannot be empty when using valkey as backend`
	msgMongoURL      = `The "mongodb_url" cannot be empty when using mongodb as backend`
	msgDatabaseName  = `The "database_name" cannot be empty when using mongodb as backend`
	msgTableName     = `The "table_name" cannot be empty when using mongodb as backend`
	msgDynamoTable   = `The "table_name" cannot be empty when using dynamodb as backend`
	msgPicklePath    = `The "pickle_path" cannot be empty when using pickle as backend`
	msgGobPath       = `The "pickle_path" cannot be empty when using gob as backend`
	msgDynamoDB      = `The "dynamodb_url" cannot be empty when using dynamodb as backend and no "region" is given`
	msgMaxValueSize  = `The "max_value_size" value must be a whole number of bytes between 1 and 536870912`
)

type kv = [2]string

// The cases of Cachette's tests/load_config.py, plus gob, valkey and the
// names spelt in other cases.
func TestLoadConfigValid(t *testing.T) {
	cases := [][]kv{
		{{"backend", "dynamodb"}, {"region", "ap-southeast-1"}},
		{{"backend", "dynamodb"}, {"dynamodb_url", "http://localhost:8000"}},
		{{"backend", "dynamodb"}, {"region", "ap-southeast-1"}, {"ttl", "1"}},
		{{"backend", "dynamodb"}, {"region", "ap-southeast-1"}, {"ttl", "3600"}},
		{{"backend", "dynamodb"}, {"dynamodb_url", "http://localhost:8000"}, {"ttl", "1"}},
		{{"backend", "dynamodb"}, {"dynamodb_url", "https://dynamodb.eu-west-1.amazonaws.com"}, {"ttl", "3600"}},
		{},
		{{"backend", "inmemory"}},
		{{"backend", "inmemory"}, {"ttl", "1"}},
		{{"backend", "inmemory"}, {"ttl", "3600"}},
		{{"backend", "inmemory"}, {"table_name", ""}},
		{{"backend", "memcached"}, {"memcached_host", "localhost"}},
		{{"backend", "memcached"}, {"ttl", "1"}, {"memcached_host", "localhost"}},
		{{"backend", "memcached"}, {"memcached_host", "localhost"}, {"table_name", ""}},
		{{"backend", "memcached"}, {"memcached_host", "10.0.0.1:11211, cache-2:11212,[::1]:11213,/run/memcached.sock"}},
		{{"backend", "mongodb"}, {"database_name", "cachette-db"}, {"mongodb_url", "mongodb://localhost:27017"}},
		{{"backend", "mongodb"}, {"database_name", "cachette-db"}, {"ttl", "1"}, {"mongodb_url", "mongodb://localhost:27017"}},
		{{"backend", "mongodb"}, {"database_name", "cachette-db"}, {"ttl", "3600"}, {"mongodb_url", "mongodb://localhost:27017"}},
		{{"backend", "mongodb"}, {"mongodb_url", "mongodb://user:secret@a:27017,b:27018/admin?replicaSet=rs0"}},
		{{"backend", "mongodb"}, {"mongodb_url", "mongodb+srv://cluster0.example.net/?retryWrites=true"}},
		{{"backend", "redis"}, {"redis_url", "redis://localhost:6379"}},
		{{"backend", "redis"}, {"ttl", "1"}, {"redis_url", "redis://localhost:6379"}},
		{{"backend", "redis"}, {"ttl", "3600"}, {"redis_url", "redis://localhost:6379"}},
		{{"backend", "redis"}, {"redis_url", "redis://localhost:6379"}, {"table_name", ""}},
		{{"backend", "redis"}, {"redis_url", "rediss://user:secret@localhost:6380/2"}},
		{{"backend", "redis"}, {"redis_url", "redis://127.0.0.1:7001,redis://127.0.0.1:7002,redis://127.0.0.1:7003"}},
		{{"backend", "redis"}, {"redis_url", "redis://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"}},
		{{"backend", "valkey"}, {"valkey_url", "valkey://localhost:6379"}},
		{{"backend", "valkey"}, {"valkey_url", "valkey://h1:7101,h2:7102"}},
		{{"backend", "valkey"}, {"valkey_url", "valkeys://localhost:6380,redis://localhost:6381"}},
		{{"backend", "pickle"}, {"pickle_path", "tests/cachette"}},
		{{"backend", "gob"}, {"pickle_path", "/tmp/cachette"}, {"ttl", "3600"}},
		{{"codec", ""}},
		{{"codec", "json"}, {"compression", "all"}, {"compression_min_size", "0"}},
		{{"codec", "pickle"}, {"compression", "disabled"}},
		{{"codec", "msgpack"}, {"prefix", "my-app"}},
		{{"codec", "feather"}}, {{"codec", "parquet"}}, {{"codec", "csv"}},
		{{"codec", "gojson"}}, {{"codec", "orjson"}}, {{"codec", "ORJSON"}},
		// Keys and names are case-insensitive; values are trimmed.
		{{"BACKEND", "Redis"}, {"Redis_URL", " redis://localhost:6379 "}, {"Codec", "JSON"}, {"TTL", " 30 "}},
		// Keys of another backend are neither checked nor used.
		{{"backend", "inmemory"}, {"redis_url", "http://wrong"}, {"mongodb_url", "nope"}, {"database_name", "a.b"}},
	}
	for _, pairs := range cases {
		cfg, err := LoadConfig(pairs)
		if err != nil {
			t.Errorf("LoadConfig(%q) = %v, want no error", pairs, err)
			continue
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("LoadConfig(%q).Validate() = %v, want no error", pairs, err)
		}
	}
}

func TestLoadConfigInvalid(t *testing.T) {
	cases := []struct {
		pairs []kv
		want  string
	}{
		{[]kv{{"backend", "dynamodb"}}, msgDynamoDB},
		{[]kv{{"backend", "dynamodb"}, {"region", "ap-southeast-1"}, {"ttl", "0"}}, msgTTL},
		{[]kv{{"backend", "dynamodb"}, {"region", "ap-southeast-1"}, {"ttl", "3601"}}, msgTTL},
		{[]kv{{"backend", "dynamodb"}, {"dynamodb_url", "http://localhost:8000"}, {"ttl", "0"}}, msgTTL},
		{[]kv{{"backend", "dynamodb"}, {"dynamodb_url", "http://localhost:8000"}, {"ttl", "3601"}}, msgTTL},
		{[]kv{{"backend", "dynamodb"}, {"region", "not-valid"}}, `The "region" value "not-valid" is not an AWS region name`},
		{[]kv{{"backend", "dynamodb"}, {"region", "ap-southeast-1"}, {"table_name", ""}}, msgDynamoTable},
		{[]kv{{"backend", "dynamodb"}, {"dynamodb_url", "http://localhost:8000"}, {"table_name", ""}}, msgDynamoTable},
		{[]kv{{"backend", "dynamodb"}, {"region", "us-east-1"}, {"table_name", "a b"}}, `The "table_name" value "a b" must be 3 to 255 characters`},
		{[]kv{{"backend", "dynamodb"}, {"region", "us-east-1"}, {"table_name", "ab"}}, `The "table_name" value "ab" must be 3 to 255 characters`},
		{[]kv{{"backend", "inmemory"}, {"ttl", "0"}}, msgTTL},
		{[]kv{{"backend", "inmemory"}, {"ttl", "3601"}}, msgTTL},
		{[]kv{{"backend", "inmemory"}, {"ttl", "-5"}}, msgTTL},
		{[]kv{{"ttl", "abc"}}, msgTTL},
		{[]kv{{"ttl", "1.5"}}, msgTTL},
		{[]kv{{"ttl", "60s"}}, msgTTL},
		{[]kv{{"ttl", ""}}, msgTTL},
		{[]kv{{"ttl", "99999999999999999999999"}}, msgTTL},
		{[]kv{{"backend", "memcached"}}, msgMemcachedHost},
		{[]kv{{"backend", "memcached"}, {"memcached_host", ""}}, msgMemcachedHost},
		{[]kv{{"backend", "memcached"}, {"ttl", "0"}, {"memcached_host", "localhost"}}, msgTTL},
		{[]kv{{"backend", "memcached"}, {"ttl", "3601"}, {"memcached_host", "localhost"}}, msgTTL},
		{[]kv{{"backend", "mongodb"}}, msgMongoURL},
		{[]kv{{"backend", "mongodb"}, {"database_name", "customized-database-name"}}, msgMongoURL},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb://localhost:27017"}, {"database_name", ""}}, msgDatabaseName},
		{[]kv{{"backend", "mongodb"}, {"database_name", "customized-database-name"}, {"mongodb_url", "http://localhost:27017"}, {"table_name", ""}}, msgTableName},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb://localhost:27017"}, {"ttl", "0"}}, msgTTL},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb://localhost:27017"}, {"ttl", "3601"}}, msgTTL},
		{[]kv{{"backend", "redis"}}, msgRedisURL},
		{[]kv{{"backend", "redis"}, {"ttl", "0"}, {"redis_url", "redis://localhost:6379"}}, msgTTL},
		{[]kv{{"backend", "redis"}, {"ttl", "3601"}, {"redis_url", "redis://localhost:6379"}}, msgTTL},
		{[]kv{{"backend", "valkey"}}, msgValkeyURL},
		{[]kv{{"backend", "valkey"}, {"valkey_url", "valkey://localhost:6379"}, {"ttl", "0"}}, msgTTL},
		{[]kv{{"backend", "pickle"}}, msgPicklePath},
		{[]kv{{"backend", "pickle"}, {"ttl", "0"}, {"pickle_path", "tests/cachette.pkl"}}, msgTTL},
		{[]kv{{"backend", "gob"}}, msgGobPath},
		{[]kv{{"backend", "gob"}, {"pickle_path", "/tmp/c"}, {"ttl", "3601"}}, msgTTL},

		// Names.
		{[]kv{{"backend", "memcache"}}, `The "backend" value "memcache" is unknown; use one of inmemory, gob, pickle, memcached, mongodb, redis, valkey, dynamodb`},
		{[]kv{{"backend", ""}}, `The "backend" value "" is unknown`},
		{[]kv{{"codec", "xml"}}, `The "codec" value "xml" is unknown; use one of vanilla, json, gob, pickle, msgpack, gojson, orjson, feather, parquet, csv`},
		{[]kv{{"compression", "zip"}}, `The "compression" value "zip" is unknown; use one of smart, all, disabled`},
		{[]kv{{"compression", ""}}, `The "compression" value "" is unknown`},
		{[]kv{{"compression_min_size", "-1"}}, `The "compression_min_size" value must be a whole number of bytes, 0 or more`},
		{[]kv{{"compression_min_size", "1k"}}, `The "compression_min_size" value must be a whole number of bytes, 0 or more`},
		{[]kv{{"max_value_size", "0"}}, msgMaxValueSize},
		{[]kv{{"max_value_size", "-1"}}, msgMaxValueSize},
		{[]kv{{"max_value_size", ""}}, msgMaxValueSize},
		{[]kv{{"max_value_size", "64MiB"}}, msgMaxValueSize},
		{[]kv{{"max_value_size", "536870913"}}, msgMaxValueSize},
		{[]kv{{"prefix", ""}}, `The "prefix" cannot be empty when given`},
		{[]kv{{"prefix", "a:b"}}, `The "prefix" value "a:b" cannot contain ":"`},
		{[]kv{{"redis_url", "redis://x"}, {"redis_ulr", "redis://x"}}, `The key "redis_ulr" is unknown`},
		{[]kv{{"ttl", "60"}, {"TTL", "60"}}, `The "ttl" key is given more than once`},

		// URLs, each scheme.
		{[]kv{{"backend", "redis"}, {"redis_url", "http://localhost:6379"}}, `The "redis_url" must be a URL starting with redis:// or rediss://`},
		{[]kv{{"backend", "redis"}, {"redis_url", "localhost:6379"}}, `The "redis_url" must be a URL starting with redis:// or rediss://`},
		{[]kv{{"backend", "redis"}, {"redis_url", "redis://"}}, `The "redis_url" has no host`},
		{[]kv{{"backend", "redis"}, {"redis_url", "redis://localhost:99999"}}, `The "redis_url" port must be between 1 and 65535`},
		{[]kv{{"backend", "redis"}, {"redis_url", "redis://localhost:port"}}, `The "redis_url" is not a valid URL`},
		{[]kv{{"backend", "redis"}, {"redis_url", "redis://localhost:6379/db"}}, `The "redis_url" database must be a number`},
		{[]kv{{"backend", "redis"}, {"redis_url", "redis://a:7001,http://b:7002"}}, `The "redis_url" must be a URL starting with redis:// or rediss://`},
		{[]kv{{"backend", "redis"}, {"redis_url", "redis://a:7001,"}}, `The "redis_url" has an empty entry`},
		{[]kv{{"backend", "valkey"}, {"valkey_url", "memcached://localhost"}}, `The "valkey_url" must be a URL starting with valkey://, valkeys://, redis:// or rediss://`},
		{[]kv{{"backend", "valkey"}, {"valkey_url", "valkey://:6379"}}, `The "valkey_url" has no host`},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "postgres://localhost"}}, `The "mongodb_url" must be a URL starting with mongodb:// or mongodb+srv://`},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb:///db"}}, `The "mongodb_url" has no host`},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb://a:27017,b:0"}}, `The "mongodb_url" has an invalid host or port`},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb+srv://a,b"}}, `The "mongodb_url" with mongodb+srv:// takes one host name without a port`},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb://host/%zz"}}, `The "mongodb_url" is not a valid URL`},
		{[]kv{{"backend", "dynamodb"}, {"dynamodb_url", "localhost:8000"}}, `The "dynamodb_url" must be a URL starting with http:// or https://`},
		{[]kv{{"backend", "dynamodb"}, {"dynamodb_url", "http://"}}, `The "dynamodb_url" has no host`},
		{[]kv{{"backend", "memcached"}, {"memcached_host", "memcached://localhost"}}, `The "memcached_host" takes host[:port] entries without a scheme`},
		{[]kv{{"backend", "memcached"}, {"memcached_host", "localhost:0"}}, `The "memcached_host" entry 1 is not host[:port]`},
		{[]kv{{"backend", "memcached"}, {"memcached_host", "localhost:65536"}}, `The "memcached_host" entry 1 is not host[:port]`},
		{[]kv{{"backend", "memcached"}, {"memcached_host", "a:11211,b:x"}}, `The "memcached_host" entry 2 is not host[:port]`},
		{[]kv{{"backend", "memcached"}, {"memcached_host", "bad host"}}, `The "memcached_host" entry 1 is not host[:port]`},
		{[]kv{{"backend", "memcached"}, {"memcached_host", "a,,b"}}, `The "memcached_host" has an empty entry`},
		{[]kv{{"backend", "memcached"}, {"memcached_host", "a,user:pw@b:1"}}, `The "memcached_host" entry 2 holds a user or password ("@"); memcached takes host[:port] only`},

		// Names the stores reject.
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb://h"}, {"database_name", "my.db"}}, `The "database_name" value "my.db" contains a character MongoDB rejects`},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb://h"}, {"database_name", "a/b"}}, `The "database_name" value "a/b" contains a character MongoDB rejects`},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb://h"}, {"database_name", strings.Repeat("d", 64)}}, `The "database_name" value must be at most 63 bytes long`},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb://h"}, {"table_name", "a$b"}}, `The "table_name" value "a$b" contains a character MongoDB rejects`},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb://h"}, {"table_name", "system.users"}}, `The "table_name" value "system.users" cannot start with "system."`},
		{[]kv{{"backend", "mongodb"}, {"mongodb_url", "mongodb://h"}, {"table_name", strings.Repeat("c", 250)}}, `The "table_name" value is too long`},
	}
	for _, tc := range cases {
		cfg, err := LoadConfig(tc.pairs)
		if err == nil {
			t.Errorf("LoadConfig(%q) = %+v, want an error containing %q", tc.pairs, cfg, tc.want)
			continue
		}
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("LoadConfig(%q) error %v does not wrap ErrInvalidConfig", tc.pairs, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadConfig(%q) error\n  %v\nwant it to contain\n  %s", tc.pairs, err, tc.want)
		}
	}
}

func TestLoadConfigValues(t *testing.T) {
	cfg, err := LoadConfig([]kv{
		{"Backend", "PICKLE"}, {"codec", "MsgPack"}, {"ttl", "90"}, {"prefix", "app"},
		{"pickle_path", " /var/cache/app "}, {"compression", "ALL"}, {"compression_min_size", "0"},
		{"max_value_size", "536870912"},
		{"redis_url", "redis://unused:6379"},
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Backend", cfg.Backend, "pickle"},
		{"Codec", cfg.Codec, "msgpack"},
		{"TTL", cfg.TTL, 90 * time.Second},
		{"Prefix", cfg.Prefix, "app"},
		{"PicklePath", cfg.PicklePath, "/var/cache/app"},
		{"Compression", cfg.Compression, "all"},
		{"CompressionMinSize (given 0)", cfg.CompressionMinSize, 0},
		{"MaxValueSize", cfg.MaxValueSize, 512 << 20},
		{"RedisURL", cfg.RedisURL, "redis://unused:6379"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	loaded, err := LoadConfig([][2]string{{"backend", "mongodb"}, {"mongodb_url", "mongodb://localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]Config{
		"LoadConfig":   loaded,
		"withDefaults": Config{Backend: "mongodb", MongoDBURL: "mongodb://localhost"}.withDefaults(),
	} {
		checks := []struct {
			field     string
			got, want any
		}{
			{"Backend", cfg.Backend, "mongodb"},
			{"Codec", cfg.Codec, DefaultCodec},
			{"TTL", cfg.TTL, DefaultTTL},
			{"Prefix", cfg.Prefix, DefaultPrefix},
			{"DatabaseName", cfg.DatabaseName, DefaultDatabaseName},
			{"TableName", cfg.TableName, DefaultTableName},
			{"Compression", cfg.Compression, DefaultCompression},
			{"CompressionMinSize", cfg.CompressionMinSize, DefaultCompressionMinSize},
			{"MaxValueSize", cfg.MaxValueSize, DefaultMaxValueSize},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: %s = %v, want %v", name, c.field, c.got, c.want)
			}
		}
	}
	if loaded.Logger != nil {
		t.Error("LoadConfig set a Logger; it should leave it nil so New reads slog.Default() late")
	}
	if (Config{}).withDefaults().Logger == nil {
		t.Error("withDefaults left Logger nil")
	}
	if got := (Config{}).withDefaults().Backend; got != DefaultBackend {
		t.Errorf("zero Config backend = %q, want %q", got, DefaultBackend)
	}

	// An empty table_name given with a backend that does not use it stays empty.
	cfg, err := LoadConfig([][2]string{{"backend", "inmemory"}, {"table_name", ""}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TableName != "" {
		t.Errorf("TableName = %q, want the empty value that was given", cfg.TableName)
	}
}

func TestValidateStruct(t *testing.T) {
	valid := []Config{
		{},
		{TTL: MinTTL}, {TTL: MaxTTL}, {TTL: 1500 * time.Millisecond},
		{Backend: "MongoDB", MongoDBURL: "mongodb://h", TableName: ""}, // zero TableName means the default
		{Backend: "Redis", RedisURL: "REDIS://h:6379"},
		{Codec: "Pickle", Compression: "Disabled"},
		{MaxValueSize: 1}, {MaxValueSize: 512 << 20},
		{Backend: "dynamodb", Region: "eu-west-1"},
		{Backend: "dynamodb", DynamoDBURL: "http://localhost:8000", Region: "local"},
	}
	for _, c := range valid {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v, want nil", c, err)
		}
	}
	invalid := []struct {
		cfg  Config
		want string
	}{
		{Config{TTL: -time.Second}, msgTTL},
		{Config{TTL: 500 * time.Millisecond}, msgTTL},
		{Config{TTL: MaxTTL + time.Millisecond}, msgTTL},
		{Config{CompressionMinSize: -1}, `The "compression_min_size" value must be a whole number of bytes, 0 or more`},
		{Config{MaxValueSize: -1}, msgMaxValueSize},
		{Config{MaxValueSize: 512<<20 + 1}, msgMaxValueSize},
		{Config{Backend: "nosql"}, `The "backend" value "nosql" is unknown`},
		{Config{Backend: "redis"}, msgRedisURL},
	}
	for _, tc := range invalid {
		err := tc.cfg.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v.Validate() = %v, want an ErrInvalidConfig containing %q", tc.cfg, err, tc.want)
		}
	}
}

func TestConfigErrorListsEveryProblem(t *testing.T) {
	_, err := LoadConfig([]kv{
		{"backend", "mongodb"}, {"ttl", "0"}, {"codec", "yaml"}, {"database_name", ""},
		{"table_name", ""}, {"compression", "max"}, {"colour", "blue"},
	})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{
		`The key "colour" is unknown`,
		msgTTL,
		`The "codec" value "yaml" is unknown`,
		msgMongoURL,
		msgDatabaseName,
		msgTableName,
		`The "compression" value "max" is unknown`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if n := strings.Count(err.Error(), msgTTL); n != 1 {
		t.Errorf("the ttl problem appears %d times, want once: %v", n, err)
	}

	// An unknown backend is reported alone, not with the keys of no backend.
	_, err = LoadConfig([]kv{{"backend", "redis-cluster"}})
	if err == nil || strings.Contains(err.Error(), "cannot be empty") {
		t.Errorf("err = %v, want only the unknown backend", err)
	}
}

func TestConfigErrorsHidePasswords(t *testing.T) {
	const secret = "hunter2-s3cr3t"
	cases := [][]kv{
		{{"backend", "redis"}, {"redis_url", "http://user:" + secret + "@localhost:6379"}},
		{{"backend", "redis"}, {"redis_url", "redis://user:" + secret + "@localhost:99999"}},
		{{"backend", "redis"}, {"redis_url", "redis://user:" + secret + "@host:6379/x"}},
		{{"backend", "redis"}, {"redis_url", "redis://user:" + secret + "@host:port"}},
		{{"backend", "redis"}, {"redis_url", "user:" + secret + "@localhost:6379"}},
		{{"backend", "valkey"}, {"valkey_url", "valkey://user:" + secret + "@:6379"}},
		{{"backend", "mongodb"}, {"mongodb_url", "mongodb://user:" + secret + "@host:0"}},
		{{"backend", "mongodb"}, {"mongodb_url", "mongodb://user:" + secret + "/x@host"}},
		{{"backend", "mongodb"}, {"mongodb_url", "mongodb://user:" + secret + "@host/%zz"}},
		{{"backend", "mongodb"}, {"mongodb_url", "http://user:" + secret + "@host"}},
		{{"backend", "dynamodb"}, {"dynamodb_url", "ftp://user:" + secret + "@host"}},
		{{"backend", "dynamodb"}, {"dynamodb_url", "user:" + secret + "@host:8000"}},
		{{"backend", "memcached"}, {"memcached_host", "user:" + secret + "@host:1"}},
		{{"backend", "memcached"}, {"memcached_host", "host:1,user:" + secret + "@host"}},
		{{"backend", "memcached"}, {"memcached_host", secret + "@host:1"}},
		{{"backend", "memcached"}, {"memcached_host", "host:" + secret}},
	}
	for _, pairs := range cases {
		_, err := LoadConfig(pairs)
		if err == nil {
			t.Errorf("LoadConfig(%q) succeeded, want an error", pairs)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("CACHETTE_BACKEND", "Redis")
	t.Setenv("CACHETTE_REDIS_URL", "redis://localhost:6379/1")
	t.Setenv("CACHETTE_TTL", "120")
	t.Setenv("CACHETTE_CODEC", "json")
	t.Setenv("CACHETTE_MAX_VALUE_SIZE", "1048576")
	cfg, err := ConfigFromEnv("CACHETTE_")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Backend != "redis" || cfg.RedisURL != "redis://localhost:6379/1" || cfg.TTL != 120*time.Second || cfg.Codec != "json" {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}
	if cfg.Prefix != DefaultPrefix {
		t.Errorf("Prefix = %q, want the default %q", cfg.Prefix, DefaultPrefix)
	}
	if cfg.MaxValueSize != 1<<20 {
		t.Errorf("MaxValueSize = %d, want CACHETTE_MAX_VALUE_SIZE's 1048576", cfg.MaxValueSize)
	}

	// Another prefix reads other variables.
	t.Setenv("MYAPP_CACHE_BACKEND", "memcached")
	t.Setenv("MYAPP_CACHE_MEMCACHED_HOST", "localhost:11211")
	cfg, err = ConfigFromEnv("MYAPP_CACHE_")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Backend != "memcached" || cfg.MemcachedHost != "localhost:11211" || cfg.TTL != DefaultTTL {
		t.Errorf("ConfigFromEnv(MYAPP_CACHE_) = %+v", cfg)
	}
}

func TestConfigFromEnvTypo(t *testing.T) {
	t.Setenv("CACHETTE_BACKEND", "redis")
	t.Setenv("CACHETTE_REDIS_ULR", "redis://localhost:6379")
	_, err := ConfigFromEnv("CACHETTE_")
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{`"CACHETTE_REDIS_ULR"`, msgRedisURL} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestConfigFromEnvEmptyCountsAsGiven(t *testing.T) {
	t.Setenv("CACHETTE_BACKEND", "mongodb")
	t.Setenv("CACHETTE_MONGODB_URL", "mongodb://localhost:27017")
	t.Setenv("CACHETTE_TABLE_NAME", "")
	_, err := ConfigFromEnv("CACHETTE_")
	if err == nil || !strings.Contains(err.Error(), msgTableName) {
		t.Errorf("err = %v, want %q", err, msgTableName)
	}

	t.Setenv("CACHETTE_TABLE_NAME", "sessions")
	cfg, err := ConfigFromEnv("CACHETTE_")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TableName != "sessions" || cfg.DatabaseName != DefaultDatabaseName {
		t.Errorf("TableName, DatabaseName = %q, %q", cfg.TableName, cfg.DatabaseName)
	}

	t.Setenv("CACHETTE_TTL", "")
	if _, err := ConfigFromEnv("CACHETTE_"); err == nil || !strings.Contains(err.Error(), msgTTL) {
		t.Errorf("empty CACHETTE_TTL: err = %v, want %q", err, msgTTL)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	_, err := New(t.Context(), Config{Backend: "redis", TTL: time.Hour + time.Second})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("New = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{msgTTL, msgRedisURL} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestConfigFromEnvIgnoresTestVariables(t *testing.T) {
	t.Setenv("CACHETTE_TEST_REDIS_URL", "redis://127.0.0.1:16379/0")
	t.Setenv("CACHETTE_BACKEND", "inmemory")
	if _, err := ConfigFromEnv("CACHETTE_"); err != nil {
		t.Fatalf("ConfigFromEnv with a CACHETTE_TEST_ variable = %v", err)
	}
}

// A Cachette configuration naming its orjson codec is valid and keeps the
// name; New resolves it to gojson (see codecs/gojson).
func TestConfigFromEnvOrjson(t *testing.T) {
	t.Setenv("CACHETTE_CODEC", "orjson")
	cfg, err := ConfigFromEnv("CACHETTE_")
	if err != nil {
		t.Fatalf("ConfigFromEnv with codec orjson: %v", err)
	}
	if cfg.Codec != "orjson" || codecs.Canonical(cfg.Codec) != "gojson" {
		t.Errorf("Codec = %q (canonical %q), want orjson (gojson)", cfg.Codec, codecs.Canonical(cfg.Codec))
	}
	// The codec is known but not linked in this test binary: New names the import.
	_, err = New(context.Background(), cfg)
	if !errors.Is(err, codecs.ErrUnknownCodec) || !strings.Contains(err.Error(), "codecs/gojson") {
		t.Errorf("New(orjson) without the import = %v, want an error naming codecs/gojson", err)
	}
}
