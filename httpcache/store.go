package httpcache

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
)

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

// The store calls, each bounded by StoreTimeout. Writes, unlocks and
// clears do not depend on the client staying connected.

func (h *handler) put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.StoreTimeout)
	defer cancel()
	return h.cache.PutBytes(ctx, key, value, cachette.WithTTL(ttl))
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

// storePause is how long the middleware leaves the store alone after a
// store error, so that a store that is down costs one timeout per pause
// rather than one per request. Requests meanwhile are MISSes served by the
// handler; the first one after the pause tries the store again.
const storePause = time.Second

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
