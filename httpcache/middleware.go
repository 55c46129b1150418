package httpcache

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
)

// Middleware returns a middleware that caches the responses of the handler
// it wraps in c, as the package documentation describes. It panics when c
// is nil or opts is invalid (see Options), like http.ServeMux panics on a
// bad pattern: a programming error shows at start-up.
func Middleware(c *cachette.Cache, opts Options) func(http.Handler) http.Handler {
	if c == nil {
		panic("httpcache: Middleware needs a non-nil *cachette.Cache")
	}
	cfg := newConfig(opts)
	cfg.MaxBodySize = min(cfg.MaxBodySize, bodyLimit(c.Config().MaxValueSize))
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("httpcache: Middleware wraps a nil http.Handler")
		}
		return cfg.observed(&handler{cache: c, cfg: cfg, log: cfg.Logger, next: next})
	}
}

// bodyLimit is the largest body worth capturing for a cache that stores
// values of up to maxValue bytes: the stored entry also holds the status,
// the headers and the middleware's fields, for which it keeps 64 KiB (or a
// quarter of a small maxValue). A bigger body would only be refused by
// the store (ErrTooLarge) after being buffered.
func bodyLimit(maxValue int) int64 {
	v := int64(maxValue)
	return v - min(64<<10, v/4)
}

type bypassKey struct{}

// WithBypass returns a context whose requests skip the cache: the handler
// runs, nothing is read or written, and the answer says BYPASS. Use it in a
// middleware that runs before (outside) the cache middleware, for example
// for logged-in users: r = r.WithContext(httpcache.WithBypass(r.Context())).
func WithBypass(ctx context.Context) context.Context {
	return context.WithValue(ctx, bypassKey{}, true)
}

func bypassed(ctx context.Context) bool {
	b, _ := ctx.Value(bypassKey{}).(bool)
	return b
}

type handler struct {
	cache *cachette.Cache
	cfg   *config
	log   *slog.Logger
	next  http.Handler

	flights    flightGroup
	refreshing sync.Map     // key -> struct{}: a refresh of key runs in this process
	pausedTo   atomic.Int64 // Unix nanoseconds until which the store is skipped after an error
}

// storePause is how long the middleware leaves the store alone after a
// store error, so that a store that is down costs one timeout per pause
// rather than one per request. Requests meanwhile are MISSes served by the
// handler; the first one after the pause tries the store again.
const storePause = time.Second

// hit is a stored response, fresh or stale.
type hit struct {
	resp     *storedResponse
	resident time.Duration // time since it was stored
}

// freshLeft is how long it stays fresh; negative once stale.
func (f *hit) freshLeft() time.Duration { return f.resp.fresh - f.resident }

func (f *hit) fresh() bool { return f.freshLeft() > 0 }

// inSWR and inSIE report whether a stale response is within its
// stale-while-revalidate or stale-if-error window.
func (f *hit) inSWR() bool { return -f.freshLeft() < f.resp.swr }
func (f *hit) inSIE() bool { return -f.freshLeft() < f.resp.sie }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.bypass(r) {
		h.pass(w, r, StatusBypass)
		return
	}
	if noCache(r) {
		h.pass(w, r, StatusNoCache)
		return
	}
	if !h.cfg.AllowAuthorized && r.Header.Get("Authorization") != "" ||
		!h.cfg.AllowCookies && r.Header.Get("Cookie") != "" ||
		r.Header.Get("Upgrade") != "" {
		// The response may be the user's own, or a protocol switch.
		h.pass(w, r, StatusMiss)
		return
	}
	if time.Now().UnixNano() < h.pausedTo.Load() {
		h.pass(w, r, StatusMiss)
		return
	}
	base, ok := h.cfg.baseKey(r)
	if !ok {
		h.log.DebugContext(r.Context(), "httpcache: query does not parse, not caching", "path", r.URL.Path)
		h.pass(w, r, StatusMiss)
		return
	}
	found, key, err := h.lookup(r.Context(), base, r)
	if err != nil {
		h.storeError(r.Context(), "reading", key, err)
		h.pass(w, r, StatusMiss)
		return
	}
	if found != nil {
		switch {
		case found.fresh():
			serveHit(w, r, found, false, StatusHit, "")
			if h.refreshDue(found) {
				h.refreshAfter(w, r, base, key, found)
			}
			return
		case found.inSWR():
			serveHit(w, r, found, false, StatusStale, "")
			h.refreshAfter(w, r, base, key, found)
			return
		}
		// Stale: revalidated or recomputed by fill, or served stale
		// on a handler error within its stale-if-error window.
	}
	h.fill(w, r, base, key, found)
}

