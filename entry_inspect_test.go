package cachette

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestInspectEntry(t *testing.T) {
	ctx := context.Background()
	c, err := New(ctx, Config{Codec: "json", Compression: "all"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := time.Now()
	if err := c.Put(ctx, "k", map[string]int{"a": 1}, WithTTL(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.PutBytes(ctx, "raw", []byte("plain")); err != nil {
		t.Fatal(err)
	}

	raw, _, err := c.Backend().Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	info, err := InspectEntry(raw, 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != 1 || info.Codec != "json" || info.CodecID != 2 || !info.Compressed ||
		string(info.Payload) != `{"a":1}` || info.PayloadSize != 7 || info.StoredSize != len(raw) {
		t.Errorf("InspectEntry = %+v", info)
	}
	if info.ExpiresAt.Before(before.Add(time.Minute).Truncate(time.Millisecond)) || info.ExpiresAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("ExpiresAt = %v, want a minute after %v", info.ExpiresAt, before)
	}

	raw, _, err = c.Backend().Get(ctx, "raw")
	if err != nil {
		t.Fatal(err)
	}
	info, err = InspectEntry(raw, 0)
	if err != nil || info.Codec != CodecRaw || string(info.Payload) != "plain" {
		t.Errorf("InspectEntry(PutBytes entry) = %+v, %v", info, err)
	}
}

func TestInspectEntryMalformed(t *testing.T) {
	good := make([]byte, entryHeaderSize, entryHeaderSize+100)
	putHeader(good, entryHeader{codec: 1, expiresAt: time.UnixMilli(1e12)})
	good = append(good, bytes.Repeat([]byte("x"), 100)...)
	cases := map[string]struct {
		raw   []byte
		limit int
		want  string
	}{
		"empty":    {nil, 0, "shorter than the header"},
		"short":    {good[:5], 0, "shorter than the header"},
		"magic":    {append([]byte{0}, good[1:]...), 0, "bad magic"},
		"version":  {append([]byte{entryMagic, 9}, good[2:]...), 0, "unknown format version 9"},
		"flags":    {append([]byte{entryMagic, 1, 1, 0x80}, good[4:]...), 0, "unknown flags"},
		"too long": {good, 10, "more than max_value_size 10"},
		"bad zstd": {append([]byte{entryMagic, 1, 1, flagCompressed}, good[4:]...), 0, "corrupt entry"},
	}
	for name, tc := range cases {
		info, err := InspectEntry(tc.raw, tc.limit)
		if !errors.Is(err, errCorruptEntry) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: InspectEntry = %+v, %v; want a corrupt entry error with %q", name, info, err, tc.want)
		}
		if info.Payload != nil || info.StoredSize != len(tc.raw) {
			t.Errorf("%s: InspectEntry = %+v, want no payload and StoredSize %d", name, info, len(tc.raw))
		}
	}
}

func FuzzInspectEntry(f *testing.F) {
	good := make([]byte, entryHeaderSize)
	putHeader(good, entryHeader{codec: 2, expiresAt: time.UnixMilli(1e12)})
	f.Add(append(good, `{"a":1}`...))
	f.Fuzz(func(t *testing.T, raw []byte) {
		info, err := InspectEntry(raw, 1<<16)
		if err == nil && len(info.Payload) > 1<<16 {
			t.Fatalf("payload of %d bytes past the limit", len(info.Payload))
		}
	})
}
