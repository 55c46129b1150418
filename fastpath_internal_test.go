package cachette

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends/inmemory"
	"github.com/cachette-go/cachette/codecs"
)

// The read path's shortcut (fastpath.go) accepts only what the general
// path would return as it is: for every entry it accepts, decodeEntry must
// give the same payload, the same expiry, and a header without anything
// the general path would act on (extension block, compression, signature,
// another codec). Entries of every kind, then random corruptions of them.
func TestPlainPayloadAgreesWithDecodeEntry(t *testing.T) {
	const limit = 1 << 10
	exp := time.UnixMilli(time.Now().Add(time.Hour).UnixMilli())
	payload := []byte("payload")
	var entries [][]byte
	for _, h := range []entryHeader{
		{codec: codecs.IDVanilla, expiresAt: exp},
		{codec: codecs.IDJSON, expiresAt: exp},
		{codec: codecRaw, expiresAt: exp},
		{codec: codecs.IDVanilla, expiresAt: exp, compressed: true},
		{codec: codecs.IDVanilla, expiresAt: exp, ext: true, staleWindow: time.Minute},
		{codec: codecs.IDVanilla, expiresAt: exp, ext: true, negative: true},
		{codec: codecs.IDVanilla, expiresAt: exp, ext: true, tags: encodeTags([]taggedVersion{{"t", "1"}})},
		{codec: codecs.IDVanilla, expiresAt: exp, signed: true},
		{codec: codecs.IDVanilla, expiresAt: time.UnixMilli(-1)},
		{codec: codecs.IDVanilla, expiresAt: time.UnixMilli(math.MaxInt64)},
	} {
		entries = append(entries, entryBytes(h, payload))
	}
	entries = append(entries, nil, []byte{entryMagic}, entryBytes(entryHeader{codec: codecs.IDVanilla, expiresAt: exp}, bytes.Repeat([]byte("x"), limit+1)))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		b := bytes.Clone(entries[i%len(entries)])
		if len(b) > 0 {
			b[r.IntN(min(len(b), entryHeaderSize+2))] ^= byte(1 << r.IntN(8))
		}
		entries = append(entries, b)
	}
	for _, b := range entries {
		for _, id := range []byte{codecs.IDVanilla, codecs.IDJSON, codecRaw} {
			got, ms, ok := plainPayload(b, id, limit)
			h, want, err := decodeEntry(b, limit)
			if !ok {
				// A version 1 entry with flags 0 and the codec asked for
				// must take the shortcut, or the shortcut is useless.
				if err == nil && b[3] == 0 && h.codec == id && !h.ext {
					t.Errorf("% x (codec %d): a plain entry left to the general path", b, id)
				}
				continue
			}
			if err != nil {
				t.Errorf("% x (codec %d): shortcut took an entry decodeEntry refuses: %v", b, id, err)
				continue
			}
			if h.ext || h.compressed || h.signed || h.codec != id || h.negative || h.tags != "" || h.staleWindow != 0 {
				t.Errorf("% x (codec %d): shortcut took an entry with %+v", b, id, h)
			}
			if !bytes.Equal(got, want) || !time.UnixMilli(ms).Equal(h.expiresAt) {
				t.Errorf("% x (codec %d): shortcut %q, %d; general %q, %v", b, id, got, ms, want, h.expiresAt)
			}
		}
	}
}

// plainLeft is timeLeft(time.UnixMilli(ms), now) for every ms and now,
// the extremes included.
func TestPlainLeft(t *testing.T) {
	now := time.Now()
	nows := []time.Time{{}, now, time.Unix(0, 0), time.Unix(0, -1), time.UnixMilli(math.MaxInt64), time.Unix(1<<40, 0), time.Unix(-1<<40, 0), now.Round(0)}
	mss := []int64{0, -1, 1, now.UnixMilli(), now.Add(time.Hour).UnixMilli(), now.Add(-time.Hour).UnixMilli(), math.MaxInt64, math.MinInt64, math.MaxInt64 / int64(time.Millisecond), math.MaxInt64/int64(time.Millisecond)/2 + 1}
	for _, n := range nows {
		for _, ms := range mss {
			got := plainLeft(ms, n)
			if n.IsZero() {
				// Against the clock: the two readings differ a little.
				want := time.Until(time.UnixMilli(ms))
				if d := got - want; d > time.Second || d < -time.Second {
					t.Errorf("plainLeft(%d, zero) = %v, want about %v", ms, got, want)
				}
				continue
			}
			if want := time.UnixMilli(ms).Sub(n); got != want {
				t.Errorf("plainLeft(%d, %v) = %v, want %v", ms, n, got, want)
			}
		}
	}
}

// An expired plain entry is a miss through the shortcut too, whether the
// store reported its reading (the in-memory store) or not.
func TestOpenPlainExpired(t *testing.T) {
	ctx := context.Background()
	c, err := NewWithBackend(inmemory.New(inmemory.Options{}), Config{TTL: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	past := time.UnixMilli(time.Now().Add(-time.Second).UnixMilli())
	raw := entryBytes(entryHeader{codec: codecRaw, expiresAt: past}, []byte("v"))
	for _, now := range []time.Time{{}, time.Now()} {
		if _, _, err := c.openEntryAt(ctx, "k", raw, codecRaw, true, now); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired entry (now %v): %v, want ErrNotFound", now, err)
		}
	}
	live := entryBytes(entryHeader{codec: codecRaw, expiresAt: time.UnixMilli(time.Now().Add(time.Minute).UnixMilli())}, []byte("v"))
	p, left, err := c.openEntryAt(ctx, "k", live, codecRaw, true, time.Now())
	if err != nil || string(p) != "v" || left <= 0 || left > time.Minute {
		t.Errorf("live entry: %q, %v, %v", p, left, err)
	}
}
