package cachette

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends/inmemory"
	"github.com/cachette-go/cachette/codecs"
)

const testSigningKey = "0123456789abcdef0123456789abcdef"

// TestSignedEntryLayout computes the tag of an entry Put stored with
// crypto/hmac directly, from the layout documented in sign.go.
func TestSignedEntryLayout(t *testing.T) {
	ctx := context.Background()
	c, err := New(ctx, Config{SigningKey: testSigningKey, Prefix: "app", Compression: "disabled"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Put(ctx, "user:1", "Ada"); err != nil {
		t.Fatal(err)
	}
	raw, _, err := c.Backend().Get(ctx, "user:1")
	if err != nil {
		t.Fatal(err)
	}
	body, tag := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	if len(body) != entryHeaderSize+3 || body[3] != flagSigned || string(body[entryHeaderSize:]) != "Ada" {
		t.Fatalf("entry = % x; want a 12-byte header with flags 0x02, the payload, a 32-byte tag", raw)
	}
	m := hmac.New(sha256.New, []byte(testSigningKey))
	m.Write(binary.BigEndian.AppendUint32(nil, 3))
	m.Write([]byte("app"))
	m.Write(binary.BigEndian.AppendUint32(nil, 6))
	m.Write([]byte("user:1"))
	m.Write(body)
	if want := m.Sum(nil); !bytes.Equal(tag, want) {
		t.Fatalf("tag = % x, want % x", tag, want)
	}
}

// TestSignAllocations: signing and checking reuse their HMAC state.
func TestSignAllocations(t *testing.T) {
	if raceBuild {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	s := newSigner(Config{SigningKey: testSigningKey, Prefix: "p"}, inmemory.New(inmemory.Options{}))
	entry := make([]byte, entryHeaderSize, entryHeaderSize+1024+macSize)
	putHeader(entry, entryHeader{codec: codecRaw, expiresAt: time.Now()})
	entry = append(entry, bytes.Repeat([]byte("x"), 1024)...)
	signed := s.sign("some-key", entry)
	if _, err := s.verify("some-key", signed); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := s.verify("some-key", signed); err != nil {
			t.Fatal(err)
		}
	}); n > 0 {
		t.Errorf("verify allocates %v times", n)
	}
}

// FuzzVerifyEntry feeds store bytes to the tag check of a signing cache
// and to the tag split of a cache without a key: neither panics, every
// refusal wraps errCorruptEntry, and what passes decodes like any entry.
func FuzzVerifyEntry(f *testing.F) {
	s := newSigner(Config{SigningKey: testSigningKey, Prefix: "cachette"}, inmemory.New(inmemory.Options{}))
	exp := time.UnixMilli(1_700_000_000_000)
	for _, h := range []entryHeader{
		{codec: codecs.IDVanilla, expiresAt: exp},
		{codec: codecRaw, compressed: true, expiresAt: exp},
	} {
		e := entryBytes(h, []byte("Hello, World!"))
		f.Add("k", e)
		signed := s.sign("k", bytes.Clone(e))
		f.Add("k", signed)
		f.Add("other", signed)
		f.Add("k", signed[:len(signed)-1])
	}
	f.Add("", []byte{entryMagic, entryVersion, 0, flagSigned})
	f.Fuzz(func(t *testing.T, key string, data []byte) {
		body, err := s.verify(key, data)
		if err != nil {
			if !errors.Is(err, errCorruptEntry) || body != nil {
				t.Fatalf("verify = %d bytes, %v; want nil and an error wrapping errCorruptEntry", len(body), err)
			}
		} else {
			if !bytes.Equal(s.sign(key, bytes.Clone(body)), data) {
				t.Fatalf("verify accepted % x, which is not what sign makes of its body", data)
			}
			if _, _, err := decodeEntry(body, DefaultMaxValueSize); err != nil && !errors.Is(err, errCorruptEntry) {
				t.Fatalf("decodeEntry of a verified entry: %v", err)
			}
		}
		body, tag, err := splitTag(data)
		switch {
		case err != nil:
			if !errors.Is(err, errCorruptEntry) || body != nil {
				t.Fatalf("splitTag = %d bytes, %v", len(body), err)
			}
		case tag == nil && !bytes.Equal(body, data),
			tag != nil && (len(tag) != macSize || len(body)+macSize != len(data)):
			t.Fatalf("splitTag(% x) = % x, % x", data, body, tag)
		}
	})
}

// BenchmarkTag measures the tag alone on a 1 KiB payload: sign (Put) and
// verify (Fetch). bench/results/signing.md has the figures.
func BenchmarkTag(b *testing.B) {
	s := newSigner(Config{SigningKey: testSigningKey, Prefix: "cachette"}, inmemory.New(inmemory.Options{}))
	entry := make([]byte, entryHeaderSize, entryHeaderSize+1024+macSize)
	putHeader(entry, entryHeader{codec: codecRaw, expiresAt: time.Now()})
	entry = append(entry, bytes.Repeat([]byte("x"), 1024)...)
	signed := s.sign("key:123", bytes.Clone(entry))
	b.Run("sign/1KiB", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(entry)))
		buf := make([]byte, len(entry), len(entry)+macSize)
		for b.Loop() {
			copy(buf, entry)
			s.sign("key:123", buf[:len(entry)])
		}
	})
	b.Run("verify/1KiB", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(signed)))
		for b.Loop() {
			if _, err := s.verify("key:123", signed); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestSignedTagVersions: the version entries of tags are signed too. An
// invalidated tag's old version, written back into the store by someone
// without the key, would otherwise bring the entries stored before the
// invalidation back to life.
func TestSignedTagVersions(t *testing.T) {
	ctx := context.Background()
	for _, key := range []string{"", testSigningKey} {
		var logs bytes.Buffer
		c, err := New(ctx, Config{SigningKey: key, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Put(ctx, "a", "old", WithTags("t")); err != nil {
			t.Fatal(err)
		}
		raw, _, err := c.store.Get(ctx, tagVersionKey("t"))
		if err != nil {
			t.Fatal(err)
		}
		if signed := raw[3]&flagSigned != 0; signed != (key != "") {
			t.Fatalf("key %q: tag version entry % x, signed %v", key, raw, signed)
		}
		body, _, _ := splitTag(raw)
		_, version, err := decodeEntry(body, maxTagVersionLen)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.InvalidateTags(ctx, "t"); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := c.Fetch(ctx, "a", &s); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Fetch after InvalidateTags = %q, %v", s, err)
		}
		// The old version, written back without the key.
		exp := time.Now().Add(time.Hour)
		planted := make([]byte, entryHeaderSize, entryHeaderSize+len(version))
		planted = append(planted, version...)
		putHeader(planted, entryHeader{codec: codecRaw, expiresAt: exp})
		if err := c.store.Set(ctx, tagVersionKey("t"), planted, exp); err != nil {
			t.Fatal(err)
		}
		err = c.Fetch(ctx, "a", &s)
		if key == "" {
			if err != nil || s != "old" {
				t.Errorf("without a key: Fetch = %q, %v; want the invalidated value back (the threat a key removes)", s, err)
			}
			continue
		}
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("with a key: Fetch = %q, %v; want ErrNotFound", s, err)
		}
		if !strings.Contains(logs.String(), "ignoring a tag version") {
			t.Errorf("the planted version is not logged:\n%s", logs.String())
		}
		// Tags keep working: a new write makes a new, signed version.
		if err := c.Put(ctx, "a", "new", WithTags("t")); err != nil {
			t.Fatal(err)
		}
		if err := c.Fetch(ctx, "a", &s); err != nil || s != "new" {
			t.Errorf("Fetch after a new Put = %q, %v", s, err)
		}
	}
}

// TestSignedNegativeMarker: negative markers are signed, and one planted
// without the key does not stop a load.
func TestSignedNegativeMarker(t *testing.T) {
	ctx := context.Background()
	store := inmemory.New(inmemory.Options{})
	defer store.Close()
	c, err := NewWithBackend(store, Config{SigningKey: testSigningKey, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := NewWithBackend(store, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	loads := 0
	missing := func(context.Context) (string, error) { loads++; return "", ErrNotFound }
	for range 2 {
		if _, err := GetOrLoad(ctx, c, "n", missing, WithNegativeTTL(time.Minute)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetOrLoad = %v, want ErrNotFound", err)
		}
	}
	if loads != 1 {
		t.Fatalf("load ran %d times, want 1 (the signed negative marker is read)", loads)
	}
	if raw, _, err := store.Get(ctx, "n"); err != nil || raw[3]&flagSigned == 0 {
		t.Fatalf("negative marker % x, %v; want a signed entry", raw, err)
	}
	// An unsigned marker, as a cache without the key writes it.
	if _, err := GetOrLoad(ctx, plain, "m", missing, WithNegativeTTL(time.Minute)); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	v, err := GetOrLoad(ctx, c, "m", func(context.Context) (string, error) { return "found", nil }, WithNegativeTTL(time.Minute))
	if err != nil || v != "found" {
		t.Fatalf("GetOrLoad over an unsigned negative marker = %q, %v; want the loaded value", v, err)
	}
}
