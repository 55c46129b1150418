package cachette_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
	"github.com/cachette-go/cachette/internal/zstdtest"
)

const (
	keyA = "0123456789abcdef0123456789abcdef-A" // test signing keys, 34 bytes
	keyB = "0123456789abcdef0123456789abcdef-B"
)

// withTag returns entry with the signed flag set and tag appended.
func withTag(entry, tag []byte) []byte {
	b := append([]byte(nil), entry...)
	b[3] |= 0x02
	return append(b, tag...)
}

// sharedCaches returns a function that opens caches on one in-memory
// store, as processes sharing a Redis would, each with its own Config.
func sharedCaches(t *testing.T) func(cfg cachette.Config) (*cachette.Cache, *syncBuffer) {
	store := inmemory.New(inmemory.Options{})
	t.Cleanup(func() { _ = store.Close() })
	return func(cfg cachette.Config) (*cachette.Cache, *syncBuffer) {
		t.Helper()
		logs := &syncBuffer{}
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
		c, err := cachette.NewWithBackend(sharedStore{store}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c, logs
	}
}

// sharedStore lets several caches share one store.
type sharedStore struct{ backends.Backend }

func (sharedStore) Close() error { return nil }

// reader is a cache and its logs.
type reader struct {
	c    *cachette.Cache
	logs *syncBuffer
}

// TestSignedEntryRefused alters a signed entry in every way an attacker
// with write access to the store could, and reads it back: each is a
// miss, logged as not authenticated, and removed, and none is
// decompressed.
func TestSignedEntryRefused(t *testing.T) {
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	open := sharedCaches(t)
	opened := func(cfg cachette.Config) reader { c, logs := open(cfg); return reader{c, logs} }
	a := opened(cachette.Config{SigningKey: keyA})
	b := opened(cachette.Config{SigningKey: keyB})
	unsigned := opened(cachette.Config{})
	otherPrefix := opened(cachette.Config{SigningKey: keyA, Prefix: "other"})

	// signed returns the stored bytes of value put under key by c.
	signed := func(c reader, key, value string) []byte {
		t.Helper()
		if err := c.c.Put(ctx, key, value); err != nil {
			t.Fatal(err)
		}
		raw, _, err := c.c.Backend().Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte(nil), raw...)
	}
	flip := func(b []byte, i int) []byte {
		b = append([]byte(nil), b...)
		if i < 0 {
			i += len(b)
		}
		b[i] ^= 0x01
		return b
	}
	good := signed(a, "k", "genuine")
	if len(good) != 12+len("genuine")+32 || good[3] != 0x02 {
		t.Fatalf("a signed entry is % x; want flags 0x02 and a 32-byte tag after the payload", good)
	}
	var s string
	if err := a.c.Fetch(ctx, "k", &s); err != nil || s != "genuine" {
		t.Fatalf("Fetch of a signed entry = %q, %v", s, err)
	}
	bomb := withTag(rawEntry(0, true, exp, zstdtest.Bomb()), make([]byte, 32))

	for _, tt := range []struct {
		name   string
		reader reader
		key    string
		stored func() []byte
	}{
		{"signed with another key", b, "k", func() []byte { return signed(a, "k", "by a") }},
		{"moved to another key", a, "k2", func() []byte { return signed(a, "k", "for k") }},
		{"copied to another prefix", otherPrefix, "k", func() []byte { return signed(a, "k", "for prefix cachette") }},
		{"not signed", a, "k", func() []byte { return signed(unsigned, "k", "unsigned") }},
		{"tag cut by one byte", a, "k", func() []byte { return good[:len(good)-1] }},
		{"tag cut off, flag left", a, "k", func() []byte { return good[:len(good)-32] }},
		{"tag cut off, flag cleared", a, "k", func() []byte { b := append([]byte(nil), good[:len(good)-32]...); b[3] = 0; return b }},
		{"only a header and a tag", a, "k", func() []byte { return withTag(good[:12], make([]byte, 32)) }},
		{"signed flag, too short for a tag", a, "k", func() []byte { return good[:12+10] }},
		{"payload altered", a, "k", func() []byte { return flip(good, 12) }},
		{"expiry altered", a, "k", func() []byte { return flip(good, 11) }},
		{"codec altered", a, "k", func() []byte { return flip(good, 2) }},
		{"tag altered", a, "k", func() []byte { return flip(good, -1) }},
		{"a byte inserted before the tag", a, "k", func() []byte {
			body, tag := good[:len(good)-32], good[len(good)-32:]
			return append(append(append([]byte(nil), body...), 'x'), tag...)
		}},
		{"FetchBytes: zstd bomb with a made-up tag", a, "k", func() []byte { return bomb }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.stored()
			if err := a.c.Backend().Set(ctx, tt.key, raw, exp); err != nil {
				t.Fatal(err)
			}
			before := strings.Count(tt.reader.logs.String(), "not authenticated")
			var err error
			var s string
			if strings.HasPrefix(tt.name, "FetchBytes") {
				n := allocated(func() { _, _, err = tt.reader.c.FetchBytes(ctx, tt.key) })
				if n > 1<<20 {
					t.Errorf("refusing a %d-byte entry allocated %d bytes", len(raw), n)
				}
			} else {
				err = tt.reader.c.Fetch(ctx, tt.key, &s)
			}
			if !errors.Is(err, cachette.ErrNotFound) {
				t.Fatalf("Fetch = %q, %v; want ErrNotFound", s, err)
			}
			if after := strings.Count(tt.reader.logs.String(), "not authenticated"); after != before+1 {
				t.Errorf("the refusal is not logged as not authenticated:\n%s", tt.reader.logs)
			}
			if _, _, err := a.c.Backend().Get(ctx, tt.key); !errors.Is(err, cachette.ErrNotFound) {
				t.Errorf("the refused entry is still stored: %v", err)
			}
		})
	}
	if l := a.logs.String(); strings.Contains(l, "content size") || strings.Contains(l, "zstd") {
		t.Errorf("an unauthenticated entry was decompressed:\n%s", l)
	}
}

