package bench_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
	"github.com/cachette-go/cachette/bench"
	"github.com/cachette-go/cachette/bench/client"
	"github.com/cachette-go/cachette/bench/internal/oldinmemory"
)

// storeCache is a cachette Cache on a given store, read through Fetch
// (vanilla codec, a copy into the caller's *[]byte) or FetchBytes (the
// stored bytes, no codec).
type storeCache struct {
	name  string
	c     *cachette.Cache
	bytes bool
}

func newStoreCache(name string, store backends.Backend, bytes bool) (client.InMemory, error) {
	c, err := cachette.NewWithBackend(store, cachette.Config{TTL: client.TTL})
	if err != nil {
		return nil, err
	}
	return &storeCache{name: name, c: c, bytes: bytes}, nil
}

func (s *storeCache) Name() string { return s.name }

func (s *storeCache) Get(key string) ([]byte, bool) {
	if s.bytes {
		v, _, err := s.c.FetchBytes(context.Background(), key)
		return v, err == nil
	}
	var v []byte
	err := s.c.Fetch(context.Background(), key, &v)
	return v, err == nil
}

func (s *storeCache) Set(key string, value []byte) {
	if s.bytes {
		_ = s.c.PutBytes(context.Background(), key, value)
		return
	}
	_ = s.c.Put(context.Background(), key, value)
}

func (s *storeCache) Close() { _ = s.c.Close() }

// BenchmarkInMemoryStore compares the in-memory store before (the sharded
// map under RWMutexes, bench/internal/oldinmemory) and after its rebuild on
// otter with otter's own GetIfPresent, parallel hits over a Zipf trace.
// Names: InMemoryStore/parallel/<keys>/<system>; the systems run one after
// the other for each key count, so that they share the machine's load.
// Fetch-new-local is Fetch-new with the local tier in front
// (Config.LocalEntries): decoded values, shared shallowly, not copied.
// bench/results/inmemory-otter.md records a run.
func BenchmarkInMemoryStore(b *testing.B) {
	systems := []struct {
		name string
		new  func(n int) (client.InMemory, error)
	}{
		{"otter", client.NewOtter},
		{"FetchBytes-new", func(int) (client.InMemory, error) {
			return newStoreCache("FetchBytes-new", inmemory.New(inmemory.Options{}), true)
		}},
		{"FetchBytes-old", func(int) (client.InMemory, error) {
			return newStoreCache("FetchBytes-old", oldinmemory.New(oldinmemory.Options{}), true)
		}},
		{"Fetch-new", func(int) (client.InMemory, error) {
			return newStoreCache("Fetch-new", inmemory.New(inmemory.Options{}), false)
		}},
		{"Fetch-old", func(int) (client.InMemory, error) {
			return newStoreCache("Fetch-old", oldinmemory.New(oldinmemory.Options{}), false)
		}},
		{"Fetch-new-local", func(n int) (client.InMemory, error) {
			c, err := cachette.NewWithBackend(inmemory.New(inmemory.Options{}), cachette.Config{TTL: client.TTL, LocalEntries: 2 * n, LocalTTL: cachette.MaxLocalTTL})
			if err != nil {
				return nil, err
			}
			return &storeCache{name: "Fetch-new-local", c: c}, nil
		}},
	}
	for _, sz := range sizes {
		keys := bench.Keys(sz.n)
		trace := bench.Trace(keys, traceLen)
		for _, sys := range systems {
			c, err := sys.new(sz.n)
			if err != nil {
				b.Fatal(err)
			}
			loaded := false
			b.Run(fmt.Sprintf("parallel/%s/%s", sz.name, sys.name), func(b *testing.B) {
				if !loaded {
					preload(b, c, keys)
					loaded = true
				}
				b.ResetTimer()
				fetchParallel(b, func(*testing.B) (client.InMemory, []string) { return c, trace })
			})
			c.Close()
		}
	}
}
