package arrow_test

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cachette-go/cachette"
	_ "github.com/cachette-go/cachette/codecs/arrow" // registers "feather", "parquet" and "csv"
)

func Example() {
	ctx := context.Background()
	cache, err := cachette.New(ctx, cachette.Config{Codec: "parquet"})
	if err != nil {
		panic(err)
	}
	defer cache.Close()

	// A small frame: city and population.
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "city", Type: arrow.BinaryTypes.String},
		{Name: "population", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"Lyon", "Nantes"}, nil)
	b.Field(1).(*array.Int64Builder).AppendValues([]int64{522250, 320732}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()

	if err := cache.Put(ctx, "cities", rec); err != nil {
		panic(err)
	}
	var got arrow.RecordBatch
	if err := cache.Fetch(ctx, "cities", &got); err != nil {
		panic(err)
	}
	defer got.Release() // the caller owns the decoded record

	fmt.Println(got.NumRows(), "rows:", got.Schema().Field(0).Name, got.Schema().Field(1).Name)
	fmt.Println(got.Column(0).ValueStr(1), got.Column(1).ValueStr(1))
	fmt.Println("equal:", array.RecordEqual(rec, got))
	// Output:
	// 2 rows: city population
	// Nantes 320732
	// equal: true
}