// pass runs the handler without the cache.
func (h *handler) pass(w http.ResponseWriter, r *http.Request, status string) {
	w.Header().Set(StatusHeader, status)
	fwd := "bypass"
	if status == StatusNoCache {
		fwd = "request"
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			fwd = "method"
		}
	}
	w.Header().Add("Cache-Status", cacheStatus("; fwd="+fwd))
	pw, p := h.passWriterFor(w, r) // strips the tags; an unsafe method invalidates (purge.go)
	h.next.ServeHTTP(pw, r)
	p.done()
}

func (h *handler) bypass(r *http.Request) bool {
	if bypassed(r.Context()) {
		return true
	}
	if h.cfg.BypassValue == "" {
		return false
	}
	for _, v := range r.Header[h.cfg.BypassHeader] {
		// Comparing digests keeps the time independent of the secret's length.
		sum := sha256.Sum256([]byte(v))
		if subtle.ConstantTimeCompare(sum[:], h.cfg.bypass[:]) == 1 {
			return true
		}
	}
	return false
}

// noCache reports a request the cache must not answer nor store: a method
// other than GET and HEAD, or a client asking for no-cache or no-store.
func noCache(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return true
	}
	return hasDirective(r.Header.Values("Cache-Control"), "no-cache", "no-store") ||
		hasDirective(r.Header.Values("Pragma"), "no-cache")
}

// storeError logs a failed store call and pauses the use of the store,
// unless the request's own context ended or the store refused this key or
// value (backends.ErrInvalidKey, backends.ErrTooLarge): a refusal is about
// this request, which is served without the cache, not about the store.
func (h *handler) storeError(ctx context.Context, op, key string, err error) {
	if ctx.Err() != nil {
		return // the client went away; not the store's fault
	}
	switch {
	case errors.Is(err, backends.ErrInvalidKey):
		// The key comes from the request (a huge path, say): not worth a warning.
		h.log.DebugContext(ctx, "httpcache: the store refused the key, not caching this request", "op", op, "key", logKey(key), "error", err)
	case errors.Is(err, backends.ErrTooLarge):
		h.log.WarnContext(ctx, "httpcache: the store refused the value, not caching this response", "op", op, "key", logKey(key), "error", err)
	default:
		h.log.WarnContext(ctx, "httpcache: store error, serving from the handler", "op", op, "key", logKey(key), "error", err)
		h.pausedTo.Store(time.Now().Add(storePause).UnixNano())
	}
}

// logKey shortens a key for the logs: a request can make it very long.
func logKey(key string) string {
	const keep = 256
	if len(key) <= keep {
		return key
	}
	return key[:keep] + "...(" + strconv.Itoa(len(key)) + " bytes)"
}

// The store calls, each bounded by StoreTimeout. Writes, unlocks and
// clears do not depend on the client staying connected.

func (h *handler) fetchBytes(ctx context.Context, key string) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.StoreTimeout)
	defer cancel()
	return h.cache.FetchBytes(ctx, key)
}

func (h *handler) lock(ctx context.Context, key string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.StoreTimeout)
	defer cancel()
	return h.cache.Lock(ctx, lockName(key), h.cfg.LockTTL)
}

func (h *handler) unlock(ctx context.Context, key, tok string) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.StoreTimeout)
	defer cancel()
	if _, err := h.cache.Unlock(sctx, lockName(key), tok); err != nil {
		h.storeError(context.WithoutCancel(ctx), "unlocking", key, err)
	}
}

func (h *handler) put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.StoreTimeout)
	defer cancel()
	return h.cache.PutBytes(ctx, key, value, cachette.WithTTL(ttl))
}

