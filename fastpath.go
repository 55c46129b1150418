package cachette

import (
	"encoding/binary"
	"math"
	"time"
)

// The read path's shortcut for the commonest entry: version 1 header, flags
// byte 0 (not compressed, not signed, no extension block: no tags, no stale
// window, not a negative marker), the codec asked for, a payload within
// max_value_size. Such an entry is exactly its 12-byte header and its
// payload, and the general path (verifySigned, decodeEntry, checkEntry,
// openEntryAt) would return that payload and nothing else; the shortcut
// returns it without building an entryHeader or reading the expiry unless
// the time left is wanted. Anything else (a signing cache, other flags,
// malformed bytes) takes the general path, which drops and logs what it
// must.

// plainPayload returns the payload of raw and its expiry in Unix
// milliseconds when raw is such an entry for codecID.
func plainPayload(raw []byte, codecID byte, limit int) (payload []byte, expiresMs int64, ok bool) {
	if len(raw) < entryHeaderSize || raw[0] != entryMagic || raw[1] != entryVersion || raw[2] != codecID || raw[3] != 0 {
		return nil, 0, false
	}
	payload = raw[entryHeaderSize:]
	if len(payload) > limit {
		return nil, 0, false
	}
	return payload, int64(binary.BigEndian.Uint64(raw[4:entryHeaderSize])), true
}

// openPlain is openEntryAt's shortcut: done is false when raw must take
// the general path. An expired entry is ErrNotFound, as there.
func (c *Cache) openPlain(raw []byte, codecID byte, wantTTL bool, now time.Time) (payload []byte, left time.Duration, done bool, err error) {
	if c.signer != nil {
		return nil, 0, false, nil
	}
	payload, ms, ok := plainPayload(raw, codecID, c.cfg.MaxValueSize)
	if !ok {
		return nil, 0, false, nil
	}
	if !wantTTL {
		// Stores do not return entries past their store expiry, which is
		// the entry's own when there is no stale window (openEntryAt).
		return payload, 0, true, nil
	}
	if left = plainLeft(ms, now); left <= 0 {
		return nil, 0, true, ErrNotFound
	}
	return payload, left, true, nil
}

// plainLeft is timeLeft(time.UnixMilli(ms), now), in integer nanoseconds
// when now is known and nothing can overflow (building two times and
// subtracting them is a good part of an in-memory hit).
func plainLeft(ms int64, now time.Time) time.Duration {
	const maxMs = math.MaxInt64 / int64(time.Millisecond) / 2 // about the year 2116: room for the subtraction
	if now.IsZero() || ms < 0 || ms > maxMs {
		return timeLeft(time.UnixMilli(ms), now)
	}
	n := now.UnixNano()
	if n < 0 || n > maxMs*int64(time.Millisecond) {
		return timeLeft(time.UnixMilli(ms), now)
	}
	return time.Duration(ms*int64(time.Millisecond) - n)
}
