package cachette_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	gobstore "github.com/cachette-go/cachette/backends/gob"
	"github.com/cachette-go/cachette/codecs"
)

// newCache returns an in-memory cache with cfg's codec and compression and
// a logger writing into the returned buffer.
func newCache(t *testing.T, cfg cachette.Config) (*cachette.Cache, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	c, err := cachette.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, logs
}

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

type profile struct {
	Name  string
	Age   int
	Tags  []string
	Score float64
	Born  time.Time
}

func TestPutFetchEveryStdCodec(t *testing.T) {
	born := time.Date(1990, 5, 17, 8, 30, 0, 0, time.UTC)
	want := profile{Name: "Ada", Age: 36, Tags: []string{"math", "engines"}, Score: 9.5, Born: born}
	for _, codec := range []string{"json", "gob", "pickle"} {
		for _, comp := range []string{"smart", "all", "disabled"} {
			t.Run(codec+"/"+comp, func(t *testing.T) {
				c, _ := newCache(t, cachette.Config{Codec: codec, Compression: comp})
				ctx := context.Background()
				if err := c.Put(ctx, "p", want); err != nil {
					t.Fatal(err)
				}
				var got profile
				if err := c.Fetch(ctx, "p", &got); err != nil {
					t.Fatal(err)
				}
				if got.Name != want.Name || got.Age != want.Age || !got.Born.Equal(want.Born) ||
					strings.Join(got.Tags, ",") != "math,engines" || got.Score != want.Score {
					t.Fatalf("got %+v, want %+v", got, want)
				}
			})
		}
	}
}

func TestVanillaDefault(t *testing.T) {
	c, _ := newCache(t, cachette.Config{})
	ctx := context.Background()
	for _, v := range []any{"hello", 42, 3.5, []byte("raw")} {
		if err := c.Put(ctx, "k", v); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := c.Fetch(ctx, "k", &s); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint(v)
		if b, ok := v.([]byte); ok {
			want = string(b)
		}
		if s != want {
			t.Fatalf("Put(%#v) then Fetch = %q, want %q", v, s, want)
		}
	}
	var n int
	if err := c.Fetch(ctx, "k", &n); !errors.Is(err, codecs.ErrType) {
		t.Fatalf("vanilla Fetch into *int = %v, want ErrType", err)
	}
	// A type error is the caller's mistake: the entry stays.
	var s string
	if err := c.Fetch(ctx, "k", &s); err != nil {
		t.Fatalf("entry gone after a wrong-type Fetch: %v", err)
	}
}

