package arrow_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/codecs"
	arrowcodec "github.com/cachette-go/cachette/codecs/arrow"
	"github.com/cachette-go/cachette/codecs/arrow/arrowtest"
)

// codecsWith returns both codecs allocating from mem.
func codecsWith(mem memory.Allocator) []codecs.Codec {
	return []codecs.Codec{
		arrowcodec.Feather{Allocator: mem},
		arrowcodec.Parquet{Allocator: mem},
		arrowcodec.CSV{Allocator: mem},
	}
}

func TestRegistered(t *testing.T) {
	for name, id := range map[string]byte{"feather": codecs.IDFeather, "parquet": codecs.IDParquet, "FEATHER": codecs.IDFeather, "csv": codecs.IDCSV, "CSV": codecs.IDCSV} {
		c, err := codecs.Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if c.ID() != id || c.Name() != strings.ToLower(name) {
			t.Errorf("Lookup(%q) = %s/%d, want ID %d", name, c.Name(), c.ID(), id)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	records := map[string]func(memory.Allocator) arrow.RecordBatch{
		// The frame of the upstream Cachette DataFrame test.
		"onehot": arrowtest.OneHotRecord,
		"mixed":  arrowtest.MixedRecord,
		"mixed-1000": func(mem memory.Allocator) arrow.RecordBatch {
			return arrowtest.MixedRecordRows(mem, 1000)
		},
		"mixed-empty": func(mem memory.Allocator) arrow.RecordBatch {
			return arrowtest.MixedRecordRows(mem, 0)
		},
	}
	for _, codec := range codecsWith(nil) {
		for name, build := range records {
			t.Run(codec.Name()+"/"+name, func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				codec := withAllocator(codec, mem)
				want := build(mem)
				b, err := codec.Encode(want)
				if err != nil {
					t.Fatal(err)
				}
				//lint:ignore SA1019 the spec names arrow.Record, which is arrow.RecordBatch
				var got arrow.Record
				if err := codec.Decode(b, &got); err != nil {
					t.Fatal(err)
				}
				if diff := arrowtest.Equal(want, got); diff != "" {
					t.Error(diff)
				}
				got.Release()
				want.Release()
				mem.AssertSize(t, 0)
			})
		}
	}
}

// withAllocator returns codec (a Feather, a Parquet or a CSV) allocating from mem.
func withAllocator(codec codecs.Codec, mem memory.Allocator) codecs.Codec {
	switch c := codec.(type) {
	case arrowcodec.Feather:
		c.Allocator = mem
		return c
	case arrowcodec.Parquet:
		c.Allocator = mem
		return c
	case arrowcodec.CSV:
		c.Allocator = mem
		return c
	}
	panic("unexpected codec")
}

func TestTableRoundTrip(t *testing.T) {
	for _, codec := range codecsWith(nil) {
		t.Run(codec.Name(), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			codec := withAllocator(codec, mem)
			a := arrowtest.MixedRecordRows(mem, 5)
			b := arrowtest.MixedRecordRows(mem, 9)
			tbl := array.NewTableFromRecords(arrowtest.MixedSchema, []arrow.RecordBatch{a, b})
			data, err := codec.Encode(tbl)
			if err != nil {
				t.Fatal(err)
			}

			// Into a record: the batches are concatenated.
			var rec arrow.RecordBatch
			if err := codec.Decode(data, &rec); err != nil {
				t.Fatal(err)
			}
			want := concat(t, mem, a, b)
			if diff := arrowtest.Equal(want, rec); diff != "" {
				t.Error(diff)
			}
			rec.Release()

			// Into a table.
			var got arrow.Table
			if err := codec.Decode(data, &got); err != nil {
				t.Fatal(err)
			}
			if got.NumRows() != 14 || !got.Schema().Equal(arrowtest.MixedSchema) {
				t.Errorf("table of %d rows, schema %v", got.NumRows(), got.Schema())
			}
			if !array.TableEqual(got, tbl) {
				t.Error("decoded table differs from the encoded one")
			}
			got.Release()
			tbl.Release()
			want.Release()
			a.Release()
			b.Release()
			mem.AssertSize(t, 0)
		})
	}
}

