package cachette_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/codecs"
	"github.com/cachette-go/cachette/internal/zstdtest"
)

// rawEntry builds a stored entry by hand: the 12-byte header (magic,
// version, codec ID, compressed flag, expiry) and payload as given.
func rawEntry(codecID byte, compressed bool, expires time.Time, payload []byte) []byte {
	b := []byte{0xCA, 1, codecID, 0}
	if compressed {
		b[3] = 1
	}
	b = binary.BigEndian.AppendUint64(b, uint64(expires.UnixMilli()))
	return append(b, payload...)
}

// allocated returns how many bytes f allocates (in the whole process; the
// tests of this package do not run in parallel).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileEntryCostIsBounded stores, straight into the store as anyone
// who can write to a shared Redis or memcached could, a 16,398-byte entry
// whose zstd frame declares no content size and holds 4095 run-length
// encoded blocks of 128 KiB. Reading it used to allocate 2.25 GB (the
// decoder grew its output block by block up to 512 MiB); now the frame is
// refused before anything is decompressed.
func TestHostileEntryCostIsBounded(t *testing.T) {
	ctx := context.Background()
	c, logs := newCache(t, cachette.Config{})
	exp := time.Now().Add(time.Hour)
	bomb := zstdtest.Bomb()
	for _, tt := range []struct {
		name  string
		codec byte
		read  func() error
	}{
		{"Fetch", codecs.IDVanilla, func() error { var s string; return c.Fetch(ctx, "k", &s) }},
		{"FetchBytes", 0, func() error { _, _, err := c.FetchBytes(ctx, "k"); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			entry := rawEntry(tt.codec, true, exp, bomb)
			if len(entry) != 16398 {
				t.Fatalf("the entry is %d bytes, want 16398", len(entry))
			}
			if err := c.Backend().Set(ctx, "k", entry, exp); err != nil {
				t.Fatal(err)
			}
			var err error
			n := allocated(func() { err = tt.read() })
			if n > 4<<20 {
				t.Errorf("reading a 16,398-byte entry allocated %d bytes", n)
			}
			if !errors.Is(err, cachette.ErrNotFound) {
				t.Fatalf("reading the entry = %v, want ErrNotFound", err)
			}
			if _, _, err := c.Backend().Get(ctx, "k"); !errors.Is(err, cachette.ErrNotFound) {
				t.Errorf("the entry is still stored: %v", err)
			}
		})
	}
	if !bytes.Contains([]byte(logs.String()), []byte("does not declare its content size")) {
		t.Errorf("the refusal is not logged with its reason: %s", logs)
	}
}

// TestMaxValueSize checks both sides of Config.MaxValueSize: Put refuses
// more, and a stored entry that holds or declares more is a miss whose
// refusal costs next to nothing, while reading a value of the maximum size
// costs a small multiple of it.
func TestMaxValueSize(t *testing.T) {
	const limit = 1 << 20
	ctx := context.Background()
	c, _ := newCache(t, cachette.Config{MaxValueSize: limit, Compression: codecs.CompressAll})
	if got := c.Config().MaxValueSize; got != limit {
		t.Fatalf("Config().MaxValueSize = %d", got)
	}
	if d, _ := newCache(t, cachette.Config{}); d.Config().MaxValueSize != cachette.DefaultMaxValueSize {
		t.Fatalf("default MaxValueSize = %d, want %d", d.Config().MaxValueSize, cachette.DefaultMaxValueSize)
	}

	t.Run("Put", func(t *testing.T) {
		full := bytes.Repeat([]byte{'x'}, limit)
		if err := c.Put(ctx, "v", full); err != nil {
			t.Fatalf("Put of max_value_size bytes: %v", err)
		}
		if err := c.PutBytes(ctx, "b", full); err != nil {
			t.Fatalf("PutBytes of max_value_size bytes: %v", err)
		}
		over := append(full, 'x')
		if err := c.Put(ctx, "v2", over); !errors.Is(err, cachette.ErrTooLarge) {
			t.Fatalf("Put of max_value_size+1 bytes = %v, want ErrTooLarge", err)
		}
		if err := c.PutBytes(ctx, "b2", over); !errors.Is(err, cachette.ErrTooLarge) {
			t.Fatalf("PutBytes of max_value_size+1 bytes = %v, want ErrTooLarge", err)
		}
		if _, _, err := c.Backend().Get(ctx, "v2"); !errors.Is(err, cachette.ErrNotFound) {
			t.Fatalf("a refused value reached the store: %v", err)
		}
	})

	t.Run("read at the limit", func(t *testing.T) {
		var got []byte
		var err error
		n := allocated(func() { err = c.Fetch(ctx, "v", &got) })
		if err != nil || len(got) != limit {
			t.Fatalf("Fetch = %d bytes, %v", len(got), err)
		}
		if n > 4*limit {
			t.Errorf("reading a value of max_value_size bytes allocated %d bytes", n)
		}
	})

	exp := time.Now().Add(time.Hour)
	blocks := limit/zstdtest.BlockSize + 1
	for name, entry := range map[string][]byte{
		"declared beyond the limit": rawEntry(0, true, exp, zstdtest.RLEFrame(blocks, blocks*zstdtest.BlockSize)),
		"two frames beyond it": rawEntry(0, true, exp, append(zstdtest.RLEFrame(blocks-1, (blocks-1)*zstdtest.BlockSize),
			zstdtest.RLEFrame(1, zstdtest.BlockSize)...)),
		"uncompressed beyond it": rawEntry(0, false, exp, make([]byte, limit+1)),
	} {
		t.Run(name, func(t *testing.T) {
			if err := c.Backend().Set(ctx, "k", entry, exp); err != nil {
				t.Fatal(err)
			}
			var err error
			n := allocated(func() { _, _, err = c.FetchBytes(ctx, "k") })
			if !errors.Is(err, cachette.ErrNotFound) {
				t.Fatalf("FetchBytes = %v, want ErrNotFound", err)
			}
			if n > limit/2 {
				t.Errorf("refusing the entry allocated %d bytes", n)
			}
		})
	}
}
