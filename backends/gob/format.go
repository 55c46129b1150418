package gob

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The file format, shared by entries and locks. All integers are big-endian
// or unsigned varints (minimal encoding only):
//
//	offset  size     field
//	0       4        magic "CTGB"
//	4       1        format version (1)
//	5       1        kind: 'E' entry, 'L' lock
//	6       8        expiry, Unix milliseconds (int64)
//	14      varint   length of the prefix, then the prefix
//	        varint   length of the key, then the key
//	        varint   length of the value, then the value (a lock's value is its token)
//	        4        CRC-32C of every byte before it
//
// The expiry comes first so that FlushExpired reads 14 bytes per file. The
// length of the value plus the file's size detects a truncated file without
// reading the value; the checksum catches everything else (a file zeroed or
// half-written by a power loss, bytes changed on disk).
const (
	magic      = "CTGB"
	version    = 1
	kindEntry  = 'E'
	kindLock   = 'L'
	fixedLen   = 14
	trailerLen = 4

	// MaxKeyLen is the longest key (and prefix) the store accepts, in
	// bytes. Set and Lock refuse a longer key with an error wrapping
	// backends.ErrInvalidKey.
	MaxKeyLen = 1 << 20
)

// errMalformed is what the decoders return for bytes that are not a whole,
// intact file of this format.
var errMalformed = errors.New("gob: malformed file")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// record is a decoded file.
type record struct {
	kind    byte
	expires int64 // Unix milliseconds
	prefix  string
	key     string
	value   []byte
}

// header is a file's beginning: everything but the value and the checksum.
type header struct {
	kind     byte
	expires  int64
	prefix   string
	key      string
	valueLen uint64
}

// appendRecord encodes a file.
func appendRecord(dst []byte, kind byte, expires int64, prefix, key string, value []byte) []byte {
	start := len(dst)
	dst = append(dst, magic...)
	dst = append(dst, version, kind)
	dst = binary.BigEndian.AppendUint64(dst, uint64(expires))
	dst = binary.AppendUvarint(dst, uint64(len(prefix)))
	dst = append(dst, prefix...)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = binary.AppendUvarint(dst, uint64(len(value)))
	dst = append(dst, value...)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], crcTable))
}

// recordSize is the encoded size of a file.
func recordSize(prefix, key string, value []byte) int {
	return fixedLen + uvarintLen(uint64(len(prefix))) + len(prefix) +
		uvarintLen(uint64(len(key))) + len(key) +
		uvarintLen(uint64(len(value))) + len(value) + trailerLen
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// decodeRecord decodes and verifies a whole file. The value aliases b.
// Anything but an intact file gives an error wrapping errMalformed.
func decodeRecord(b []byte) (record, error) {
	var r record
	if len(b) < fixedLen+3+trailerLen {
		return r, fmt.Errorf("%w: %d bytes is too short", errMalformed, len(b))
	}
	body, sum := b[:len(b)-trailerLen], binary.BigEndian.Uint32(b[len(b)-trailerLen:])
	if crc32.Checksum(body, crcTable) != sum {
		return r, fmt.Errorf("%w: checksum mismatch", errMalformed)
	}
	if err := checkFixed(body); err != nil {
		return r, err
	}
	r.kind = body[5]
	r.expires = int64(binary.BigEndian.Uint64(body[6:fixedLen]))
	rest := body[fixedLen:]
	var field []byte
	var err error
	if field, rest, err = lengthPrefixed(rest, MaxKeyLen, "prefix"); err != nil {
		return r, err
	}
	r.prefix = string(field)
	if field, rest, err = lengthPrefixed(rest, MaxKeyLen, "key"); err != nil {
		return r, err
	}
	r.key = string(field)
	if field, rest, err = lengthPrefixed(rest, uint64(len(rest)), "value"); err != nil {
		return r, err
	}
	if len(rest) != 0 {
		return r, fmt.Errorf("%w: %d stray bytes after the value", errMalformed, len(rest))
	}
	r.value = field
	return r, nil
}

func checkFixed(b []byte) error {
	if string(b[:4]) != magic {
		return fmt.Errorf("%w: bad magic", errMalformed)
	}
	if b[4] != version {
		return fmt.Errorf("%w: unknown format version %d", errMalformed, b[4])
	}
	if b[5] != kindEntry && b[5] != kindLock {
		return fmt.Errorf("%w: unknown kind %#x", errMalformed, b[5])
	}
	return nil
}

// lengthPrefixed splits a varint-length-prefixed field of at most max bytes
// off the front of b.
func lengthPrefixed(b []byte, max uint64, what string) (field, rest []byte, err error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || w != uvarintLen(n) {
		return nil, nil, fmt.Errorf("%w: bad %s length", errMalformed, what)
	}
	b = b[w:]
	if n > max || n > uint64(len(b)) {
		return nil, nil, fmt.Errorf("%w: %s length %d out of range", errMalformed, what, n)
	}
	return b[:n], b[n:], nil
}

// readHeader reads a file's header from r, a file of size bytes, without
// reading the value. It checks that the lengths add up to size (a truncated
// file is malformed) but not the checksum.
func readHeader(r io.Reader, size int64) (header, error) {
	src := &errReader{r: r}
	h, err := parseHeader(bufio.NewReaderSize(src, 512), size)
	if err != nil && src.err != nil && !errors.Is(src.err, io.EOF) {
		return h, src.err // the file could not be read: not a verdict on its bytes
	}
	return h, err
}

func parseHeader(br *bufio.Reader, size int64) (header, error) {
	var h header
	var fixed [fixedLen]byte
	if _, err := io.ReadFull(br, fixed[:]); err != nil {
		return h, fmt.Errorf("%w: truncated header", errMalformed)
	}
	if err := checkFixed(fixed[:]); err != nil {
		return h, err
	}
	h.kind = fixed[5]
	h.expires = int64(binary.BigEndian.Uint64(fixed[6:]))
	read := int64(fixedLen)
	field := func(max uint64, what string) ([]byte, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, fmt.Errorf("%w: bad %s length: %v", errMalformed, what, err)
		}
		read += int64(uvarintLen(n))
		if n > max || int64(n) > size-read {
			return nil, fmt.Errorf("%w: %s length %d out of range", errMalformed, what, n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, fmt.Errorf("%w: truncated %s", errMalformed, what)
		}
		read += int64(n)
		return b, nil
	}
	p, err := field(MaxKeyLen, "prefix")
	if err != nil {
		return h, err
	}
	k, err := field(MaxKeyLen, "key")
	if err != nil {
		return h, err
	}
	h.prefix, h.key = string(p), string(k)
	if h.valueLen, err = binary.ReadUvarint(br); err != nil {
		return h, fmt.Errorf("%w: bad value length: %v", errMalformed, err)
	}
	read += int64(uvarintLen(h.valueLen))
	if h.valueLen > uint64(size) || read+int64(h.valueLen)+trailerLen != size {
		return h, fmt.Errorf("%w: value length %d does not match the file size %d", errMalformed, h.valueLen, size)
	}
	return h, nil
}

// errReader remembers the first error of the reader it wraps, so that
// readHeader can tell a failing disk from a malformed file.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}