// lookup returns the stored response for r under base, fresh or stale, following a vary
// marker, and the key the response lives (or would live) under. A corrupt
// entry is logged, removed and reported as a miss.
func (h *handler) lookup(ctx context.Context, base string, r *http.Request) (*hit, string, error) {
	e, left, err := h.fetch(ctx, base)
	if err == nil && e.resp != nil {
		e, err = h.current(ctx, e, "") // purged tags (purge.go)
	}
	if err != nil || e.resp != nil {
		return hitOf(e, left), base, err
	}
	if e.vary == nil {
		return nil, base, nil
	}
	key, epoch := varyKey(base, e.vary, r), e.epoch
	e, left, err = h.fetch(ctx, key)
	if err == nil && e.vary != nil {
		h.corrupt(ctx, key, errors.New("a vary marker under a variant key"))
		return nil, key, nil
	}
	if err == nil && e.resp != nil {
		e, err = h.current(ctx, e, epoch) // purged URL or tags (purge.go)
	}
	return hitOf(e, left), key, err
}

func hitOf(e entry, left time.Duration) *hit {
	if e.resp == nil {
		return nil
	}
	return &hit{resp: e.resp, resident: min(max(e.resp.ttl-left, 0), e.resp.ttl)}
}

// fetch reads and decodes one key; a miss or a corrupt entry is a zero entry.
func (h *handler) fetch(ctx context.Context, key string) (entry, time.Duration, error) {
	raw, left, err := h.fetchBytes(ctx, key)
	if errors.Is(err, cachette.ErrNotFound) {
		return entry{}, 0, nil
	}
	if err != nil {
		return entry{}, 0, err
	}
	e, err := decodeEntry(raw)
	if errors.Is(err, errOldVersion) {
		// Overwritten by the next response stored; nothing is wrong.
		h.log.DebugContext(ctx, "httpcache: entry stored by an earlier version, treated as a miss", "key", logKey(key))
		return entry{}, 0, nil
	}
	if err != nil {
		h.corrupt(ctx, key, err)
		return entry{}, 0, nil
	}
	return e, left, nil
}

func (h *handler) corrupt(ctx context.Context, key string, reason error) {
	h.log.WarnContext(ctx, "httpcache: dropping corrupt entry, serving from the handler", "key", key, "error", reason)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.StoreTimeout)
	defer cancel()
	if _, err := h.cache.Clear(sctx, key); err != nil {
		h.storeError(ctx, "clearing", key, err)
	}
}

// notModifiedHeaders are the headers a 304 carries (RFC 9110, 15.4.5).
var notModifiedHeaders = []string{"Cache-Control", "Content-Location", "Date", "Etag", "Expires", "Vary"}

// serveHit writes a stored response with X-Cache-Status status. shared
// means the response is also handed to other requests, so its header
// slices are copied. The handler's Cache-Control (and Date) are replayed
// as stored; without a Cache-Control (and none set by an outer middleware
// for this request) the middleware's max-age, the stored lifetime, goes
// with Age, so a downstream cache sees exactly the time left. Age is the
// age the response had when stored (RFC 9111 §4.2.3) plus the seconds
// since. cs is the Cache-Status parameters; "" means those of a hit:
// "; hit; ttl=<seconds of freshness left>".
func serveHit(w http.ResponseWriter, r *http.Request, found *hit, shared bool, status, cs string) {
	resp := found.resp
	hdr := w.Header()
	age := strconv.FormatInt(int64((resp.age+found.resident)/time.Second), 10)
	if cs == "" {
		cs = "; hit" + ttlParam(found.freshLeft())
	}
	code := resp.status
	if code/100 == 2 && notModified(r, resp.header) {
		for _, k := range notModifiedHeaders {
			if vs, ok := resp.header[k]; ok {
				hdr[k] = slices.Clone(vs)
			}
		}
		if !hasHeader(hdr, "Cache-Control") {
			hdr.Set("Cache-Control", maxAge(resp.fresh+resp.age))
		}
		hdr.Set("Age", age)
		hdr.Set(StatusHeader, status)
		hdr.Add("Cache-Status", cacheStatus(cs))
		w.WriteHeader(http.StatusNotModified)
		return
	}
	for k, vs := range resp.header {
		if shared {
			vs = slices.Clone(vs)
		}
		hdr[k] = vs
	}
	if !hasHeader(hdr, "Cache-Control") {
		hdr.Set("Cache-Control", maxAge(resp.fresh+resp.age))
	}
	hdr.Set("Age", age)
	hdr.Set(StatusHeader, status)
	hdr.Add("Cache-Status", cacheStatus(cs))
	if code != http.StatusNoContent {
		hdr.Set("Content-Length", strconv.Itoa(len(resp.body)))
	}
	w.WriteHeader(code)
	if r.Method != http.MethodHead && len(resp.body) > 0 {
		_, _ = w.Write(resp.body) // a client that went away is not an error here
	}
}

