package arrow

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cachette-go/cachette/codecs"
)

// Feather is the "feather" codec: the Arrow IPC file format (Feather
// version 2), one record batch per encoded record, uncompressed. Decode
// also reads files whose buffers are LZ4 or zstd compressed. The zero
// value is the registered codec; it is safe for concurrent use.
type Feather struct {
	// Allocator allocates the decoded buffers and the encoder's scratch
	// space; nil means memory.DefaultAllocator.
	Allocator memory.Allocator
	// MaxDecodedSize bounds the bytes of Arrow buffers one Decode may hold
	// at once; 0 means DefaultMaxDecodedSize.
	MaxDecodedSize int64
}

// Name returns "feather".
func (Feather) Name() string { return FeatherName }

// ID returns codecs.IDFeather.
func (Feather) ID() byte { return codecs.IDFeather }

func (c Feather) settings() settings { return settings{c.Allocator, c.MaxDecodedSize} }

// WithMaxDecodedSize returns c with a budget of n bytes, unless c has one
// already (codecs.DecodeBounder: a Cache passes a multiple of its
// MaxValueSize).
func (c Feather) WithMaxDecodedSize(n int64) codecs.Codec {
	if c.MaxDecodedSize <= 0 {
		c.MaxDecodedSize = n
	}
	return c
}

// Encode returns the Arrow IPC file holding v, an arrow.RecordBatch or an
// arrow.Table. It does not release v. Any other type of v gives an error
// wrapping codecs.ErrType.
func (c Feather) Encode(v any) (b []byte, err error) {
	schema, recs, release, err := input(FeatherName, v)
	if err != nil {
		return nil, err
	}
	defer release()
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("%w: feather: cannot encode %T: %v", codecs.ErrType, v, r)
		}
	}()
	var buf bytes.Buffer
	w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(c.settings().allocator()))
	if err != nil {
		return nil, fmt.Errorf("%w: feather: %v", codecs.ErrType, err)
	}
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("%w: feather: %v", codecs.ErrType, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("%w: feather: %v", codecs.ErrType, err)
	}
	return buf.Bytes(), nil
}

// Decode reads the Arrow IPC file in data into dst, a *arrow.RecordBatch
// (*arrow.Record) or a *arrow.Table. The caller owns the stored value and
// must call its Release method. Any other dst gives an error wrapping
// codecs.ErrType; data that is not a well-formed Arrow file, or that would
// need more than the allowed memory, gives an error wrapping
// codecs.ErrCorrupt.
func (c Feather) Decode(data []byte, dst any) (err error) {
	if err := checkDst(FeatherName, dst); err != nil {
		return err
	}
	defer recoverCorrupt(FeatherName, &err)
	if err := checkIPCFile(data); err != nil {
		return fmt.Errorf("%w: feather: %v", codecs.ErrCorrupt, err)
	}
	s := c.settings()
	mem := newBudget(s.allocator(), s.maxDecoded())
	size := int64(len(data))
	r, err := ipc.NewFileReader(bytes.NewReader(data),
		ipc.WithAllocator(mem),
		ipc.WithMetadataSizeLimit(size),
		ipc.WithBodySizeLimit(size),
	)
	if err != nil {
		return fmt.Errorf("%w: feather: %v", codecs.ErrCorrupt, err)
	}
	defer r.Close()
	n := r.NumRecords()
	// Each record batch of the footer takes a block entry of 24 bytes.
	if n < 0 || int64(n) > size/24 {
		return fmt.Errorf("%w: feather: the footer lists %d record batches in %d bytes", codecs.ErrCorrupt, n, size)
	}
	recs := make([]arrow.RecordBatch, 0, n)
	for i := range n {
		rec, err := r.RecordBatchAt(i)
		if err != nil {
			for _, r := range recs {
				r.Release()
			}
			return fmt.Errorf("%w: feather: record batch %d: %v", codecs.ErrCorrupt, i, err)
		}
		recs = append(recs, rec)
	}
	return output(FeatherName, mem, r.Schema(), recs, dst)
}
