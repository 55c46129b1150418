// Package redis is the cachette store for Redis, through
// github.com/redis/go-redis/v9: one server, a Redis Cluster, or a master
// found through Sentinel, chosen by the URL.
//
// Status: the conformance suite runs against a Redis 7 server, a Redis
// Cluster of three primaries with a replica each, and a primary with one
// replica behind three sentinels (the redis-sentinel group of
// scripts/services.sh); internal/chaos kills a cluster primary and fails
// the Sentinel deployment over under load (see below).
//
// Importing the package registers the backend "redis":
//
//	import _ "github.com/cachette-go/cachette/backends/redis"
//
//	cache, err := cachette.New(ctx, cachette.Config{
//		Backend:  "redis",
//		RedisURL: "redis://user:secret@127.0.0.1:6379/0",
//		Prefix:   "myapp",
//	})
//
// # The redis_url setting
//
//	redis://[user:pass@]host[:port][/db][?option=value&...]
//	rediss://...                      TLS
//	redis://h1:7001,redis://h2:7002   several nodes: a Redis Cluster
//	redis://h1:7001,h2:7002           the same; later nodes may omit the scheme
//	redis://h1:7001                   one node of a cluster: detected, cluster client used
//	redis://s1:26379,redis://s2:26379/0?master_name=mymaster
//	                                  Sentinel: the nodes are sentinels, the master is looked up
//
// The port defaults to 6379 and the database to 0; a cluster only has
// database 0. Credentials, the database and the options may be written on
// any node (in "redis://a:1,b:2/0?dial_timeout=3s" they sit on the last) and
// apply to all; nodes that repeat them must agree. The options are
// go-redis's URL options (dial_timeout, read_timeout, pool_size,
// max_retries, ...); an unknown option is an error. With master_name, user and password in the URL are those
// of the master and its replicas; sentinel_username and sentinel_password
// give the sentinels' own credentials when they have any. master_set is
// accepted as another name for master_name.
//
// With rediss:// the server's certificate is verified against the system's
// roots plus, when set, the PEM file of the key tls_ca_file
// (CACHETTE_TLS_CA_FILE; Settings.Values["tls_ca_file"]), a private CA for
// instance; a tls_ca_file with a redis:// URL is an error, not ignored. Go
// also reads SSL_CERT_FILE for the system's roots (once per process, and it
// replaces the system bundle). A server the client does not trust fails
// Open with an error wrapping the x509 error ("certificate signed by
// unknown authority"). The conformance suite runs over rediss:// against a
// TLS-only Redis (the tls group of scripts/services.sh).
//
// Settings.Timeout (default DefaultTimeout) bounds each call of the store
// as a whole: Get, Set, Delete, GetMany, SetMany, Lock and Unlock run under
// a context deadline of that length (or the caller's, when it ends
// sooner), which covers the wait for a pooled connection, the reads and
// writes and go-redis's retries together; ClearNamespace, Flush and Usage,
// which may take many round trips, bound each SCAN step and each pipeline
// that way. It is also each dial, read and write timeout unless the URL
// sets dial_timeout, read_timeout or write_timeout itself, so a dead or
// hung server gives an error within the timeout rather than a hang. (Before,
// it bounded only each dial, read and write: with retries and pool waits,
// one call on a paused server took several times the timeout.) The
// deadline costs a context per call (about 0.4 µs and 4 allocations, well
// under a round trip); a caller whose context already ends within the
// timeout does not pay it. NewFromClient sets no such bound unless given
// WithTimeout. After PoolSize failed dials (a server down for a while),
// go-redis's pool stops dialing and probes the server once a second (not
// configurable), so after a restart the store may take up to a second to
// reconnect; meanwhile calls fail at once. Open connects
// once (PING) so that a wrong address or password is reported at once.
// Errors start with "redis:" and never contain the URL, so a password in
// it cannot leak.
//
// Open asks the server for its proto-max-bulk-len (512 MiB by default) and
// refuses larger values, before sending them, with an error wrapping
// backends.ErrTooLarge; WithMaxValueSize sets the limit instead.
//
// # Sentinel
//
// A URL with master_name (or master_set) lists sentinels, not data nodes:
//
//	redis://127.0.0.1:26379,redis://127.0.0.1:26380,redis://127.0.0.1:26381/0?master_name=mymaster
//
// The store then uses go-redis's failover client: every connection is
// dialled to the master the sentinels name at that moment, and the
// client drops its connections to the old master when a sentinel
// announces a failover (+switch-master). Write every sentinel in the URL:
// the client asks them in turn. Credentials in the URL are the data
// nodes'; sentinel_username and sentinel_password are the sentinels'.
//
// The local tier's tracking (SubscribeInvalidations) follows failovers:
// it asks the sentinels for the master every SentinelRecheck (1 s), and
// when they name another one, it drops the local tier and subscribes
// again on the new master. It does not wait for the old master to go: after
// SENTINEL FAILOVER the old master stays a writable master for several
// seconds before the sentinels demote it (about 9 s with Redis 7.0), and a
// master cut off from the sentinels may never close the connection. In the
// tests of internal/chaos (TestSentinelFailover), a cache's local tier
// stopped serving a value overwritten on the new master within about a
// second of the write (0.4 to 0.8 s in one run; before this check it
// served it until the old master was demoted, or, if the old master was
// never demoted, for the whole LocalTTL).
//
// During a failover, calls to the old master fail or wait until the
// client reaches the new one (a store error: GetOrLoad loads from the
// origin, httpcache serves from the origin); no value is lost that the new
// master had received, but writes the old master took after the last
// replication are, as with any asynchronous Redis replication.
//
// # Logging
//
// go-redis writes its own log lines (a pool that cannot dial, a failed
// re-authentication, ...) through a single logger for the whole process,
// by default to stderr; it has no logger per client. The first Open
// replaces that logger, with goredis.SetLogger, by one that sends each line
// at level Warn to the logger of the most recently opened store that is
// still open (Settings.Logger, so cachette.Config.Logger), or to
// slog.Default() when no store is open. With several stores on different
// loggers, a go-redis line may therefore reach another store's logger. A
// program that wants go-redis's lines elsewhere calls goredis.SetLogger
// after its last Open. NewFromClient leaves go-redis's logger alone.
//
// # Clusters with replicas, and failover
//
// Every command goes to the primary of its key's slot; replicas serve
// nothing (unless the URL sets go-redis's read_only or route_by_latency /
// route_randomly options). When a primary dies, the commands of its slots
// fail (each within Settings.Timeout: the cache then loads from the origin,
// or serves stale with stale-if-error) until the cluster promotes its
// replica, which takes cluster-node-timeout plus an election (about 3 to 5 s
// with cluster-node-timeout 2000 ms); the other slots keep working if the
// cluster runs with cluster-require-full-coverage no. A cluster client that
// Open builds asks for the slot map again (CLUSTER SLOTS, in the
// background, at most every 200 ms) whenever a command cannot reach its
// node or gets CLUSTERDOWN, so it finds the promoted replica as soon as the
// cluster has promoted it; go-redis alone only does so on a MOVED answer,
// which a dead node never sends, or every ClusterStateReloadInterval (a
// minute). A client given to NewFromClient is left as it is: add the same
// reload yourself, or set a short ClusterStateReloadInterval. Keys written
// to the dead primary and not yet copied to its replica are lost, as with
// any Redis failover: for a cache, misses. The local tier's tracking (see
// SubscribeInvalidations) is not ready again until every primary of the
// slot map answers as one, so no local copy of the failed slots is served
// unfollowed. The chaos cases of internal/chaos kill a primary under load;
// docs/reliability.md has the figures.
//
// # A client you already have
//
// NewFromClient builds a store around a go-redis client the program owns (a
// *redis.Client, *redis.ClusterClient, failover client or *redis.Ring); Close
// then leaves that client open:
//
//	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
//	store, err := redis.NewFromClient(rdb, "myapp")
//	cache, err := cachette.NewWithBackend(store, cachette.Config{Prefix: "myapp"})
//
// # How entries are kept
//
// An entry is one string key, "prefix:key", holding an 8-byte big-endian
// expiry (Unix milliseconds) followed by the value. It is written with SET
// PX, so the server drops it on its own at (never before) the expiry; Get
// checks the stored expiry too, so an entry is never returned after it,
// to the millisecond. FlushExpired therefore has nothing to do and returns
// nil.
//
// Delete runs a small Lua script that reads the stored expiry and unlinks
// the key in one step, so it can report whether a live entry went.
// ClearNamespace and Flush walk the keys with SCAN and a MATCH pattern built
// from the prefix (glob characters in it are escaped), on every master of a
// cluster or every shard of a ring, and unlink them one key per command in
// pipelines, which works across hash slots. They never use KEYS, FLUSHDB or
// FLUSHALL. Keys written meanwhile by others may or may not be seen, as with
// any SCAN.
//
// Locks are "prefix:!lock:name" keys holding a random token and the lock's
// expiry, taken by a Lua script that sets the key (with PX) only when no
// live lock is there: the SET NX PX idea, with the expiry judged to the
// millisecond like entries. Unlock deletes the key only if it still holds
// the caller's token (a Lua compare-and-delete), so a holder whose lock
// expired cannot release the next holder's.
package redis
