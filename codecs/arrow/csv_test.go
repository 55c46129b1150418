package arrow_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cachette-go/cachette/codecs"
	arrowcodec "github.com/cachette-go/cachette/codecs/arrow"
	"github.com/cachette-go/cachette/codecs/arrow/arrowtest"
)

// csvTypesRecord has a column of every type the csv codec holds, with
// nulls and edge values.
func csvTypesRecord(mem memory.Allocator) arrow.RecordBatch {
	meta := arrow.NewMetadata([]string{"unit"}, []string{"EUR"})
	schemaMeta := arrow.NewMetadata([]string{"k"}, []string{"v"})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "i16", Type: arrow.PrimitiveTypes.Int16},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
		{Name: "u32", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true, Metadata: meta},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ls", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "lbin", Type: arrow.BinaryTypes.LargeBinary, Nullable: true},
		{Name: "fsb", Type: &arrow.FixedSizeBinaryType{ByteWidth: 3}, Nullable: true},
		{Name: "d128", Type: &arrow.Decimal128Type{Precision: 20, Scale: 3}, Nullable: true},
		{Name: "d256", Type: &arrow.Decimal256Type{Precision: 50, Scale: 2}, Nullable: true},
		{Name: "date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ts_s", Type: &arrow.TimestampType{Unit: arrow.Second}, Nullable: true},
		{Name: "ts_ms_utc", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "ts_us_bkk", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Asia/Bangkok"}, Nullable: true},
		{Name: "ts_ns_off", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "-03:30"}, Nullable: true},
		{Name: "with, comma \"and\" quotes", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, &schemaMeta)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	strs := []string{"plain", "", "comma, \"quote\"", "new\nline", "lone\rreturn", " spaces ", "héllo 世界", "tab\tand \x01 control", "NULL", "null", "#ARROW:schema=", `\\N`}
	n := len(strs)
	day := 24 * time.Hour
	times := []time.Time{
		time.Date(2026, 11, 22, 8, 30, 15, 123456789, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Unix(0, 0).UTC(),
	}
	for i := range n {
		valid := i%5 != 4 // every fifth row is null
		ti := times[i%len(times)]
		bld := func(j int) array.Builder { return b.Field(j) }
		if !valid {
			for j := range schema.NumFields() {
				if j == 2 { // i16 is not nullable
					bld(j).(*array.Int16Builder).Append(int16(i))
					continue
				}
				bld(j).AppendNull()
			}
			continue
		}
		bld(0).(*array.BooleanBuilder).Append(i%2 == 0)
		bld(1).(*array.Int8Builder).Append([]int8{math.MinInt8, math.MaxInt8, 0, -1}[i%4])
		bld(2).(*array.Int16Builder).Append(int16(i))
		bld(3).(*array.Int32Builder).Append([]int32{math.MinInt32, math.MaxInt32, 7}[i%3])
		bld(4).(*array.Int64Builder).Append([]int64{math.MinInt64, math.MaxInt64, 42}[i%3])
		bld(5).(*array.Uint8Builder).Append(math.MaxUint8)
		bld(6).(*array.Uint16Builder).Append(math.MaxUint16)
		bld(7).(*array.Uint32Builder).Append(math.MaxUint32)
		bld(8).(*array.Uint64Builder).Append([]uint64{math.MaxUint64, 0}[i%2])
		bld(9).(*array.Float32Builder).Append([]float32{1.1, float32(math.Copysign(0, -1)), math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Inf(1))}[i%5])
		bld(10).(*array.Float64Builder).Append([]float64{0.1, math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(-1), 1e21}[i%6])
		bld(11).(*array.StringBuilder).Append(strs[i])
		bld(12).(*array.LargeStringBuilder).Append(strs[n-1-i])
		bld(13).(*array.BinaryBuilder).Append([]byte(strs[i]))
		bld(14).(*array.BinaryBuilder).Append([]byte{0, 0xff, byte(i)})
		bld(15).(*array.FixedSizeBinaryBuilder).Append([]byte{byte(i), 0, 0xff})
		bld(16).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i)*123456789 - 5000))
		bld(17).(*array.Decimal256Builder).Append(decimal256.FromI64(-int64(i) * 987654321))
		bld(18).(*array.Date32Builder).Append(arrow.Date32FromTime(ti.Truncate(day)))
		bld(19).(*array.TimestampBuilder).Append(arrow.Timestamp(ti.Unix()))
		bld(20).(*array.TimestampBuilder).Append(arrow.Timestamp(ti.UnixMilli()))
		if ti.Year() == 9999 { // in Bangkok, the last second of 9999 is in 10000
			bld(21).(*array.TimestampBuilder).Append(arrow.Timestamp(ti.Add(-day).UnixMicro()))
		} else {
			bld(21).(*array.TimestampBuilder).Append(arrow.Timestamp(ti.UnixMicro()))
		}
		if ti.Year() > 1677 && ti.Year() < 2262 { // int64 nanoseconds
			bld(22).(*array.TimestampBuilder).Append(arrow.Timestamp(ti.UnixNano()))
		} else {
			bld(22).AppendNull()
		}
		bld(23).(*array.Int64Builder).Append(int64(i))
	}
	return b.NewRecordBatch()
}

func TestCSVTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	codec := arrowcodec.CSV{Allocator: mem}
	want := csvTypesRecord(mem)
	defer want.Release()
	data, err := codec.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	var got arrow.RecordBatch
	if err := codec.Decode(data, &got); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	defer got.Release()
	if diff := arrowtest.Equal(want, got); diff != "" {
		t.Errorf("%s\n%s", diff, data)
	}
	for i, f := range got.Schema().Fields() {
		if !f.Metadata.Equal(want.Schema().Field(i).Metadata) || f.Nullable != want.Schema().Field(i).Nullable {
			t.Errorf("field %q: got %v", f.Name, f)
		}
	}
}

// TestCSVText checks what the text looks like: a schema line, a header
// row, and \N for nulls.
func TestCSVText(t *testing.T) {
	rec := arrowtest.MixedRecordRows(memory.DefaultAllocator, 3)
	defer rec.Release()
	data, err := arrowcodec.CSV{}.Encode(rec)
	if err != nil {
		t.Fatal(err)
	}
	schemaLine, text, _ := strings.Cut(string(data), "\n")
	if !strings.HasPrefix(schemaLine, arrowcodec.CSVSchemaPrefix) || !strings.HasSuffix(schemaLine, ",rows=3") {
		t.Errorf("schema line %q", schemaLine)
	}
	want := "id,score,name,active,seen\n" +
		"-1,-3,row 0 ,true,2026-11-22 08:30:00Z\n" +
		"0,\\N,row 1 é,false,2026-11-22 08:31:01.001Z\n" +
		"1,-0.5,\\N,true,2026-11-22 08:32:02.002Z\n"
	if text != want {
		t.Errorf("text\n%s\nwant\n%s", text, want)
	}
}

func TestCSVManyRows(t *testing.T) {
	// More rows than one chunk of the reader: the chunks are concatenated.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	codec := arrowcodec.CSV{Allocator: mem}
	want := arrowtest.MixedRecordRows(mem, 10_000)
	defer want.Release()
	data, err := codec.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	var got arrow.RecordBatch
	if err := codec.Decode(data, &got); err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if diff := arrowtest.Equal(want, got); diff != "" {
		t.Error(diff)
	}
}

// oneColumn returns a record of one column of the given type and values,
// appended with AppendValueFromString.
func oneColumn(t *testing.T, name string, typ arrow.DataType, values ...string) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: name, Type: typ, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, v := range values {
		if err := b.Field(0).AppendValueFromString(v); err != nil {
			t.Fatal(err)
		}
	}
	return b.NewRecordBatch()
}

// dateColumn returns a record of one date32 column holding day.
func dateColumn(day arrow.Date32) arrow.RecordBatch {
	b := array.NewDate32Builder(memory.DefaultAllocator)
	defer b.Release()
	b.Append(day)
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "d", Type: col.DataType()}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{col}, 1)
}

func TestCSVRefuses(t *testing.T) {
	listType := arrow.ListOf(arrow.PrimitiveTypes.Int64)
	tests := []struct {
		name string
		rec  arrow.RecordBatch
		msg  string
	}{
		{"list column", oneColumn(t, "l", listType, "[1,2]"), `column "l" is a list<item: int64, nullable>, which CSV cannot hold; use feather or parquet`},
		{"struct column", oneColumn(t, "st", arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64}), `{"a":1}`), "which CSV cannot hold"},
		{"time32 column", oneColumn(t, "t", arrow.FixedWidthTypes.Time32s, "12:00:00"), "which CSV cannot hold"},
		{"no columns", array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 0), "without columns"},
		{"the null marker", oneColumn(t, "s", arrow.BinaryTypes.String, `\N`), `the string \N is how CSV writes a null`},
		{"CRLF in a string", oneColumn(t, "s", arrow.BinaryTypes.String, "a\r\nb"), `contains \r\n`},
		{"CRLF in a column name", oneColumn(t, "a\r\nb", arrow.PrimitiveTypes.Int64, "1"), `contains \r\n`},
		{"empty string in one column", oneColumn(t, "s", arrow.BinaryTypes.String, "x", ""), "empty line"},
		{"empty binary in one column", oneColumn(t, "b", arrow.BinaryTypes.Binary, ""), "empty line"},
		{"unnamed single column", oneColumn(t, "", arrow.PrimitiveTypes.Int64, "1"), "needs a name"},
		{"timestamp after 9999", oneColumn(t, "ts", &arrow.TimestampType{Unit: arrow.Second}, "253402300800"), "outside the years 0 to 9999"},
		{"timestamp after 9999 in its zone", oneColumn(t, "ts", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "+01:00"}, "253402300000"), "outside the years 0 to 9999"},
		{"null type", oneColumn(t, "n", arrow.Null), "which CSV cannot hold"},
		{"date before year 0", dateColumn(-719_529), "outside the years 0 to 9999"}, // 0000-01-01 is day -719,528
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.rec.Release()
			_, err := arrowcodec.CSV{}.Encode(tt.rec)
			if !errors.Is(err, codecs.ErrType) {
				t.Fatalf("Encode = %v, want an error wrapping codecs.ErrType", err)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), "csv: ") {
				t.Errorf("error %q should say %q", err, tt.msg)
			}
		})
	}
	// The same values are fine where CSV can tell them apart.
	fine := oneColumn(t, "s", arrow.BinaryTypes.String, `\\N`, "a\rb", "a\nb", "N")
	defer fine.Release()
	if _, err := (arrowcodec.CSV{}).Encode(fine); err != nil {
		t.Errorf("Encode of strings CSV holds: %v", err)
	}
}

