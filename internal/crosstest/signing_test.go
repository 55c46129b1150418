package crosstest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/codecs"
	"github.com/cachette-go/cachette/httpcache"
)

// signingKey is the test's Config.SigningKey (at least 32 bytes).
const signingKey = "crosstest-signing-key-0123456789abcdef"

// plantTarget is a store that a test reads and writes the way anyone with
// access to it could: with a plain client of the server, not through
// cachette.
type plantTarget struct {
	name string
	// config returns the Config of a cache on the store, on prefix.
	config func(t *testing.T, prefix string) cachette.Config
	// read returns the cachette entry (header, payload, tag) stored
	// under the cache key key of c.
	read func(t *testing.T, c *cachette.Cache, key string) []byte
	// plant stores the cachette entry under the cache key key of c, for
	// a minute.
	plant func(t *testing.T, c *cachette.Cache, key string, entry []byte)
}

var plantTargets = []plantTarget{
	{
		name: "inmemory",
		config: func(t *testing.T, prefix string) cachette.Config {
			return cachette.Config{Prefix: prefix}
		},
		read: func(t *testing.T, c *cachette.Cache, key string) []byte {
			b, _, err := c.Backend().Get(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			return bytes.Clone(b)
		},
		plant: func(t *testing.T, c *cachette.Cache, key string, entry []byte) {
			if err := c.Backend().Set(context.Background(), key, entry, time.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		},
	},
	{
		// The redis store keeps "prefix:key" = an 8-byte big-endian
		// expiry in Unix milliseconds, then the entry.
		name: "redis",
		config: func(t *testing.T, prefix string) cachette.Config {
			url := backendtest.ServerEnv(t, "CACHETTE_TEST_REDIS_URL")
			return cachette.Config{Backend: "redis", RedisURL: url, Prefix: prefix, Timeout: 10 * time.Second}
		},
		read: func(t *testing.T, c *cachette.Cache, key string) []byte {
			rdb := redisClient(t, c)
			b, err := rdb.Get(context.Background(), c.Config().Prefix+":"+key).Bytes()
			if err != nil || len(b) < 8 {
				t.Fatalf("GET: %d bytes, %v", len(b), err)
			}
			return b[8:]
		},
		plant: func(t *testing.T, c *cachette.Cache, key string, entry []byte) {
			rdb := redisClient(t, c)
			v := binary.BigEndian.AppendUint64(nil, uint64(time.Now().Add(time.Minute).UnixMilli()))
			if err := rdb.Set(context.Background(), c.Config().Prefix+":"+key, append(v, entry...), time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		},
	},
	{
		// The memcached store keeps "prefix:<generation>:key", with the
		// generation under "prefix:!gen", holding a version byte (1), an
		// 8-byte big-endian expiry in Unix milliseconds, then the entry.
		name: "memcached",
		config: func(t *testing.T, prefix string) cachette.Config {
			host := backendtest.ServerEnv(t, "CACHETTE_TEST_MEMCACHED_HOST")
			return cachette.Config{Backend: "memcached", MemcachedHost: host, Prefix: prefix, Timeout: 10 * time.Second}
		},
		read: func(t *testing.T, c *cachette.Cache, key string) []byte {
			mc, item := memcachedClient(t, c), memcachedKey(t, c, key)
			it, err := mc.Get(item)
			if err != nil || len(it.Value) < 9 {
				t.Fatalf("get: %v", err)
			}
			return it.Value[9:]
		},
		plant: func(t *testing.T, c *cachette.Cache, key string, entry []byte) {
			mc, item := memcachedClient(t, c), memcachedKey(t, c, key)
			v := binary.BigEndian.AppendUint64([]byte{1}, uint64(time.Now().Add(time.Minute).UnixMilli()))
			if err := mc.Set(&memcache.Item{Key: item, Value: append(v, entry...), Expiration: 60}); err != nil {
				t.Fatal(err)
			}
		},
	},
}

func redisClient(t *testing.T, c *cachette.Cache) *goredis.Client {
	opts, err := goredis.ParseURL(c.Config().RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func memcachedClient(t *testing.T, c *cachette.Cache) *memcache.Client {
	mc := memcache.New(strings.Split(c.Config().MemcachedHost, ",")...)
	t.Cleanup(func() { _ = mc.Close() })
	return mc
}

// memcachedKey is the server key of the cache key key (a short prefix
// and key, stored as they are).
func memcachedKey(t *testing.T, c *cachette.Cache, key string) string {
	prefix := c.Config().Prefix
	gen, err := memcachedClient(t, c).Get(prefix + ":!gen")
	if err != nil {
		t.Fatalf("reading the generation (the cache writes it on first use): %v", err)
	}
	if _, err := strconv.ParseUint(string(gen.Value), 10, 64); err != nil {
		t.Fatalf("generation %q: %v", gen.Value, err)
	}
	return prefix + ":" + string(gen.Value) + ":" + key
}

// syncBuffer collects log output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// openTarget opens a cache on target, on a fresh prefix, with SigningKey
// key, logging into the returned buffer, and recording the keys it
// stores into.
func openTarget(t *testing.T, target plantTarget, key string) (*cachette.Cache, *syncBuffer, *setKeys) {
	t.Helper()
	cfg := target.config(t, strings.ReplaceAll(backendtest.NewPrefix(), ":", ""))
	cfg.SigningKey = key
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	keys := &setKeys{}
	cfg.Observer = keys
	c, err := cachette.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Flush(context.Background())
		_ = c.Close()
	})
	return c, logs, keys
}

// setKeys is an Observer that records the keys the cache stores into.
type setKeys struct {
	cachette.NopObserver
	mu   sync.Mutex
	keys []string
}

func (o *setKeys) WrapStore(_ string, store backends.Backend) backends.Backend {
	return recordingStore{store, o}
}

func (o *setKeys) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.keys)
}

type recordingStore struct {
	backends.Backend
	o *setKeys
}

func (s recordingStore) Set(ctx context.Context, key string, value []byte, exp time.Time) error {
	s.o.mu.Lock()
	if !slices.Contains(s.o.keys, key) {
		s.o.keys = append(s.o.keys, key)
	}
	s.o.mu.Unlock()
	return s.Backend.Set(ctx, key, value, exp)
}

func (s recordingStore) Unwrap() backends.Backend { return s.Backend }

// rawEntry is a cachette entry: magic, version 1, codec ID, flags 0,
// expiry in Unix milliseconds, payload.
func rawEntry(codecID byte, payload string) []byte {
	b := []byte{0xCA, 1, codecID, 0}
	b = binary.BigEndian.AppendUint64(b, uint64(time.Now().Add(time.Minute).UnixMilli()))
	return append(b, payload...)
}

// TestPlantedEntry writes an entry into a cache's key with a plain client
// of the store. Without a signing key the cache serves it: anyone who can
// write to a shared Redis or memcached chooses what the cache returns.
// With Config.SigningKey it is a miss, logged and removed, and GetOrLoad
// loads the genuine value.
func TestPlantedEntry(t *testing.T) {
	ctx := context.Background()
	for _, target := range plantTargets {
		t.Run(target.name, func(t *testing.T) {
			t.Run("without a key it is served", func(t *testing.T) {
				c, _, _ := openTarget(t, target, "")
				if err := c.Put(ctx, "k", "genuine"); err != nil {
					t.Fatal(err)
				}
				target.plant(t, c, "k", rawEntry(codecs.IDVanilla, "planted"))
				var s string
				if err := c.Fetch(ctx, "k", &s); err != nil || s != "planted" {
					t.Fatalf("Fetch = %q, %v; want the planted value (the threat a signing key removes)", s, err)
				}
			})
			t.Run("with a key it is a miss", func(t *testing.T) {
				c, logs, _ := openTarget(t, target, signingKey)
				if err := c.Put(ctx, "k", "genuine"); err != nil {
					t.Fatal(err)
				}
				var s string
				if err := c.Fetch(ctx, "k", &s); err != nil || s != "genuine" {
					t.Fatalf("Fetch of a signed entry = %q, %v", s, err)
				}
				signed := target.read(t, c, "k")
				altered := bytes.Replace(signed, []byte("genuine"), []byte("planted"), 1)
				for name, entry := range map[string][]byte{
					"unsigned":       rawEntry(codecs.IDVanilla, "planted"),
					"made-up tag":    append(append([]byte{0xCA, 1, codecs.IDVanilla, 0x02}, rawEntry(codecs.IDVanilla, "planted")[4:]...), make([]byte, 32)...),
					"altered signed": altered,
				} {
					target.plant(t, c, "k", entry)
					s = ""
					if err := c.Fetch(ctx, "k", &s); !errors.Is(err, cachette.ErrNotFound) {
						t.Fatalf("%s: Fetch of a planted entry = %q, %v; want ErrNotFound", name, s, err)
					}
					if _, _, err := c.Backend().Get(ctx, "k"); !errors.Is(err, cachette.ErrNotFound) {
						t.Errorf("%s: the planted entry is still stored: %v", name, err)
					}
					target.plant(t, c, "k", entry)
					v, err := cachette.GetOrLoad(ctx, c, "k", func(context.Context) (string, error) { return "loaded", nil })
					if err != nil || v != "loaded" {
						t.Errorf("%s: GetOrLoad over a planted entry = %q, %v; want the loaded value", name, v, err)
					}
				}
				if n := strings.Count(logs.String(), "not authenticated"); n != 6 {
					t.Errorf("%d logs of an unauthenticated entry, want 6:\n%s", n, logs)
				}
				if strings.Contains(logs.String(), signingKey) {
					t.Errorf("the signing key is in the logs:\n%s", logs)
				}
			})
		})
	}
}

// TestPlantedHTTPResponse alters a response httpcache stored, with a plain
// client of the store, the way anyone who can write to it could. Without
// a signing key the middleware replays the altered response to every
// client; with one it is a MISS and the handler answers.
func TestPlantedHTTPResponse(t *testing.T) {
	for _, target := range plantTargets {
		for _, key := range []string{"", signingKey} {
			name := target.name + "/without a key"
			if key != "" {
				name = target.name + "/with a key"
			}
			t.Run(name, func(t *testing.T) {
				c, logs, stored := openTarget(t, target, key)
				var calls int
				var mu sync.Mutex
				h := httpcache.Middleware(c, httpcache.Options{TTL: time.Minute, StoreTimeout: 10 * time.Second})(
					http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						mu.Lock()
						calls++
						mu.Unlock()
						io.WriteString(w, "genuine response")
					}))
				get := func() (string, string) {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest("GET", "/page", nil))
					return w.Header().Get(httpcache.StatusHeader), w.Body.String()
				}
				if s, body := get(); s != httpcache.StatusMiss || body != "genuine response" {
					t.Fatalf("first request: %s %q", s, body)
				}
				planted := 0
				for _, k := range stored.list() {
					raw := target.read(t, c, k)
					if bytes.Contains(raw, []byte("genuine response")) {
						target.plant(t, c, k, bytes.Replace(raw, []byte("genuine response"), []byte("planted response"), 1))
						planted++
					}
				}
				if planted != 1 {
					t.Fatalf("found the stored response under %d of the keys %q, want 1", planted, stored.list())
				}
				s, body := get()
				if key == "" {
					if s != httpcache.StatusHit || body != "planted response" {
						t.Fatalf("after planting: %s %q; want the planted response replayed (the threat a signing key removes)", s, body)
					}
					return
				}
				if s != httpcache.StatusMiss || body != "genuine response" || calls != 2 {
					t.Fatalf("after planting: %s %q, handler ran %d times; want a MISS answered by the handler", s, body, calls)
				}
				if !strings.Contains(logs.String(), "not authenticated") {
					t.Errorf("the refused response is not logged:\n%s", logs)
				}
				if s, body := get(); s != httpcache.StatusHit || body != "genuine response" {
					t.Fatalf("third request: %s %q; want the genuine response stored again", s, body)
				}
			})
		}
	}
}
