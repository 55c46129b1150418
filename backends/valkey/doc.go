// Package valkey is the cachette store for Valkey (and Redis), through
// github.com/valkey-io/valkey-go: one server, a cluster, or a master found
// through Sentinel, chosen by the URL.
//
// Status: the conformance suite runs against a Valkey 8 server, a Valkey
// cluster of three primaries with a replica each, and a primary with one
// replica behind three sentinels (the valkey-sentinel group of
// scripts/services.sh); internal/chaos kills a cluster primary and fails
// the Sentinel deployment over under load (see below).
//
// Importing the package registers the backend "valkey":
//
//	import _ "github.com/cachette-go/cachette/backends/valkey"
//
//	cache, err := cachette.New(ctx, cachette.Config{
//		Backend:   "valkey",
//		ValkeyURL: "valkey://user:secret@127.0.0.1:6379/0",
//		Prefix:    "myapp",
//	})
//
// # The valkey_url setting
//
//	valkey://[user:pass@]host[:port][/db][?option=value&...]
//	valkeys://...                        TLS; redis:// and rediss:// are accepted too
//	valkey://h1:7001,valkey://h2:7002    several nodes: a cluster
//	valkey://h1:7001,h2:7002             the same; later nodes may omit the scheme
//	valkey://h1:7001                     one node of a cluster: detected, cluster client used
//	valkey://s1:26379,s2:26379/0?master_set=mymaster
//	                                     Sentinel: the nodes are sentinels
//
// The port defaults to 6379 and the database to 0; a cluster has only
// database 0. Credentials, the database and the options may be written on
// any node (in "valkey://a:1,b:2/0?dial_timeout=3s" they sit on the last)
// and apply to all; nodes that repeat them must agree. Options: db,
// dial_timeout, write_timeout, protocol (2 for RESP2), max_retries (0
// disables retries), client_name, skip_verify (valkeys), master_set (or
// master_name) for Sentinel, and sentinel_username / sentinel_password when
// the sentinels have credentials of their own (user and password in the URL
// are the master's). Any other option is an error.
//
// With valkeys:// (or rediss://) the server's certificate is verified
// against the system's roots plus, when set, the PEM file of the key
// tls_ca_file (CACHETTE_TLS_CA_FILE; Settings.Values["tls_ca_file"]), for
// the sentinels too; a tls_ca_file with a plain URL is an error, not
// ignored. Go also reads SSL_CERT_FILE for the system's roots (once per
// process, and it replaces the system bundle). A server the client does not
// trust fails Open with an error wrapping the x509 error ("certificate
// signed by unknown authority"). The conformance suite runs over valkeys://
// against a TLS-only Valkey (the tls group of scripts/services.sh).
//
// Clusters with replicas, and failover: every command goes to the primary
// of its key's slot. When a primary dies, the commands of its slots fail
// (each within Settings.Timeout: the cache then loads from the origin, or
// serves stale with stale-if-error) until the cluster promotes its replica
// (cluster-node-timeout plus an election: about 3 to 5 s with
// cluster-node-timeout 2000 ms); valkey-go asks for the slot map again
// when a connection breaks or a command fails, and follows the new primary
// as soon as the cluster has promoted it. Keys not yet copied to the
// replica are lost: for a cache, misses. The local tier's tracking (see
// SubscribeInvalidations) is not ready again until every primary of the
// slot map answers as one, so no local copy of the failed slots is served
// unfollowed. The chaos cases of internal/chaos kill a primary under load;
// docs/reliability.md has the figures.
//
// valkey-go's client-side caching is off: the store reads every entry from
// the server, so an entry another process clears is gone for this one at
// once.
//
// Settings.Timeout (default DefaultTimeout) bounds every call: it is the
// dial timeout and the connection read/write timeout unless the URL sets
// dial_timeout or write_timeout, and each command runs under a context with
// that deadline (valkey-go otherwise retries reads on a broken connection
// until the caller's context ends). Open connects at once, so a wrong
// address or password is reported there. Errors start with "valkey:" and
// never contain the URL, so a password in it cannot leak. valkey-go writes no log lines of its own; the
// store's warnings go to its logger (Settings.Logger or WithLogger).
//
// Open asks the server for its proto-max-bulk-len (512 MiB by default) and
// refuses larger values, before sending them, with an error wrapping
// backends.ErrTooLarge; WithMaxValueSize sets the limit instead. The key
// layout is the redis store's, so the two backends can share a server.
//
// # Sentinel
//
// A URL with master_set (or master_name) lists sentinels, not data nodes:
//
//	valkey://127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381/0?master_set=mymaster
//
// The store then uses valkey-go's sentinel client, which asks the
// sentinels for the primary and switches to the new one when a sentinel
// announces a failover (+switch-master). Write every sentinel in the URL.
// Credentials in the URL are the data nodes'; sentinel_username and
// sentinel_password are the sentinels'.
//
// The local tier's tracking (SubscribeInvalidations) follows failovers:
// every SentinelRecheck (1 s) it looks at the primary valkey-go follows,
// and when that is another node, it drops the local tier and subscribes
// again on the new primary. It does not wait for the old primary to go:
// after SENTINEL FAILOVER the old primary stays writable for several
// seconds before the sentinels demote it, and one cut off from the
// sentinels may never close the connection. In the tests of
// internal/chaos (TestSentinelFailover), a cache's local tier stopped
// serving a value overwritten on the new primary within about a second
// of the write (0.4 to 0.7 s in one run).
//
// # A client you already have
//
// NewFromClient builds a store around a valkey.Client the program owns;
// Close then leaves it open:
//
//	client, err := valkeygo.NewClient(valkeygo.ClientOption{InitAddress: []string{"127.0.0.1:6379"}})
//	store, err := valkey.NewFromClient(client, "myapp")
//	cache, err := cachette.NewWithBackend(store, cachette.Config{Prefix: "myapp"})
//
// # How entries are kept
//
// An entry is one string key, "prefix:key", holding an 8-byte big-endian
// expiry (Unix milliseconds) followed by the value, written with SET PX so
// the server drops it on its own at (never before) the expiry; Get checks the
// stored expiry too, so an entry is never returned after it, to the
// millisecond. FlushExpired therefore has nothing to do and returns nil.
//
// Delete runs a small Lua script that reads the stored expiry and unlinks
// the key in one step, so it can report whether a live entry went.
// ClearNamespace and Flush walk the keys with SCAN and a MATCH pattern built
// from the prefix (glob characters in it are escaped) on every primary
// node the client knows, and unlink them one key per command in pipelines,
// which works across hash slots. They never use KEYS, FLUSHDB or FLUSHALL.
//
// Locks are "prefix:!lock:name" keys holding a random token and the lock's
// expiry, taken by a Lua script that sets the key (with PX) only when no
// live lock is there: the SET NX PX idea, with the expiry judged to the
// millisecond like entries. Unlock deletes the key only if it still holds
// the caller's token, so a holder whose lock expired cannot release the next
// holder's.
package valkey
