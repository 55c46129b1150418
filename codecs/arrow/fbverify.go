package arrow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The Arrow readers trust the lengths they find in the flatbuffers of an
// Arrow file: a schema announcing four billion fields makes them allocate a
// slice of four billion fields, which the Go runtime cannot recover from.
// This file checks the flatbuffers the readers decode before they see them:
// every table, vector and string lies inside its buffer, and together they
// claim no more bytes than the buffer holds. A well-formed buffer never
// shares tables, vectors or strings (only vtables), so the second rule only
// rejects buffers built to make a small input decode into a huge schema.

// maxNesting bounds how deeply fields nest in a schema.
const maxNesting = 64

// ipcMagic opens and closes an Arrow IPC file.
var ipcMagic = []byte("ARROW1")

const continuation = 0xFFFFFFFF

var errFlatbuffer = errors.New("malformed flatbuffer")

// fb is one flatbuffer being checked.
type fb struct {
	b     []byte
	claim int // bytes the tables, vectors and strings seen so far may still take
}

func newFB(b []byte) *fb { return &fb{b: b, claim: len(b)} }

func (f *fb) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errFlatbuffer, fmt.Sprintf(format, args...))
}

func (f *fb) take(n int, what string) error {
	if n < 0 || n > f.claim {
		return f.fail("%s of %d bytes exceeds the buffer", what, n)
	}
	f.claim -= n
	return nil
}

func (f *fb) u16(pos int) (int, error) {
	if pos < 0 || pos > len(f.b)-2 {
		return 0, f.fail("offset %d out of range", pos)
	}
	return int(binary.LittleEndian.Uint16(f.b[pos:])), nil
}

func (f *fb) u32(pos int) (uint32, error) {
	if pos < 0 || pos > len(f.b)-4 {
		return 0, f.fail("offset %d out of range", pos)
	}
	return binary.LittleEndian.Uint32(f.b[pos:]), nil
}

// deref follows the unsigned offset stored at pos.
func (f *fb) deref(pos int) (int, error) {
	off, err := f.u32(pos)
	if err != nil {
		return 0, err
	}
	target := int64(pos) + int64(off)
	if target >= int64(len(f.b)) {
		return 0, f.fail("offset %d at %d points past the buffer", off, pos)
	}
	return int(target), nil
}

// fbTable is a checked table.
type fbTable struct {
	f       *fb
	pos     int
	vt      int
	vtSize  int
	objSize int
}

// root returns the root table of the buffer.
func (f *fb) root() (fbTable, error) {
	pos, err := f.deref(0)
	if err != nil {
		return fbTable{}, err
	}
	return f.table(pos)
}

func (f *fb) table(pos int) (fbTable, error) {
	so, err := f.u32(pos)
	if err != nil {
		return fbTable{}, err
	}
	vt := int64(pos) - int64(int32(so))
	if vt < 0 || vt > int64(len(f.b))-4 {
		return fbTable{}, f.fail("vtable of the table at %d out of range", pos)
	}
	t := fbTable{f: f, pos: pos, vt: int(vt)}
	t.vtSize, _ = f.u16(t.vt)
	t.objSize, _ = f.u16(t.vt + 2)
	switch {
	case t.vtSize < 4 || t.vtSize%2 != 0 || t.vt+t.vtSize > len(f.b):
		return fbTable{}, f.fail("vtable at %d has size %d", t.vt, t.vtSize)
	case t.objSize < 4 || pos+t.objSize > len(f.b):
		return fbTable{}, f.fail("table at %d has size %d", pos, t.objSize)
	}
	return t, f.take(t.objSize, "table")
}

// field returns the position of the field in slot, 0 if it is absent.
// size is the bytes the field takes in the table.
func (t fbTable) field(slot, size int) (int, error) {
	o := 4 + 2*slot
	if o+2 > t.vtSize {
		return 0, nil
	}
	off, err := t.f.u16(t.vt + o)
	if err != nil || off == 0 {
		return 0, err
	}
	if off+size > t.objSize {
		return 0, t.f.fail("field %d of the table at %d lies outside it", slot, t.pos)
	}
	return t.pos + off, nil
}

// u8 returns the byte field in slot (0 if absent).
func (t fbTable) u8(slot int) (byte, error) {
	p, err := t.field(slot, 1)
	if err != nil || p == 0 {
		return 0, err
	}
	return t.f.b[p], nil
}

