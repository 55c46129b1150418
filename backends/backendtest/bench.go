package backendtest

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
)

// The shared benchmarks' workload: values of benchValueSize bytes over
// benchKeys keys.
const (
	benchValueSize = 256
	benchKeys      = 1000
)

// BenchEnv returns the value of the environment variable that points the
// benchmarks at a server, and skips the benchmark when it is unset: unlike
// the tests, benchmarks never fail for a missing server.
func BenchEnv(b *testing.B, name string) string {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		b.Skipf("%s is not set: start the test servers with `make services-up` and `source .services/env`", name)
	}
	return v
}

// Bench runs the benchmarks every backend shares, as sub-benchmarks: Put,
// Fetch, PutParallel and FetchParallel. Each opens its own store under a
// fresh prefix and works on 256-byte values over 1000 keys.
func Bench(b *testing.B, open Open) {
	b.Run("Put", func(b *testing.B) { benchPut(b, open) })
	b.Run("Fetch", func(b *testing.B) { benchFetch(b, open) })
	b.Run("PutParallel", func(b *testing.B) { benchPutParallel(b, open) })
	b.Run("FetchParallel", func(b *testing.B) { benchFetchParallel(b, open) })
}

// benchSetup opens a store under a fresh prefix for one benchmark, writes
// every key into it when fill is set, and starts reporting allocations and
// bytes. It returns the store and what the benchmark writes or reads.
func benchSetup(b *testing.B, open Open, fill bool) (s backends.Backend, keys []string, val []byte, exp time.Time) {
	b.Helper()
	s = open(b, NewPrefix())
	keys = make([]string, benchKeys)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	val = bytes.Repeat([]byte("v"), benchValueSize)
	exp = time.Now().Add(time.Hour)
	if fill {
		for _, k := range keys {
			if err := s.Set(context.Background(), k, val, exp); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.SetBytes(benchValueSize)
	b.ResetTimer()
	return s, keys, val, exp
}

func benchPut(b *testing.B, open Open) {
	s, keys, val, exp := benchSetup(b, open, false)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if err := s.Set(ctx, keys[i%benchKeys], val, exp); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFetch(b *testing.B, open Open) {
	s, keys, _, _ := benchSetup(b, open, true)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if _, _, err := s.Get(ctx, keys[i%benchKeys]); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPutParallel(b *testing.B, open Open) {
	s, keys, val, exp := benchSetup(b, open, false)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if err := s.Set(ctx, keys[i%benchKeys], val, exp); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchFetchParallel(b *testing.B, open Open) {
	s, keys, _, _ := benchSetup(b, open, true)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, _, err := s.Get(ctx, keys[i%benchKeys]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
