package httpcache

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"time"
)

// skip applies the request policy, in this order: a request bypassed
// (WithBypass, Options.BypassHeader) skips the cache as BYPASS; one the
// cache must not answer (noCache: a method other than GET and HEAD, a
// no-cache or no-store request) as NO-CACHE; one with credentials
// (Authorization, Cookie, unless allowed) or an Upgrade, whose response
// may be the user's own or a protocol switch, as MISS, and so is any
// request while the store is paused after an error (see storeError).
func (h *handler) skip(r *http.Request) (status string, skip bool) {
	if h.bypass(r) {
		return StatusBypass, true
	}
	if noCache(r) {
		return StatusNoCache, true
	}
	if !h.cfg.AllowAuthorized && headerGet(r.Header, "Authorization") != "" ||
		!h.cfg.AllowCookies && headerGet(r.Header, "Cookie") != "" ||
		headerGet(r.Header, "Upgrade") != "" {
		// The response may be the user's own, or a protocol switch.
		return StatusMiss, true
	}
	if p := h.pausedTo.Load(); p != 0 && time.Now().UnixNano() < p {
		return StatusMiss, true
	}
	return "", false
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
