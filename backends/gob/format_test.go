package gob

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name        string
		kind        byte
		expires     int64
		prefix, key string
		value       []byte
	}{
		{"empty", kindEntry, 0, "", "", nil},
		{"entry", kindEntry, 1_700_000_000_123, "app", "users:1", []byte("hello")},
		{"negative expiry", kindEntry, -5, "p", "k", []byte{0}},
		{"lock", kindLock, 42, "p", "job", []byte("0123456789abcdef")},
		{"long key", kindEntry, 1, "p", strings.Repeat("k", 300), bytes.Repeat([]byte{0xff}, 70000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := appendRecord(nil, tt.kind, tt.expires, tt.prefix, tt.key, tt.value)
			if len(b) != recordSize(tt.prefix, tt.key, tt.value) {
				t.Fatalf("encoded %d bytes, recordSize says %d", len(b), recordSize(tt.prefix, tt.key, tt.value))
			}
			r, err := decodeRecord(b)
			if err != nil {
				t.Fatal(err)
			}
			if r.kind != tt.kind || r.expires != tt.expires || r.prefix != tt.prefix || r.key != tt.key || !bytes.Equal(r.value, tt.value) {
				t.Fatalf("decoded %+v", r)
			}
			h, err := readHeader(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if h.kind != tt.kind || h.expires != tt.expires || h.prefix != tt.prefix || h.key != tt.key || h.valueLen != uint64(len(tt.value)) {
				t.Fatalf("header %+v", h)
			}
		})
	}
}

// Every truncation and every single-byte change of a file is caught by the
// full decoder; every truncation is caught by the header reader too.
func TestRecordDamage(t *testing.T) {
	b := appendRecord(nil, kindEntry, 1_700_000_000_000, "pfx", "some:key", []byte("the value"))
	for n := 0; n < len(b); n++ {
		if _, err := decodeRecord(b[:n]); !errors.Is(err, errMalformed) {
			t.Errorf("decodeRecord of the first %d bytes: %v, want errMalformed", n, err)
		}
		if _, err := readHeader(bytes.NewReader(b[:n]), int64(n)); !errors.Is(err, errMalformed) {
			t.Errorf("readHeader of the first %d bytes: %v, want errMalformed", n, err)
		}
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x20
		if _, err := decodeRecord(c); !errors.Is(err, errMalformed) {
			t.Errorf("decodeRecord with byte %d changed: %v, want errMalformed", i, err)
		}
	}
	if _, err := decodeRecord(append(bytes.Clone(b), 0)); !errors.Is(err, errMalformed) {
		t.Errorf("decodeRecord with a byte appended: %v, want errMalformed", err)
	}
}

// FuzzDecode feeds arbitrary bytes to both decoders of store files: they
// never panic, and whatever decodes re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(appendRecord(nil, kindEntry, 1_700_000_000_000, "p", "k", []byte("v")))
	f.Add(appendRecord(nil, kindLock, 1, "cachette", "lock", []byte("token")))
	f.Add(appendRecord(nil, kindEntry, 0, "", "", nil))
	f.Add([]byte{})
	f.Add([]byte("CTGB\x01E"))
	f.Add([]byte("CTGB\x01E\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecoders(t, b)
		// The same bytes with a correct checksum, so that the fuzzer
		// reaches the parser behind it.
		if len(b) >= trailerLen {
			fixed := bytes.Clone(b)
			body := fixed[:len(fixed)-trailerLen]
			binary.BigEndian.PutUint32(fixed[len(body):], crc32.Checksum(body, crcTable))
			checkDecoders(t, fixed)
		}
	})
}

func checkDecoders(t *testing.T, b []byte) {
	h, herr := readHeader(bytes.NewReader(b), int64(len(b)))
	r, err := decodeRecord(b)
	if err != nil {
		if !errors.Is(err, errMalformed) {
			t.Fatalf("decodeRecord error %v does not wrap errMalformed", err)
		}
		return
	}
	if again := appendRecord(nil, r.kind, r.expires, r.prefix, r.key, r.value); !bytes.Equal(again, b) {
		t.Fatalf("re-encoding gives different bytes:\n%x\n%x", again, b)
	}
	if herr != nil {
		t.Fatalf("decodeRecord accepts what readHeader rejects: %v", herr)
	}
	if h.kind != r.kind || h.expires != r.expires || h.prefix != r.prefix || h.key != r.key || h.valueLen != uint64(len(r.value)) {
		t.Fatalf("header %+v disagrees with record %+v", h, r)
	}
}
