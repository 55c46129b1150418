package arrow

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	arrowcsv "github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cachette-go/cachette/codecs"
)

// CSVSchemaPrefix starts the first line of every value the "csv" codec
// writes. The line goes on with the Arrow schema, serialized as an IPC
// stream holding only the schema (as Parquet's "ARROW:schema" metadata
// holds it) and base64 encoded, then ",rows=" and the number of rows.
const CSVSchemaPrefix = "#ARROW:schema="

// csvRows separates the schema from the row count in the schema line.
const csvRows = ",rows="

// CSVNull is what the "csv" codec writes for a null value, in every
// column (PostgreSQL's COPY and MySQL write nulls the same way).
const CSVNull = `\N`

// CSV is the "csv" codec: the records as comma-separated text with a
// header row of column names, written and read by arrow-go's arrow/csv
// package, preceded by one line that holds the Arrow schema:
//
//	#ARROW:schema=/////7gBAAAQAAAAAAAKAA4ABgA...AAAA,rows=2
//	id,score,name,active,seen
//	-4,-3,row 0,false,2026-11-22 08:30:00Z
//	-3,\N,row 1 é,true,2026-11-22 08:31:01.001Z
//
// CSV has no types, so the schema line is what makes a round trip exact:
// Decode reads the columns with the stored types (an int32 stays an
// int32, a timestamp keeps its unit and time zone) and gives back the
// schema as it was written, nullability and schema and field metadata
// included. Nulls are written as \N (CSVNull) in every column. The row
// count, and the newline that ends every row, make a truncated value
// corrupt rather than a record with fewer rows.
//
// The codec holds the column types it can write and read back exactly:
// boolean, signed and unsigned integers, float32, float64, string, large
// string, binary, large binary and fixed-size binary (base64), decimal128,
// decimal256, date32 and timestamp (any unit, with or without a time
// zone). Encode refuses, with an error wrapping codecs.ErrType, any
// other column type (lists, structs, dictionaries, the null type: use
// feather or parquet), a record without columns, and the few values CSV text cannot
// give back: a string equal to \N, a string or column name containing
// "\r\n" (CSV readers turn it into "\n"), a timestamp or date32 whose
// year (in the column's time zone) is outside 0 to 9999, and, in a record of one column, an empty string,
// empty binary value or empty column name (the line would be empty, and
// CSV readers skip empty lines).
//
// Decode reads only what Encode writes: text without the schema line,
// plain CSV included, is corrupt. (Inferring types from the text would
// not give the record back, and would read a damaged schema line as data.)
//
// The zero value is the registered codec; it is safe for concurrent use.
type CSV struct {
	// Allocator allocates the decoded buffers and the encoder's scratch
	// space; nil means memory.DefaultAllocator.
	Allocator memory.Allocator
	// MaxDecodedSize bounds the bytes of Arrow buffers one Decode may hold
	// at once; 0 means DefaultMaxDecodedSize.
	MaxDecodedSize int64
}

// Name returns "csv".
func (CSV) Name() string { return CSVName }

// ID returns codecs.IDCSV.
func (CSV) ID() byte { return codecs.IDCSV }

func (c CSV) settings() settings { return settings{c.Allocator, c.MaxDecodedSize} }

// WithMaxDecodedSize returns c with a budget of n bytes, unless c has one
// already (codecs.DecodeBounder: a Cache passes a multiple of its
// MaxValueSize).
func (c CSV) WithMaxDecodedSize(n int64) codecs.Codec {
	if c.MaxDecodedSize <= 0 {
		c.MaxDecodedSize = n
	}
	return c
}

// Encode returns the schema line and the CSV text of v, an
// arrow.RecordBatch or an arrow.Table. It does not release v. Any other
// type of v, or a column or value CSV cannot hold exactly (see CSV),
// gives an error wrapping codecs.ErrType.
func (c CSV) Encode(v any) (b []byte, err error) {
	schema, recs, release, err := input(CSVName, v)
	if err != nil {
		return nil, err
	}
	defer release()
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("%w: csv: cannot encode %T: %v", codecs.ErrType, v, r)
		}
	}()
	if err := csvCheckSchema(schema); err != nil {
		return nil, fmt.Errorf("%w: csv: %v", codecs.ErrType, err)
	}
	for _, rec := range recs {
		if err := csvCheckValues(rec); err != nil {
			return nil, fmt.Errorf("%w: csv: %v", codecs.ErrType, err)
		}
	}
	mem := c.settings().allocator()
	var sch bytes.Buffer
	sw := ipc.NewWriter(&sch, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err := sw.Close(); err != nil {
		return nil, fmt.Errorf("%w: csv: writing the schema: %v", codecs.ErrType, err)
	}
	var buf bytes.Buffer
	buf.WriteString(CSVSchemaPrefix)
	buf.WriteString(base64.StdEncoding.EncodeToString(sch.Bytes()))
	rows := int64(0)
	for _, rec := range recs {
		rows += rec.NumRows()
	}
	buf.WriteString(csvRows)
	buf.WriteString(strconv.FormatInt(rows, 10))
	buf.WriteByte('\n')
	w := arrowcsv.NewWriter(&buf, schema, arrowcsv.WithHeader(true), arrowcsv.WithNullWriter(CSVNull))
	if len(recs) == 0 {
		// The header row is written with the first record.
		empty := emptyRecord(mem, schema)
		defer empty.Release()
		recs = []arrow.RecordBatch{empty}
	}
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			return nil, fmt.Errorf("%w: csv: %v", codecs.ErrType, err)
		}
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("%w: csv: %v", codecs.ErrType, err)
	}
	return buf.Bytes(), nil
}