// csvSchemaLine returns the schema line the codec writes for schema and
// the given row count.
func csvSchemaLine(t *testing.T, schema *arrow.Schema, rows string) string {
	t.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return arrowcodec.CSVSchemaPrefix + base64.StdEncoding.EncodeToString(buf.Bytes()) + ",rows=" + rows + "\n"
}

func TestCSVCorrupt(t *testing.T) {
	ints := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	line := func(rows string) string { return csvSchemaLine(t, ints, rows) }
	lists := arrow.NewSchema([]arrow.Field{{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)}}, nil)
	tests := map[string]string{
		"plain CSV":                  "a,b\n1,x\n",
		"schema line only":           strings.TrimSuffix(line("0"), "\n"),
		"no row count":               strings.Replace(line("1"), ",rows=1", "", 1) + "a,b\n1,x\n",
		"bad row count":              line("one") + "a,b\n1,x\n",
		"negative row count":         line("-1") + "a,b\n",
		"huge row count":             line("99999999999") + "a,b\n1,x\n",
		"a row missing":              line("2") + "a,b\n1,x\n",
		"a row too many":             line("1") + "a,b\n1,x\n2,y\n",
		"truncated last row":         line("1") + "a,b\n1,x",
		"bad base64":                 arrowcodec.CSVSchemaPrefix + "!!!,rows=1\na,b\n1,x\n",
		"not a schema":               arrowcodec.CSVSchemaPrefix + "AAAA,rows=1\na,b\n1,x\n",
		"unsupported stored type":    csvSchemaLine(t, lists, "1") + "l\n{1}\n",
		"no header":                  line("0"),
		"renamed header":             line("1") + "a,c\n1,x\n",
		"header of one column":       line("1") + "a\n1\n",
		"not an integer":             line("1") + "a,b\nx,y\n",
		"empty integer":              line("1") + "a,b\n,y\n",
		"too many fields":            line("1") + "a,b\n1,x,z\n",
		"unterminated quote":         line("1") + "a,b\n1,\"x\n",
		"bare quote":                 line("1") + "a,b\n1,x\"y\n",
		"integer overflow":           line("1") + "a,b\n99999999999999999999,x\n",
		"feather bytes after a line": line("1") + "ARROW1\x00\x00\n",
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			var got arrow.RecordBatch
			err := arrowcodec.CSV{}.Decode([]byte(data), &got)
			if !errors.Is(err, codecs.ErrCorrupt) || errors.Is(err, codecs.ErrType) {
				t.Fatalf("Decode(%.60q) = %v, want an error wrapping only codecs.ErrCorrupt", data, err)
			}
			if got != nil {
				t.Error("Decode stored a record along with the error")
			}
		})
	}
	// The same bytes, well-formed, decode.
	var got arrow.RecordBatch
	if err := (arrowcodec.CSV{}).Decode([]byte(line("2")+"a,b\n1,x\n\\N,\\N\n"), &got); err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if got.NumRows() != 2 || got.Column(0).IsValid(1) || got.Column(1).IsValid(1) {
		t.Errorf("decoded %v", got)
	}
}

// TestCSVWideHeader checks that a schema of many columns and a few bytes
// of rows does not make the reader reserve a large chunk of rows for
// every column.
func TestCSVWideHeader(t *testing.T) {
	fields := make([]arrow.Field, 5000)
	names := make([]string, len(fields))
	for i := range fields {
		names[i] = "c" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
		fields[i] = arrow.Field{Name: names[i], Type: arrow.PrimitiveTypes.Int64, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	data := csvSchemaLine(t, schema, "1") + strings.Join(names, ",") + "\n" + strings.Repeat("1,", len(fields)-1) + "1\n"
	codec := arrowcodec.CSV{MaxDecodedSize: 16 << 20}
	var got arrow.RecordBatch
	if err := codec.Decode([]byte(data), &got); err != nil {
		t.Fatalf("Decode of one row of %d columns with a 16 MiB budget: %v", len(fields), err)
	}
	got.Release()
}
