// Package memcached is the cachette store for a memcached server or a pool
// of them, through github.com/bradfitz/gomemcache. Keys are spread over the
// servers by hash.
//
// # Configuration
//
// Importing the package registers the backend "memcached". It reads
// memcached_host (CACHETTE_MEMCACHED_HOST, Config.MemcachedHost), which is
// required: "host[:port][,host[:port]...]", port 11211 by default
// ("memcacheds://host[:port],..." for TLS, below);
// "[v6addr]:port", a bare IPv6 address and a Unix socket path ("/path")
// work too. Each network call is bounded by Config.Timeout (DefaultTimeout,
// 1 s, by default).
//
//	import _ "github.com/cachette-go/cachette/backends/memcached"
//
//	cache, err := cachette.New(ctx, cachette.Config{
//		Backend:       "memcached",
//		MemcachedHost: "10.0.0.1:11211,10.0.0.2", // port 11211 by default
//		Prefix:        "myapp",
//	})
//
// With a *memcache.Client the program already owns (its servers, Timeout
// and MaxIdleConns are its own; Close leaves it open):
//
//	client := memcache.New("10.0.0.1:11211")
//	store, err := memcached.NewFromClient(client, "myapp")
//	cache, err := cachette.NewWithBackend(store, cachette.Config{TTL: time.Minute})
//
// OpenHosts opens a store from a host string and Options, outside of a
// cachette.Config.
//
// # TLS
//
// Servers written "memcacheds://host[:port]" are reached over TLS (memcached
// 1.6 built with TLS, started with -Z -o ssl_chain_cert=FILE,ssl_key=FILE):
//
//	MemcachedHost: "memcacheds://cache1.internal:11211,memcacheds://cache2.internal",
//
// Every entry of the list must then have the scheme (a pool that mixes TLS
// and plain servers is refused), and a Unix socket cannot be one. Each
// server's certificate is verified against the name written in its entry
// (gomemcache dials the resolved address; the store dials with a
// tls.Dialer that keeps the name), and against the system's roots plus,
// when set, the PEM file of the key tls_ca_file (CACHETTE_TLS_CA_FILE;
// Options.TLSCAFile), a private CA's certificate for instance. A tls_ca_file
// with plain entries is an error, not ignored. Go also reads SSL_CERT_FILE
// and SSL_CERT_DIR (on Linux and the BSDs) for the system's roots, once per
// process: a way to trust a CA in every store at once, but one that
// replaces the system bundle. For client certificates, a minimum version or
// anything else, Options.TLSConfig (WithTLSConfig) gives the whole
// configuration (its ServerName, when empty, is set per server).
//
// A server with a certificate the client does not trust fails each call with
// an error that wraps the x509 error ("certificate signed by unknown
// authority", x509.UnknownAuthorityError).
//
// Authentication: memcached's SASL works only with its binary protocol,
// which gomemcache does not speak (it has no SASL), so this store offers
// none; the binary protocol is deprecated upstream. TLS gives transport
// security, and memcached's own check of client certificates
// (-o ssl_verify_mode=2,ssl_ca_cert=FILE) is the way to admit only known
// clients: give the certificate in Options.TLSConfig.Certificates.
//
// memcached_host holds no credentials: an entry with "@" is refused, and errors name a bad entry by its position, never quoting it,
// since a mistyped one may hold a password. gomemcache writes no log lines
// of its own.
//
// # Exact expiry
//
// Every value is stored in a small envelope (a version byte, the expiry in
// Unix milliseconds, then the value), so expiry is exact to the millisecond
// although memcached counts whole seconds: the server is given the expiry
// rounded up to the next second plus one (its clock ticks once a second),
// and Get checks the stored milliseconds. Expiries more than 30 days away
// are sent as an absolute Unix time, the way memcached reads expirations
// above 2592000 seconds.
//
// # Flush by generation
//
// memcached cannot list keys, and flush_all would wipe the whole server, so
// every data key carries a namespace generation: "prefix:<gen>:key". The
// generation lives under "prefix:!gen" (no expiry); Flush increments it,
// which makes every older key unreachable, in every process at once, and
// the old items age out on their own. Other prefixes are untouched. Every
// operation reads the generation first (two round trips per Get or Set;
// nothing is cached locally, so a Flush in one process is seen at once by
// all others). When the generation key does not exist (first use,
// eviction, server restart) it is created with add, from a random 62-bit
// value: a lost generation key therefore acts as a flush, and a recreated
// one cannot practically land on an older generation and bring old entries
// back. With a pool of servers the generation key lives on one of them
// (picked by its hash like any key); while that server is down, every
// operation of this prefix fails (and httpcache serves from the handler).
//
// ClearNamespace returns an error wrapping backends.ErrNotSupported and
// removes nothing (the server cannot enumerate keys); FlushExpired does
// nothing, since memcached drops expired items itself.
//
// # Keys
//
// Keys memcached rejects (longer than 250 bytes, spaces, control
// characters) are hashed: "prefix:<gen>:#<sha256 hex>", so any key works.
// A key that itself starts with "#" or "!" is always hashed, so a hashed
// name can never equal the name of a key that is stored as is, and data
// keys never meet lock keys. A prefix that is not a legal key, is long, or
// holds ':' or a leading '#' is replaced by "#<sha256 hex of the prefix>"
// in the same way.
//
// # Locks
//
// Locks (httpcache uses them to fill a key once across processes) are
// taken with add on "prefix:<gen>:!lock:<key>" (they sit inside the
// generation, so Flush releases them too), holding the token and the
// expiry in milliseconds. A lock whose stored expiry has passed but which
// the server still keeps is taken over with compare-and-swap, so two takers
// can never both win. Unlock reads the lock and, when the token matches,
// expires it with compare-and-swap: a lock taken over in between is left
// alone. Delete works the same way (read, check the stored expiry, expire
// with compare-and-swap) so it reports true only for an entry that was
// live.
//
// # Limits
//
// Values larger than the server's item size limit (1 MiB by default) fail
// with an error wrapping backends.ErrTooLarge; start memcached with -I (for
// example -I 4m) to raise the limit.
//
// gomemcache takes no context: the context is checked before each round
// trip, and a call in flight ends at the latest after the timeout. SetMany,
// which runs up to 16 Sets at once, starts none after the timeout has
// passed since the call began, so a batch to a hung server fails within
// about two timeouts rather than one per wave of 16.
package memcached
