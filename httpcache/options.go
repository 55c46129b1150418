package httpcache

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"slices"
	"time"
)

// StatusHeader is the response header that tells how a request was served:
// HIT, STALE, MISS, BYPASS or NO_CACHE. Beside it the middleware sends
// Cache-Status (RFC 9211), with the member "cachette".
const StatusHeader = "X-Cache-Status"

// The values of StatusHeader.
const (
	StatusHit     = "HIT"      // served from the cache; the handler did not run for this request
	StatusStale   = "STALE"    // a stored response past its freshness, served within a stale window (RFC 5861)
	StatusMiss    = "MISS"     // the handler ran; its response may have been stored
	StatusBypass  = "BYPASS"   // the bypass header or WithBypass: the cache was not read or written
	StatusNoCache = "NO_CACHE" // not GET/HEAD, or the client asked for no-cache/no-store
)

// Defaults of Options.
const (
	DefaultPrefix          = "httpcache"
	DefaultBypassHeader    = "X-Cache-Bypass"
	DefaultLockTTL         = 5 * time.Second
	DefaultBuffer          = 0.2
	DefaultMaxPlanningTime = 5 * time.Second
	DefaultMaxBodySize     = 8 << 20 // 8 MiB
	DefaultRefreshTimeout  = 30 * time.Second
	DefaultStoreTimeout    = time.Second
	DefaultTagsHeader      = "Surrogate-Key"
)

// Options configures Middleware. Only TTL is required. Invalid options are
// a programming error: Middleware panics on them when it is called, the way
// http.ServeMux panics on a bad pattern, so a bad configuration never
// reaches a running server.
type Options struct {
	// TTL is how long a stored response is served; required, > 0 and at
	// most 100 years, independently of the cache's Config.TTL bounds. It
	// is rounded up to whole milliseconds, the resolution entries are
	// stored with (so 500µs stores for 1ms).
	TTL time.Duration
	// Prefix starts every key this middleware writes; default "httpcache".
	// The keys live inside the cache's own prefix, so
	// cache.ClearNamespace(ctx, prefix) drops every stored response.
	Prefix string
	// BypassHeader is the request header that skips the cache when its value
	// equals BypassValue; default "X-Cache-Bypass".
	BypassHeader string
	// BypassValue is the secret value of BypassHeader; "" disables the
	// header bypass (WithBypass still works). It is compared in constant time.
	BypassValue string
	// LockTTL is how long the store lock "lock:<key>" is held by the request
	// that fills a cold key or refreshes one early, and how long the others
	// wait for its result before computing themselves; default 5s.
	LockTTL time.Duration
	// Buffer is the early-refresh buffer, a fraction of the compute time;
	// 0 means the default 0.2, a negative value means no buffer.
	Buffer float64
	// MaxPlanningTime caps the early-refresh window; default 5s. A negative
	// value turns early refresh off.
	MaxPlanningTime time.Duration
	// Filter is a struct value (or a pointer to one) whose fields tagged
	// `query:"name"` are the only query parameters that make the key; see
	// Decode for the tags. nil means every query parameter counts. A
	// struct without any query field is invalid: every query string would
	// share one entry.
	Filter any

	// CacheStatuses lists the response statuses that are stored; default
	// only 200. Each must be 200-599 other than 206 and 304 (a partial or
	// a not-modified response cannot answer the next request).
	CacheStatuses []int
	// AllowAuthorized lets requests with an Authorization header use the
	// cache like any other. By default they skip it: the handler runs
	// (status MISS) and nothing is read or written, since the response may
	// be the user's own. When allowed, a handler whose response depends on
	// the caller should send Vary: Authorization.
	AllowAuthorized bool
	// AllowCookies lets requests with a Cookie header use the cache like
	// any other. By default they skip it, as with Authorization: the
	// handler runs (status MISS) and nothing is read or written, since a
	// cookie usually identifies the user. To cache anonymous traffic that
	// carries analytics or consent cookies, either remove those cookies
	// in a middleware that runs before the cache, or set AllowCookies and
	// have responses that depend on a cookie send Vary: Cookie (from the
	// handler or an outer middleware; both count).
	AllowCookies bool
	// MaxBodySize is the largest body stored, in bytes; default 8 MiB. A
	// bigger response still streams to the client in full. Unless its
	// Content-Length declared the size up front, the client has had its
	// headers (with the middleware's Cache-Control: max-age=<TTL> when the
	// handler sent none) before the body outgrew the cap; the response is
	// not stored all the same. It is capped by the cache's MaxValueSize
	// (less 64 KiB for the status and headers): a response the store would
	// refuse is not even buffered.
	MaxBodySize int64
	// StaleWhileRevalidate serves a response this much longer after its
	// freshness ends (status STALE) while one request per key, across
	// processes (the store lock), refreshes it after having been answered.
	// A response's own stale-while-revalidate directive opens such a
	// window too; when both are set the smaller wins. Default 0: none.
	StaleWhileRevalidate time.Duration
	// StaleIfError serves a response this much longer after its freshness
	// ends (status STALE) when the handler, asked to recompute it, answers
	// a 5xx or panics before writing. A response's own stale-if-error
	// directive opens such a window too; when both are set the smaller
	// wins. Default 0: none. Neither window applies to a response with
	// must-revalidate, proxy-revalidate or s-maxage (RFC 9111 §4.2.4).
	StaleIfError time.Duration
	// RefreshTimeout bounds a refresh (early or stale-while-revalidate);
	// default 30s.
	RefreshTimeout time.Duration
	// StoreTimeout bounds each store call the middleware makes; default 1s.
	// After a store error the middleware leaves the store alone for a
	// second (requests are MISSes served by the handler), so a store that
	// is down costs one timeout per second, not one per request. A key or
	// value the store refuses (backends.ErrInvalidKey, ErrTooLarge) is not
	// a store error: only that request goes without the cache.
	StoreTimeout time.Duration
	// Logger receives store errors and corrupt entries; default slog.Default().
	Logger *slog.Logger
	// TagsHeader is the response header whose values, separated by spaces
	// or commas, tag the stored response, for PurgeTags; default
	// "Surrogate-Key" (Fastly's convention). It is removed from every
	// response the middleware passes on, stored or not. "-" turns tags
	// off and leaves the header alone (for a CDN in front that reads it).
	// A response with more than 64 tags is not stored. See PurgeTags.
	TagsHeader string
	// OnServe, if set, is called once the middleware has answered a
	// request, with the request and the X-Cache-Status it was answered
	// with (StatusHit, StatusMiss, ...), for metrics: see the otelcache
	// module. It runs on the request's goroutine after the handler
	// returned; it must be quick and safe for concurrent use.
	OnServe func(r *http.Request, status string)
}

