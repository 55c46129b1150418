package httpcache

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/codecs"
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
	// The vary marker and its epoch (purge.go).
	if err := h.stamp(ctx, base, names, resp); err != nil {
		return base, err
	}
	return key, h.put(ctx, key, h.encode(resp), resp.ttl, resp.tags)
}

// encode returns the stored form of resp, its body compressed the way
// the cache's Config.Compression would compress the value: with "smart"
// (the default), a body of CompressionMinSize bytes or more, kept
// compressed when that saves space; with "all", every body; with
// "disabled", none. A body the handler encoded already (Content-Encoding)
// is not compressed again. The value is stored with
// cachette.Uncompressed, so that the store leaves it as it is: a HIT on a
// hot entry (see hotEntries) then decompresses nothing, where a value
// compressed by the store is decompressed on every read. The price is
// that the header block, a few hundred bytes, is never compressed.
func (h *handler) encode(resp *storedResponse) []byte {
	cfg := h.cache.Config()
	if len(resp.body) == 0 || !codecs.ShouldCompress(cfg.Compression, cfg.CompressionMinSize, len(resp.body)) {
		return encodeResponse(resp)
	}
	if _, encoded := resp.header["Content-Encoding"]; encoded {
		return encodeResponse(resp)
	}
	z := codecs.Compress(nil, resp.body)
	if len(z) >= len(resp.body) && !strings.EqualFold(cfg.Compression, codecs.CompressAll) {
		return encodeResponse(resp)
	}
	return encodeResponseBody(resp, z)
}

// The store calls, each bounded by StoreTimeout. Writes, unlocks and
// clears do not depend on the client staying connected.

// put stores value under key for ttl, with tags, the response tags of a
// response (cachette.WithTags of their coreTag, purge.go).
func (h *handler) put(ctx context.Context, key string, value []byte, ttl time.Duration, tags []string) error {
	opts := []cachette.Option{cachette.WithTTL(ttl), cachette.Uncompressed()}
	if len(tags) > 0 {
		opts = append(opts, cachette.WithTags(h.cfg.coreTags(tags)...))
	}
	if h.local {
		return h.cache.PutBytes(context.WithoutCancel(ctx), key, value, opts...)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.StoreTimeout)
	defer cancel()
	return h.cache.PutBytes(ctx, key, value, opts...)
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
// handler; the first one after the pause tries the store again. A
// StoreTimeout shorter than storePause shortens the pause to it (see
// pauseFor): with a fixed second, the cache came back more than two
// timeouts after the store did.
const storePause = time.Second

// pauseFor is the pause after a store error: storePause, or StoreTimeout
// when that is shorter, so that the store is used again within two
// timeouts of its return (one for a call in flight, one of pause).
func (h *handler) pauseFor() time.Duration {
	return min(storePause, h.cfg.StoreTimeout)
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
		now := time.Now()
		h.lastErr.Store(now.UnixNano())
		h.pausedTo.Store(now.Add(h.pauseFor()).UnixNano())
	}
}

// locksSuspect reports whether a store error happened within the last
// LockTTL: a store lock found taken may then be an orphan, whose holder
// could not release it (its Unlock failed) or never learnt it had it (its
// Lock timed out after the store took it), and nobody will store the
// response its waiters poll for. Without this, the first requests after a
// store came back waited for such locks to expire, up to LockTTL (2 s of
// the default 5 s after a 3 s outage, in the chaos runs).
func (h *handler) locksSuspect() bool {
	last := h.lastErr.Load()
	return last != 0 && time.Now().UnixNano()-last < int64(h.cfg.LockTTL)
}

// logKey shortens a key for the logs: a request can make it very long.
func logKey(key string) string {
	const keep = 256
	if len(key) <= keep {
		return key
	}
	return key[:keep] + "...(" + strconv.Itoa(len(key)) + " bytes)"
}
