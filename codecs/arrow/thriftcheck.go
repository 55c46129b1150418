package arrow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The Parquet footer is a Thrift structure in the compact protocol. The
// Thrift library checks the lengths it reads against a 100 MiB limit, not
// against the bytes that follow, and the generated code allocates a slice
// of the announced length before reading any element: a footer of a few
// bytes could make it allocate gigabytes. checkParquetFooter walks the
// footer first and checks that every list, set and map announces no more
// elements than there are bytes left (each element takes at least one).

var parquetMagic = []byte("PAR1")

// maxThriftDepth bounds the nesting of Thrift structures and containers.
const maxThriftDepth = 64

// Thrift compact protocol types.
const (
	tcStop      = 0
	tcTrue      = 1
	tcFalse     = 2
	tcByte      = 3
	tcI16       = 4
	tcI32       = 5
	tcI64       = 6
	tcDouble    = 7
	tcBinary    = 8
	tcList      = 9
	tcSet       = 10
	tcMap       = 11
	tcStruct    = 12
	tcUUID      = 13
	footerTrail = 8 // footer length and magic
)

var errThrift = errors.New("malformed footer")

type thriftScan struct {
	b   []byte
	pos int
}

func (s *thriftScan) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s at byte %d", errThrift, fmt.Sprintf(format, args...), s.pos)
}

func (s *thriftScan) byte() (byte, error) {
	if s.pos >= len(s.b) {
		return 0, s.fail("unexpected end")
	}
	c := s.b[s.pos]
	s.pos++
	return c, nil
}

func (s *thriftScan) varint() (uint64, error) {
	v, n := binary.Uvarint(s.b[s.pos:])
	if n <= 0 {
		return 0, s.fail("bad varint")
	}
	s.pos += n
	return v, nil
}

func (s *thriftScan) skipBytes(n uint64) error {
	if n > uint64(len(s.b)-s.pos) {
		return s.fail("%d bytes announced, %d left", n, len(s.b)-s.pos)
	}
	s.pos += int(n)
	return nil
}

// count reads a container size and checks it against the bytes left.
func (s *thriftScan) count(n uint64, perElem int) (int, error) {
	if n > uint64(len(s.b)-s.pos)/uint64(perElem) {
		return 0, s.fail("container of %d elements, %d bytes left", n, len(s.b)-s.pos)
	}
	return int(n), nil
}

func (s *thriftScan) value(typ byte, depth int) error {
	if depth > maxThriftDepth {
		return s.fail("nested deeper than %d", maxThriftDepth)
	}
	switch typ {
	case tcTrue, tcFalse:
		return nil // in a struct, the value is the type; in containers see element
	case tcByte:
		return s.skipBytes(1)
	case tcI16, tcI32, tcI64:
		_, err := s.varint()
		return err
	case tcDouble:
		return s.skipBytes(8)
	case tcUUID:
		return s.skipBytes(16)
	case tcBinary:
		n, err := s.varint()
		if err != nil {
			return err
		}
		return s.skipBytes(n)
	case tcList, tcSet:
		h, err := s.byte()
		if err != nil {
			return err
		}
		size, elem := uint64(h>>4), h&0x0f
		if size == 15 {
			if size, err = s.varint(); err != nil {
				return err
			}
		}
		n, err := s.count(size, 1)
		if err != nil {
			return err
		}
		for range n {
			if elem == tcTrue || elem == tcFalse {
				err = s.skipBytes(1) // booleans in containers take a byte
			} else {
				err = s.value(elem, depth+1)
			}
			if err != nil {
				return err
			}
		}
		return nil
	case tcMap:
		size, err := s.varint()
		if err != nil || size == 0 {
			return err
		}
		kv, err := s.byte()
		if err != nil {
			return err
		}
		n, err := s.count(size, 2)
		if err != nil {
			return err
		}
		for range n {
			for _, t := range []byte{kv >> 4, kv & 0x0f} {
				if t == tcTrue || t == tcFalse {
					err = s.skipBytes(1)
				} else {
					err = s.value(t, depth+1)
				}
				if err != nil {
					return err
				}
			}
		}
		return nil
	case tcStruct:
		for {
			h, err := s.byte()
			if err != nil {
				return err
			}
			if h == tcStop {
				return nil
			}
			if h>>4 == 0 { // long form: the field ID follows
				if _, err := s.varint(); err != nil {
					return err
				}
			}
			if err := s.value(h&0x0f, depth+1); err != nil {
				return err
			}
		}
	}
	return s.fail("unknown type %d", typ)
}

// checkParquetFooter checks the Thrift footer of a Parquet file. It
// leaves files it does not recognize to the reader.
func checkParquetFooter(data []byte) error {
	if len(data) < 2*len(parquetMagic)+4 || !bytes.Equal(data[len(data)-len(parquetMagic):], parquetMagic) {
		return nil // the reader reports what is wrong
	}
	size := uint64(binary.LittleEndian.Uint32(data[len(data)-footerTrail:]))
	if size > uint64(len(data)-footerTrail) {
		return nil
	}
	end := len(data) - footerTrail
	s := &thriftScan{b: data[end-int(size) : end]}
	return s.value(tcStruct, 0)
}