func TestEmptyTable(t *testing.T) {
	for _, codec := range codecsWith(nil) {
		t.Run(codec.Name(), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			codec := withAllocator(codec, mem)
			tbl := array.NewTableFromRecords(arrowtest.MixedSchema, nil)
			data, err := codec.Encode(tbl)
			tbl.Release()
			if err != nil {
				t.Fatal(err)
			}
			var rec arrow.RecordBatch
			if err := codec.Decode(data, &rec); err != nil {
				t.Fatal(err)
			}
			want := arrowtest.MixedRecordRows(mem, 0)
			if diff := arrowtest.Equal(want, rec); diff != "" {
				t.Error(diff)
			}
			want.Release()
			rec.Release()
			mem.AssertSize(t, 0)
		})
	}
}

// concat returns the rows of a then b as one record.
func concat(t *testing.T, mem memory.Allocator, a, b arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	cols := make([]arrow.Array, a.NumCols())
	for i := range cols {
		c, err := array.Concatenate([]arrow.Array{a.Column(i), b.Column(i)}, mem)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		cols[i] = c
	}
	return array.NewRecordBatch(a.Schema(), cols, a.NumRows()+b.NumRows())
}

func TestWrongTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := arrowtest.OneHotRecord(mem)
	defer rec.Release()
	var nilRecord arrow.RecordBatch
	var nilTable arrow.Table
	for _, codec := range codecsWith(mem) {
		for _, tc := range []struct {
			name  string
			value any
			given string
		}{
			{"nil", nil, "not nil"},
			{"string", "a,b\n1,2", "not string"},
			{"map", map[string][]int{"age": {1}}, "not map[string][]int"},
			{"nil record", nilRecord, "not nil"},
			{"nil table", nilTable, "not nil"},
			{"pointer to record", &rec, "not *arrow.RecordBatch"},
		} {
			_, err := codec.Encode(tc.value)
			if !errors.Is(err, codecs.ErrType) {
				t.Errorf("%s: Encode(%s) = %v, want an error wrapping codecs.ErrType", codec.Name(), tc.name, err)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, "arrow.RecordBatch") || !strings.Contains(msg, tc.given) {
				t.Errorf("%s: Encode(%s) error %q should say what is expected and %q", codec.Name(), tc.name, msg, tc.given)
			}
		}

		data, err := codec.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		var nilDst *arrow.RecordBatch
		var out arrow.RecordBatch
		for name, dst := range map[string]any{
			"*string":             &s,
			"nil *arrow.Record":   nilDst,
			"arrow.RecordBatch":   out,
			"nil":                 nil,
			"**arrow.RecordBatch": &nilDst,
		} {
			err := codec.Decode(data, dst)
			if !errors.Is(err, codecs.ErrType) || errors.Is(err, codecs.ErrCorrupt) {
				t.Errorf("%s: Decode into %s = %v, want an error wrapping only codecs.ErrType", codec.Name(), name, err)
			} else if !strings.Contains(err.Error(), "*arrow.RecordBatch") {
				t.Errorf("%s: Decode into %s: error %q should name the expected type", codec.Name(), name, err)
			}
		}
	}
}