// emptyRecord returns a record of schema without rows.
func emptyRecord(mem memory.Allocator, schema *arrow.Schema) arrow.RecordBatch {
	cols := make([]arrow.Array, schema.NumFields())
	for i, f := range schema.Fields() {
		cols[i] = array.MakeArrayOfNull(mem, f.Type, 0)
		defer cols[i].Release()
	}
	return array.NewRecordBatch(schema, cols, 0)
}

// csvType reports whether CSV text holds values of dt exactly, as
// arrow/csv writes and reads them.
func csvType(dt arrow.DataType) bool {
	switch dt.(type) {
	case *arrow.BooleanType,
		*arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type,
		*arrow.Float32Type, *arrow.Float64Type,
		*arrow.StringType, *arrow.LargeStringType,
		*arrow.BinaryType, *arrow.LargeBinaryType, *arrow.FixedSizeBinaryType,
		*arrow.Decimal128Type, *arrow.Decimal256Type,
		*arrow.Date32Type, *arrow.TimestampType:
		return true
	}
	return false
}

// csvCheckSchema reports a schema whose records CSV cannot hold.
func csvCheckSchema(schema *arrow.Schema) error {
	if schema.NumFields() == 0 {
		return fmt.Errorf("a record without columns has no CSV form")
	}
	for _, f := range schema.Fields() {
		if !csvType(f.Type) {
			return fmt.Errorf("column %q is a %v, which CSV cannot hold; use feather or parquet", f.Name, f.Type)
		}
		if strings.Contains(f.Name, "\r\n") {
			return fmt.Errorf("column name %q contains \\r\\n, which CSV readers turn into \\n", f.Name)
		}
		if ts, ok := f.Type.(*arrow.TimestampType); ok {
			if _, err := ts.GetZone(); err != nil {
				return fmt.Errorf("column %q: %v", f.Name, err)
			}
		}
	}
	if schema.NumFields() == 1 && schema.Field(0).Name == "" {
		return fmt.Errorf("the column of a record of one column needs a name: its header line would be empty, and CSV readers skip empty lines")
	}
	return nil
}

// csvYear reports whether CSV text holds a time of year y: arrow/csv
// writes a timestamp of another year as a number it cannot read back, and
// a date32 as a year time.Parse refuses.
func csvYear(y int) bool { return y >= 0 && y <= 9999 }

// csvCheckValues reports a value of rec that CSV text would not give back.
func csvCheckValues(rec arrow.RecordBatch) error {
	single := rec.NumCols() == 1
	for i, col := range rec.Columns() {
		name := rec.ColumnName(i)
		switch a := col.(type) {
		case *array.String:
			for j := range a.Len() {
				if a.IsValid(j) {
					if err := csvCheckString(name, j, a.Value(j), single); err != nil {
						return err
					}
				}
			}
		case *array.LargeString:
			for j := range a.Len() {
				if a.IsValid(j) {
					if err := csvCheckString(name, j, a.Value(j), single); err != nil {
						return err
					}
				}
			}
		case array.BinaryLike:
			if !single {
				continue
			}
			for j := range a.Len() {
				if a.IsValid(j) && a.ValueLen(j) == 0 {
					return fmt.Errorf("row %d: an empty value in a record of one column would be an empty line, which CSV readers skip", j)
				}
			}
		case *array.Timestamp:
			toTime, err := a.DataType().(*arrow.TimestampType).GetToTimeFunc()
			if err != nil {
				return fmt.Errorf("column %q: %v", name, err)
			}
			for j := range a.Len() {
				// In the column's zone, as arrow/csv writes it.
				if t := toTime(a.Value(j)); a.IsValid(j) && !csvYear(t.Year()) {
					return fmt.Errorf("column %q, row %d: %v is outside the years 0 to 9999 that CSV text holds", name, j, t)
				}
			}
		case *array.Date32:
			for j := range a.Len() {
				if t := a.Value(j).ToTime(); a.IsValid(j) && !csvYear(t.Year()) {
					return fmt.Errorf("column %q, row %d: %v is outside the years 0 to 9999 that CSV text holds", name, j, t)
				}
			}
		}
	}
	return nil
}

