package httpcache

import (
	"bytes"
	"context"
	"errors"
	"hash/maphash"
	"net/http"
	"sync/atomic"
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
		e = current(e, "") // a vary marker's epoch of a response stored with Vary before (purge.go)
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
		e = current(e, epoch) // purged URL (purge.go); purged tags are misses of fetch
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
	e, err := h.hot.decode(key, raw, h.maxValue)
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
	if h.local {
		return h.cache.FetchBytes(ctx, key)
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.StoreTimeout)
	defer cancel()
	return h.cache.FetchBytes(ctx, key)
}

func (h *handler) corrupt(ctx context.Context, key string, reason error) {
	h.log.WarnContext(ctx, "httpcache: dropping corrupt entry, serving from the handler", "key", logKey(key), "error", reason)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.StoreTimeout)
	defer cancel()
	if _, err := h.cache.Clear(sctx, key); err != nil {
		h.storeError(ctx, "clearing", key, err)
	}
}

// hotEntries keeps the decoded form of the responses read last, so that a
// HIT on a hot entry neither parses its headers nor decompresses its body
// again. It is a direct-mapped table: the slot of a key is a hash of it,
// and a slot holds one key, the stored bytes it was decoded from and the
// decoded response. A read of the store still comes first (so a purge, an
// expiry or another process's write is seen at once); its bytes are
// compared with those of the slot: the same slice (the in-memory store
// hands out the slice it holds, which it never changes) or equal bytes
// (a remote store). A decoded response is shared by every request that
// finds it, and never changed (serveHit copies its header values).
//
// Memory: at most hotSlots responses whose body is at most hotMaxBody
// bytes, with their stored bytes (for the in-memory store, the store's
// own slice); about 16 MiB at worst.
type hotEntries struct {
	seed  maphash.Seed
	slots [hotSlots]atomic.Pointer[hotEntry]
}

const (
	hotSlots   = 256
	hotMaxBody = 32 << 10
)

type hotEntry struct {
	key string
	raw []byte
	e   entry
}

// decode returns decodeEntryLimit(raw, limit), from the table when raw is
// what key was decoded from last.
func (t *hotEntries) decode(key string, raw []byte, limit int) (entry, error) {
	slot := &t.slots[maphash.String(t.seed, key)%hotSlots]
	if he := slot.Load(); he != nil && he.key == key && sameBytes(he.raw, raw) {
		return he.e, nil
	}
	e, err := decodeEntryLimit(raw, limit)
	if err == nil && e.resp != nil && len(e.resp.body) <= hotMaxBody {
		slot.Store(&hotEntry{key: key, raw: raw, e: e})
	}
	return e, err
}

// sameBytes reports whether a and b hold the same bytes, at once when
// they are the same slice.
func sameBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	return bytes.Equal(a, b)
}
