// Command cachette reads and changes the entries of a cachette cache, for
// the person on call.
//
//	cd cmd/cachette && go install .
//
// from a clone of the repository (its go.mod replaces the library by the
// checkout beside it, which `go install module@version` does not allow).
//
// Usage:
//
//	cachette [flags] COMMAND [flags] ARGS
//
//	get KEY [--raw]            print the value, decoded with the configured codec (--raw: the payload bytes as stored, decompressed)
//	put KEY VALUE [--ttl D]    store VALUE ("-" reads it from standard input) for D ("90s", "5m" or whole seconds; default the ttl key)
//	del KEY                    remove the entry
//	ttl KEY                    print the time the entry has left
//	inspect KEY                print the entry's header: format version, codec, compression, expiry, sizes, tags, signature
//	flush [--namespace NS] [--yes]
//	                           remove every entry of the prefix (locks too), or of one namespace (the keys "NS:...")
//	stats [--namespace NS]     entries and bytes under the prefix, where the store can enumerate its keys
//
// # Configuration
//
// The cache is configured like cachette.ConfigFromEnv("CACHETTE_") configures
// it: CACHETTE_BACKEND, CACHETTE_REDIS_URL, CACHETTE_PREFIX, CACHETTE_CODEC,
// and so on (see the cachette package documentation for every key). Each key
// also has a flag, which wins over the variable: --backend, --codec,
// --prefix, --redis-url, --valkey-url, --memcached-host, --mongodb-url,
// --database-name, --table-name, --pickle-path, --dynamodb-url, --region,
// --compression, --compression-min-size, --max-value-size. --env-prefix
// changes the variables' prefix and --timeout bounds each store call.
// Flags may come before or after the command; "--" ends them, so that a
// VALUE may start with "-". The inmemory backend lives inside one process,
// so the command refuses it.
//
// Errors go to standard error and name the key or flag at fault; URLs, and
// so passwords, are never printed.
//
// # Values
//
// get decodes with the configured codec and prints: vanilla values as they
// are, json as stored, msgpack as JSON, gob values of basic types (string,
// numbers, bool, []byte, slices and maps of them: a struct needs its Go
// type, use --raw), feather and parquet records as JSON lines. An entry
// written with another codec is not decoded: the error names its codec.
// Unlike Cache.Fetch, get, ttl and inspect never remove an entry, even one
// that does not decode. Like Fetch, get and ttl find no value (exit 1) in
// a negative entry (GetOrLoad with WithNegativeTTL recorded that the key
// does not exist) or in an entry of a tag invalidated since it was stored
// (the store keeps it until it expires); the message says which, and
// inspect shows both.
//
// put encodes VALUE with the configured codec: as a string for vanilla and
// gob, as the JSON text it must be for json, and for msgpack as the value
// that JSON text stands for. feather and parquet values are Arrow records,
// which the command does not build.
//
// # Flush
//
// flush asks for confirmation on a terminal, and refuses to run without
// --yes when standard input is not one. Where the store can enumerate its
// keys (redis, valkey, gob), the question says how many entries and bytes
// will go. The store removes them in one call that reports no progress, so
// while it runs a spinner with the elapsed time is shown on standard error
// when that is a terminal, rather than a bar that would pretend to know
// how far the store got; the count removed is printed at the end
// (ClearNamespace's count, or the count taken before a whole flush).
//
// # Stats
//
// stats prints the backend, prefix and codec, then the entries and bytes
// under the prefix (or a namespace) where the store can enumerate its keys
// (backends.UsageReporter: redis, valkey, gob), and says "not supported"
// elsewhere (memcached cannot enumerate; mongodb and dynamodb do not report
// usage yet). Hit and miss counters are per process, so this short-lived
// process has none to show.
//
// # Exit status
//
//	0  success
//	1  the key is not found (get, ttl, inspect)
//	2  usage or configuration error, or flush refused without --yes
//	3  the operation failed: the store, an entry that does not decode, an operation the store does not support, a flush declined at the prompt
package main