// TestSigningKeyRotation: with "new,old", entries signed with either key
// are read, and new entries are signed with the first; a cache that has
// only the old key refuses them.
func TestSigningKeyRotation(t *testing.T) {
	ctx := context.Background()
	open := sharedCaches(t)
	old, _ := open(cachette.Config{SigningKey: keyA})
	rotated, _ := open(cachette.Config{SigningKey: keyB + "," + keyA})
	newOnly, _ := open(cachette.Config{SigningKey: keyB})

	if err := old.Put(ctx, "o", "by the old key"); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := rotated.Fetch(ctx, "o", &s); err != nil || s != "by the old key" {
		t.Fatalf("rotated Fetch of an old-key entry = %q, %v", s, err)
	}
	if err := rotated.Put(ctx, "n", "by the new key"); err != nil {
		t.Fatal(err)
	}
	if err := newOnly.Fetch(ctx, "n", &s); err != nil || s != "by the new key" {
		t.Fatalf("new-key Fetch of a rotated entry = %q, %v", s, err)
	}
	if err := old.Fetch(ctx, "n", &s); !errors.Is(err, cachette.ErrNotFound) {
		t.Fatalf("old-key Fetch of a new-key entry = %q, %v; want ErrNotFound", s, err)
	}
}

// TestUnsignedCacheReadsSignedEntries: a cache without a key does not
// check tags (it authenticates nothing), but it reads signed entries
// rather than taking the tag for payload bytes.
func TestUnsignedCacheReadsSignedEntries(t *testing.T) {
	ctx := context.Background()
	open := sharedCaches(t)
	signer, _ := open(cachette.Config{SigningKey: keyA, Compression: "all"})
	plain, _ := open(cachette.Config{})
	for _, v := range []string{"short", strings.Repeat("long ", 1000)} {
		if err := signer.Put(ctx, "k", v); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := plain.Fetch(ctx, "k", &s); err != nil || s != v {
			t.Fatalf("Fetch without a key of a signed entry = %.20q, %v; want %.20q", s, err, v)
		}
	}
	raw, _, err := plain.Backend().Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cachette.InspectEntry(raw, 0)
	if err != nil || !info.Signed || !info.Compressed || info.PayloadSize != 5000 {
		t.Errorf("InspectEntry of a signed entry = %+v, %v; want Signed, Compressed, PayloadSize 5000", info, err)
	}
}

