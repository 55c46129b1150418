// Package arrow provides the "feather", "parquet" and "csv" codecs of
// cachette, which store Apache Arrow data through
// github.com/apache/arrow-go/v18. Importing the package registers all
// three:
//
//	import (
//		"github.com/apache/arrow-go/v18/arrow"
//		"github.com/cachette-go/cachette"
//		_ "github.com/cachette-go/cachette/codecs/arrow"
//	)
//
//	cache, err := cachette.New(ctx, cachette.Config{Codec: "feather"}) // or "parquet", "csv"
//	...
//	err = cache.Put(ctx, "frame", rec) // rec is an arrow.RecordBatch (arrow.Record)
//	...
//	var got arrow.RecordBatch
//	if err := cache.Fetch(ctx, "frame", &got); err != nil {
//		return err
//	}
//	defer got.Release() // the caller owns the decoded record
//
// "feather" is the Arrow IPC file format (Feather version 2): the columns
// are stored as Arrow lays them out in memory, so encoding and decoding do
// little more than copy buffers. "parquet" is Apache Parquet, written with
// the Arrow schema stored in the file's metadata, so that types Parquet has
// no direct equivalent for read back as they were written. "csv" is
// comma-separated text with a header row (arrow-go's arrow/csv), preceded
// by a line holding the Arrow schema so that the types come back as they
// were: readable by people and by any CSV tool, but larger and slower
// than the other two, and limited to flat columns of scalar types (see
// CSV).
//
// # Values
//
// Encode takes an arrow.RecordBatch (arrow.Record is the same type) or an
// arrow.Table; anything else, a nil record included, gives an error
// wrapping codecs.ErrType. Encode does not release its argument.
//
// Decode fills a *arrow.RecordBatch (equivalently *arrow.Record) or a
// *arrow.Table; any other destination gives an error wrapping
// codecs.ErrType. The caller owns what Decode stores and must call its
// Release method when done with it. Decode overwrites the destination
// without releasing what it held before. A table written as several record
// batches is decoded into one record whose columns are the concatenation
// of the batches.
//
// The three codecs preserve the schema (field names, types, nullability,
// schema and field metadata) and the values, nulls included; the tests
// check integers, floating point, strings, booleans, and timestamps with
// their unit and time zone. Parquet cannot store some Arrow types at all
// (unions, for example), nor CSV any nested type; encoding them gives an
// error wrapping codecs.ErrType. Columns are written uncompressed: cachette compresses
// whole entries with zstd according to Config.Compression.
//
// # Untrusted bytes
//
// The bytes a store returns are not trusted. Before the Arrow and Parquet
// readers see them, Decode checks the flatbuffers of Arrow files (and of
// the Arrow schema a Parquet file or a CSV schema line carries) and the
// Thrift footer of Parquet files: every table, vector, string, list and
// map they hold must fit in the bytes that follow, so that no length read
// from the input makes a reader allocate more than the input justifies. Every buffer the readers
// allocate counts against a budget (DefaultMaxDecodedSize, the codec's
// MaxDecodedSize, or 8 × Config.MaxValueSize in a Cache), message bodies
// and pages may not announce more than the input or the budget allows, and
// the decoded columns are validated
// (offsets, lengths, dictionary indices) before they are returned, so that
// reading their values cannot panic. A panic of the readers is recovered.
// Bytes that fail any of this give an error wrapping codecs.ErrCorrupt,
// which makes cachette treat the entry as a miss, remove it and log it.
package arrow

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cachette-go/cachette/codecs"
)

// Configuration names of the codecs.
const (
	FeatherName = "feather"
	ParquetName = "parquet"
	CSVName     = "csv"
)

// DefaultMaxDecodedSize bounds, in bytes, the Arrow buffers one Decode may
// allocate when the codec's MaxDecodedSize is zero. A cachette.Cache gives
// its codec 8 times its Config.MaxValueSize instead (WithMaxDecodedSize),
// which is this bound with the default MaxValueSize of 64 MiB: a Parquet
// value whose columns decode to more is a miss there.
const DefaultMaxDecodedSize int64 = codecs.MaxDecompressedSize

func init() {
	codecs.Register(Feather{})
	codecs.Register(Parquet{})
	codecs.Register(CSV{})
}

// settings are the fields both codecs share.
type settings struct {
	alloc memory.Allocator
	max   int64
}

func (s settings) allocator() memory.Allocator {
	if s.alloc == nil {
		return memory.DefaultAllocator
	}
	return s.alloc
}

func (s settings) maxDecoded() int64 {
	if s.max <= 0 {
		return DefaultMaxDecodedSize
	}
	return s.max
}

