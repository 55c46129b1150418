// Package httpcache caches HTTP responses in a cachette.Cache: a net/http
// middleware (func(http.Handler) http.Handler) that works with ServeMux,
// chi, gorilla and anything else built on http.Handler.
//
//	cached := httpcache.Middleware(cache, httpcache.Options{TTL: 5 * time.Minute})
//	http.ListenAndServe(":8080", cached(mux))
//
// Every answer carries X-Cache-Status: HIT, STALE, MISS, BYPASS or
// NO_CACHE (see Statuses). The sections below follow a request through the
// middleware, in order: requests that skip the cache, the key, a hit, a
// miss, what is stored, and failures.
//
// # Requests that skip the cache
//
// A request whose context was made by WithBypass, or whose
// Options.BypassHeader equals Options.BypassValue (compared in constant
// time), is answered by the handler with X-Cache-Status: BYPASS, and the
// cache is neither read nor written. A method other than GET or HEAD, or a
// request Cache-Control with no-cache or no-store (anywhere in the list,
// any case), or Pragma: no-cache, gets NO_CACHE the same way (an unsafe
// method answered 2xx or 3xx then invalidates its URL, see Invalidation,
// purge and tags). A request with an Authorization header (unless
// Options.AllowAuthorized is set), with a Cookie header (unless
// Options.AllowCookies is set) or with an Upgrade header (a WebSocket
// handshake, say) also goes straight to the handler (MISS): nothing is
// read or written, and it never waits for another request.
//
// # Keys
//
// The key is "prefix:GET:host:path", then "?" and a short hash of the
// canonical query (HEAD shares GET's key). The host is r.Host, lower-cased:
// the Host the server received, never X-Forwarded-Host, Forwarded or
// another header a proxy adds. Behind a proxy that rewrites Host to its
// upstream's name, every site the proxy serves therefore shares one set of
// entries; when that matters, set r.Host from the header the proxy is
// trusted to send in a middleware that runs before the cache. (A client
// that picks its own Host only picks the entries it reads and writes.)
//
// Without Options.Filter every parameter counts, sorted by name, the
// values of one name in their order; with a Filter only its `query:"name"`
// fields count, defaults filled in and slices de-duplicated and sorted, as
// Decode gives them to the handler. A query that does not parse is not
// cached (MISS, straight to the handler): without a Filter, any parameter
// url.ParseQuery rejects (a bad escape such as %zz, a semicolon); with one,
// only a parameter a field reads, or a value that does not parse as the
// field's type or is outside its bounds, since the other parameters are
// ignored anyway (see Filters). A Filter must have at least one query
// field.
//
// # Hits and early refresh
//
// If the store holds a fresh response (see Freshness), it is replayed as a
// HIT with Age and its ETag, or 304 Not Modified when If-None-Match matches
// the ETag. When the entry is within the early-refresh window (see
// Options.Buffer), or is stale but within its stale-while-revalidate
// window (then answered as STALE), one request per key takes the store
// lock "lock:<key>" and, after its own answer was written and flushed,
// recomputes it on its own goroutine with a detached copy of the request,
// while every other request keeps getting the stored response. A stale
// response past that window is revalidated (see Freshness), or served as
// STALE in its stale-if-error window when the handler fails.
//
// # Misses and stampedes
//
// Otherwise it is a MISS: the first request for the key in this process
// runs the handler, whose response streams to the client as it is written
// and is captured; identical requests that arrive meanwhile wait for it
// and get it as a HIT, or run the handler themselves as soon as it turns
// out not to be storable: at its status and headers, or when the handler
// flushes or hijacks (a stream or a protocol switch never makes another
// request wait). A request whose context ends while it waits (its client
// went away) returns without running the handler and without writing
// anything. Across processes, that first request takes the store lock
// "lock:<key>" for Options.LockTTL, and releases it as soon as its
// response turns out not to be storable; a request that finds the lock
// taken polls the store for the holder's response and computes it itself
// after LockTTL rather than fail. Within LockTTL of a store error, a
// request that finds the lock taken computes at once instead of waiting:
// the lock may be an orphan whose holder could not release it while the
// store was down (or never learnt it had it), so after an outage two
// processes may compute the same response (each stores it), rather than
// every process wait up to LockTTL for a response nobody will store.
//
// # What is stored
//
// The response is stored when its status is in Options.CacheStatuses (200
// by default), its freshness allows it (see Freshness: no no-store,
// private or no-cache, a lifetime above 0), it has no Set-Cookie, no
// Vary: *, no trailers, is not an event stream (Content-Type
// text/event-stream), was not hijacked and had nothing written after a
// flush, and its body is at most Options.MaxBodySize. A response with Vary
// is stored under a key that adds the named request headers, with a small
// marker under the base key naming them. Vary is read from the response as
// sent: one set by an outer middleware (Vary: Accept-Language, Vary:
// Cookie) counts like the handler's, so two requests that differ in a
// varied header never share an entry.
//
// # Failures
//
// Any cache error (store down or slower than Options.StoreTimeout, corrupt
// entry) is logged and the request is served by the handler as a MISS,
// and after a store error the store is left alone for a second (or for
// StoreTimeout when that is shorter), so that a store that is down costs
// one timeout per pause, not one per request: the cache
// never turns a working handler into an error. A key or value the store
// refuses (an error wrapping backends.ErrInvalidKey or
// backends.ErrTooLarge: a path longer than the gob store's 1 MiB key
// limit, say) is not a store error: that request is served without the
// cache, and the others keep using it.
//
// # Headers
//
// Stored responses keep the handler's status, headers and body. Only the
// headers the handler set or changed are stored: a header already in the
// response before the cache middleware ran, set by an outer middleware for
// that request (CORS, a request id), with the same values when the handler
// wrote its status, is left out, and on a HIT the stored headers are set on
// top of the ones the outer middlewares set for the current request. (A
// Set-Cookie or Cache-Control no-store set outside still prevents storage.)
// Vary is the exception: it is always stored as sent, since it keys the
// response. Header names are stored in canonical form, so a handler that
// writes w.Header()["ETag"] or ["vary"] directly gets the same behaviour
// as with Set. Also left out are the hop-by-hop headers (Connection and
// the headers it names, Keep-Alive, Proxy-*, TE, Trailer,
// Transfer-Encoding, Upgrade) and Age, Content-Length and X-Cache-Status,
// which are set afresh on every answer. The handler's Date is stored and
// replayed; a response without one is stored with the date of its MISS.
// Age on a HIT is the age the response had when stored (its Age, or now −
// Date when larger) plus the seconds since. A body the handler
// encoded itself (Content-Encoding) is stored as is; other bodies are
// compressed by the middleware itself, by the cache's Config.Compression
// rule (see Stored format).
//
// Cache-Control: a handler's own (other than no-store, private or
// no-cache, which prevent storage) is sent as is on the MISS and replayed
// as is on every HIT, with Age. When the response has none, the middleware
// writes max-age=N itself, N the stored lifetime's whole seconds (at least
// 1): on a stored MISS, and on every HIT together with Age, so that a
// downstream cache sees exactly the time left. The MISS headers leave before the body is complete, so a response
// that then outgrows MaxBodySize, is flushed and written to again, or
// whose store write fails, still carries that max-age. A MISS that is
// never stored gets none.
//
// ETag: the handler's own, weak or strong, is stored and replayed
// unchanged, and If-None-Match is compared with it weakly (W/ ignored), so
// a client revalidating with the tag it got on the MISS gets 304 Not
// Modified. A response without one gets a strong hash of the body, the
// same on every HIT (the MISS, whose headers leave before the body is
// known, has none). Without If-None-Match, If-Modified-Since is evaluated
// against the stored Last-Modified (or, without one, the stored Date)
// and gets 304 when the response is not newer. A Range request gets the
// full stored body.
//
// # Freshness
//
// The middleware is a shared cache in the sense of RFC 9111; the rules are
// in rfc9111.go, each with its RFC section. A response is fresh for the
// smaller of Options.TTL and its own freshness lifetime less its age
// (§4.2): the lifetime is CDN-Cache-Control's max-age when that header is
// present and a valid structured field (RFC 9213, which then replaces
// Cache-Control for storage and freshness alike), else s-maxage, else
// max-age, else Expires − Date; its age is the larger of Age (its first
// value, 2^31 at most) and now − Date. A response without explicit
// freshness is fresh for Options.TTL. A lifetime of 0 or less (max-age=0,
// an Expires in the past or not an exact HTTP date, an Age past the
// lifetime, a max-age that is not delta-seconds), no-store, private or
// no-cache: the response is not stored. Repeated directives: the first
// counts.
//
// Stale windows (RFC 5861): Options.StaleWhileRevalidate and
// Options.StaleIfError, and the response's stale-while-revalidate and
// stale-if-error directives, each alone or, when both are set, the smaller
// of the two, keep the entry in the store that much past its freshness,
// except for a response with must-revalidate, proxy-revalidate or
// s-maxage, which is never served stale (RFC 9111 §4.2.4). Within the
// stale-while-revalidate window a request gets the stale response at once
// (STALE) and then refreshes it, as early refresh does: on the request's
// goroutine after the answer was flushed (a stored answer carries
// Content-Length, so the client has all of it; the connection stays busy
// until the refresh ends), with a context that keeps the request's values
// but not its cancellation, bounded by Options.RefreshTimeout. Running
// before ServeHTTP returns matters: routers (chi, gin, echo) recycle
// per-request state once it has. Within the stale-if-error window, a 5xx
// from the handler, or a panic before it wrote anything, is replaced by
// the stale response (STALE); what the handler wrote is dropped.
//
// Revalidation (RFC 9111 §4.3): a response with a validator of the
// handler's (its own ETag or Last-Modified; not the generated ETag) stays
// in the store for at least Options.TTL even when its freshness is
// shorter. Once stale, the handler gets a conditional request, with
// If-None-Match and If-Modified-Since set from the stored validators in
// place of the client's. A 304 Not Modified from the handler freshens the
// stored response: the 304's headers replace the stored ones (but
// Content-Length), its freshness is computed again, and the stored body
// answers the client (MISS, Cache-Status fwd=stale; fwd-status=304). Any
// other answer is handled as a MISS.
//
// # Streams and upgrades
//
// The writer the handler gets implements http.Flusher, and http.Hijacker
// when the server's writer can hijack; its Unwrap gives
// http.ResponseController the server's writer (deadlines, full duplex). A
// request with Upgrade skips the cache altogether. A response that is an
// event stream, or that the handler hijacks, or writes to after a flush,
// is never stored, and nobody waits for it: the requests that joined it
// run the handler themselves from the moment it shows (its status, its
// first flush, the hijack), and the store lock is released then.
//
// # Cookies
//
// A request with a Cookie header skips the cache by default, like one with
// Authorization: a cookie usually means a session, and a page for one user
// must not be served to another. To cache anonymous traffic that carries
// cookies (analytics, consent), either strip those cookies in a middleware
// that runs before the cache (so the request has no Cookie header left),
// or set Options.AllowCookies and make every response that depends on a
// cookie send Vary: Cookie (the handler or an outer middleware may set it),
// which keeps one entry per distinct Cookie header.
//
// # Filters
//
// A Filter is a struct whose `query:"..."` fields are the query parameters
// that make the key; the handler reads the same struct with Decode, so the
// two always agree. As with fastapi-cachemate's pydantic filters:
//
//	type BlogFilter struct {
//		BlogID  *string    `query:"id,blog_id"`                       // alias and own name; nil when absent
//		Page    int        `query:"page" default:"1" min:"1"`         // ge=1
//		MaxPage int        `query:"max_page" default:"10" min:"1" max:"100"`
//		Tags    []string   `query:"tag"`                              // ?tag=a&tag=b, sorted, de-duplicated
//		Since   *time.Time `query:"since"`                            // RFC 3339 or 2006-01-02, in UTC
//	}
//
// A tag's first name is the canonical one: ?id=7 and ?blog_id=7 make one
// key. A value outside its min/max bounds makes Decode return an error
// wrapping ErrOutOfRange and ErrInvalidQuery (answer 400), and the
// middleware neither reads nor writes the cache for such a request (MISS),
// so ?page=-5 and ?max_page=1000 never get entries of their own. Field
// types are strings, bools, numbers and time.Time, pointers to those and
// slices of those; bounds apply to numbers only. A bad tag (a bound on a
// string, min above max, a bound or default that does not parse) makes
// Middleware panic at start-up, like other invalid Options. See Decode for
// the details.
//
// # Settings from the environment
//
// OptionsFromEnv reads Options from variables named prefix + the option's
// name, as fastapi-cachemate's BaseCacheSettings does with its env_prefix:
// with "API_CACHE_", API_CACHE_TTL, API_CACHE_BYPASS_HEADER,
// API_CACHE_BYPASS_VALUE, API_CACHE_TTL_LOCK_SECONDS, API_CACHE_BUFFER and
// one variable for every other option with a plain value. Durations are
// whole seconds or Go durations ("300", "5m"). A variable under the prefix
// that names no option, or a value that does not parse or that Middleware
// would refuse, is an error wrapping ErrInvalidOptions that names the
// variable.
//
// # Statuses
//
// X-Cache-Status (StatusHeader) is HIT when the handler did not run for the
// request: a fresh stored response, the response of a concurrent identical
// request in this process, or one stored meanwhile by another process;
// STALE for a stale response served within a stale window; MISS when it
// ran; BYPASS and NO_CACHE as above. Beside it, Cache-Status (RFC 9211)
// carries the member "cachette": "cachette; hit; ttl=42" (the freshness
// left, negative when stale), "cachette; fwd=uri-miss; stored",
// "cachette; fwd=stale; fwd-status=304; stored", "cachette; fwd=bypass",
// "fwd=method" or "fwd=request" (a request the cache may not answer). It is
// added after any Cache-Status the handler sent. Options.OnServe, if set,
// is told each request's X-Cache-Status once it was answered, for metrics
// (the otelcache module's ServedHTTP fits it).
//
// # Invalidation, purge and tags
//
// A request with an unsafe method (any but GET, HEAD, OPTIONS and TRACE,
// RFC 9110 9.2.1) answered with a 2xx or 3xx drops every stored variant of
// its URL, keyed as a GET of it is (exact query, Filter applied), and of
// the URLs its Location and Content-Location name on the request's host
// (RFC 9111, 4.4), before its status reaches the client; whether it was
// bypassed, authorized or carried cookies does not matter. Purge drops
// every variant of one URL; PurgeTags drops every response stored with one
// of the tags the handler set in Options.TagsHeader (Surrogate-Key by
// default), a header that is never sent to clients. Both take the
// middleware's Options: Prefix and Filter make the keys.
//
// None of this lists keys, so it works on every store, memcached
// included. The vary marker under a URL's base key holds a random epoch,
// which the variants stored under it record; a variant whose epoch is not
// the marker's is a miss, so dropping the marker drops every variant.
// Tags are cachette's (cachette.WithTags, Cache.InvalidateTags): a
// response is stored with its tags as "<prefix>:tag:<tag>", cachette
// records their versions in the entry and checks them on every read (one
// store read per tag, concurrently: the only cost, and only for tagged
// responses), and PurgeTags is Cache.InvalidateTags of those names. Epochs
// and tag versions are only ever written fresh, so a response stored
// before a purge is never served after it, even one whose store raced the
// purge. Purged
// variants and tagged responses stay in the store, unreachable, until
// their TTL ends. A response with more than 64 tags is not stored.
//
// # Reading the code
//
// The files follow a request, top to bottom:
//
//   - middleware.go: Middleware and ServeHTTP, the request path in a page.
//   - policy.go: the request policy: bypass, no-cache, cookies,
//     authorization, upgrade, a paused store.
//   - key.go: the key of a request (path, canonical query, Filter) and of
//     its Vary variant; filter.go: Filter and Decode.
//   - lookup.go: reading the entry, following the vary marker, and how
//     fresh it is.
//   - serve.go: answering from the store (HIT, STALE, 304); refresh.go:
//     the early or stale-while-revalidate refresh after it.
//   - fill.go: a miss: coalescing in the process, the store lock across
//     processes, running the handler (conditionally when revalidating),
//     stale-if-error; writer.go: the writer that captures the response.
//   - response.go: the response policy (storable statuses and headers);
//     rfc9111.go: every rule of RFC 9111, 9213 and 5861 (freshness,
//     lifetime, stale windows, conditional requests, 304 updates), each
//     with its RFC section.
//   - store.go: writing the entry and the bounded store calls; entry.go:
//     the stored format.
//   - purge.go: invalidation by unsafe methods, Purge, PurgeTags and the
//     tags of a response; options.go, env.go: Options and OptionsFromEnv.
//
// # Stored format
//
// Responses are stored with PutBytes in a small versioned binary format of
// length-prefixed fields (status, TTL, freshness, age, stale windows,
// compute time, headers, body, vary epoch, tag names). A
// value that does not decode is logged, removed and treated as a miss; a
// value of an earlier format version is a quiet miss, replaced by the next
// response stored.
//
// The middleware compresses a body itself, by the cache's rule
// (Config.Compression and CompressionMinSize; a body with a
// Content-Encoding is never compressed again), and stores the value with
// cachette.Uncompressed. It keeps the decoded form of the last entry read
// in each of 256 slots (bodies up to 32 KiB), reused while the store hands
// out the same bytes: a HIT on a hot entry reads the store, as every
// request does, but neither decodes nor decompresses. The store holds the
// body compressed as before; the header block is not compressed, and a hot
// compressed entry is held a second time, decoded, in the middleware.
package httpcache
