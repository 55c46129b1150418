package cachette_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/cachette-go/cachette"
)

type benchItem struct {
	ID    int
	Name  string
	Score float64
	Tags  []string
}

func benchCache(b *testing.B, codec string) *cachette.Cache {
	b.Helper()
	c, err := cachette.New(context.Background(), cachette.Config{Codec: codec})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

var benchKeys = func() []string {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(i)
	}
	return keys
}()

func BenchmarkInMemoryPut(b *testing.B) {
	for _, codec := range []string{"vanilla", "json", "gob"} {
		b.Run(codec, func(b *testing.B) {
			c := benchCache(b, codec)
			ctx := context.Background()
			v := benchValue(codec)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := c.Put(ctx, benchKeys[i&1023], v); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkInMemoryPutParallel(b *testing.B) {
	c := benchCache(b, "json")
	ctx := context.Background()
	v := benchValue("json")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := c.Put(ctx, benchKeys[i&1023], v); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func benchValue(codec string) any {
	if codec == "vanilla" {
		return "a value of moderate length for the benchmark"
	}
	return benchItem{ID: 7, Name: "benchmark", Score: 1.5, Tags: []string{"a", "b"}}
}

func fill(b *testing.B, c *cachette.Cache, codec string) {
	b.Helper()
	for _, k := range benchKeys {
		if err := c.Put(context.Background(), k, benchValue(codec)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInMemoryFetch(b *testing.B) {
	for _, codec := range []string{"vanilla", "json", "gob"} {
		b.Run(codec, func(b *testing.B) {
			c := benchCache(b, codec)
			fill(b, c, codec)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if codec == "vanilla" {
					var s string
					if err := c.Fetch(ctx, benchKeys[i&1023], &s); err != nil {
						b.Fatal(err)
					}
				} else {
					var v benchItem
					if err := c.Fetch(ctx, benchKeys[i&1023], &v); err != nil {
						b.Fatal(err)
					}
				}
				i++
			}
		})
	}
}

func BenchmarkInMemoryFetchParallel(b *testing.B) {
	c := benchCache(b, "vanilla")
	fill(b, c, "vanilla")
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			var s string
			if err := c.Fetch(ctx, benchKeys[i&1023], &s); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkInMemoryFetchBytesParallel(b *testing.B) {
	c := benchCache(b, "vanilla")
	ctx := context.Background()
	for _, k := range benchKeys {
		if err := c.PutBytes(ctx, k, []byte("a value of moderate length for the benchmark")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, _, err := c.FetchBytes(ctx, benchKeys[i&1023]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkGetOrLoad(b *testing.B) {
	c := benchCache(b, "json")
	ctx := context.Background()
	load := func(context.Context) (benchItem, error) { return benchItem{ID: 1}, nil }
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := cachette.GetOrLoad(ctx, c, benchKeys[i&1023], load); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("hit-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := cachette.GetOrLoad(ctx, c, benchKeys[i&1023], load); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := cachette.GetOrLoad(ctx, c, "miss:"+strconv.Itoa(i), load); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