// config is Options checked and with the defaults filled in.
type config struct {
	Options
	statuses [600]bool
	filter   *filterPlan
	bypass   [32]byte // sha256 of BypassValue
}

// newConfig checks o and fills in its defaults. It panics, with a message
// naming the field, on an invalid value.
func newConfig(o Options) *config {
	bad := func(format string, args ...any) {
		panic(fmt.Sprintf("httpcache: invalid Options: "+format, args...))
	}
	if o.TTL <= 0 {
		bad("TTL must be > 0, got %v", o.TTL)
	}
	if o.TTL > maxEntryTTL {
		bad("TTL must be at most 100 years (%v), got %v", maxEntryTTL, o.TTL)
	}
	o.TTL = time.Duration(ttlMillis(o.TTL)) * time.Millisecond
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.BypassHeader == "" {
		o.BypassHeader = DefaultBypassHeader
	}
	o.BypassHeader = http.CanonicalHeaderKey(o.BypassHeader)
	switch {
	case o.LockTTL < 0:
		bad("LockTTL must not be negative, got %v", o.LockTTL)
	case o.LockTTL == 0:
		o.LockTTL = DefaultLockTTL
	}
	switch {
	case math.IsNaN(o.Buffer) || math.IsInf(o.Buffer, 0):
		bad("Buffer must be a finite number, got %v", o.Buffer)
	case o.Buffer == 0:
		o.Buffer = DefaultBuffer
	case o.Buffer < 0:
		o.Buffer = 0
	}
	if o.MaxPlanningTime == 0 {
		o.MaxPlanningTime = DefaultMaxPlanningTime
	}
	switch {
	case o.MaxBodySize < 0:
		bad("MaxBodySize must not be negative, got %d", o.MaxBodySize)
	case o.MaxBodySize == 0:
		o.MaxBodySize = DefaultMaxBodySize
	}
	if o.StaleWhileRevalidate < 0 || o.StaleWhileRevalidate > maxEntryTTL {
		bad("StaleWhileRevalidate must be 0 to 100 years, got %v", o.StaleWhileRevalidate)
	}
	if o.StaleIfError < 0 || o.StaleIfError > maxEntryTTL {
		bad("StaleIfError must be 0 to 100 years, got %v", o.StaleIfError)
	}
	switch {
	case o.RefreshTimeout < 0:
		bad("RefreshTimeout must not be negative, got %v", o.RefreshTimeout)
	case o.RefreshTimeout == 0:
		o.RefreshTimeout = DefaultRefreshTimeout
	}
	switch {
	case o.StoreTimeout < 0:
		bad("StoreTimeout must not be negative, got %v", o.StoreTimeout)
	case o.StoreTimeout == 0:
		o.StoreTimeout = DefaultStoreTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.TagsHeader == "" {
		o.TagsHeader = DefaultTagsHeader
	}
	if o.TagsHeader != "-" && !validHeaderName(o.TagsHeader) {
		bad("TagsHeader %q is not a header name", o.TagsHeader)
	}
	o.TagsHeader = http.CanonicalHeaderKey(o.TagsHeader)
	cfg := &config{}
	if len(o.CacheStatuses) == 0 {
		o.CacheStatuses = []int{http.StatusOK}
	}
	o.CacheStatuses = slices.Clone(o.CacheStatuses)
	for _, s := range o.CacheStatuses {
		if s < 200 || s > 599 || s == http.StatusPartialContent || s == http.StatusNotModified {
			bad("CacheStatuses: %d cannot be stored (use 200-599, not 206 or 304)", s)
		}
		cfg.statuses[s] = true
	}
	if o.Filter != nil {
		t := reflect.TypeOf(o.Filter)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		plan, err := planFor(t)
		if err != nil {
			bad("Filter: %v", err)
		}
		if len(plan.fields) == 0 {
			bad("Filter: %v has no field tagged `query:\"name\"`, so every query string would share one entry (a nil Filter keys on every parameter)", t)
		}
		cfg.filter = plan
	}
	cfg.Options = o
	cfg.bypass = sum256(o.BypassValue)
	return cfg
}

func (c *config) storableStatus(code int) bool {
	return code >= 0 && code < len(c.statuses) && c.statuses[code]
}

// observed wraps the middleware's handler h with Options.OnServe, if set.
// The status is read from the response headers once h returned: every
// path sets StatusHeader before it writes the status line, so what is
// read is what the client was sent.
func (c *config) observed(h http.Handler) http.Handler {
	onServe := c.OnServe
	if onServe == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		onServe(r, w.Header().Get(StatusHeader))
	})
}