// sub returns the table referenced by slot; ok is false if it is absent.
func (t fbTable) sub(slot int) (sub fbTable, ok bool, err error) {
	p, err := t.field(slot, 4)
	if err != nil || p == 0 {
		return fbTable{}, false, err
	}
	target, err := t.f.deref(p)
	if err != nil {
		return fbTable{}, false, err
	}
	sub, err = t.f.table(target)
	return sub, err == nil, err
}

// vector returns the start and length of the vector in slot, whose
// elements take elem bytes each (0, 0 if absent).
func (t fbTable) vector(slot, elem int) (start, n int, err error) {
	p, err := t.field(slot, 4)
	if err != nil || p == 0 {
		return 0, 0, err
	}
	target, err := t.f.deref(p)
	if err != nil {
		return 0, 0, err
	}
	length, err := t.f.u32(target)
	if err != nil {
		return 0, 0, err
	}
	start = target + 4
	if uint64(length)*uint64(elem) > uint64(len(t.f.b)-start) {
		return 0, 0, t.f.fail("vector of %d elements at %d exceeds the buffer", length, target)
	}
	n = int(length)
	return start, n, t.f.take(4+n*elem, "vector")
}

// tables calls fn on each table of the vector of tables in slot.
func (t fbTable) tables(slot int, fn func(fbTable) error) error {
	start, n, err := t.vector(slot, 4)
	if err != nil {
		return err
	}
	for i := range n {
		target, err := t.f.deref(start + 4*i)
		if err != nil {
			return err
		}
		sub, err := t.f.table(target)
		if err != nil {
			return err
		}
		if err := fn(sub); err != nil {
			return err
		}
	}
	return nil
}

// Slots of the Arrow flatbuffer tables (format/Schema.fbs, Message.fbs, File.fbs).
const (
	footerSchema, footerDictionaries, footerRecordBatches, footerMetadata = 1, 2, 3, 4
	schemaFields, schemaMetadata, schemaFeatures                          = 1, 2, 3
	fieldName, fieldTypeType, fieldType, fieldDictionary                  = 0, 2, 3, 4
	fieldChildren, fieldMetadata                                          = 5, 6
	dictEncodingIndexType                                                 = 1
	messageHeaderType, messageHeader, messageMetadata                     = 1, 2, 4
	batchNodes, batchBuffers, batchCompression, batchVariadicCounts       = 1, 2, 3, 4
	dictBatchData                                                         = 1
	unionTypeIDs, timestampTimeZone                                       = 1, 1
	typeTimestamp, typeUnion                                              = 10, 14
	headerSchema, headerDictionaryBatch, headerRecordBatch                = 1, 2, 3
	blockSize, fieldNodeSize, bufferSize                                  = 24, 16, 16
)

func checkSchema(t fbTable) error {
	if err := t.tables(schemaFields, func(f fbTable) error { return checkField(f, 1) }); err != nil {
		return err
	}
	if err := checkMetadata(t, schemaMetadata); err != nil {
		return err
	}
	_, _, err := t.vector(schemaFeatures, 8)
	return err
}

func checkMetadata(t fbTable, slot int) error {
	return t.tables(slot, func(kv fbTable) error {
		if _, _, err := kv.vector(0, 1); err != nil {
			return err
		}
		_, _, err := kv.vector(1, 1)
		return err
	})
}

func checkField(t fbTable, depth int) error {
	if depth > maxNesting {
		return t.f.fail("fields nested deeper than %d", maxNesting)
	}
	if _, _, err := t.vector(fieldName, 1); err != nil {
		return err
	}
	typ, err := t.u8(fieldTypeType)
	if err != nil {
		return err
	}
	tt, ok, err := t.sub(fieldType)
	if err != nil {
		return err
	}
	if ok {
		switch typ {
		case typeTimestamp:
			_, _, err = tt.vector(timestampTimeZone, 1)
		case typeUnion:
			_, _, err = tt.vector(unionTypeIDs, 4)
		}
		if err != nil {
			return err
		}
	}
	if dict, ok, err := t.sub(fieldDictionary); err != nil {
		return err
	} else if ok {
		if _, _, err := dict.sub(dictEncodingIndexType); err != nil {
			return err
		}
	}
	if err := t.tables(fieldChildren, func(c fbTable) error { return checkField(c, depth+1) }); err != nil {
		return err
	}
	return checkMetadata(t, fieldMetadata)
}

