package arrow_test

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cachette-go/cachette/codecs"
	arrowcodec "github.com/cachette-go/cachette/codecs/arrow"
	"github.com/cachette-go/cachette/codecs/arrow/arrowtest"
)

// BenchmarkRoundTrip encodes and decodes a 1000-row record of the mixed
// schema (int64, float64, string, bool, timestamp, with nulls).
func BenchmarkRoundTrip(b *testing.B) {
	rec := arrowtest.MixedRecordRows(memory.DefaultAllocator, 1000)
	defer rec.Release()
	for _, codec := range []codecs.Codec{arrowcodec.Feather{}, arrowcodec.Parquet{}} {
		b.Run(codec.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				data, err := codec.Encode(rec)
				if err != nil {
					b.Fatal(err)
				}
				var got arrow.RecordBatch
				if err := codec.Decode(data, &got); err != nil {
					b.Fatal(err)
				}
				got.Release()
				b.SetBytes(int64(len(data)))
			}
		})
	}
}
