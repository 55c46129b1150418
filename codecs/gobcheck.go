package codecs

import (
	"errors"
	"fmt"
)

// MaxGobDepth is how deeply values may nest (structs, slices, arrays,
// maps and interfaces inside one another) in what the gob codec writes and
// reads.
const MaxGobDepth = 10000

// Type IDs that encoding/gob predefines on both sides of a stream.
const (
	gobBool      = 1
	gobInt       = 2
	gobUint      = 3
	gobFloat     = 4
	gobBytes     = 5
	gobString    = 6
	gobComplex   = 7
	gobInterface = 8
	gobFirstUser = 64 // IDs below are predefined; a stream defines the others
)

// gobMaxName is the longest interface type name encoding/gob accepts.
const gobMaxName = 1024

// gobMaxTypes bounds the type definitions of one stream, which cost more
// memory to keep than their bytes.
const gobMaxTypes = 1 << 16

type gobKind uint8

const (
	gobArrayKind gobKind = iota + 1
	gobSliceKind
	gobStructKind
	gobMapKind
	gobEncoderKind // GobEncoder, BinaryMarshaler or TextMarshaler: a byte string
)

// gobWire is what checkGob keeps of a type definition.
type gobWire struct {
	kind      gobKind
	elem, key int64
	length    int64   // arrays
	fields    []int64 // structs: the type of each field, by field number
}

// gobDef is a type definition as it appears in a stream.
type gobDef struct {
	id   int64
	wire []byte // the encoded wireType
}

var (
	errGobShort = errors.New("unexpected end of data")
	// errGobCount reports an interface value whose announced byte count
	// differs from its length. encoding/gob writes such counts when a type
	// is first sent inside an interface nested in another one.
	errGobCount = errors.New("interface value length differs from its byte count")
	// errGobNilInField reports a nil interface value in a slice, array or
	// map held by a struct field: when the destination has no such field,
	// encoding/gob skips it and misreads what follows the nil value.
	errGobNilInField = errors.New("nil interface value inside a struct field")
)

// gobParser reads a gob stream the way encoding/gob's Decoder reads it
// into a destination of the stream's own types, without building values.
type gobParser struct {
	data  []byte
	pos   int
	end   int // end of the current message
	types map[int64]*gobWire
	// resolved holds the types whose component types are all defined.
	resolved map[int64]bool
	depth    int
	// inField is set while reading a struct field's value, outside any
	// interface value within it: a part encoding/gob may skip rather than
	// decode, if the destination has no such field.
	inField bool
	// lenient accepts what only our own encodings may hold (interface
	// byte counts that differ from the values' lengths, nil interfaces in
	// fields); collect records the type definitions.
	lenient, collect bool
	defs             []gobDef
}

// checkGob reports whether data is exactly one gob value, with its type
// definitions, nested at most MaxGobDepth deep, whose element counts fit in
// the bytes that follow. encoding/gob trusts the lengths it reads (a map's
// length becomes an allocation) and recurses once per nesting level, so a
// damaged or hostile stream could otherwise make it allocate without bound
// or overflow the stack.
//
// The check reads the stream as encoding/gob decodes it. encoding/gob skips
// the fields its destination lacks, and skips differently in two cases: an
// interface value by its byte count, and a nil interface value not at all
// (it reads on as if a type followed). So that what encoding/gob reads is
// always what was checked, byte counts must match their values and nil
// interface values must not sit in a struct field's slices, arrays or maps.
func checkGob(data []byte) error {
	p := gobParser{data: data}
	if err := p.topValue(); err != nil {
		return err
	}
	if p.pos != len(data) {
		return fmt.Errorf("%d bytes after the value", len(data)-p.pos)
	}
	return nil
}