func TestFetchBadDestination(t *testing.T) {
	c, _ := newCache(t, cachette.Config{Codec: "json"})
	ctx := context.Background()
	if err := c.Put(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	var n int
	for _, dst := range []any{nil, n, (*int)(nil)} {
		if err := c.Fetch(ctx, "k", dst); err == nil || errors.Is(err, cachette.ErrNotFound) {
			t.Errorf("Fetch into %#v = %v, want a destination error", dst, err)
		}
	}
}

func TestMissAndExpiry(t *testing.T) {
	c, _ := newCache(t, cachette.Config{TTL: time.Second})
	ctx := context.Background()
	var s string
	if err := c.Fetch(ctx, "nope", &s); !errors.Is(err, cachette.ErrNotFound) {
		t.Fatalf("Fetch of a missing key = %v, want ErrNotFound", err)
	}
	if err := c.Put(ctx, "short", "v", cachette.WithTTL(150*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	put := time.Now()
	if err := c.Put(ctx, "default", "v"); err != nil {
		t.Fatal(err)
	}
	left, err := c.FetchWithTTL(ctx, "default", &s)
	if since := time.Since(put); err != nil || left < time.Second-since-time.Millisecond || left > time.Second {
		t.Fatalf("FetchWithTTL %v after Put = %v, %v; want the 1s TTL less that", since, left, err)
	}
	time.Sleep(160 * time.Millisecond)
	if err := c.Fetch(ctx, "short", &s); !errors.Is(err, cachette.ErrNotFound) {
		t.Fatalf("Fetch after WithTTL expiry = %v, want ErrNotFound", err)
	}
	// WithTTL is not bound by the config's 1..3600 s range.
	if err := c.Put(ctx, "long", "v", cachette.WithTTL(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if left, err := c.FetchWithTTL(ctx, "long", &s); err != nil || left < 47*time.Hour {
		t.Fatalf("FetchWithTTL(long) = %v, %v", left, err)
	}
}

func TestClearNamespaceFlush(t *testing.T) {
	c, _ := newCache(t, cachette.Config{})
	ctx := context.Background()
	for _, k := range []string{"user:1", "user:2", "post:1"} {
		if err := c.Put(ctx, k, k); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := c.Clear(ctx, "post:1"); err != nil || !ok {
		t.Fatalf("Clear = %v, %v", ok, err)
	}
	if ok, err := c.Clear(ctx, "post:1"); err != nil || ok {
		t.Fatalf("second Clear = %v, %v; want false", ok, err)
	}
	if n, err := c.ClearNamespace(ctx, "user"); err != nil || n != 2 {
		t.Fatalf("ClearNamespace = %d, %v; want 2", n, err)
	}
	if err := c.Put(ctx, "x", "y"); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := c.Fetch(ctx, "x", &s); !errors.Is(err, cachette.ErrNotFound) {
		t.Fatalf("Fetch after Flush = %v", err)
	}
	if err := c.FlushExpired(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptEntryIsAMissRemovedAndLogged(t *testing.T) {
	c, logs := newCache(t, cachette.Config{Codec: "json"})
	ctx := context.Background()
	store := c.Backend()
	exp := time.Now().Add(time.Minute)
	cases := map[string][]byte{
		"empty":     {},
		"short":     {0xCA, 1},
		"magic":     bytes.Repeat([]byte{0x42}, 40),
		"version":   append([]byte{0xCA, 9, codecs.IDJSON, 0}, make([]byte, 12)...),
		"zstd":      append([]byte{0xCA, 1, codecs.IDJSON, 1, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "not zstd"...),
		"json":      append([]byte{0xCA, 1, codecs.IDJSON, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "{broken"...),
		"old codec": append([]byte{0xCA, 1, codecs.IDGob, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "gob bytes"...),
	}
	for name, raw := range cases {
		if err := store.Set(ctx, name, raw, exp); err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := c.Fetch(ctx, name, &v); !errors.Is(err, cachette.ErrNotFound) {
			t.Errorf("%s: Fetch = %v, want ErrNotFound", name, err)
		}
		if _, _, err := store.Get(ctx, name); !errors.Is(err, backends.ErrNotFound) {
			t.Errorf("%s: corrupt entry still stored (%v)", name, err)
		}
	}
	if n := strings.Count(logs.String(), "dropping undecodable entry"); n != len(cases) {
		t.Errorf("logged %d corrupt entries, want %d:\n%s", n, len(cases), logs)
	}
}

func TestCodecChangedBetweenDeploys(t *testing.T) {
	store := newSharedStore(t)
	ctx := context.Background()
	before, err := cachette.NewWithBackend(store, cachette.Config{Codec: "gob"})
	if err != nil {
		t.Fatal(err)
	}
	if err := before.Put(ctx, "k", profile{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	after, err := cachette.NewWithBackend(store, cachette.Config{Codec: "json", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var p profile
	if err := after.Fetch(ctx, "k", &p); !errors.Is(err, cachette.ErrNotFound) {
		t.Fatalf("Fetch with another codec = %v, want ErrNotFound", err)
	}
	if err := before.Fetch(ctx, "k", &p); !errors.Is(err, cachette.ErrNotFound) {
		t.Fatalf("entry of the old codec was not removed: %v", err)
	}
}

func newSharedStore(t *testing.T) backends.Backend {
	t.Helper()
	s, err := backends.Open(context.Background(), "inmemory", backends.Settings{Prefix: "t"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCompressionModes(t *testing.T) {
	big := strings.Repeat("compressible ", 2000) // 26 KB
	sizes := map[string]int{}
	for _, mode := range []string{"smart", "all", "disabled"} {
		c, _ := newCache(t, cachette.Config{Compression: mode})
		ctx := context.Background()
		if err := c.Put(ctx, "big", big); err != nil {
			t.Fatal(err)
		}
		if err := c.Put(ctx, "small", "tiny"); err != nil {
			t.Fatal(err)
		}
		raw, _, err := c.Backend().Get(ctx, "big")
		if err != nil {
			t.Fatal(err)
		}
		sizes[mode] = len(raw)
		small, _, _ := c.Backend().Get(ctx, "small")
		compressedSmall := small[3]&1 != 0
		if compressedSmall != (mode == "all") {
			t.Errorf("%s: 4-byte value compressed = %v", mode, compressedSmall)
		}
		var s string
		if err := c.Fetch(ctx, "big", &s); err != nil || s != big {
			t.Fatalf("%s: round trip failed: %v", mode, err)
		}
	}
	if sizes["smart"] >= len(big) || sizes["all"] >= len(big) || sizes["disabled"] < len(big) {
		t.Fatalf("stored sizes %v for a %d-byte value", sizes, len(big))
	}
}

func TestCompressionMinSize(t *testing.T) {
	c, _ := newCache(t, cachette.Config{CompressionMinSize: 100 << 10})
	ctx := context.Background()
	big := strings.Repeat("a", 50<<10)
	if err := c.Put(ctx, "k", big); err != nil {
		t.Fatal(err)
	}
	raw, _, _ := c.Backend().Get(ctx, "k")
	if raw[3]&1 != 0 {
		t.Fatal("50 KiB value compressed below a 100 KiB threshold")
	}
}

func TestUncompressedOption(t *testing.T) {
	big := strings.Repeat("compressible ", 2000)
	for _, mode := range []string{"smart", "all"} {
		c, _ := newCache(t, cachette.Config{Compression: mode})
		ctx := context.Background()
		if err := c.Put(ctx, "k", big, cachette.Uncompressed()); err != nil {
			t.Fatal(err)
		}
		if err := c.PutBytes(ctx, "b", []byte(big), cachette.Uncompressed(), cachette.WithTTL(time.Minute)); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"k", "b"} {
			raw, _, _ := c.Backend().Get(ctx, key)
			if raw[3]&1 != 0 || len(raw) < len(big) {
				t.Errorf("%s: %s stored compressed despite Uncompressed", mode, key)
			}
		}
		var s string
		if err := c.Fetch(ctx, "k", &s); err != nil || s != big {
			t.Fatalf("%s: round trip failed: %v", mode, err)
		}
		if b, left, err := c.FetchBytes(ctx, "b"); err != nil || string(b) != big || left <= 0 || left > time.Minute {
			t.Fatalf("%s: bytes round trip failed: %v (ttl %v)", mode, err, left)
		}
	}
}

func TestGetOrLoadSingleFlight(t *testing.T) {
	c, _ := newCache(t, cachette.Config{Codec: "json"})
	ctx := context.Background()
	var calls atomic.Int32
	release := make(chan struct{})
	load := func(context.Context) (profile, error) {
		calls.Add(1)
		<-release
		return profile{Name: "loaded", Age: 7}, nil
	}
	var wg sync.WaitGroup
	results := make(chan profile, 100)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := cachette.GetOrLoad(ctx, c, "p", load)
			if err != nil {
				t.Error(err)
			}
			results <- p
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the goroutines pile up on the flight
	close(release)
	wg.Wait()
	close(results)
	for p := range results {
		if p.Name != "loaded" || p.Age != 7 {
			t.Fatalf("got %+v", p)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("load ran %d times for 100 concurrent callers, want 1", n)
	}
	// Now it is cached: no more loads.
	if _, err := cachette.GetOrLoad(ctx, c, "p", load); err != nil || calls.Load() != 1 {
		t.Fatalf("cached GetOrLoad = %v, calls %d", err, calls.Load())
	}
}

func TestGetOrLoadErrorsNotCached(t *testing.T) {
	c, _ := newCache(t, cachette.Config{Codec: "json"})
	ctx := context.Background()
	boom := errors.New("boom")
	var calls int
	load := func(context.Context) (int, error) {
		calls++
		if calls == 1 {
			return 0, boom
		}
		return 5, nil
	}
	if _, err := cachette.GetOrLoad(ctx, c, "n", load); !errors.Is(err, boom) {
		t.Fatalf("first GetOrLoad = %v, want boom", err)
	}
	if v, err := cachette.GetOrLoad(ctx, c, "n", load, cachette.WithTTL(time.Minute)); err != nil || v != 5 {
		t.Fatalf("second GetOrLoad = %v, %v; want 5", v, err)
	}
}

func TestGetOrLoadWaitBoundedByContext(t *testing.T) {
	c, _ := newCache(t, cachette.Config{Codec: "json"})
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	go cachette.GetOrLoad(context.Background(), c, "slow", func(context.Context) (int, error) {
		close(started)
		<-release
		return 1, nil
	})
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := cachette.GetOrLoad(ctx, c, "slow", func(context.Context) (int, error) { return 2, nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting GetOrLoad = %v, want DeadlineExceeded", err)
	}
}

func TestUnknownBackendNamesTheImport(t *testing.T) {
	_, err := cachette.New(context.Background(), cachette.Config{Backend: "redis", RedisURL: "redis://127.0.0.1:1"})
	if err == nil || !errors.Is(err, backends.ErrUnknownBackend) || !strings.Contains(err.Error(), "github.com/cachette-go/cachette/backends/redis") {
		t.Fatalf("New(redis) without the import = %v", err)
	}
	_, err = cachette.New(context.Background(), cachette.Config{Codec: "msgpack"})
	if err == nil || !errors.Is(err, codecs.ErrUnknownCodec) || !strings.Contains(err.Error(), "github.com/cachette-go/cachette/codecs/msgpack") {
		t.Fatalf("New(msgpack) without the import = %v", err)
	}
}

func TestGobBackendThroughNew(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"gob", "pickle", "GOB"} {
		c, err := cachette.New(context.Background(), cachette.Config{Backend: name, PicklePath: dir})
		if err != nil {
			t.Fatalf("New(%s) = %v", name, err)
		}
		ctx := context.Background()
		if err := c.Put(ctx, "k", "v-"+name); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := c.Fetch(ctx, "k", &s); err != nil || s != "v-"+name {
			t.Fatalf("Fetch = %q, %v", s, err)
		}
		c.Close()
	}
}

func TestClosed(t *testing.T) {
	c, err := cachette.New(context.Background(), cachette.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(context.Background(), "k", "v"); !errors.Is(err, cachette.ErrClosed) {
		t.Fatalf("Put after Close = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestLockThroughCache(t *testing.T) {
	c, _ := newCache(t, cachette.Config{})
	ctx := context.Background()
	tok, ok, err := c.Lock(ctx, "job", time.Second)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, ok, _ := c.Lock(ctx, "job", time.Second); ok {
		t.Fatal("lock taken twice")
	}
	if ok, err := c.Unlock(ctx, "job", tok); err != nil || !ok {
		t.Fatal(ok, err)
	}
}

func TestPutBytes(t *testing.T) {
	c, _ := newCache(t, cachette.Config{Codec: "json"})
	ctx := context.Background()
	if err := c.PutBytes(ctx, "raw", []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	b, left, err := c.FetchBytes(ctx, "raw")
	if err != nil || !bytes.Equal(b, []byte{0, 1, 2}) || left <= 0 {
		t.Fatalf("FetchBytes = %v, %v, %v", b, left, err)
	}
	// Raw bytes are not a codec value, and the other way round.
	var v any
	if err := c.Fetch(ctx, "raw", &v); !errors.Is(err, cachette.ErrNotFound) {
		t.Fatalf("Fetch of raw bytes = %v", err)
	}
}

func TestNewWithBackendNamesTheStore(t *testing.T) {
	store, err := gobstore.New(t.TempDir(), gobstore.Options{Prefix: "t"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cachette.NewWithBackend(store, cachette.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Config().Backend; got != "gob" {
		t.Fatalf("Config().Backend = %q, want the store's package name", got)
	}
	if _, err := cachette.NewWithBackend(nil, cachette.Config{}); !errors.Is(err, cachette.ErrInvalidConfig) {
		t.Fatalf("NewWithBackend(nil) = %v", err)
	}
}
