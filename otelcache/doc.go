// Package otelcache records OpenTelemetry metrics and spans of a cachette
// cache and of its httpcache middleware.
//
// It is a Go module of its own (github.com/cachette-go/cachette/otelcache):
// cachette itself does not depend on OpenTelemetry, and a program that
// does not import this package links none of it. An Observer implements
// cachette.Observer:
//
//	obs, err := otelcache.New() // the global providers, or WithMeterProvider, WithTracerProvider
//	cache, err := cachette.New(ctx, cachette.Config{Backend: "redis", RedisURL: url, Observer: obs})
//	mw := httpcache.Middleware(cache, httpcache.Options{TTL: time.Minute, OnServe: obs.ServedHTTP})
//
// To export the metrics to Prometheus, give New a meter provider with the
// OpenTelemetry Prometheus exporter as its reader (see the example).
//
// # Metrics
//
// Store calls follow the semantic conventions for database clients;
// there are none for caches, so the rest are named under "cachette.".
//
//	instrument                     kind       unit        attributes
//	db.client.operation.duration   histogram  s           db.system.name, db.operation.name, error.type (failed calls)
//	cachette.lookups               counter    {lookup}    cachette.lookup.result: hit, miss, error, local_hit, stale
//	cachette.load.duration         histogram  s           error.type (failed loads)
//	cachette.http.responses        counter    {response}  cachette.http.cache_status: HIT, MISS, BYPASS, NO_CACHE, STALE, ...
//	cachette.invalidation.delay    histogram  s           none
//
// Every measurement also carries the attributes given WithAttributes.
//
//   - db.client.operation.duration times each call of the store: operation
//     latency per backend (db.system.name: redis, valkey, memcached,
//     mongodb, aws.dynamodb, inmemory, gob) and operation
//     (db.operation.name: get, set, delete, clear_namespace, flush,
//     flush_expired, lock, unlock, get_many, set_many, usage). Store
//     errors are the calls with an error.type; a Get that finds nothing, a
//     Delete of nothing and a Lock someone else holds are answers, not
//     errors. Buckets: the conventions' advice, 1 ms to 10 s. A batch
//     (FetchMany, PutMany, GetOrLoadMany) on a store with its own batches
//     (backends.Batcher: all shipped stores) is one get_many or set_many;
//     on a store without them, one get or set per key, as the cache runs
//     it.
//   - cachette.lookups counts reads by key: every Fetch and FetchWithTTL,
//     and the first read of each GetOrLoad. FetchBytes, httpcache's raw
//     read (several per request), is not counted: httpcache's answers are
//     in cachette.http.responses. local_hit is a value served by the
//     local tier (Config.LocalEntries) without a store call; stale an
//     expired value GetOrLoad served (WithStaleWhileRevalidate,
//     WithStaleIfError). The hit ratio is (hit + local_hit) / (hit +
//     local_hit + miss), stale values apart. The counts per result are those of
//     Cache.Stats (Hits, LocalHits, Misses, StaleServed).
//   - cachette.load.duration times the loads GetOrLoad runs (one per
//     key however many callers share it): its count is the number of
//     loads, and those with an error.type are the load errors.
//   - cachette.http.responses counts the middleware's answers by the
//     X-Cache-Status they carried, when Options.OnServe is ServedHTTP.
//   - cachette.invalidation.delay is the delay of the invalidation path
//     for this process's own writes: with a local tier on redis or valkey
//     (which report invalidations), the time from this cache sending a
//     write of a key (Put, PutBytes, PutMany, a negative marker, a Clear
//     that removed an entry) to the server's invalidation of that key
//     arriving back on its tracking connection, once per write. Other
//     processes learn of the same write through the same push from the
//     same server; their delays are not measured (the server's messages
//     carry no write time). Nothing is recorded without a local tier or on
//     other stores. See cachette.Observer.Invalidated.
//
// error.type is timeout, canceled, panic (a load that panicked), closed,
// too_large, invalid_key or not_supported, else the Go type of the error
// (the conventions' default).
//
// # Spans
//
// Each store call is a client span named after its db.operation.name
// ("get", "set", ...) with db.system.name and db.operation.name, and on
// failure error.type and an error status; a batch's span carries
// db.operation.batch.size. Each GetOrLoad load is an
// internal span "cachette.load": the load runs under it, so the spans of
// what it calls (a database query) are its children, and the store calls
// of the cache are children of the caller's span. Keys are not recorded.
//
// # Logs
//
// Logs are not this package's business: the cache, httpcache and the
// stores' drivers (go-redis, valkey-go, the MongoDB driver, the AWS SDK)
// log through Config.Logger (log/slog); route that handler to
// OpenTelemetry with a slog bridge if wanted.
package otelcache