func TestUnsupportedColumn(t *testing.T) {
	// Parquet has no union type.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ub := array.NewDenseUnionBuilder(mem, arrow.DenseUnionOf(
		[]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int32, Nullable: true}}, []arrow.UnionTypeCode{0}))
	ub.Append(0)
	ub.Child(0).(*array.Int32Builder).Append(7)
	col := ub.NewArray()
	ub.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "u", Type: col.DataType(), Nullable: true}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 1)
	col.Release()
	defer rec.Release()
	_, err := arrowcodec.Parquet{Allocator: mem}.Encode(rec)
	if !errors.Is(err, codecs.ErrType) {
		t.Fatalf("Parquet.Encode(union column) = %v, want an error wrapping codecs.ErrType", err)
	}
	// Feather stores it.
	data, err := arrowcodec.Feather{Allocator: mem}.Encode(rec)
	if err != nil {
		t.Fatal(err)
	}
	var got arrow.RecordBatch
	if err := (arrowcodec.Feather{Allocator: mem}).Decode(data, &got); err != nil {
		t.Fatal(err)
	}
	if diff := arrowtest.Equal(rec, got); diff != "" {
		t.Error(diff)
	}
	got.Release()
}

func TestCorrupt(t *testing.T) {
	rec := arrowtest.MixedRecord(memory.DefaultAllocator)
	defer rec.Release()
	encodings := map[string][]byte{}
	for _, codec := range codecsWith(nil) {
		b, err := codec.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		encodings[codec.Name()] = b
	}
	for _, codec := range codecsWith(nil) {
		good := encodings[codec.Name()]
		other := encodings[arrowcodec.ParquetName]
		if codec.Name() == arrowcodec.ParquetName {
			other = encodings[arrowcodec.FeatherName]
		}
		cases := map[string][]byte{
			"nil":         nil,
			"empty":       {},
			"text":        []byte("income,age,gender,education\n1,0,0,0\n"),
			"other codec": other,
			"no header":   good[8:],
			"no footer":   good[:len(good)-8],
		}
		for _, n := range []int{1, 6, 12, len(good) / 3, len(good) / 2, len(good) - 1} {
			cases["truncated to "+strconv.Itoa(n)] = good[:n]
		}
		for name, data := range cases {
			var got arrow.RecordBatch
			err := codec.Decode(data, &got)
			if !errors.Is(err, codecs.ErrCorrupt) || errors.Is(err, codecs.ErrType) {
				t.Errorf("%s: Decode(%s) = %v, want an error wrapping only codecs.ErrCorrupt", codec.Name(), name, err)
			}
			if got != nil {
				t.Errorf("%s: Decode(%s) stored a record along with the error", codec.Name(), name)
			}
		}
		// Flipping bytes anywhere gives a record or a corrupt error, never a panic.
		for i := range good {
			data := append([]byte(nil), good...)
			data[i] ^= 0xff
			var got arrow.RecordBatch
			if err := codec.Decode(data, &got); err != nil {
				if !errors.Is(err, codecs.ErrCorrupt) {
					t.Fatalf("%s: Decode with byte %d flipped = %v, want an error wrapping codecs.ErrCorrupt", codec.Name(), i, err)
				}
				continue
			}
			touch(t, got)
			got.Release()
		}
	}
}

