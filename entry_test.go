package cachette

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/cachette-go/cachette/codecs"
)

// entryBytes builds a stored entry the way Cache.Put does: the header,
// then the payload, compressed if asked.
func entryBytes(h entryHeader, payload []byte) []byte {
	buf := make([]byte, entryHeaderSize, entryHeaderSize+len(payload))
	if h.ext {
		buf = appendExt(buf, h)
	}
	if h.compressed {
		buf = codecs.Compress(buf, payload)
	} else {
		buf = append(buf, payload...)
	}
	putHeader(buf, h)
	return buf
}

func TestEntryHeaderLayout(t *testing.T) {
	expires := time.UnixMilli(0x0102030405060708)
	b := entryBytes(entryHeader{codec: codecs.IDJSON, compressed: false, expiresAt: expires}, []byte("{}"))
	want := []byte{0xCA, 1, codecs.IDJSON, 0, 1, 2, 3, 4, 5, 6, 7, 8, '{', '}'}
	if !bytes.Equal(b, want) {
		t.Fatalf("entry = % x, want % x", b, want)
	}
	b = entryBytes(entryHeader{codec: codecRaw, compressed: true, expiresAt: expires}, []byte("{}"))
	if b[2] != codecRaw || b[3] != flagCompressed {
		t.Fatalf("codec and flags = % x, want 00 01", b[2:4])
	}
}

func TestEntryRoundTrip(t *testing.T) {
	now := time.Now()
	payloads := map[string][]byte{
		"empty":   {},
		"short":   []byte("hello"),
		"binary":  {0, 0xCA, 0xff, 1},
		"20 KiB":  bytes.Repeat([]byte("cachette "), 20<<10/9),
		"headery": {0xCA, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	}
	expiries := []time.Time{
		now,
		now.Add(time.Hour),
		time.UnixMilli(0),
		time.UnixMilli(-1),
		time.UnixMilli(math.MaxInt64),
		time.UnixMilli(math.MinInt64),
	}
	for name, payload := range payloads {
		for _, codec := range []byte{codecRaw, codecs.IDVanilla, codecs.IDJSON, codecs.IDGob, codecs.IDMsgpack, 255} {
			for _, compressed := range []bool{false, true} {
				for _, exp := range expiries {
					in := entryHeader{codec: codec, compressed: compressed, expiresAt: exp}
					h, got, err := decodeEntry(entryBytes(in, payload), DefaultMaxValueSize)
					if err != nil {
						t.Fatalf("%s, codec %d, compressed %v, expiry %d: %v", name, codec, compressed, exp.UnixMilli(), err)
					}
					if h.codec != codec || h.compressed != compressed || h.expiresAt.UnixMilli() != exp.UnixMilli() {
						t.Fatalf("%s: header %+v, want %+v (to the millisecond)", name, h, in)
					}
					if !bytes.Equal(got, payload) {
						t.Fatalf("%s, compressed %v: payload %q, want %q", name, compressed, got, payload)
					}
				}
			}
		}
	}
}

func TestEntryExpiryIsMilliseconds(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 678_999_999, time.UTC)
	h, _, err := decodeEntry(entryBytes(entryHeader{codec: codecs.IDJSON, expiresAt: exp}, nil), DefaultMaxValueSize)
	if err != nil {
		t.Fatal(err)
	}
	if want := exp.Truncate(time.Millisecond); !h.expiresAt.Equal(want) {
		t.Fatalf("expiry %v, want %v", h.expiresAt, want)
	}
}

func TestDecodeEntryCorrupt(t *testing.T) {
	good := entryBytes(entryHeader{codec: codecs.IDJSON, expiresAt: time.Now()}, []byte(`"x"`))
	with := func(i int, v byte) []byte {
		b := bytes.Clone(good)
		b[i] = v
		return b
	}
	compressedGarbage := bytes.Clone(good)
	compressedGarbage[3] = flagCompressed
	compressedEmpty := bytes.Clone(good[:entryHeaderSize])
	compressedEmpty[3] = flagCompressed
	compressed := entryBytes(entryHeader{codec: codecs.IDJSON, compressed: true, expiresAt: time.Now()}, bytes.Repeat([]byte("ab"), 1000))

	tests := map[string][]byte{
		"nil":                       nil,
		"one byte":                  {0xCA},
		"header minus one":          good[:entryHeaderSize-1],
		"bad magic":                 with(0, 0xCB),
		"zero magic":                with(0, 0),
		"version 0":                 with(1, 0),
		"version 2":                 with(1, 2),
		"unknown flag":              with(3, 0x80),
		"every flag":                with(3, 0xff),
		"compressed garbage":        compressedGarbage,
		"compressed, no payload":    compressedEmpty,
		"compressed, truncated":     compressed[:len(compressed)-4],
		"compressed, trailing junk": append(bytes.Clone(compressed), 1, 2, 3),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			h, payload, err := decodeEntry(b, DefaultMaxValueSize)
			if !errors.Is(err, errCorruptEntry) {
				t.Fatalf("decodeEntry(% x) = %+v, %q, %v; want an error wrapping errCorruptEntry", b, h, payload, err)
			}
			if payload != nil {
				t.Errorf("payload %q returned with the error", payload)
			}
		})
	}
}

func TestDecodeEntryReadsBigEndianExpiry(t *testing.T) {
	b := make([]byte, entryHeaderSize)
	b[0], b[1] = entryMagic, entryVersion
	binary.BigEndian.PutUint64(b[4:], 1_700_000_000_123)
	h, payload, err := decodeEntry(b, DefaultMaxValueSize)
	if err != nil {
		t.Fatal(err)
	}
	if h.expiresAt.UnixMilli() != 1_700_000_000_123 || len(payload) != 0 || h.codec != codecRaw || h.compressed {
		t.Fatalf("got %+v, %q", h, payload)
	}
}
