package bench_test

import (
	"context"
	"testing"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/bench/client"
	"github.com/cachette-go/cachette/codecs"
	_ "github.com/cachette-go/cachette/codecs/msgpack" // the "msgpack" codec
)

// payloadRecords makes NewPayload about 100 KiB in MessagePack.
const payloadRecords = 512

// BenchmarkCodec measures one encode and one decode (plus zstd compression
// and decompression for "zstd") of a ~1 KiB Item and a ~100 KiB Payload
// with each codec cachette ships for typed values. The stored-B metric is the
// size of the entry cachette keeps for that value (header included), read
// back from the store after a Put. Names: Codec/<size>/<plain|zstd>/<codec>.
func BenchmarkCodec(b *testing.B) {
	values := []struct {
		name string
		v    any
		dst  func() any
	}{
		{"1KiB", client.NewItem(1), func() any { return new(client.Item) }},
		{"100KiB", client.NewPayload(payloadRecords), func() any { return new(client.Payload) }},
	}
	for _, val := range values {
		for _, zstd := range []bool{false, true} {
			mode := "plain"
			if zstd {
				mode = "zstd"
			}
			for _, name := range []string{"json", "gob", "msgpack"} {
				codec, err := codecs.Lookup(name)
				if err != nil {
					b.Fatal(err)
				}
				stored := storedSize(b, name, zstd, val.v)
				b.Run(val.name+"/"+mode+"/"+name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						data, err := codec.Encode(val.v)
						if err != nil {
							b.Fatal(err)
						}
						if zstd {
							data, err = codecs.Decompress(codecs.Compress(nil, data))
							if err != nil {
								b.Fatal(err)
							}
						}
						if err := codec.Decode(data, val.dst()); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(stored), "stored-B")
				})
			}
		}
	}
}

// storedSize puts v in an in-memory cachette cache with the codec and
// compression given and returns the size of the entry its store holds.
func storedSize(b *testing.B, codec string, zstd bool, v any) int {
	b.Helper()
	compression := codecs.CompressDisabled
	if zstd {
		compression = codecs.CompressAll
	}
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{Codec: codec, Compression: compression})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Put(ctx, "v", v); err != nil {
		b.Fatal(err)
	}
	raw, _, err := c.Backend().Get(ctx, "v")
	if err != nil {
		b.Fatal(err)
	}
	return len(raw)
}
