package codecs

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

func (Vanilla) Decode(data []byte, dst any) error {
	if rv := reflect.ValueOf(dst); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return fmt.Errorf("%w: vanilla: destination is a nil %T", ErrType, dst)
	}
	switch d := dst.(type) {
	case *string:
		*d = string(data)
	case *[]byte:
		*d = bytes.Clone(data)
		if *d == nil {
			*d = []byte{}
		}
	case *any:
		*d = string(data)
	default:
		return fmt.Errorf("%w: vanilla decodes into *string, *[]byte or *any, not %T", ErrType, dst)
	}
	return nil
}

// JSON is encoding/json.
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
// Decode reads data twice: first discarding the value, which checks that
// data is exactly one well-formed gob stream without allocating what it
// announces, then into dst. encoding/gob trusts the lengths it reads, so a
// damaged or hostile map length would otherwise make it allocate without
// bound before failing; once the first pass has walked every element, each
// length is known to fit in data.
type Gob struct{}

func (Gob) Name() string { return "gob" }
func (Gob) ID() byte     { return IDGob }

func (Gob) Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("%w: gob: %v", ErrType, err)
	}
	return buf.Bytes(), nil
}

func (Gob) Decode(data []byte, dst any) (err error) {
	if rv := reflect.ValueOf(dst); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("%w: gob: destination must be a non-nil pointer, not %T", ErrType, dst)
	}
	// Never let a panic of encoding/gob on hostile input escape.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: gob: %v", ErrCorrupt, r)
		}
	}()
	if err := checkGob(data); err != nil {
		return fmt.Errorf("%w: gob: %v", ErrCorrupt, err)
	}
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(dst); err != nil {
		// data is well-formed, so the stored type does not fit dst.
		return fmt.Errorf("%w: gob: decoding into %T: %v", ErrType, dst, err)
	}
	return nil
}

// checkGob reports whether data is one well-formed gob value (with its type
// definitions) and nothing more.
func checkGob(data []byte) error {
	r := bytes.NewReader(data)
	if err := gob.NewDecoder(r).DecodeValue(reflect.Value{}); err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if r.Len() != 0 {
		return fmt.Errorf("%d bytes after the value", r.Len())
	}
	return nil
}