// notModified evaluates the client's conditions against a stored
// response header (RFC 9110 §13.2.2): If-None-Match when present, else
// If-Modified-Since, compared with the stored Last-Modified, or without
// one the stored Date (RFC 9111 §4.3.2). An invalid date is ignored.
func notModified(r *http.Request, stored http.Header) bool {
	if inm := r.Header.Values("If-None-Match"); len(inm) > 0 {
		return etagMatch(inm, stored.Get("Etag"))
	}
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" {
		return false
	}
	now := time.Now()
	since, ok := parseHTTPDate(ims, now)
	if !ok {
		return false
	}
	lm := stored.Get("Last-Modified")
	if lm == "" {
		lm = stored.Get("Date")
	}
	modified, ok := parseHTTPDate(lm, now)
	return ok && !modified.After(since)
}

// etagMatch applies If-None-Match to etag with the weak comparison (RFC
// 9110, 13.1.2): "*" matches any, and W/ prefixes are ignored.
func etagMatch(ifNoneMatch []string, etag string) bool {
	if etag == "" || len(ifNoneMatch) == 0 {
		return false
	}
	etag = strings.TrimPrefix(etag, "W/")
	for _, line := range ifNoneMatch {
		for t := range strings.SplitSeq(line, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
	}
	return false
}

// fill answers a miss. The first request for key in this process (the
// leader) fills it; requests that arrive meanwhile wait for its response
// and are answered with it as HITs, unless it could not be stored, in
// which case each runs the handler itself. They stop waiting as soon as
// the leader's response turns out not to be storable, or to be a stream
// (flushed, hijacked), not when it ends. When the leader's client went
// away before it had a response, the waiters start a new flight, so that
// one of them fills the key as a leader would. A waiter whose own client
// went away leaves without running the handler (see compute). stale,
// when not nil, is the stale stored response: the handler is asked to
// revalidate it (see compute).
func (h *handler) fill(w http.ResponseWriter, r *http.Request, base, key string, stale *hit) {
	for r.Context().Err() == nil {
		f, leader := h.flights.join(key)
		if leader {
			h.leadFlight(w, r, base, key, f, stale)
			return
		}
		select {
		case <-f.done:
			if f.resp != nil && sameVariant(f, base, r) {
				serveHit(w, r, &hit{resp: f.resp, resident: max(time.Since(f.stored), 0)}, true, StatusHit, "; hit; collapsed")
				return
			}
			if f.abandoned {
				continue
			}
		case <-r.Context().Done():
		}
		h.compute(w, r, base, true, nil, stale)
		return
	}
}

// leadFlight fills key as the leader of flight f.
func (h *handler) leadFlight(w http.ResponseWriter, r *http.Request, base, key string, f *flight, stale *hit) {
	var (
		resp   *storedResponse
		k      string
		stored time.Time
	)
	defer func() { // also when the handler panics: the others run it themselves
		h.flights.finish(key, f)
		f.settle(resp, k, stored, resp == nil && r.Context().Err() != nil)
	}()
	resp, k, stored = h.lead(w, r, base, key, f, stale)
}

// sameVariant reports whether the response f holds answers r too: always,
// unless it varies on request headers whose values differ.
func sameVariant(f *flight, base string, r *http.Request) bool {
	names, _ := varyNames(f.resp.header)
	if len(names) == 0 {
		return true
	}
	return varyKey(base, names, r) == f.key
}

// lead fills key across processes: it takes the store lock lock:<key>, or
// waits for the holder's response, and computes when it has the lock or
// waited LockTTL in vain. It returns what it served when that can be
// shared, with the key it is stored under and the time it was stored. As
// soon as its response turns out not to be shareable, the waiters of f
// are let go and the store lock is released, so that nobody waits for a
// stream.
func (h *handler) lead(w http.ResponseWriter, r *http.Request, base, key string, f *flight, stale *hit) (*storedResponse, string, time.Time) {
	ctx := r.Context()
	letGo := func() { f.settle(nil, "", time.Time{}, false) }
	tok, locked, err := h.lock(ctx, key)
	if err != nil {
		h.storeError(ctx, "locking", key, err)
		h.compute(w, r, base, false, letGo, stale)
		return nil, "", time.Time{}
	}
	if !locked {
		found, k, t, ok := h.await(ctx, base, key, r)
		if found != nil {
			serveHit(w, r, found, true, StatusHit, "")
			return found.resp, k, time.Now().Add(-found.resident)
		}
		tok, locked = t, ok
	}
	if locked {
		unlock := sync.OnceFunc(func() { h.unlock(ctx, key, tok) })
		defer unlock()
		// Someone may have stored it between our lookup and the lock.
		if found, k, err := h.lookup(ctx, base, r); err == nil && found != nil {
			if found.fresh() {
				serveHit(w, r, found, true, StatusHit, "")
				return found.resp, k, time.Now().Add(-found.resident)
			}
			stale = found
		}
		return h.compute(w, r, base, true, func() { letGo(); unlock() }, stale)
	}
	return h.compute(w, r, base, true, letGo, stale)
}

// Polling intervals while another process fills a key.
const (
	pollFirst = 25 * time.Millisecond
	pollMax   = 250 * time.Millisecond
)

// await polls the store while another process holds the lock of key, for
// up to LockTTL. It returns the response once stored, or the lock when the
// holder released it without storing one, or neither when the time is up
// (or the store fails, or ctx ends).
func (h *handler) await(ctx context.Context, base, key string, r *http.Request) (*hit, string, string, bool) {
	deadline := time.Now().Add(h.cfg.LockTTL)
	wait := pollFirst
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, "", "", false
		case <-timer.C:
		}
		found, k, err := h.lookup(ctx, base, r)
		if err != nil {
			h.storeError(ctx, "reading", key, err)
			return nil, "", "", false
		}
		if found != nil && found.fresh() {
			return found, k, "", false
		}
		tok, ok, err := h.lock(ctx, key)
		if err != nil {
			h.storeError(ctx, "locking", key, err)
			return nil, "", "", false
		}
		if ok {
			return nil, "", tok, true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, "", "", false
		}
		wait = min(wait*3/2, pollMax, left)
		timer.Reset(wait)
	}
}