func checkRecordBatch(t fbTable) error {
	if _, _, err := t.vector(batchNodes, fieldNodeSize); err != nil {
		return err
	}
	_, nbuf, err := t.vector(batchBuffers, bufferSize)
	if err != nil {
		return err
	}
	if _, _, err := t.sub(batchCompression); err != nil {
		return err
	}
	start, n, err := t.vector(batchVariadicCounts, 8)
	if err != nil {
		return err
	}
	for i := range n {
		c := int64(binary.LittleEndian.Uint64(t.f.b[start+8*i:]))
		if c < 0 || c > int64(nbuf) {
			return t.f.fail("%d variadic buffers in a batch of %d buffers", c, nbuf)
		}
	}
	return nil
}

// checkMessage checks an IPC message flatbuffer (without its length prefix).
func checkMessage(b []byte) error {
	f := newFB(b)
	m, err := f.root()
	if err != nil {
		return err
	}
	typ, err := m.u8(messageHeaderType)
	if err != nil {
		return err
	}
	h, ok, err := m.sub(messageHeader)
	if err != nil {
		return err
	}
	if ok {
		switch typ {
		case headerSchema:
			err = checkSchema(h)
		case headerRecordBatch:
			err = checkRecordBatch(h)
		case headerDictionaryBatch:
			var data fbTable
			if data, ok, err = h.sub(dictBatchData); err == nil && ok {
				err = checkRecordBatch(data)
			}
		}
		if err != nil {
			return err
		}
	}
	return checkMetadata(m, messageMetadata)
}

// messageFlatbuffer returns the flatbuffer of an encapsulated IPC message
// (continuation marker, length, flatbuffer, or the older length, flatbuffer)
// at the start of b.
func messageFlatbuffer(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, errors.New("message too short")
	}
	prefix := 4
	if binary.LittleEndian.Uint32(b) == continuation {
		prefix = 8
		if len(b) < prefix {
			return nil, errors.New("message too short")
		}
	}
	n := binary.LittleEndian.Uint32(b[prefix-4:])
	if uint64(n) > uint64(len(b)-prefix) {
		return nil, fmt.Errorf("message metadata of %d bytes, only %d follow", n, len(b)-prefix)
	}
	return b[prefix : prefix+int(n)], nil
}

// checkIPCFile checks the footer of an Arrow IPC file and the metadata of
// every message it lists. It leaves other errors to the reader.
func checkIPCFile(data []byte) error {
	eof := len(ipcMagic) + 4
	if len(data) < len(ipcMagic)+2+eof || !bytes.Equal(data[len(data)-len(ipcMagic):], ipcMagic) {
		return errors.New("not an Arrow file (no magic bytes at the end)")
	}
	size := int64(binary.LittleEndian.Uint32(data[len(data)-eof:]))
	if size <= 0 || size > int64(len(data)-eof) {
		return fmt.Errorf("footer of %d bytes in a file of %d", size, len(data))
	}
	footerEnd := len(data) - eof
	f := newFB(data[footerEnd-int(size) : footerEnd])
	footer, err := f.root()
	if err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	if schema, ok, err := footer.sub(footerSchema); err != nil {
		return fmt.Errorf("schema: %w", err)
	} else if ok {
		if err := checkSchema(schema); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
	}
	if err := checkMetadata(footer, footerMetadata); err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	// Blocks never overlap in a well-formed file, so together they fit in
	// it; this keeps a footer listing one block many times from making the
	// reader copy the same bytes again and again.
	total := int64(0)
	for _, slot := range []int{footerDictionaries, footerRecordBatches} {
		start, n, err := footer.vector(slot, blockSize)
		if err != nil {
			return fmt.Errorf("footer: %w", err)
		}
		for i := range n {
			blk := f.b[start+blockSize*i:]
			offset := int64(binary.LittleEndian.Uint64(blk))
			meta := int64(int32(binary.LittleEndian.Uint32(blk[8:])))
			body := int64(binary.LittleEndian.Uint64(blk[16:]))
			if offset < 0 || meta < 0 || offset > int64(footerEnd) || meta > int64(footerEnd)-offset {
				return fmt.Errorf("block %d at %d of %d bytes lies outside the file", i, offset, meta)
			}
			if body < 0 || body > int64(len(data)) {
				return fmt.Errorf("block %d has a body of %d bytes", i, body)
			}
			if total += meta + body; total > int64(len(data)) {
				return fmt.Errorf("the blocks of the footer add up to more than the file's %d bytes", len(data))
			}
			msg, err := messageFlatbuffer(data[offset : offset+meta])
			if err != nil {
				return fmt.Errorf("block %d: %w", i, err)
			}
			if err := checkMessage(msg); err != nil {
				return fmt.Errorf("block %d: %w", i, err)
			}
		}
	}
	return nil
}