func (p *gobParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

// uintUntil reads an unsigned integer that must end before limit.
func (p *gobParser) uintUntil(limit int) (uint64, error) {
	if p.pos >= limit {
		return 0, errGobShort
	}
	b := p.data[p.pos]
	if b <= 0x7f {
		p.pos++
		return uint64(b), nil
	}
	n := -int(int8(b))
	if n > 8 {
		return 0, p.errorf("invalid unsigned integer")
	}
	if n > limit-p.pos-1 {
		return 0, errGobShort
	}
	var x uint64
	for _, c := range p.data[p.pos+1 : p.pos+1+n] {
		x = x<<8 | uint64(c)
	}
	p.pos += 1 + n
	return x, nil
}

func (p *gobParser) readUint() (uint64, error) { return p.uintUntil(p.end) }

func (p *gobParser) readInt() (int64, error) {
	x, err := p.readUint()
	i := int64(x >> 1)
	if x&1 != 0 {
		i = ^i
	}
	return i, err
}

// skipBytes skips a length-prefixed byte string within the current
// message and returns its length.
func (p *gobParser) skipBytes() (int, error) {
	n, err := p.readUint()
	if err != nil {
		return 0, err
	}
	if n > uint64(p.end-p.pos) {
		return 0, p.errorf("%d bytes announced, %d left in the message", n, p.end-p.pos)
	}
	p.pos += int(n)
	return int(n), nil
}

// count reads an element count; each element takes at least per bytes of
// what is left of the stream.
func (p *gobParser) count(per int) (int, error) {
	n, err := p.readUint()
	if err != nil {
		return 0, err
	}
	if n > uint64((len(p.data)-p.pos)/per) {
		return 0, p.errorf("%d elements announced, %d bytes left", n, len(p.data)-p.pos)
	}
	return int(n), nil
}

// nextMessage starts the message at pos.
func (p *gobParser) nextMessage() error {
	n, err := p.uintUntil(len(p.data))
	if err != nil {
		return err
	}
	if n > uint64(len(p.data)-p.pos) {
		return p.errorf("message of %d bytes, %d left", n, len(p.data)-p.pos)
	}
	p.end = p.pos + int(n)
	return nil
}

// topValue reads what one Decoder.Decode call reads: type definitions, then
// a value that must end its message.
func (p *gobParser) topValue() error {
	p.end = p.pos
	if p.types == nil {
		p.types = map[int64]*gobWire{}
	}
	id, err := p.typeSequence(false)
	if err != nil {
		return err
	}
	if err := p.single(id); err != nil {
		return err
	}
	if p.pos != p.end {
		return p.errorf("%d bytes left in the message after the value", p.end-p.pos)
	}
	return nil
}

// typeSequence reads type definitions up to the type ID of a value.
func (p *gobParser) typeSequence(inInterface bool) (int64, error) {
	for {
		if p.pos == p.end {
			if err := p.nextMessage(); err != nil {
				return 0, err
			}
		}
		id, err := p.readInt()
		if err != nil {
			return 0, err
		}
		if id != int64(int32(id)) {
			return 0, p.errorf("type ID %d out of range", id)
		}
		if id >= 0 {
			return id, nil
		}
		if err := p.defineType(-id); err != nil {
			return 0, err
		}
		if p.pos < p.end {
			if !inInterface {
				return 0, p.errorf("data after a type definition")
			}
			// The count of what follows, as encoding/gob skips it.
			if _, err := p.readUint(); err != nil {
				return 0, err
			}
		}
	}
}

// fields reads the fields of a struct with n fields, calling field for
// each field number, up to the terminating zero delta.
func (p *gobParser) fields(n int, field func(int) error) error {
	num := -1
	for {
		delta, err := p.readUint()
		if err != nil {
			return err
		}
		if delta == 0 {
			return nil
		}
		if delta > uint64(n) || num+int(delta) >= n {
			return p.errorf("field number out of range")
		}
		num += int(delta)
		if err := field(num); err != nil {
			return err
		}
	}
}

// defineType reads a wireType defining id.
func (p *gobParser) defineType(id int64) error {
	if id < gobFirstUser || p.types[id] != nil {
		return p.errorf("type %d defined twice or reserved", id)
	}
	if len(p.types) >= gobMaxTypes {
		return p.errorf("more than %d type definitions", gobMaxTypes)
	}
	start := p.pos
	w := &gobWire{}
	kinds := 0
	typeID := func(dst *int64) error {
		v, err := p.readInt()
		if err == nil && v != int64(int32(v)) {
			return p.errorf("type ID %d out of range", v)
		}
		*dst = v
		return err
	}
	common := func() error {
		return p.fields(2, func(f int) error {
			if f == 0 {
				_, err := p.skipBytes() // Name
				return err
			}
			var ignored int64
			return typeID(&ignored) // Id
		})
	}
	err := p.fields(7, func(f int) error {
		kinds++
		switch f {
		case 0: // ArrayT
			w.kind = gobArrayKind
			return p.fields(3, func(g int) error {
				switch g {
				case 0:
					return common()
				case 1:
					return typeID(&w.elem)
				default:
					return typeID(&w.length)
				}
			})
		case 1: // SliceT
			w.kind = gobSliceKind
			return p.fields(2, func(g int) error {
				if g == 0 {
					return common()
				}
				return typeID(&w.elem)
			})
		case 2: // StructT
			w.kind = gobStructKind
			return p.fields(2, func(g int) error {
				if g == 0 {
					return common()
				}
				n, err := p.count(1)
				if err != nil {
					return err
				}
				w.fields = make([]int64, n)
				for i := range w.fields {
					named := false
					err := p.fields(2, func(h int) error {
						if h == 0 { // Name
							n, err := p.skipBytes()
							named = n > 0
							return err
						}
						return typeID(&w.fields[i])
					})
					if err != nil {
						return err
					}
					if !named {
						return p.errorf("field %d of type %d has no name", i, id)
					}
				}
				return nil
			})
		case 3: // MapT
			w.kind = gobMapKind
			return p.fields(3, func(g int) error {
				switch g {
				case 0:
					return common()
				case 1:
					return typeID(&w.key)
				default:
					return typeID(&w.elem)
				}
			})
		default: // GobEncoderT, BinaryMarshalerT, TextMarshalerT
			w.kind = gobEncoderKind
			return p.fields(1, func(int) error { return common() })
		}
	})
	if err != nil {
		return err
	}
	if kinds != 1 {
		return p.errorf("type %d has %d definitions", id, kinds)
	}
	p.types[id] = w
	if p.collect {
		p.defs = append(p.defs, gobDef{id: id, wire: p.data[start:p.pos]})
	}
	return nil
}

// resolve checks that id and every type it is made of are predefined or
// defined, as encoding/gob requires before it decodes a value of type id.
func (p *gobParser) resolve(id int64) error {
	if p.resolved == nil {
		p.resolved = map[int64]bool{}
	}
	// Iterative: a chain of types may be as long as the stream allows.
	todo := []int64{id}
	for len(todo) > 0 {
		id := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if id >= gobBool && id <= gobInterface || p.resolved[id] {
			continue
		}
		w := p.types[id]
		if w == nil {
			return p.errorf("undefined type %d", id)
		}
		p.resolved[id] = true // a failure ends the whole check
		switch w.kind {
		case gobArrayKind, gobSliceKind:
			todo = append(todo, w.elem)
		case gobMapKind:
			todo = append(todo, w.key, w.elem)
		case gobStructKind:
			todo = append(todo, w.fields...)
		}
	}
	return nil
}

// single reads a value sent on its own (at top level or in an interface):
// a struct's fields, or a zero delta and the value.
func (p *gobParser) single(id int64) error {
	if err := p.resolve(id); err != nil {
		return err
	}
	if w := p.types[id]; w != nil && w.kind == gobStructKind {
		return p.value(id)
	}
	delta, err := p.readUint()
	if err != nil {
		return err
	}
	if delta != 0 {
		return p.errorf("non-zero delta for a single value")
	}
	return p.value(id)
}

// value reads a value of type id.
func (p *gobParser) value(id int64) error {
	switch id {
	case gobBool, gobInt, gobUint, gobFloat:
		_, err := p.readUint()
		return err
	case gobComplex:
		if _, err := p.readUint(); err != nil {
			return err
		}
		_, err := p.readUint()
		return err
	case gobBytes, gobString:
		_, err := p.skipBytes()
		return err
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > MaxGobDepth {
		return p.errorf("nested deeper than %d", MaxGobDepth)
	}
	if id == gobInterface {
		return p.iface()
	}
	w := p.types[id]
	if w == nil {
		return p.errorf("unknown type %d", id)
	}
	switch w.kind {
	case gobArrayKind, gobSliceKind:
		n, err := p.count(1)
		if err != nil {
			return err
		}
		if w.kind == gobArrayKind && int64(n) != w.length {
			return p.errorf("array of %d elements, the type says %d", n, w.length)
		}
		for range n {
			if err := p.value(w.elem); err != nil {
				return err
			}
		}
		return nil
	case gobMapKind:
		n, err := p.count(2)
		if err != nil {
			return err
		}
		for range n {
			if err := p.value(w.key); err != nil {
				return err
			}
			if err := p.value(w.elem); err != nil {
				return err
			}
		}
		return nil
	case gobStructKind:
		outer := p.inField
		defer func() { p.inField = outer }()
		return p.fields(len(w.fields), func(f int) error {
			p.inField = true
			return p.value(w.fields[f])
		})
	default:
		_, err := p.skipBytes()
		return err
	}
}

// iface reads an interface value: the concrete type's name, its type
// definitions, its ID, the byte count of the value and the value.
func (p *gobParser) iface() error {
	n, err := p.readUint()
	if err != nil {
		return err
	}
	if n > uint64(p.end-p.pos) {
		return p.errorf("type name of %d bytes, %d left in the message", n, p.end-p.pos)
	}
	p.pos += int(n)
	if n == 0 { // nil
		if p.inField && !p.lenient {
			return errGobNilInField
		}
		return nil
	}
	if n > gobMaxName {
		return p.errorf("type name of %d bytes", n)
	}
	id, err := p.typeSequence(true)
	if err != nil {
		return err
	}
	size, err := p.readUint()
	if err != nil {
		return err
	}
	start, end := p.pos, p.end
	// The value in an interface is decoded, never skipped, with the
	// concrete type registered under its name.
	outer := p.inField
	p.inField = false
	err = p.single(id)
	p.inField = outer
	if err != nil {
		return err
	}
	// encoding/gob skips an interface it does not decode by its byte
	// count and decodes the others in full: both must land at the same
	// place.
	if p.end != end || uint64(p.pos-start) != size {
		if !p.lenient {
			return errGobCount
		}
	}
	return nil
}

// appendGobUint appends x in gob's unsigned integer encoding.
func appendGobUint(b []byte, x uint64) []byte {
	if x <= 0x7f {
		return append(b, byte(x))
	}
	var buf [8]byte
	n := 8
	for ; x > 0; x >>= 8 {
		n--
		buf[n] = byte(x)
	}
	b = append(b, byte(-(8 - n)))
	return append(b, buf[n:]...)
}

// appendGobInt appends i in gob's signed integer encoding.
func appendGobInt(b []byte, i int64) []byte {
	if i < 0 {
		return appendGobUint(b, uint64(^i<<1)|1)
	}
	return appendGobUint(b, uint64(i<<1))
}

// hoistGobTypes rewrites a stream of two encodings of the same value by one
// Encoder, the first of which sent type definitions inside nested
// interfaces, as every type definition in a message of its own followed by
// the second encoding, which needs none.
func hoistGobTypes(stream []byte, firstLen int) ([]byte, error) {
	p := gobParser{data: stream[:firstLen], lenient: true, collect: true}
	if err := p.topValue(); err != nil {
		return nil, err
	}
	if p.pos != firstLen {
		return nil, fmt.Errorf("first encoding ends at %d, not %d", p.pos, firstLen)
	}
	var out []byte
	for _, d := range p.defs {
		msg := appendGobInt(nil, -d.id)
		msg = append(msg, d.wire...)
		out = appendGobUint(out, uint64(len(msg)))
		out = append(out, msg...)
	}
	return append(out, stream[firstLen:]...), nil
}