// compute runs the handler for r, streaming its response to w while
// capturing it, and stores the response when it is storable (and store is
// true). It returns the stored response, its key and the time it was
// stored, or nil. release, when not nil, is called as soon as the response
// turns out not to be shareable (see captureWriter.release).
// A HEAD request runs the handler as a GET, so the entry has the body a
// GET needs; the HEAD client gets the headers only.
//
// stale, when not nil, is the stale stored response for r. When it has a
// validator of the handler's (its own ETag, Last-Modified), the handler
// gets a conditional request (If-None-Match, If-Modified-Since, in place
// of the client's), and a 304 freshens the stored response (RFC 9111
// §4.3.4), which then answers the client. Within its stale-if-error
// window, a 5xx from the handler, or a panic before it wrote anything, is
// answered with the stale response (STALE) instead (RFC 5861 §4).
//
// A request whose context ended (a client that went away while waiting
// for another request's response) returns at once: the handler does not
// run and nothing is written.
func (h *handler) compute(w http.ResponseWriter, r *http.Request, base string, store bool, release func(), stale *hit) (*storedResponse, string, time.Time) {
	ctx := r.Context()
	if ctx.Err() != nil {
		h.log.DebugContext(ctx, "httpcache: client gone before the handler ran", "path", r.URL.Path)
		return nil, "", time.Time{}
	}
	head := r.Method == http.MethodHead
	req, cond := handlerRequest(r, stale)
	w.Header().Set(StatusHeader, StatusMiss)
	cw := newCaptureWriter(w, h.cfg, head, store)
	cw.release = release
	cw.cond = cond
	cw.staleOK = stale != nil && stale.inSIE()
	cw.fwd = "uri-miss"
	if stale != nil {
		cw.fwd = "stale"
	}
	start := time.Now()
	recovered := h.serveNext(cw, req, cw.staleOK)
	elapsed := time.Since(start)
	switch {
	case recovered || cw.intercepted >= 500:
		if recovered {
			cw.resetHeader() // what the handler set before it panicked
		}
		serveHit(w, r, stale, false, StatusStale, "; fwd=stale; fwd-status="+strconv.Itoa(max(cw.intercepted, 500))+ttlParam(stale.freshLeft()))
		return nil, "", time.Time{}
	case cw.intercepted == http.StatusNotModified:
		resp, ok := h.freshen(stale.resp, cw.interHeader, time.Now())
		cs := "; fwd=stale; fwd-status=304"
		if !ok || !store {
			serveHit(w, r, &hit{resp: resp}, false, StatusMiss, cs)
			return nil, "", time.Time{}
		}
		key, err := h.store(ctx, base, r, resp)
		if err != nil {
			h.storeError(ctx, "writing", key, err)
			serveHit(w, r, &hit{resp: resp}, false, StatusMiss, cs)
			return nil, "", time.Time{}
		}
		serveHit(w, r, &hit{resp: resp}, true, StatusMiss, cs+"; stored")
		return resp, key, time.Now()
	}
	resp := cw.result()
	if resp == nil || !store || ctx.Err() != nil {
		// Not storable, or the client left and the handler may have cut its answer short.
		return nil, "", time.Time{}
	}
	resp.compute = elapsed
	key, err := h.store(ctx, base, r, resp)
	if err != nil {
		h.storeError(ctx, "writing", key, err)
		return nil, "", time.Time{}
	}
	return resp, key, time.Now()
}

