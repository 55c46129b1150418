// Package arrowtest holds the Arrow records the feather and parquet codecs
// are tested with, and a round trip through a cachette.Cache that backend
// tests can run on their own store:
//
//	c, err := cachette.NewWithBackend(store, cachette.Config{Codec: "parquet"})
//	...
//	arrowtest.AssertRoundTrip(t, c)
//
// Importing arrowtest links the codecs (codecs/arrow).
package arrowtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cachette-go/cachette"
	_ "github.com/cachette-go/cachette/codecs/arrow" // the codecs under test
)

// OneHotRecord returns the frame of the upstream Cachette DataFrame test,
// pandas.get_dummies(Series(["income", "age", "gender", "education"])): 4
// rows by 4 boolean columns named after the categories in sorted order,
// row i true in the column of the i-th category. The caller releases it.
func OneHotRecord(mem memory.Allocator) arrow.RecordBatch {
	categories := []string{"income", "age", "gender", "education"}
	columns := []string{"age", "education", "gender", "income"}
	fields := make([]arrow.Field, len(columns))
	for i, name := range columns {
		fields[i] = arrow.Field{Name: name, Type: arrow.FixedWidthTypes.Boolean, Nullable: true}
	}
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for _, cat := range categories {
		for i, name := range columns {
			b.Field(i).(*array.BooleanBuilder).Append(cat == name)
		}
	}
	return b.NewRecordBatch()
}

// MixedSchema is the schema of MixedRecord: a non-nullable int64 key and
// nullable float64, string, bool and timestamp[ms, UTC] columns, with
// schema and field metadata.
var MixedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true,
		Metadata: arrow.NewMetadata([]string{"comment"}, []string{"display name"})},
	{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "seen", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
}, func() *arrow.Metadata {
	m := arrow.NewMetadata([]string{"source"}, []string{"cachette arrowtest"})
	return &m
}())

// MixedRecord returns an 8-row record of MixedSchema with nulls in every
// nullable column. The caller releases it.
func MixedRecord(mem memory.Allocator) arrow.RecordBatch { return MixedRecordRows(mem, 8) }

// MixedRecordRows returns a record of MixedSchema with n rows: row i has
// id i, a null score every 3rd row, a null name every 4th, a null active
// every 5th and a null seen every 7th row. The caller releases it.
func MixedRecordRows(mem memory.Allocator, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, MixedSchema)
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	scores := b.Field(1).(*array.Float64Builder)
	names := b.Field(2).(*array.StringBuilder)
	active := b.Field(3).(*array.BooleanBuilder)
	seen := b.Field(4).(*array.TimestampBuilder)
	base := time.Date(2026, 11, 22, 8, 30, 0, 0, time.UTC).UnixMilli()
	for i := range n {
		ids.Append(int64(i) - int64(n)/2)
		if i%3 == 1 {
			scores.AppendNull()
		} else {
			scores.Append(float64(i)*1.25 - 3)
		}
		if i%4 == 2 {
			names.AppendNull()
		} else {
			names.Append(fmt.Sprintf("row %d %s", i, strings.Repeat("é", i%5)))
		}
		if i%5 == 3 {
			active.AppendNull()
		} else {
			active.Append(i%2 == 0)
		}
		if i%7 == 4 {
			seen.AppendNull()
		} else {
			seen.Append(arrow.Timestamp(base + int64(i)*61_001))
		}
	}
	return b.NewRecordBatch()
}

// Equal reports how got differs from want (schema, schema metadata or
// values), or "" when they are equal.
func Equal(want, got arrow.RecordBatch) string {
	switch {
	case got == nil:
		return "got a nil record"
	case !got.Schema().Equal(want.Schema()):
		return fmt.Sprintf("schema:\n got %v\nwant %v", got.Schema(), want.Schema())
	case !got.Schema().Metadata().Equal(want.Schema().Metadata()):
		return fmt.Sprintf("schema metadata: got %v, want %v", got.Schema().Metadata(), want.Schema().Metadata())
	case !array.RecordEqual(got, want):
		g, _ := got.MarshalJSON()
		w, _ := want.MarshalJSON()
		return fmt.Sprintf("values:\n got %s\nwant %s", g, w)
	}
	return ""
}

// AssertRoundTrip puts OneHotRecord and MixedRecord into c, whose codec is
// "feather" or "parquet", fetches them back and fails t unless schema and
// values are equal. It removes its keys afterwards and checks that the
// records it built were released.
func AssertRoundTrip(t testing.TB, c *cachette.Cache) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	codec := c.Config().Codec
	for name, build := range map[string]func(memory.Allocator) arrow.RecordBatch{
		"onehot": OneHotRecord,
		"mixed":  MixedRecord,
	} {
		want := build(mem)
		key := "arrowtest:" + name
		if err := c.Put(ctx, key, want); err != nil {
			want.Release()
			t.Fatalf("%s: put %s: %v", codec, name, err)
		}
		var got arrow.RecordBatch
		if err := c.Fetch(ctx, key, &got); err != nil {
			want.Release()
			t.Fatalf("%s: fetch %s: %v", codec, name, err)
		}
		if diff := Equal(want, got); diff != "" {
			t.Errorf("%s: %s round trip: %s", codec, name, diff)
		}
		got.Release()
		want.Release()
		if _, err := c.Clear(ctx, key); err != nil {
			t.Errorf("%s: clear %s: %v", codec, key, err)
		}
	}
}
