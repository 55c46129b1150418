// Package msgpack provides the "msgpack" codec of cachette, MessagePack
// through github.com/vmihailenco/msgpack/v5. Importing the package
// registers the codec:
//
//	import (
//		"github.com/cachette-go/cachette"
//		_ "github.com/cachette-go/cachette/codecs/msgpack"
//	)
//
//	cache, err := cachette.New(ctx, cachette.Config{Codec: "msgpack"})
//
// Values round-trip as the library encodes them: numbers, strings, []byte,
// maps, slices, structs (fields named by `msgpack:"..."` tags, else by their
// Go names) and time.Time (the MessagePack timestamp extension; decoded
// times are in the local zone, so compare them with time.Time.Equal).
//
// Decoding checks the bytes before handing them to the library: they must
// hold exactly one well-formed MessagePack value, nested at most MaxDepth
// deep, whose array, map, string and binary lengths fit in the bytes that
// follow. Bytes that fail the check give an error wrapping
// codecs.ErrCorrupt, so a damaged or hostile entry can neither make the
// decoder allocate far more than its own size nor exhaust the stack.
// Well-formed bytes that do not fit the destination (a string decoded into
// an *int, a map with integer keys decoded into an *any, an extension type
// the program did not register) give an error wrapping codecs.ErrType.
package msgpack

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"

	"github.com/cachette-go/cachette/codecs"
	"github.com/vmihailenco/msgpack/v5"
)

// Name is the codec's configuration name.
const Name = "msgpack"

// MaxDepth is how deeply arrays and maps may nest in a value.
const MaxDepth = 10000

func init() {
	codecs.Register(Codec{})
}

// Codec is the MessagePack codec. Its zero value is ready to use and safe
// for concurrent use.
type Codec struct{}

// Name returns "msgpack".
func (Codec) Name() string { return Name }

// ID returns codecs.IDMsgpack.
func (Codec) ID() byte { return codecs.IDMsgpack }

// Encode returns the MessagePack encoding of v. Values the library cannot
// encode (channels, functions) and values nested deeper than MaxDepth give
// an error wrapping codecs.ErrType.
func (Codec) Encode(v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("%w: msgpack: cannot encode %T: %v", codecs.ErrType, v, r)
		}
	}()
	b, err = msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: msgpack: %v", codecs.ErrType, err)
	}
	// Refuse now what Decode would refuse (a value nested too deep).
	if err := validate(b); err != nil {
		return nil, fmt.Errorf("%w: msgpack: cannot store %T: %v", codecs.ErrType, v, err)
	}
	return b, nil
}

// Decode fills dst, a non-nil pointer, from data.
func (Codec) Decode(data []byte, dst any) (err error) {
	if rv := reflect.ValueOf(dst); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("%w: msgpack: destination must be a non-nil pointer, not %T", codecs.ErrType, dst)
	}
	if err := validate(data); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: msgpack: decoding into %T: %v", codecs.ErrType, dst, r)
		}
	}()
	dec := msgpack.GetDecoder()
	defer msgpack.PutDecoder(dec)
	dec.Reset(bytes.NewReader(data))
	if err := dec.Decode(dst); err != nil {
		// The bytes passed validate, so the mismatch is with dst.
		return fmt.Errorf("%w: msgpack: decoding into %T: %v", codecs.ErrType, dst, err)
	}
	return nil
}

// errValidate is the prefix of every validate error.
var errValidate = fmt.Errorf("%w: msgpack", codecs.ErrCorrupt)

// validate reports whether data holds exactly one well-formed MessagePack
// value (see the package documentation). Its error wraps codecs.ErrCorrupt.
func validate(data []byte) error {
	// pending[i] is the number of values still to read at nesting level i.
	pending := make([]int, 1, 16)
	pending[0] = 1
	i := 0
	for len(pending) > 0 {
		top := len(pending) - 1
		if pending[top] == 0 {
			pending = pending[:top]
			continue
		}
		pending[top]--
		children, next, err := header(data, i)
		if err != nil {
			return err
		}
		i = next
		if children == 0 {
			continue
		}
		// Every value takes at least one byte.
		if children > len(data)-i {
			return fmt.Errorf("%w: container of %d values at offset %d, only %d bytes follow", errValidate, children, i, len(data)-i)
		}
		if len(pending) > MaxDepth { // pending[0] is the top level, not a container
			return fmt.Errorf("%w: nested deeper than %d at offset %d", errValidate, MaxDepth, i)
		}
		pending = append(pending, children)
	}
	if i != len(data) {
		return fmt.Errorf("%w: %d trailing bytes after the value", errValidate, len(data)-i)
	}
	return nil
}

