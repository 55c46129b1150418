package httpcache

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// shouldRefresh is cachemate's early-refresh rule: an entry whose last
// computation took compute and that has remaining left is refreshed when
//
//	compute < remaining <= compute*buffer + min(3*compute, maxPlanning)
//
// so a refresh starts early enough to finish before the entry expires,
// but not so early that it wastes work.
func shouldRefresh(compute, remaining, maxPlanning time.Duration, buffer float64) bool {
	if compute <= 0 || maxPlanning < 0 {
		return false
	}
	window := time.Duration(float64(compute)*buffer) + min(3*compute, maxPlanning)
	return compute < remaining && remaining <= window
}

// requestHeadersNotReplayed are dropped from a request replayed for a
// refresh: they ask for a partial or conditional answer, or
// tell the cache to stay away, none of which suits a full stored response.
var requestHeadersNotReplayed = []string{
	"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range",
	"Cache-Control", "Pragma",
}

// refreshDue reports whether found should be recomputed: it is stale
// (served within its stale-while-revalidate window), or fresh but within
// the early-refresh window.
func (h *handler) refreshDue(found *hit) bool {
	return !found.fresh() || shouldRefresh(found.resp.compute, found.freshLeft(), h.cfg.MaxPlanningTime, h.cfg.Buffer)
}

// refreshAfter refreshes key, whose stored response found has just been
// written to w, when no refresh of key runs in this process. It runs on
// the request's own goroutine, after the response was flushed (a HIT and a
// STALE carry their Content-Length, so the client has all of it), with a
// context that keeps the request's values but not its cancellation,
// bounded by RefreshTimeout. Running before ServeHTTP returns keeps the
// request's state valid: routers recycle per-request state (chi's route
// context, gin's and echo's contexts) once the handler returns, so a
// goroutine left behind could run the handler with another request's
// state. The price is that the connection stays busy until the refresh
// ends.
func (h *handler) refreshAfter(w http.ResponseWriter, r *http.Request, base, key string, found *hit) {
	if _, running := h.refreshing.LoadOrStore(key, struct{}{}); running {
		return
	}
	defer h.refreshing.Delete(key)
	_ = http.NewResponseController(w).Flush() // a writer that cannot flush sends it all at the end
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.RefreshTimeout)
	defer cancel()
	req := r.Clone(ctx)
	req.Method = http.MethodGet
	req.Body, req.ContentLength = http.NoBody, 0
	for _, k := range requestHeadersNotReplayed {
		req.Header.Del(k)
	}
	h.refresh(req, base, key, found.resp)
}

// refresh recomputes key if it takes the store lock and the entry is
// still due, then stores the new response. Clients keep getting the old
// one meanwhile. The request is conditional when old has validators of
// the handler's, and a 304 freshens old (RFC 9111 §4.3.4); a response
// that cannot be stored (a 5xx, say) leaves old as it is. The new
// response is keyed by the request headers old varied on too, since the
// outer middlewares that may have set its Vary do not see a refresh.
func (h *handler) refresh(req *http.Request, base, key string, old *storedResponse) {
	ctx := req.Context()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				return
			}
			h.log.ErrorContext(ctx, "httpcache: handler panicked during a refresh",
				"key", key, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	tok, ok, err := h.lock(ctx, key)
	if err != nil {
		h.storeError(ctx, "locking", key, err)
		return
	}
	if !ok {
		return // another request, maybe in another process, refreshes it
	}
	unlock := sync.OnceFunc(func() { h.unlock(ctx, key, tok) })
	defer unlock()
	// Another process may have refreshed it between our read and the lock.
	found, _, err := h.lookup(ctx, base, req)
	if err != nil {
		h.storeError(ctx, "reading", key, err)
		return
	}
	if found != nil {
		if !h.refreshDue(found) {
			return
		}
		old = found.resp
	}
	cond := old != nil && hasValidator(old.header, old.genETag)
	if cond {
		setValidators(req.Header, old)
	}
	vary, _ := varyNames(old.header)
	cw := newCaptureWriter(&discardWriter{h: http.Header{}}, h.cfg, false, true)
	cw.vary, cw.release, cw.cond = vary, unlock, cond
	start := time.Now()
	h.next.ServeHTTP(cw.writer(), req)
	elapsed := time.Since(start)
	var resp *storedResponse
	if cw.intercepted == http.StatusNotModified {
		resp, ok = h.freshen(old, cw.interHeader, time.Now())
		if !ok {
			resp = nil
		}
	} else if resp = cw.result(); resp != nil {
		resp.compute = elapsed
	}
	if resp == nil || ctx.Err() != nil {
		h.log.DebugContext(ctx, "httpcache: refreshed response not storable, keeping the old one", "key", key)
		return
	}
	if k, err := h.store(ctx, base, req, resp); err != nil {
		h.storeError(ctx, "writing", k, err)
	}
}