// conditionalHeaders are the request headers that make a request
// conditional (RFC 9110 §13.1).
var conditionalHeaders = []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"}

// handlerRequest returns the request the handler gets for r: a GET for a
// HEAD, and, when stale has validators of the handler's, a conditional
// request with them in place of the client's conditions. cond reports
// the latter. r itself is not modified.
func handlerRequest(r *http.Request, stale *hit) (req *http.Request, cond bool) {
	cond = stale != nil && hasValidator(stale.resp.header, stale.resp.genETag)
	if r.Method != http.MethodHead && !cond {
		return r, false
	}
	req = r.WithContext(r.Context()) // a shallow copy
	req.Method = http.MethodGet
	if cond {
		req.Header = r.Header.Clone()
		for _, k := range conditionalHeaders {
			req.Header.Del(k)
		}
		setValidators(req.Header, stale.resp)
	}
	return req, cond
}

// setValidators adds the conditions that revalidate resp (RFC 9111 §4.3.1).
func setValidators(h http.Header, resp *storedResponse) {
	if etag := resp.header.Get("Etag"); etag != "" && !resp.genETag {
		h.Set("If-None-Match", etag)
	}
	if lm := resp.header.Get("Last-Modified"); lm != "" {
		h.Set("If-Modified-Since", lm)
	}
}

