package codecs

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Header IDs of the codecs cachette ships. They are part of the stored
// format and never change.
const (
	IDVanilla byte = 1
	IDJSON    byte = 2
	IDGob     byte = 3
	IDMsgpack byte = 4
	IDFeather byte = 5
	IDParquet byte = 6
	IDCSV     byte = 7
	IDGoJSON  byte = 8
)

func init() {
	Register(Vanilla{})
	Register(JSON{})
	Register(Gob{})
}

// Vanilla stores []byte as is and anything else as fmt.Sprint(value). It
// decodes into *string, *[]byte or *any (which receives a string).
type Vanilla struct{}

func (Vanilla) Name() string { return "vanilla" }
func (Vanilla) ID() byte     { return IDVanilla }

func (Vanilla) Encode(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	default:
		return []byte(fmt.Sprint(v)), nil
	}
}

// CheckType accepts string and []byte, the only types whose values
// vanilla gives back as they were stored: it writes anything else as
// fmt.Sprint(v) and cannot decode it into its own type.
func (Vanilla) CheckType(t reflect.Type) error {
	if t == reflect.TypeFor[string]() || t == reflect.TypeFor[[]byte]() {
		return nil
	}
	return fmt.Errorf("%w: vanilla holds string or []byte, not %v; configure another codec (json, gob, msgpack)", ErrType, t)
}

func (Vanilla) Decode(data []byte, dst any) error {
	// The nil checks are per case: reflect.ValueOf on every decode cost
	// as much as the copy of a small value.
	switch d := dst.(type) {
	case *string:
		if d == nil {
			return vanillaNilDst(dst)
		}
		*d = string(data)
	case *[]byte:
		if d == nil {
			return vanillaNilDst(dst)
		}
		*d = bytes.Clone(data)
		if *d == nil {
			*d = []byte{}
		}
	case *any:
		if d == nil {
			return vanillaNilDst(dst)
		}
		*d = string(data)
	default:
		if rv := reflect.ValueOf(dst); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return vanillaNilDst(dst)
		}
		return fmt.Errorf("%w: vanilla decodes into *string, *[]byte or *any, not %T", ErrType, dst)
	}
	return nil
}

func vanillaNilDst(dst any) error {
	return fmt.Errorf("%w: vanilla: destination is a nil %T", ErrType, dst)
}

// JSON is encoding/json. Decode errors caused by the JSON text (bad syntax,
// truncation, trailing data, nesting deeper than encoding/json's limit of
// 10000) wrap ErrCorrupt; every other error wraps ErrType: the text is
// well-formed but does not fit the destination (a string into an int, a
// time in another format).
type JSON struct{}

func (JSON) Name() string { return "json" }
func (JSON) ID() byte     { return IDJSON }

func (JSON) Encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: json: %v", ErrType, err)
	}
	return b, nil
}

func (JSON) Decode(data []byte, dst any) error {
	err := json.Unmarshal(data, dst)
	if err == nil {
		return nil
	}
	// json.Unmarshal checks the syntax of all of data before it decodes
	// anything, so every other error is about dst.
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Errorf("%w: json: %v", ErrCorrupt, err)
	}
	return fmt.Errorf("%w: json: decoding into %T: %v", ErrType, dst, err)
}

// Gob is encoding/gob (config name "gob", alias "pickle"). Interface values
// need their concrete types registered with gob.Register, as usual.
//
// encoding/gob is not hardened against hostile input: it trusts the
// lengths it reads (a map's length becomes an allocation) and recurses once
// per nesting level. Decode therefore first walks the stream without
// building anything and refuses, with an error wrapping ErrCorrupt, a
// stream that is not exactly one value, whose counts do not fit in its
// bytes, that nests deeper than MaxGobDepth, or that encoding/gob would
// read differently when it skips a field the destination lacks (see
// below). An error of encoding/gob on a stream that passed the walk wraps
// ErrType: the stored value does not fit the destination.
//
// Encode refuses, with an error wrapping ErrType, what Decode would
// refuse: values nested deeper than MaxGobDepth, and nil interface values
// in a slice, array or map held by a struct field (outside any interface
// value), which encoding/gob misreads when it skips that field. Nil
// interface values elsewhere (map[string]any{"k": nil}, or in an any
// field) are fine. When a type is first sent inside an interface nested in
// another interface, encoding/gob writes byte counts that it misreads when
// it skips that interface; Encode then writes every type definition ahead
// of the value instead, a stream any gob Decoder reads.
type Gob struct{}

func (Gob) Name() string { return "gob" }
func (Gob) ID() byte     { return IDGob }

func (Gob) Encode(v any) (out []byte, err error) {
	// encoding/gob panics on a nil pointer.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: gob: %v", ErrType, r)
		}
	}()
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("%w: gob: %v", ErrType, err)
	}
	err = checkGob(buf.Bytes())
	if errors.Is(err, errGobCount) {
		first := buf.Len()
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("%w: gob: %v", ErrType, err)
		}
		out, err = hoistGobTypes(buf.Bytes(), first)
		if err == nil {
			err = checkGob(out)
		}
	} else {
		out = buf.Bytes()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: gob: cannot store %T: %v", ErrType, v, err)
	}
	return out, nil
}

func (Gob) Decode(data []byte, dst any) (err error) {
	if rv := reflect.ValueOf(dst); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("%w: gob: destination must be a non-nil pointer, not %T", ErrType, dst)
	}
	if err := checkGob(data); err != nil {
		return fmt.Errorf("%w: gob: %v", ErrCorrupt, err)
	}
	// Never let a panic of encoding/gob escape.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: gob: %v", ErrCorrupt, r)
		}
	}()
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(dst); err != nil {
		// data is well-formed, so the stored value does not fit dst.
		return fmt.Errorf("%w: gob: decoding into %T: %v", ErrType, dst, err)
	}
	return nil
}
