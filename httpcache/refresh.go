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
// background refresh: they ask for a partial or conditional answer, or
// tell the cache to stay away, none of which suits a full stored response.
var requestHeadersNotReplayed = []string{
	"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range",
	"Cache-Control", "Pragma",
}

// maybeRefresh starts a background refresh of key when found is in the
// early-refresh window and no refresh of key runs in this process.
func (h *handler) maybeRefresh(r *http.Request, base, key string, found *hit) {
	if !shouldRefresh(found.resp.compute, found.left, h.cfg.MaxPlanningTime, h.cfg.Buffer) {
		return
	}
	if _, running := h.refreshing.LoadOrStore(key, struct{}{}); running {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.RefreshTimeout)
	req := r.Clone(ctx)
	req.Method = http.MethodGet
	req.Body, req.ContentLength = http.NoBody, 0
	for _, k := range requestHeadersNotReplayed {
		req.Header.Del(k)
	}
	vary, _ := varyNames(found.resp.header)
	go func() {
		defer h.refreshing.Delete(key)
		defer cancel()
		h.refresh(req, base, key, vary)
	}()
}

// refresh recomputes key in the background if it takes the store lock and
// the entry is still due, then stores the new response. Clients keep
// getting the old one meanwhile. vary names the request headers the old
// response varied on: the new one is keyed by them too, since the outer
// middlewares that may have set them do not run for a refresh.
func (h *handler) refresh(req *http.Request, base, key string, vary []string) {
	ctx := req.Context()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				return
			}
			h.log.ErrorContext(ctx, "httpcache: handler panicked during a background refresh",
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
	if found != nil && !shouldRefresh(found.resp.compute, found.left, h.cfg.MaxPlanningTime, h.cfg.Buffer) {
		return
	}
	cw := newCaptureWriter(&discardWriter{h: http.Header{}}, h.cfg, false, true)
	cw.vary, cw.release = vary, unlock
	start := time.Now()
	h.next.ServeHTTP(cw.writer(), req)
	elapsed := time.Since(start)
	resp := cw.result()
	if resp == nil || ctx.Err() != nil {
		h.log.DebugContext(ctx, "httpcache: refreshed response not storable, keeping the old one", "key", key)
		return
	}
	resp.compute = elapsed
	if k, err := h.store(ctx, base, req, resp); err != nil {
		h.storeError(ctx, "writing", k, err)
	}
}