func csvCheckString(col string, row int, s string, single bool) error {
	switch {
	case s == CSVNull:
		return fmt.Errorf("column %q, row %d: the string %s is how CSV writes a null", col, row, CSVNull)
	case strings.Contains(s, "\r\n"):
		return fmt.Errorf("column %q, row %d: the string contains \\r\\n, which CSV readers turn into \\n", col, row)
	case s == "" && single:
		return fmt.Errorf("column %q, row %d: an empty string in a record of one column would be an empty line, which CSV readers skip", col, row)
	}
	return nil
}

// csvChunkRows bounds the rows of each record batch Decode reads.
const csvChunkRows = 4096

// Decode reads the CSV text in data into dst, a *arrow.RecordBatch
// (*arrow.Record) or a *arrow.Table. The caller owns the stored value and
// must call its Release method. Any other dst gives an error wrapping
// codecs.ErrType; data that is not well-formed CSV, whose schema line is
// damaged, whose values do not parse as the column types, or that would
// need more than the allowed memory, gives an error wrapping
// codecs.ErrCorrupt.
func (c CSV) Decode(data []byte, dst any) (err error) {
	if err := checkDst(CSVName, dst); err != nil {
		return err
	}
	defer recoverCorrupt(CSVName, &err)
	s := c.settings()
	mem := newBudget(s.allocator(), s.maxDecoded())
	rest, ok := bytes.CutPrefix(data, []byte(CSVSchemaPrefix))
	if !ok {
		return fmt.Errorf("%w: csv: no schema line (%q)", codecs.ErrCorrupt, CSVSchemaPrefix)
	}
	line, body, found := bytes.Cut(rest, []byte{'\n'})
	if !found {
		return fmt.Errorf("%w: csv: the schema line does not end", codecs.ErrCorrupt)
	}
	b64, count, found := bytes.Cut(line, []byte(csvRows))
	if !found {
		return fmt.Errorf("%w: csv: the schema line has no row count", codecs.ErrCorrupt)
	}
	// Every row, the header's included, ends with a newline.
	rows, err := strconv.ParseInt(string(count), 10, 64)
	if err != nil || rows < 0 || rows >= int64(len(body)) {
		return fmt.Errorf("%w: csv: %q rows in %d bytes", codecs.ErrCorrupt, count, len(body))
	}
	if body[len(body)-1] != '\n' {
		return fmt.Errorf("%w: csv: the last row does not end", codecs.ErrCorrupt)
	}
	schema, err := csvSchema(b64, mem)
	if err != nil {
		return fmt.Errorf("%w: csv: schema line: %v", codecs.ErrCorrupt, err)
	}
	// Each row takes at least one byte a column (a comma or the newline),
	// so chunks of this many rows never make the builders reserve much
	// more than the text justifies.
	chunk := min(max(len(body)/schema.NumFields(), 1), csvChunkRows)
	r := arrowcsv.NewReader(bytes.NewReader(body), schema,
		arrowcsv.WithHeader(true),
		arrowcsv.WithAllocator(mem),
		arrowcsv.WithChunk(chunk),
		arrowcsv.WithNullReader(true, CSVNull),
	)
	defer r.Release()
	var recs []arrow.RecordBatch
	release := func() {
		for _, r := range recs {
			r.Release()
		}
	}
	for r.Next() {
		if err := r.Err(); err != nil {
			break
		}
		rec := r.RecordBatch()
		if err := sameNames(schema, rec.Schema()); err != nil {
			release()
			return fmt.Errorf("%w: csv: %v", codecs.ErrCorrupt, err)
		}
		// The schema as it was written, with its metadata.
		recs = append(recs, array.NewRecordBatch(schema, rec.Columns(), rec.NumRows()))
	}
	if err := r.Err(); err != nil {
		release()
		return fmt.Errorf("%w: csv: %v", codecs.ErrCorrupt, err)
	}
	var read int64
	for _, r := range recs {
		read += r.NumRows()
	}
	if read != rows {
		release()
		return fmt.Errorf("%w: csv: %d rows, the schema line says %d", codecs.ErrCorrupt, read, rows)
	}
	return output(CSVName, mem, schema, recs, dst)
}

// csvSchema decodes the base64 schema of a schema line.
func csvSchema(line []byte, mem memory.Allocator) (*arrow.Schema, error) {
	decoded := make([]byte, base64.StdEncoding.DecodedLen(len(line)))
	n, err := base64.StdEncoding.Decode(decoded, line)
	if err != nil {
		return nil, err
	}
	schema, err := readSchema(decoded[:n], mem)
	if err != nil {
		return nil, err
	}
	if err := csvCheckSchema(schema); err != nil {
		return nil, err
	}
	return schema, nil
}

// sameNames reports whether the header row named the columns as the
// schema does.
func sameNames(schema, read *arrow.Schema) error {
	if read.NumFields() != schema.NumFields() {
		return fmt.Errorf("the header has %d columns, the schema %d", read.NumFields(), schema.NumFields())
	}
	for i, f := range schema.Fields() {
		if got := read.Field(i).Name; got != f.Name {
			return fmt.Errorf("the header names column %d %q, the schema %q", i, got, f.Name)
		}
	}
	return nil
}