// TestHostileLengths overwrites every aligned 32-bit word of real
// encodings with large values, the way a hostile entry would announce
// billions of fields, children, metadata entries or buffers. Decode must
// fail cleanly (or succeed) without trying to allocate what is announced,
// which would kill the process rather than panic.
func TestHostileLengths(t *testing.T) {
	rec := arrowtest.MixedRecord(memory.DefaultAllocator)
	defer rec.Release()
	large := []uint32{0x7fffffff, 0xfffffff0, 0x10000000, 1 << 20}
	check := func(t *testing.T, codec codecs.Codec, data []byte, where string) {
		t.Helper()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var got arrow.RecordBatch
		err := codec.Decode(data, &got)
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 128<<20 {
			t.Errorf("%s: Decode of %d bytes allocated %d MiB", where, len(data), n>>20)
		}
		if err != nil {
			if !errors.Is(err, codecs.ErrCorrupt) {
				t.Fatalf("%s: %v, want an error wrapping codecs.ErrCorrupt", where, err)
			}
			return
		}
		touch(t, got)
		got.Release()
	}

	t.Run("feather", func(t *testing.T) {
		codec := arrowcodec.Feather{MaxDecodedSize: 64 << 20}
		good, err := codec.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+4 <= len(good); i += 4 {
			for _, v := range large {
				data := append([]byte(nil), good...)
				binary.LittleEndian.PutUint32(data[i:], v)
				check(t, codec, data, fmt.Sprintf("word %d set to %#x", i, v))
			}
		}
	})

	// The Arrow schema that Parquet files carry is base64 text in the
	// file's metadata: change the decoded schema, re-encode it in place.
	t.Run("parquet stored schema", func(t *testing.T) {
		codec := arrowcodec.Parquet{MaxDecodedSize: 64 << 20}
		good, err := codec.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		at, text := storedSchemaText(t, good)
		schema, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+4 <= len(schema); i += 4 {
			for _, v := range large {
				mutated := append([]byte(nil), schema...)
				binary.LittleEndian.PutUint32(mutated[i:], v)
				data := append([]byte(nil), good...)
				copy(data[at:], base64.StdEncoding.EncodeToString(mutated))
				check(t, codec, data, fmt.Sprintf("schema word %d set to %#x", i, v))
			}
		}
	})

	// The footer is Thrift: announce huge lists of structs, strings and
	// integers at every position.
	t.Run("parquet footer", func(t *testing.T) {
		codec := arrowcodec.Parquet{MaxDecodedSize: 64 << 20}
		good, err := codec.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		size := int(binary.LittleEndian.Uint32(good[len(good)-8:]))
		for i := len(good) - 8 - size; i < len(good)-8; i++ {
			for _, list := range []struct {
				header byte
				n      uint64
			}{{0xfc, 0x7fffffff}, {0xf8, 100_000_000}, {0xf6, 100_000_000}} {
				data := append([]byte(nil), good...)
				data[i] = list.header
				binary.PutUvarint(data[i+1:], list.n)
				check(t, codec, data, fmt.Sprintf("list of %d at footer byte %d", list.n, i))
			}
		}
	})
}

// storedSchemaText finds the base64 Arrow schema in a Parquet file written
// by the codec and returns its offset and text.
func storedSchemaText(t *testing.T, file []byte) (int, string) {
	t.Helper()
	key := []byte("ARROW:schema")
	k := bytes.Index(file, key)
	if k < 0 {
		t.Fatal("no stored Arrow schema in the file")
	}
	// Thrift compact: the value follows as a field header byte and a
	// varint length.
	i := k + len(key) + 1
	n, w := binary.Uvarint(file[i:])
	if w <= 0 || i+w+int(n) > len(file) {
		t.Fatal("cannot read the stored schema's length")
	}
	return i + w, string(file[i+w : i+w+int(n)])
}

// touch reads the first and last thousand values of every column of rec,
// which must not panic on a record Decode returned.
func touch(t testing.TB, rec arrow.RecordBatch) {
	t.Helper()
	for _, col := range rec.Columns() {
		n := col.Len()
		for i := range min(n, 1000) {
			_ = col.ValueStr(i)
		}
		for i := max(n-1000, 1000); i < n; i++ {
			_ = col.ValueStr(i)
		}
	}
}

func TestMaxDecodedSize(t *testing.T) {
	rec := arrowtest.MixedRecordRows(memory.DefaultAllocator, 1000)
	defer rec.Release()
	for _, codec := range []codecs.Codec{arrowcodec.Feather{}, arrowcodec.Parquet{}, arrowcodec.CSV{}} {
		data, err := codec.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		small := map[string]codecs.Codec{
			arrowcodec.FeatherName: arrowcodec.Feather{MaxDecodedSize: 4 << 10},
			arrowcodec.ParquetName: arrowcodec.Parquet{MaxDecodedSize: 4 << 10},
			arrowcodec.CSVName:     arrowcodec.CSV{MaxDecodedSize: 4 << 10},
		}[codec.Name()]
		var got arrow.RecordBatch
		err = small.Decode(data, &got)
		if !errors.Is(err, codecs.ErrCorrupt) || !strings.Contains(err.Error(), "memory") {
			t.Errorf("%s: Decode of %d bytes with a 4 KiB budget = %v, want a corrupt error about memory", codec.Name(), len(data), err)
		}
		if err := codec.Decode(data, &got); err != nil {
			t.Fatalf("%s: Decode with the default budget: %v", codec.Name(), err)
		}
		got.Release()
	}
}