// timeExt is the MessagePack timestamp extension type (-1).
const timeExt = 0xff

// header reads the value header at data[i:]. It returns the number of
// values nested in it (array elements, map keys and values) and the offset
// just past its own bytes (for strings, binaries and extensions, past the
// whole value).
func header(data []byte, i int) (children, next int, err error) {
	if i >= len(data) {
		return 0, 0, fmt.Errorf("%w: unexpected end of data", errValidate)
	}
	c := data[i]
	i++
	var size int // bytes of the value after its code and length
	switch {
	case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		return 0, i, nil
	case c <= 0x8f: // fixmap
		return 2 * int(c&0x0f), i, nil
	case c <= 0x9f: // fixarray
		return int(c & 0x0f), i, nil
	case c <= 0xbf: // fixstr
		size = int(c & 0x1f)
	case c == 0xc0 || c == 0xc2 || c == 0xc3: // nil, false, true
		return 0, i, nil
	case c == 0xc4 || c == 0xd9: // bin8, str8
		size, i, err = readLen(data, i, 1)
	case c == 0xc5 || c == 0xda: // bin16, str16
		size, i, err = readLen(data, i, 2)
	case c == 0xc6 || c == 0xdb: // bin32, str32
		size, i, err = readLen(data, i, 4)
	case c >= 0xc7 && c <= 0xc9: // ext8, ext16, ext32
		if size, i, err = readLen(data, i, 1<<(c-0xc7)); err == nil {
			err = checkExt(data, i, size)
			size++ // the type byte
		}
	case c == 0xcc || c == 0xd0: // uint8, int8
		size = 1
	case c == 0xcd || c == 0xd1: // uint16, int16
		size = 2
	case c == 0xca || c == 0xce || c == 0xd2: // float32, uint32, int32
		size = 4
	case c == 0xcb || c == 0xcf || c == 0xd3: // float64, uint64, int64
		size = 8
	case c >= 0xd4 && c <= 0xd8: // fixext 1, 2, 4, 8, 16
		size = 1 << (c - 0xd4)
		err = checkExt(data, i, size)
		size++
	case c == 0xdc || c == 0xdd: // array16, array32
		return readLen(data, i, 2<<(c-0xdc))
	case c == 0xde || c == 0xdf: // map16, map32
		n, j, err := readLen(data, i, 2<<(c-0xde))
		return 2 * n, j, err
	default: // 0xc1 is never used
		return 0, 0, fmt.Errorf("%w: invalid code 0x%02x at offset %d", errValidate, c, i-1)
	}
	if err != nil {
		return 0, 0, err
	}
	if size > len(data)-i {
		return 0, 0, fmt.Errorf("%w: %d bytes announced at offset %d, only %d follow", errValidate, size, i, len(data)-i)
	}
	return 0, i + size, nil
}

// readLen reads a big-endian unsigned length of size bytes (1, 2 or 4)
// at data[i:].
func readLen(data []byte, i, size int) (n, next int, err error) {
	if size > len(data)-i {
		return 0, 0, fmt.Errorf("%w: unexpected end of data", errValidate)
	}
	b := data[i : i+size]
	switch size {
	case 1:
		n = int(b[0])
	case 2:
		n = int(binary.BigEndian.Uint16(b))
	default:
		n = int(binary.BigEndian.Uint32(b))
	}
	return n, i + size, nil
}

// checkExt checks the type byte at data[i] of an extension of n bytes:
// timestamps are 4, 8 or 12 bytes long.
func checkExt(data []byte, i, n int) error {
	if i >= len(data) {
		return fmt.Errorf("%w: unexpected end of data", errValidate)
	}
	if data[i] == timeExt && n != 4 && n != 8 && n != 12 {
		return fmt.Errorf("%w: timestamp of %d bytes at offset %d", errValidate, n, i)
	}
	return nil
}
