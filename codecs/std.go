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
	var typeErr *json.UnmarshalTypeError
	var invalid *json.InvalidUnmarshalError
	if errors.As(err, &typeErr) || errors.As(err, &invalid) {
		return fmt.Errorf("%w: json: %v", ErrType, err)
	}
	return fmt.Errorf("%w: json: %v", ErrCorrupt, err)
}

// Gob is encoding/gob (config name "gob", alias "pickle"). Interface values
// need their concrete types registered with gob.Register, as usual.
type Gob struct{}

func (Gob) Name() string { return "gob" }
func (Gob) ID() byte     { return IDGob }

func (Gob) Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	// Encode through a pointer so that nil-able and interface values work.
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("%w: gob: %v", ErrType, err)
	}
	return buf.Bytes(), nil
}

func (Gob) Decode(data []byte, dst any) (err error) {
	if rv := reflect.ValueOf(dst); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("%w: gob: destination must be a non-nil pointer, not %T", ErrType, dst)
	}
	// encoding/gob can panic on hostile input in old releases; never let it escape.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: gob: %v", ErrCorrupt, r)
		}
	}()
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(dst); err != nil {
		if isGobTypeError(err) {
			return fmt.Errorf("%w: gob: %v", ErrType, err)
		}
		return fmt.Errorf("%w: gob: %v", ErrCorrupt, err)
	}
	return nil
}

// isGobTypeError tells a mismatch between the stored type and the
// destination apart from damaged bytes; encoding/gob only says so in text.
func isGobTypeError(err error) bool {
	msg := err.Error()
	return bytes.Contains([]byte(msg), []byte("type mismatch")) ||
		bytes.Contains([]byte(msg), []byte("incompatible"))
}