func TestCache(t *testing.T) {
	for _, codec := range []string{"feather", "parquet", "Parquet", "csv"} {
		for _, comp := range []string{"smart", "all", "disabled"} {
			t.Run(codec+"/"+comp, func(t *testing.T) {
				c, err := cachette.New(context.Background(), cachette.Config{Codec: codec, Compression: comp, CompressionMinSize: 64})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				arrowtest.AssertRoundTrip(t, c)
			})
		}
	}
}

func TestCacheErrors(t *testing.T) {
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{Codec: "feather"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Put(ctx, "k", map[string]int{"age": 1}); !errors.Is(err, codecs.ErrType) {
		t.Errorf("Put(map) = %v, want an error wrapping codecs.ErrType", err)
	}
	rec := arrowtest.OneHotRecord(memory.DefaultAllocator)
	defer rec.Release()
	if err := c.Put(ctx, "k", rec); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := c.Fetch(ctx, "k", &s); !errors.Is(err, codecs.ErrType) {
		t.Errorf("Fetch(*string) = %v, want an error wrapping codecs.ErrType", err)
	}
	// The entry is still there for a right destination.
	var got arrow.RecordBatch
	if err := c.Fetch(ctx, "k", &got); err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if diff := arrowtest.Equal(rec, got); diff != "" {
		t.Error(diff)
	}
}

// TestCacheBudgetFollowsMaxValueSize checks that a Cache bounds what its
// Arrow codec may decode by 8 × Config.MaxValueSize, not by the fixed
// DefaultMaxDecodedSize: a dictionary-encoded Parquet file of a few
// kilobytes, written by another program, whose constant column decodes to
// 800 KB is a miss for a cache whose values are at most 64 KiB, and reads
// back under the default.
func TestCacheBudgetFollowsMaxValueSize(t *testing.T) {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for range 100_000 {
		b.Append(7)
	}
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 100_000)
	defer rec.Release()
	var file bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &file, parquet.NewWriterProperties(parquet.WithDictionaryDefault(true)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if file.Len() > 16<<10 {
		t.Fatalf("the Parquet file is %d bytes, want a small one", file.Len())
	}
	// The entry as cachette stores it: magic, version, codec, flags, expiry.
	exp := time.Now().Add(time.Hour)
	entry := binary.BigEndian.AppendUint64([]byte{0xCA, 1, codecs.IDParquet, 0}, uint64(exp.UnixMilli()))
	entry = append(entry, file.Bytes()...)

	ctx := context.Background()
	for _, tt := range []struct {
		maxValueSize int
		readable     bool
	}{
		{64 << 10, false},
		{0, true}, // the default, 64 MiB
	} {
		c, err := cachette.New(ctx, cachette.Config{Codec: "parquet", MaxValueSize: tt.maxValueSize})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Backend().Set(ctx, "k", entry, exp); err != nil {
			t.Fatal(err)
		}
		var got arrow.RecordBatch
		err = c.Fetch(ctx, "k", &got)
		if tt.readable {
			if err != nil || got.NumRows() != 100_000 {
				t.Fatalf("max_value_size %d: Fetch = %v", tt.maxValueSize, err)
			}
			got.Release()
		} else if !errors.Is(err, cachette.ErrNotFound) {
			t.Fatalf("max_value_size %d: Fetch of 800 KB of columns = %v, want ErrNotFound", tt.maxValueSize, err)
		}
	}
}
