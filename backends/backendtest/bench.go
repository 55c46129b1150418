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

// benchData is the keys and the value of the shared benchmarks.
func benchData() (keys []string, value []byte) {
	keys = make([]string, benchKeys)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	return keys, bytes.Repeat([]byte("v"), benchValueSize)
}

// benchFill opens a store and writes every benchmark key into it.
func benchFill(b *testing.B, open Open) (s backends.Backend, keys []string) {
	b.Helper()
	s = open(b, NewPrefix())
	keys, val := benchData()
	exp := time.Now().Add(time.Hour)
	for _, k := range keys {
		if err := s.Set(context.Background(), k, val, exp); err != nil {
			b.Fatal(err)
		}
	}
	return s, keys
}

func benchPut(b *testing.B, open Open) {
	s := open(b, NewPrefix())
	ctx := context.Background()
	keys, val := benchData()
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	b.SetBytes(benchValueSize)
	for i := 0; b.Loop(); i++ {
		if err := s.Set(ctx, keys[i%benchKeys], val, exp); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFetch(b *testing.B, open Open) {
	s, keys := benchFill(b, open)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(benchValueSize)
	for i := 0; b.Loop(); i++ {
		if _, _, err := s.Get(ctx, keys[i%benchKeys]); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPutParallel(b *testing.B, open Open) {
	s := open(b, NewPrefix())
	ctx := context.Background()
	keys, val := benchData()
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	b.SetBytes(benchValueSize)
	b.ResetTimer()
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
	s, keys := benchFill(b, open)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(benchValueSize)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, _, err := s.Get(ctx, keys[i%benchKeys]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