// serveNext runs the handler into cw. With recoverable, a panic is
// recovered and reported (true) when the client has had nothing yet, so
// that a stale response can answer instead; otherwise it goes on.
func (h *handler) serveNext(cw *captureWriter, req *http.Request, recoverable bool) (recovered bool) {
	if recoverable {
		defer func() {
			if cw.wrote && cw.intercepted == 0 {
				return // the client has a response under way: let the panic go on
			}
			if v := recover(); v != nil {
				h.log.ErrorContext(req.Context(), "httpcache: handler panicked, serving the stale response",
					"path", req.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				recovered = true
			}
		}()
	}
	h.next.ServeHTTP(cw.writer(), req)
	return false
}

// freshen returns old updated by the header of a 304 Not Modified that
// revalidated it at now (RFC 9111 §4.3.4), planned afresh from the
// updated header; ok is false when that header forbids storing it.
func (h *handler) freshen(old *storedResponse, notModified http.Header, now time.Time) (*storedResponse, bool) {
	hdr := freshenHeader(old.header, notModified)
	if _, ok := notModified["Date"]; !ok {
		hdr.Set("Date", now.UTC().Format(http.TimeFormat)) // the 304's date, as net/http would send it
	}
	// The tags stay those the response was stored with; a tags header on
	// the 304 is not shown to clients either (purge.go).
	_, _ = h.cfg.takeTags(hdr)
	var tags []tagGen
	for _, t := range old.tags {
		tags = append(tags, tagGen{name: t.name}) // generations are taken afresh when storing
	}
	resp := &storedResponse{status: old.status, header: hdr, body: old.body, genETag: old.genETag, compute: old.compute, tags: tags}
	p := h.cfg.plan(hdr, now)
	if !p.ok {
		resp.fresh, resp.ttl = time.Millisecond, time.Millisecond
		return resp, false
	}
	resp.ttl, resp.fresh, resp.age, resp.swr, resp.sie = p.keep, p.fresh, p.age, p.swr, p.sie
	return resp, true
}

// store writes resp for r under base, with a vary marker under base and
// the response under its variant key when it has a Vary header. It sets a
// strong ETag, a hash of the body, when the handler did not set one; the
// handler's own, weak or strong, is kept as is. The write does not depend
// on the client staying connected.
func (h *handler) store(ctx context.Context, base string, r *http.Request, resp *storedResponse) (string, error) {
	if _, ok := resp.header["Etag"]; !ok {
		resp.header.Set("Etag", `"`+shortHash(string(resp.body))+`"`)
		resp.genETag = true
	}
	key := base
	names, _ := varyNames(resp.header)
	if len(names) > 0 {
		key = varyKey(base, names, r)
	}
	// The vary marker and its epoch, the tags' generations (purge.go).
	if err := h.stamp(ctx, base, names, resp); err != nil {
		return base, err
	}
	return key, h.put(ctx, key, encodeResponse(resp), resp.ttl)
}

// flightGroup coalesces the concurrent misses of one key in this process.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight
}

// flight is one fill in progress. Its result fields are written once, by
// settle, before done is closed, and only read after. The leader settles
// it early, while its response is still being written, when that response
// turns out not to be shareable; the flight then stays in its group until
// the leader finishes, and requests that join it meanwhile run the handler
// themselves at once.
type flight struct {
	done      chan struct{}
	once      sync.Once
	resp      *storedResponse // nil when the response cannot be shared
	key       string
	stored    time.Time // when resp was stored
	abandoned bool      // no response: the leader's client went away
	joined    int       // requests that joined the flight after its leader; under the group's mutex
}

// join returns the flight of key, and whether the caller leads it.
func (g *flightGroup) join(key string) (*flight, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		f.joined++
		return f, false
	}
	if g.m == nil {
		g.m = make(map[string]*flight)
	}
	f := &flight{done: make(chan struct{})}
	g.m[key] = f
	return f, true
}

// waiting returns how many requests joined the flight of key in progress.
func (g *flightGroup) waiting(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f.joined
	}
	return 0
}

// finish removes f, whose leader is done, from the group.
func (g *flightGroup) finish(key string, f *flight) {
	g.mu.Lock()
	if g.m[key] == f {
		delete(g.m, key)
	}
	g.mu.Unlock()
}

// settle gives the flight's outcome to its waiters; only the first call counts.
func (f *flight) settle(resp *storedResponse, key string, stored time.Time, abandoned bool) {
	f.once.Do(func() {
		f.resp, f.key, f.stored, f.abandoned = resp, key, stored, abandoned
		close(f.done)
	})
}
