package arrow_test

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cachette-go/cachette/codecs"
	arrowcodec "github.com/cachette-go/cachette/codecs/arrow"
	"github.com/cachette-go/cachette/codecs/arrow/arrowtest"
)

// fuzzBudget keeps each fuzzed Decode small and fast; the bound works the
// same way at the default size.
const fuzzBudget = 16 << 20

func FuzzFeatherDecode(f *testing.F) {
	fuzzDecode(f, arrowcodec.Feather{}, arrowcodec.Feather{MaxDecodedSize: fuzzBudget})
}

func FuzzParquetDecode(f *testing.F) {
	fuzzDecode(f, arrowcodec.Parquet{}, arrowcodec.Parquet{MaxDecodedSize: fuzzBudget})
}

func FuzzCSVDecode(f *testing.F) {
	fuzzDecode(f, arrowcodec.CSV{}, arrowcodec.CSV{MaxDecodedSize: fuzzBudget})
}

// fuzzDecode seeds f with encodings made by enc and checks that dec
// decodes any input into a record whose values can all be read, or fails
// with an error wrapping codecs.ErrCorrupt, without panicking.
func fuzzDecode(f *testing.F, enc, dec codecs.Codec) {
	mem := memory.DefaultAllocator
	onehot := arrowtest.OneHotRecord(mem)
	mixed := arrowtest.MixedRecord(mem)
	empty := arrowtest.MixedRecordRows(mem, 0)
	tbl := array.NewTableFromRecords(arrowtest.MixedSchema, []arrow.RecordBatch{mixed, empty, mixed})
	for _, v := range []any{onehot, mixed, empty, tbl} {
		b, err := enc.Encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	tbl.Release()
	for _, r := range []arrow.RecordBatch{onehot, mixed, empty} {
		r.Release()
	}
	f.Add([]byte{})
	f.Add([]byte("ARROW1\x00\x00ARROW1"))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var rec arrow.RecordBatch
		err := dec.Decode(data, &rec)
		if err != nil {
			if !errors.Is(err, codecs.ErrCorrupt) {
				t.Fatalf("Decode = %v, want an error wrapping codecs.ErrCorrupt", err)
			}
			if rec != nil {
				t.Fatal("Decode stored a record along with an error")
			}
			return
		}
		touch(t, rec)
		rec.Release()
	})
}
