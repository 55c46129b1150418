// Package cachette is a cache client with one API over many stores.
//
// A Cache is configured once (Config, LoadConfig or ConfigFromEnv) and then
// offers Put, Fetch, Clear and Flush over the chosen backend, encoding values
// with the chosen codec. Every stored entry carries a small header (format
// version, codec, compression flag, expiry in milliseconds), so a reader
// never guesses: an entry written by another codec, or bytes that do not
// decode, are a miss, are removed and are logged, never a panic. Decoding
// is bounded by Config.MaxValueSize: whatever its bytes, a stored entry
// never makes a reader allocate more than a small multiple of the largest
// value the cache itself stores. Expiry is exact to the millisecond on
// every backend. Concurrent GetOrLoad calls for one key run the loader
// once; a caller that leaves or a loader that panics never breaks the
// others. Config.Observer, if set, is told of lookups, loads and store
// calls, for metrics and traces; the otelcache module (a Go module of its
// own) implements it with OpenTelemetry.
//
// Backends other than inmemory and gob are linked by importing their package,
// like database/sql drivers:
//
//	import _ "github.com/cachette-go/cachette/backends/redis"
package cachette
