// Package httpcache caches HTTP responses in a cachette.Cache: a net/http
// middleware (func(http.Handler) http.Handler) that works with ServeMux,
// chi, gorilla and anything else built on http.Handler.
//
// The request path, in order. A request whose context was made by
// WithBypass, or whose Options.BypassHeader equals Options.BypassValue
// (compared in constant time), is answered by the handler with
// X-Cache-Status: BYPASS, and the cache is neither read nor written. A
// method other than GET or HEAD, or a request Cache-Control with no-cache
// or no-store (anywhere in the list, any case), or Pragma: no-cache, gets
// NO_CACHE the same way. A request with an Authorization header also goes
// straight to the handler (MISS) unless Options.AllowAuthorized is set.
// Otherwise the key is "prefix:GET:host:path", then "?" and a short hash of
// the canonical query (HEAD shares GET's key): without Options.Filter every
// parameter counts, sorted by name, the values of one name in their order;
// with a Filter only its `query:"name"` fields count, defaults filled in
// and slices de-duplicated and sorted, as Decode gives them to the handler.
// A query that does not parse is not cached (MISS, straight to the
// handler): without a Filter, any parameter url.ParseQuery rejects (a bad
// escape such as %zz, a semicolon); with one, only a parameter a field
// reads, or a value that does not parse as the field's type, since the
// other parameters are ignored anyway. If the store holds a live response,
// it is replayed as a HIT with Cache-Control: max-age=N (N the seconds
// left, rounded up, at least 1 and at most the TTL's whole seconds), Age
// and a strong ETag, or 304 Not Modified when If-None-Match matches the
// ETag; when the entry is within the early-refresh window (see
// Options.Buffer), one request per key takes the store lock "lock:<key>"
// and recomputes it in the background with a detached copy of the request,
// while every request keeps getting the HIT. Otherwise it is a MISS: the
// first request for the key in this process runs the handler, whose
// response streams to the client as it is written (Flush works) and is
// captured; identical requests that arrive meanwhile wait for it and get it
// as a HIT, or run the handler themselves if it could not be stored. A
// request whose context ends while it waits (its client went away) returns
// without running the handler and without writing anything. Across
// processes, that first request takes the store lock "lock:<key>" for
// Options.LockTTL; a request that finds the lock taken polls the store for
// the holder's response and computes it itself after LockTTL rather than
// fail. The response is stored for Options.TTL when its status is in
// Options.CacheStatuses (200 by default), it has no Set-Cookie, no
// Cache-Control no-store, private or no-cache, no Vary: * and no trailers,
// and its body is at most Options.MaxBodySize. A MISS whose response is to
// be stored carries Cache-Control: max-age=<TTL> (capped like a HIT's); the
// headers leave before the body is complete, so a response that then
// outgrows MaxBodySize, or whose store write fails, still carries it. A
// MISS that is never stored (not storable, or the store lock failed) keeps
// the handler's own Cache-Control. A response with Vary is stored under a
// key that adds the named request headers, with a small marker under the
// base key naming them. Any cache error (store down or slower than
// Options.StoreTimeout, corrupt entry) is logged and the request is served
// by the handler as a MISS, and after a store error the store is left alone
// for a second: the cache never turns a working handler into an error.
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
// Header names are stored in canonical form, so a handler that writes
// w.Header()["ETag"] or ["vary"] directly gets the same behaviour as with
// Set. Also left out are the hop-by-hop headers (Connection and the headers
// it names, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade)
// and Date, Age, Cache-Control, Content-Length and X-Cache-Status, which
// are set afresh on every answer. A body the handler encoded itself
// (Content-Encoding) is stored as is; the cache compresses stored values
// per its Config.Compression, so the middleware does not. The handler's own
// ETag is kept when it is strong; otherwise (none, or a weak W/ one) the
// ETag is a strong hash of the body. The middleware owns Cache-Control on
// the responses it stores or serves: a handler's Cache-Control (other than
// no-store, private or no-cache, which prevent storage) is replaced by
// max-age. Only If-None-Match is evaluated, not If-Modified-Since; a Range
// request gets the full stored body.
//
// # Statuses
//
// X-Cache-Status (StatusHeader) is HIT when the handler did not run for the
// request: a stored response, the response of a concurrent identical
// request in this process, or one stored meanwhile by another process; MISS
// when it ran; BYPASS and NO_CACHE as above.
//
// # Stored format
//
// Responses are stored with PutBytes in a small versioned binary format of
// length-prefixed fields (status, TTL, compute time, headers, body). A
// value that does not decode is logged, removed and treated as a miss.
package httpcache