func TestSigningKeyConfig(t *testing.T) {
	short := "0123456789abcdef0123456789abcde" // 31 bytes
	for _, tt := range []struct {
		name  string
		value string
		want  string // "" = valid
	}{
		{"32 bytes", short + "f", ""},
		{"two keys", keyA + "," + keyB, ""},
		{"two keys, spaces", " " + keyA + " , " + keyB + " ", ""},
		{"31 bytes", short, `The "signing_key" must be at least 32 bytes long`},
		{"empty", "", `The "signing_key" cannot be empty when given`},
		{"blank", "   ", `The "signing_key" cannot be empty when given`},
		{"second key short", keyA + "," + short, `The "signing_key" holds 2 comma-separated keys; key 2 is not at least 32 bytes long`},
		{"trailing comma", keyA + ",", `The "signing_key" holds 2 comma-separated keys; key 2 is not at least 32 bytes long`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := cachette.LoadConfig([][2]string{{"signing_key", tt.value}})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("LoadConfig = %v", err)
				}
				if cfg.SigningKey != strings.TrimSpace(tt.value) {
					t.Errorf("SigningKey = %q", cfg.SigningKey)
				}
				return
			}
			if !errors.Is(err, cachette.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadConfig = %v; want %s", err, tt.want)
			}
			if strings.TrimSpace(tt.value) != "" && strings.Contains(err.Error(), strings.TrimSpace(strings.Split(tt.value, ",")[0])) {
				t.Errorf("the error quotes the key: %v", err)
			}
		})
	}

	t.Run("Validate", func(t *testing.T) {
		for _, v := range []string{short, " ", keyA + ",,"} {
			err := cachette.Config{SigningKey: v}.Validate()
			if !errors.Is(err, cachette.ErrInvalidConfig) || !strings.Contains(err.Error(), `"signing_key"`) {
				t.Errorf("Validate(SigningKey of %d bytes) = %v", len(v), err)
			}
			if _, err := cachette.New(context.Background(), cachette.Config{SigningKey: v}); err == nil {
				t.Errorf("New accepted a SigningKey of %d bytes", len(v))
			}
		}
	})

	t.Run("environment", func(t *testing.T) {
		t.Setenv("CACHETTE_SIGNING_KEY", keyB+","+keyA)
		cfg, err := cachette.ConfigFromEnv("CACHETTE_")
		if err != nil || cfg.SigningKey != keyB+","+keyA {
			t.Fatalf("ConfigFromEnv = %q, %v", cfg.SigningKey, err)
		}
		t.Setenv("CACHETTE_SIGNING_KEY", "too short")
		_, err = cachette.ConfigFromEnv("CACHETTE_")
		if err == nil || !strings.Contains(err.Error(), `"signing_key"`) || strings.Contains(err.Error(), "too short") {
			t.Fatalf("ConfigFromEnv with a short key = %v; want an error naming signing_key without its value", err)
		}
	})
}

// TestVerifyEntry: what tools reading Backend().Get learn from VerifyEntry
// matches what Fetch does.
func TestVerifyEntry(t *testing.T) {
	ctx := context.Background()
	open := sharedCaches(t)
	a, _ := open(cachette.Config{SigningKey: keyA})
	b, _ := open(cachette.Config{SigningKey: keyB})
	plain, _ := open(cachette.Config{})
	if err := a.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	raw, _, err := a.Backend().Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.VerifyEntry("k", raw); err != nil {
		t.Errorf("VerifyEntry by the signer = %v", err)
	}
	if err := plain.VerifyEntry("k", raw); err != nil {
		t.Errorf("VerifyEntry without a key = %v, want nil (nothing is checked)", err)
	}
	if err := a.VerifyEntry("k2", raw); err == nil || !strings.Contains(err.Error(), "not authenticated") {
		t.Errorf("VerifyEntry under another key = %v", err)
	}
	if err := b.VerifyEntry("k", raw); err == nil || strings.Contains(err.Error(), keyA) || strings.Contains(err.Error(), keyB) {
		t.Errorf("VerifyEntry with another signing key = %v", err)
	}
}