// input returns the record batches of v, an arrow.RecordBatch or an
// arrow.Table, and a function releasing what input allocated.
func input(name string, v any) (*arrow.Schema, []arrow.RecordBatch, func(), error) {
	switch x := v.(type) {
	case arrow.RecordBatch:
		return x.Schema(), []arrow.RecordBatch{x}, func() {}, nil
	case arrow.Table:
		tr := array.NewTableReader(x, -1)
		var recs []arrow.RecordBatch
		for tr.Next() {
			rec := tr.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
		}
		release := func() {
			for _, r := range recs {
				r.Release()
			}
			tr.Release()
		}
		if err := tr.Err(); err != nil {
			release()
			return nil, nil, nil, fmt.Errorf("%w: %s: reading the table: %v", codecs.ErrType, name, err)
		}
		return x.Schema(), recs, release, nil
	}
	return nil, nil, nil, fmt.Errorf("%w: %s encodes an arrow.RecordBatch (arrow.Record) or an arrow.Table, not %s", codecs.ErrType, name, typeName(v))
}

// typeName describes v for error messages.
func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("%T", v)
}

// checkDst reports whether dst is a destination Decode can fill.
func checkDst(name string, dst any) error {
	switch d := dst.(type) {
	case *arrow.RecordBatch:
		if d != nil {
			return nil
		}
	case *arrow.Table:
		if d != nil {
			return nil
		}
	}
	return fmt.Errorf("%w: %s decodes into a non-nil *arrow.RecordBatch (*arrow.Record) or *arrow.Table, not %s", codecs.ErrType, name, typeName(dst))
}

// output stores the decoded batches, all of the given schema, into dst.
// It takes over the caller's references to recs.
func output(name string, mem *budget, schema *arrow.Schema, recs []arrow.RecordBatch, dst any) error {
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	// Rows of a type that takes no memory (nulls, for example) are not
	// counted by the budget; bound them too, at 8 rows a byte.
	for i, r := range recs {
		if r.NumRows() > 8*mem.limit {
			return fmt.Errorf("%w: %s: record batch %d has %d rows, more than the memory budget allows", codecs.ErrCorrupt, name, i, r.NumRows())
		}
		if err := validate(schema, r); err != nil {
			return fmt.Errorf("%w: %s: record batch %d: %v", codecs.ErrCorrupt, name, i, err)
		}
	}
	switch d := dst.(type) {
	case *arrow.Table:
		*d = array.NewTableFromRecords(schema, recs)
		return nil
	case *arrow.RecordBatch:
		rec, err := concat(mem, schema, recs)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", codecs.ErrCorrupt, name, err)
		}
		*d = rec
		return nil
	}
	return checkDst(name, dst)
}

// validate checks that rec has the given schema and that every column is
// consistent (offsets, lengths, dictionary indices), so that reading its
// values cannot panic.
func validate(schema *arrow.Schema, rec arrow.RecordBatch) error {
	if int(rec.NumCols()) != schema.NumFields() {
		return fmt.Errorf("%d columns for a schema of %d fields", rec.NumCols(), schema.NumFields())
	}
	for i, col := range rec.Columns() {
		if !arrow.TypeEqual(col.DataType(), schema.Field(i).Type) {
			return fmt.Errorf("column %q is a %v, the schema says %v", rec.ColumnName(i), col.DataType(), schema.Field(i).Type)
		}
		if int64(col.Len()) != rec.NumRows() {
			return fmt.Errorf("column %q has %d rows, the record %d", rec.ColumnName(i), col.Len(), rec.NumRows())
		}
		if err := array.ValidateFull(col); err != nil {
			return fmt.Errorf("column %q: %v", rec.ColumnName(i), err)
		}
	}
	return nil
}

// concat returns one record holding the rows of recs, in order.
func concat(mem memory.Allocator, schema *arrow.Schema, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(recs) == 1 {
		recs[0].Retain()
		return recs[0], nil
	}
	cols := make([]arrow.Array, len(schema.Fields()))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	for i, f := range schema.Fields() {
		if len(recs) == 0 {
			cols[i] = array.MakeArrayOfNull(mem, f.Type, 0)
			continue
		}
		parts := make([]arrow.Array, len(recs))
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, fmt.Errorf("column %q: %v", f.Name, err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(schema, cols, rows), nil
}

// budget is an allocator that refuses, by panicking with errOverBudget,
// to hold more than limit bytes at once. Decode recovers the panic.
type budget struct {
	mem   memory.Allocator
	limit int64
	used  atomic.Int64
}

var errOverBudget = errors.New("decoding needs more memory than allowed")

func newBudget(mem memory.Allocator, limit int64) *budget {
	return &budget{mem: mem, limit: limit}
}

func (b *budget) reserve(n int) {
	if n < 0 {
		b.used.Add(int64(n))
		return
	}
	if b.used.Add(int64(n)) > b.limit {
		b.used.Add(-int64(n))
		panic(fmt.Errorf("%w (%d bytes)", errOverBudget, b.limit))
	}
}

func (b *budget) Allocate(size int) []byte {
	b.reserve(size)
	return b.mem.Allocate(size)
}

func (b *budget) Reallocate(size int, buf []byte) []byte {
	b.reserve(size - len(buf))
	return b.mem.Reallocate(size, buf)
}

func (b *budget) Free(buf []byte) {
	b.used.Add(-int64(len(buf)))
	b.mem.Free(buf)
}

// recoverCorrupt turns a panic of a reader into an error wrapping
// codecs.ErrCorrupt. Use it as: defer recoverCorrupt(name, &err).
func recoverCorrupt(name string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: %v", codecs.ErrCorrupt, name, r)
	}
}
