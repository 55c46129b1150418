package httpcache

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/cachette-go/cachette"
)

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

func (h *handler) fetchBytes(ctx context.Context, key string) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.StoreTimeout)
	defer cancel()
	return h.cache.FetchBytes(ctx, key)
}

func (h *handler) corrupt(ctx context.Context, key string, reason error) {
	h.log.WarnContext(ctx, "httpcache: dropping corrupt entry, serving from the handler", "key", key, "error", reason)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.StoreTimeout)
	defer cancel()
	if _, err := h.cache.Clear(sctx, key); err != nil {
		h.storeError(ctx, "clearing", key, err)
	}
}
