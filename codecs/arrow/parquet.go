package arrow

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/cachette-go/cachette/codecs"
)

// Parquet is the "parquet" codec: an Apache Parquet file with one row group
// per encoded record batch, plain uncompressed pages without statistics,
// and the Arrow schema stored in the file's metadata
// (pqarrow.WithStoreSchema), so that Arrow types, nullability and schema
// and field metadata round-trip exactly. Decode also reads files written
// by other programs, compressed or not, with or without a stored schema;
// without one, the types are those Parquet's logical types map to and
// every field carries the "PARQUET:field_id" metadata the reader adds.
// The zero value is the registered codec; it is safe for concurrent use.
type Parquet struct {
	// Allocator allocates the decoded buffers and the encoder's scratch
	// space; nil means memory.DefaultAllocator.
	Allocator memory.Allocator
	// MaxDecodedSize bounds the bytes of Arrow buffers one Decode may hold
	// at once, and the size of any one uncompressed page; 0 means
	// DefaultMaxDecodedSize.
	MaxDecodedSize int64
}

// Name returns "parquet".
func (Parquet) Name() string { return ParquetName }

// ID returns codecs.IDParquet.
func (Parquet) ID() byte { return codecs.IDParquet }

func (c Parquet) settings() settings { return settings{c.Allocator, c.MaxDecodedSize} }

// WithMaxDecodedSize returns c with a budget of n bytes, unless c has one
// already (codecs.DecodeBounder: a Cache passes a multiple of its
// MaxValueSize).
func (c Parquet) WithMaxDecodedSize(n int64) codecs.Codec {
	if c.MaxDecodedSize <= 0 {
		c.MaxDecodedSize = n
	}
	return c
}

// Encode returns the Parquet file holding v, an arrow.RecordBatch or an
// arrow.Table. It does not release v. Any other type of v, or a column
// type Parquet cannot store, gives an error wrapping codecs.ErrType.
func (c Parquet) Encode(v any) (b []byte, err error) {
	schema, recs, release, err := input(ParquetName, v)
	if err != nil {
		return nil, err
	}
	defer release()
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("%w: parquet: cannot encode %T: %v", codecs.ErrType, v, r)
		}
	}()
	mem := c.settings().allocator()
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Uncompressed),
		// A cached blob is read whole: statistics serve no reader, and
		// plain pages are twice as fast to write and read as dictionary
		// pages, whose savings zstd compression of the entry mostly gives.
		parquet.WithStats(false),
		parquet.WithDictionaryDefault(false),
	)
	arrProps := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem))
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, props, arrProps)
	if err != nil {
		return nil, fmt.Errorf("%w: parquet: %v", codecs.ErrType, err)
	}
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("%w: parquet: %v", codecs.ErrType, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("%w: parquet: %v", codecs.ErrType, err)
	}
	return buf.Bytes(), nil
}

// Decode reads the Parquet file in data into dst, a *arrow.RecordBatch
// (*arrow.Record) or a *arrow.Table. The caller owns the stored value and
// must call its Release method. Any other dst gives an error wrapping
// codecs.ErrType; data that is not a well-formed Parquet file, or that
// would need more than the allowed memory, gives an error wrapping
// codecs.ErrCorrupt.
func (c Parquet) Decode(data []byte, dst any) (err error) {
	if err := checkDst(ParquetName, dst); err != nil {
		return err
	}
	defer recoverCorrupt(ParquetName, &err)
	if err := checkParquetFooter(data); err != nil {
		return fmt.Errorf("%w: parquet: %v", codecs.ErrCorrupt, err)
	}
	s := c.settings()
	mem := newBudget(s.allocator(), s.maxDecoded())
	props := parquet.NewReaderProperties(mem)
	props.MaxCompressedPageSize = max(int64(len(data)), 1)
	props.MaxUncompressedPageSize = s.maxDecoded()
	pf, err := file.NewParquetReader(bytes.NewReader(data), file.WithReadProps(props))
	if err != nil {
		return fmt.Errorf("%w: parquet: %v", codecs.ErrCorrupt, err)
	}
	defer pf.Close()
	stored, err := storedSchema(pf, mem)
	if err != nil {
		return fmt.Errorf("%w: parquet: stored Arrow schema: %v", codecs.ErrCorrupt, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		return fmt.Errorf("%w: parquet: %v", codecs.ErrCorrupt, err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return fmt.Errorf("%w: parquet: %v", codecs.ErrCorrupt, err)
	}
	defer tbl.Release()
	schema := tbl.Schema()
	if sameColumns(schema, stored) {
		// The schema as it was written, without the field IDs the reader
		// adds and with the schema's own metadata.
		schema = stored
	}
	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	var recs []arrow.RecordBatch
	release := func() {
		for _, r := range recs {
			r.Release()
		}
	}
	for tr.Next() {
		rec := tr.RecordBatch() // output validates it
		recs = append(recs, array.NewRecordBatch(schema, rec.Columns(), rec.NumRows()))
	}
	if err := tr.Err(); err != nil {
		release()
		return fmt.Errorf("%w: parquet: %v", codecs.ErrCorrupt, err)
	}
	return output(ParquetName, mem, schema, recs, dst)
}

// arrowSchemaKey is the key of the file metadata under which
// pqarrow.WithStoreSchema stores the Arrow schema.
const arrowSchemaKey = "ARROW:schema"

// storedSchema returns the Arrow schema stored in the metadata of the
// file, or nil if there is none. It checks the serialized schema before
// pqarrow decodes it (pqarrow.NewFileReader decodes it too, trusting the
// lengths it holds).
func storedSchema(pf *file.Reader, mem memory.Allocator) (*arrow.Schema, error) {
	v := pf.MetaData().KeyValueMetadata().FindValue(arrowSchemaKey)
	if v == nil {
		return nil, nil
	}
	// pqarrow accepts both padded and unpadded base64.
	var decoded []byte
	var err error
	if len(*v)%4 == 0 {
		decoded, err = base64.StdEncoding.DecodeString(*v)
	}
	if len(decoded) == 0 || err != nil {
		decoded, err = base64.RawStdEncoding.DecodeString(*v)
	}
	if err != nil {
		return nil, err
	}
	return readSchema(decoded, mem)
}

// readSchema decodes an IPC stream holding an Arrow schema (as
// pqarrow.WithStoreSchema and the csv codec store it), checking its
// flatbuffer first.
func readSchema(stream []byte, mem memory.Allocator) (*arrow.Schema, error) {
	msg, err := messageFlatbuffer(stream)
	if err != nil {
		return nil, err
	}
	if err := checkMessage(msg); err != nil {
		return nil, err
	}
	r, err := ipc.NewReader(bytes.NewReader(stream), ipc.WithAllocator(mem))
	if err != nil {
		return nil, err
	}
	defer r.Release()
	return r.Schema(), nil
}

// sameColumns reports whether stored has the fields of read, but for
// their metadata.
func sameColumns(read, stored *arrow.Schema) bool {
	if stored == nil || read.NumFields() != stored.NumFields() {
		return false
	}
	for i, f := range read.Fields() {
		g := stored.Field(i)
		if f.Name != g.Name || f.Nullable != g.Nullable || !arrow.TypeEqual(f.Type, g.Type) {
			return false
		}
	}
	return true
}
