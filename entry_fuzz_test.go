package cachette

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/cachette-go/cachette/codecs"
	"github.com/cachette-go/cachette/internal/zstdtest"
)

func FuzzDecodeEntry(f *testing.F) {
	exp := time.UnixMilli(1_700_000_000_000)
	for _, c := range []struct {
		codec      byte
		compressed bool
		value      any
	}{
		{codecs.IDVanilla, false, "Hello, World!"},
		{codecs.IDJSON, false, map[string]any{"a": 1, "b": []string{"x"}}},
		{codecs.IDJSON, true, map[string]string{"k": "v"}},
		{codecs.IDGob, false, []int{1, 2, 3}},
		{codecs.IDGob, true, "gob"},
	} {
		codec, ok := codecs.ByID(c.codec)
		if !ok {
			f.Fatalf("codec %d not registered", c.codec)
		}
		payload, err := codec.Encode(c.value)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(entryBytes(entryHeader{codec: c.codec, compressed: c.compressed, expiresAt: exp}, payload))
	}
	f.Add(entryBytes(entryHeader{codec: codecRaw, expiresAt: exp}, nil))
	f.Add([]byte{entryMagic, entryVersion})
	// Extension blocks: a stale window, a negative marker, tags.
	f.Add(entryBytes(entryHeader{codec: codecs.IDJSON, expiresAt: exp, ext: true, staleWindow: time.Minute}, []byte(`"v"`)))
	f.Add(entryBytes(entryHeader{codec: codecs.IDJSON, expiresAt: exp, ext: true, negative: true}, nil))
	f.Add(entryBytes(entryHeader{codec: codecs.IDGob, compressed: true, expiresAt: exp, ext: true, staleWindow: time.Second,
		tags: encodeTags([]taggedVersion{{"users", "0123456789abcdef"}, {"user:1", "v"}})}, []byte("gob")))
	// A load duration (WithEarlyRefresh), alone and with tags.
	f.Add(entryBytes(entryHeader{codec: codecs.IDJSON, expiresAt: exp, ext: true, loadTime: 1500 * time.Microsecond}, []byte(`"v"`)))
	f.Add(entryBytes(entryHeader{codec: codecs.IDJSON, expiresAt: exp, ext: true, staleWindow: time.Minute, loadTime: time.Microsecond,
		tags: encodeTags([]taggedVersion{{"users", "v"}})}, []byte(`"v"`)))
	// 16,398 bytes that used to cost 2.25 GB of allocations to decode.
	f.Add(append(entryBytes(entryHeader{codec: codecRaw, compressed: true, expiresAt: exp}, nil)[:entryHeaderSize], zstdtest.Bomb()...))

	f.Fuzz(func(t *testing.T, data []byte) {
		h, payload, err := decodeEntry(data, DefaultMaxValueSize)
		if err != nil {
			if !errors.Is(err, errCorruptEntry) {
				t.Fatalf("error does not wrap errCorruptEntry: %v", err)
			}
			if payload != nil {
				t.Fatalf("payload returned with the error %v", err)
			}
			return
		}
		again := entryBytes(h, payload)
		if !h.compressed && !bytes.Equal(again, data) {
			t.Fatalf("re-encoding gave % x, want % x", again, data)
		}
		h2, payload2, err := decodeEntry(again, DefaultMaxValueSize)
		if err != nil || h2 != h || !bytes.Equal(payload2, payload) {
			t.Fatalf("decoding our own encoding: %+v, %v; want %+v", h2, err, h)
		}
	})
}
