// Package cachette is a cache client with one API over many stores.
//
// A Cache is configured once (Config, LoadConfig or ConfigFromEnv) and then
// offers Put, Fetch, Clear and Flush over the chosen backend, encoding values
// with the chosen codec. Every stored entry carries a small header, so a
// reader never guesses: an entry written by another codec, or bytes that do
// not decode, are a miss, are removed and are logged, never a panic.
// Decoding is bounded, expiry is exact to the millisecond on every backend,
// and concurrent GetOrLoad calls for one key run the loader once.
//
// Backends other than inmemory and gob are linked by importing their
// package, like database/sql drivers:
//
//	import _ "github.com/cachette-go/cachette/backends/redis"
//
//	cache, err := cachette.New(ctx, cachette.Config{Backend: "redis", RedisURL: "redis://localhost:6379/0"})
//
// Naming a backend or codec that is not linked is an error that says which
// import is missing. Each store's package (backends/inmemory, backends/gob,
// backends/memcached, backends/mongodb, backends/redis, backends/valkey,
// backends/dynamodb) documents its keys, its limits and how to build it
// around a client the program already owns; the httpcache package caches
// HTTP responses in a Cache.
//
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
//	memcached_host        MemcachedHost                      host[:port][,host[:port]...], port 11211 by default; memcacheds://host[:port][,...] for TLS
//	mongodb_url           MongoDBURL                         mongodb://[user:pass@]host[:port][,host[:port]...] or mongodb+srv://host
//	database_name         DatabaseName        cachette-db    MongoDB database
//	table_name            TableName           cachette       MongoDB collection or DynamoDB table
//	pickle_path           PicklePath                         directory of the gob file store
//	dynamodb_url          DynamoDBURL                        http:// or https:// endpoint (local DynamoDB); else the AWS default
//	region                Region                             AWS region of DynamoDB
//	tls_ca_file           (BackendValues)                    PEM file of CA certificates trusted besides the system's, for rediss://, valkeys:// or memcacheds://
//	compression           Compression         smart          smart, all, disabled
//	compression_min_size  CompressionMinSize  1024           bytes, 0 or more; smart compresses payloads at least this big
//	max_value_size        MaxValueSize        67108864       bytes, 1 to 536870912; the largest value stored or decoded
//	local_entries         LocalEntries        0              decoded values kept in process (the local tier); 0: none
//	local_ttl             LocalTTL            10s            "30s", "250ms" or whole seconds, 1ms to 1h; the local tier's bound
//	signing_key           SigningKey                         secret of at least 32 bytes (or several, comma-separated); "" = entries are not signed
//
// Which keys are required depends on the backend: memcached needs
// memcached_host; mongodb needs mongodb_url (database_name and table_name
// have defaults); redis needs redis_url; valkey needs valkey_url; gob (and
// pickle) needs pickle_path; dynamodb needs a region or a dynamodb_url. Keys
// that belong to another backend are not checked and not used.
//
// The keys after prefix in the table belong to the stores: each store
// declares the keys it reads, and checks them, in the backends.Driver it
// registers (the way a database/sql driver owns its data source name);
// cachette itself checks only the other keys. The shipped stores' keys are
// known and checked even when their package is not imported, so a
// configuration is accepted or refused the same way whether its store is
// linked or not (New then names the missing import). A store that another
// package registers with backends.RegisterDriver, before LoadConfig or
// ConfigFromEnv runs, gets its keys accepted, checked when it is the
// backend, and delivered in backends.Settings.Values, defaults included; in
// a Config they are held by BackendValues.
//
// A key that is given counts as given even when its value is empty:
// table_name="" with backend=mongodb is an error rather than the default,
// and so are an empty ttl, backend, compression, prefix or signing_key
// (an empty signing_key, a secret that did not load, would otherwise turn
// signing off). An empty codec means vanilla. An unknown key is an error, so a typo never falls back to
// the in-memory default silently.
//
// ConfigFromEnv reads the same keys from variables named prefix + upper-case
// key (CACHETTE_BACKEND, CACHETTE_REDIS_URL, CACHETTE_TTL, ...). A variable
// that is set counts as given, even if empty, and any other variable that
// starts with the prefix is an error (CACHETTE_REDIS_ULR names no key),
// except prefix + "TEST_" variables, which the test suites read.
//
// max_value_size bounds what one entry may cost; see Bounded decoding.
// Config.Timeout (the bound of each network call; each store has its own
// default), Config.Logger, Config.Observer and Config.BackendValues are
// set in Go only.
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
//
// # The cache
//
// Put stores a value for Config.TTL (60 s by default) or for the duration
// of WithTTL, which takes any positive duration. Fetch decodes into a
// non-nil pointer and returns ErrNotFound on a miss or an expired entry;
// FetchWithTTL also returns the time left. Clear removes one key and says
// whether a live entry was there. ClearNamespace removes the keys
// "namespace:*" and returns their number (memcached cannot list keys: it
// returns an error wrapping ErrNotSupported). Flush removes every key of
// this cache's prefix and nothing else: never FLUSHALL, flush_all or KEYS
// on a shared server. FlushExpired removes expired entries where the store
// keeps them (redis, valkey and memcached drop them on their own). PutBytes and FetchBytes
// store and read bytes without the codec. Close may be called more than
// once; every other call after it returns ErrClosed. Every method is safe
// for concurrent use.
//
// Keys on a shared server are "prefix:key". Every entry carries a 12-byte
// header: format version, codec, compression flag and the expiry in Unix
// milliseconds. An entry is alive while now < expiry, to the millisecond,
// whatever the store's own TTL granularity (memcached's seconds, MongoDB's
// 60 s TTL monitor, DynamoDB's lazy TTL). Lock and Unlock give the store's
// distributed lock (httpcache uses it to fill a key once across
// processes); locks live beside the entries as "prefix:!lock:name", and a
// user key that starts with "!" is stored with one more "!" in front, so
// no key can reach a lock.
//
// New opens the store named by Config.Backend; NewWithBackend takes a store
// built by the program, such as one made by a store's NewFromClient around
// a client it already owns, or an inmemory store with its own budget.
//
// Config.Logger (log/slog, slog.Default() when nil) receives corrupt
// entries, store warnings and the drivers' own log lines. Config.Observer,
// if set, is told of lookups, loads and store calls, for metrics and
// traces; the otelcache module (a Go module of its own) implements it with
// OpenTelemetry. With no Observer, a cache makes no call and no allocation
// for it.
//
// # Typed access and batches
//
// For[T] gives a typed view of a cache: Fetch returns a T, and a codec that
// cannot hold T (vanilla with anything but string or []byte) is an error
// wrapping codecs.ErrType before any store call. Its batch calls,
// FetchMany, PutMany and GetOrLoadMany, read or write many keys in one
// round trip where the store allows it (MGET or pipelines, memcached's
// GetMulti, DynamoDB's BatchGetItem and BatchWriteItem, MongoDB's $in and
// bulk writes; the gob store in parallel); GetOrLoadMany loads only the
// missing keys, once, coalesced with concurrent GetOrLoad calls.
//
// # GetOrLoad
//
// GetOrLoad returns the value cached under a key, or calls load, stores
// what it returns and returns it:
//
//	user, err := cachette.GetOrLoad(ctx, cache, "user:1", func(ctx context.Context) (User, error) {
//		return db.LoadUser(ctx, 1) // runs once however many goroutines ask at once
//	})
//
// load runs once per key and type T however many goroutines ask, in its
// own goroutine, on a context that keeps the first caller's values but not
// its cancellation: a caller whose context ends gets ctx.Err() at once
// while the load goes on for the others, and the load's context is
// cancelled only when every caller has left. Errors from load are returned
// and not cached. A panicking load gives every caller an error wrapping
// ErrLoadPanicked (a *LoadPanicError with the panic value and stack; also
// logged). A codec that cannot hold T is an error wrapping codecs.ErrType,
// before the store is read or load runs.
//
// GetOrLoad can serve an expired value while one reload (one per key
// across processes, through the store's lock) refreshes it
// (WithStaleWhileRevalidate), or when its load fails (WithStaleIfError),
// and can remember that a key does not exist (WithNegativeTTL); Fetch
// never returns an expired value. WithEarlyRefresh reloads a hot value in
// the background shortly before it expires (probabilistic early
// expiration, "XFetch", from the duration of its last load), so that its
// expiry causes no stampede. Entries stored WithTags are dropped
// together by InvalidateTags, on every store: each tag has a version
// entry, which tagged entries record and reads check, so no key listing is
// needed (one extra read per tag on a tagged read). Stats counts hits,
// misses, loads and errors with striped counters.
//
// # Codecs and compression
//
//	codec              package          takes
//	vanilla (default)  codecs           []byte as is, anything else as fmt.Sprint(v); decodes into *string, *[]byte, *any
//	json               codecs           any JSON-encodable value
//	gob (pickle)       codecs           any gob-encodable value (register interface types with gob.Register)
//	msgpack            codecs/msgpack   any value (github.com/vmihailenco/msgpack/v5)
//	gojson (orjson)    codecs/gojson    what json takes, the same JSON text, through github.com/goccy/go-json
//	feather            codecs/arrow     an Arrow record or table (github.com/apache/arrow-go/v18), as an Arrow IPC file
//	parquet            codecs/arrow     the same, as Apache Parquet
//	csv                codecs/arrow     the same, as CSV text after a line holding the Arrow schema
//
// The vanilla, json and gob codecs are always linked; msgpack, gojson,
// feather, parquet and csv are linked by importing their package. So the default codec
// holds strings and bytes only: GetOrLoad of a struct, or Fetch into a
// *User, with vanilla is an error wrapping codecs.ErrType; pick json, gob
// or msgpack for typed values. An entry written with another codec than
// the cache's is a miss (removed and logged), so change codecs with a new
// prefix.
//
// Compression (zstd, github.com/klauspost/compress) wraps every codec:
// smart (the default) compresses payloads of at least CompressionMinSize
// bytes (1024 by default) and keeps the compressed form only when it is
// smaller, all always compresses, disabled never does. The call option
// Uncompressed stores one value as it is, whatever Config.Compression says.
//
// # Bounded decoding
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
// A zstd frame must declare its content size (codecs.Compress always does
// so), and the declared size is checked before anything is decompressed.
// The msgpack, gob and Arrow decoders check the structure of the bytes
// before they allocate for it, so a stored value never costs a reader more
// than a small multiple of max_value_size (the Arrow codecs get a budget of
// 8 × max_value_size). The decoders of stored bytes have fuzz targets
// (scripts/fuzz-targets.txt in the repository).
//
// # Signed entries
//
// A store that others can write to (a Redis or memcached shared with other
// programs, or reachable by more people than the program's operators) is a
// way in: whoever can write to it can store bytes under a cache's key, and
// a cache without a signing key decodes them and serves them as its own
// value (httpcache replays them to every client as a response).
//
// Config.SigningKey (key signing_key, CACHETTE_SIGNING_KEY) closes that
// way. With a key, every entry Put, PutBytes or GetOrLoad stores ends with
// an HMAC-SHA-256 tag over its header (codec, flags, expiry), its payload
// as stored, its cache key and the store's prefix. Fetch, FetchWithTTL,
// FetchBytes, GetOrLoad and so httpcache check the tag first, before
// decompression and before the codec, and take an entry whose tag is
// missing or wrong (written without the key or with another key, moved to
// another key or prefix, altered, truncated) for a miss: it is logged at
// warning level with "not authenticated" and removed, and GetOrLoad loads
// the value again. Negative markers (WithNegativeTTL) and the version
// entries of tags (WithTags) are signed and checked the same way, so that
// nobody without the key can forge a tag version; a genuine version saved
// before an InvalidateTags and written back after it is a replay, which
// signing cannot stop (see below). A tag adds 32 bytes to an entry and no allocation;
// checking it is one HMAC-SHA-256 over the entry, a microsecond or two
// per KiB, lost in the round trip of a network store
// (bench/results/signing.md).
//
// A key must be at least MinSigningKeyLen (32) bytes, for example the 44
// characters of `openssl rand -base64 32`, and every process that shares
// the cache's entries needs it. It is never logged, and configuration
// errors name the key "signing_key", never its value. To rotate it, give
// several keys separated by commas: the first signs, every one is accepted.
// Deploy "new,old" everywhere, then "new" once the entries signed with the
// old key have expired (a key cannot contain a comma). Caches with
// different keys on one prefix refuse, and remove, each other's entries.
//
// The tag authenticates; it does not encrypt (whoever can read the store
// reads the values), and it cannot stop someone who saved a genuine entry
// from putting it back under the same key until its own expiry, nor from
// deleting entries. A cache without a key reads signed entries without
// checking them, like every entry it reads.
//
// # Errors
//
// Errors wrap sentinels, for errors.Is:
//
//	ErrNotFound        a miss, an expired entry, or an entry that did not decode
//	ErrInvalidConfig   every configuration error (LoadConfig, ConfigFromEnv, Validate, New)
//	ErrTooLarge        a value over max_value_size, or over the store's own limit
//	ErrNotSupported    an operation the store cannot do (ClearNamespace on memcached)
//	ErrClosed          any call after Close
//	ErrLoadPanicked    a GetOrLoad whose load panicked (errors.As gives a *LoadPanicError)
//	codecs.ErrType     a value or destination the codec cannot hold
//
// Errors from a store are returned wrapped, with the backend's name.
// Passwords in URLs never appear in errors or logs: an error names the
// key or the server's host and says what is wrong.
package cachette
