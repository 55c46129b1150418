package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/codecs"
)

// decodedSizeFactor matches the cache's budget for codecs whose decoding
// may expand (feather, parquet): this many times max_value_size.
const decodedSizeFactor = 8

func canonicalCodec(name string) string { return codecs.Canonical(name) }

// configuredCodec is the cache's codec, bounded like the cache bounds it.
func configuredCodec(cfg cachette.Config) (codecs.Codec, error) {
	codec, err := codecs.Lookup(cfg.Codec)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	if b, ok := codec.(codecs.DecodeBounder); ok {
		codec = b.WithMaxDecodedSize(decodedSizeFactor * int64(cfg.MaxValueSize))
	}
	return codec, nil
}

// printValue decodes the payload of info with the configured codec and
// writes it to w, followed by a newline.
func printValue(w io.Writer, cfg cachette.Config, key string, info cachette.EntryInfo) error {
	codec, err := configuredCodec(cfg)
	if err != nil {
		return err
	}
	if info.CodecID != codec.ID() {
		written := info.Codec
		if written == "" {
			written = fmt.Sprintf("an unknown codec (ID %d)", info.CodecID)
		}
		return failed("get %q: the entry was written with %s, not the configured %s: use --codec %s, or --raw", key, written, codec.Name(), info.Codec)
	}
	decodeErr := func(err error) error {
		return failed("get %q: %s cannot decode the entry: %v", key, codec.Name(), err)
	}
	var out []byte
	switch codec.Name() {
	case "vanilla":
		var b []byte
		if err := codec.Decode(info.Payload, &b); err != nil {
			return decodeErr(err)
		}
		out = b
	case "json":
		var m json.RawMessage
		if err := codec.Decode(info.Payload, &m); err != nil {
			return decodeErr(err)
		}
		out = m
	case "feather", "parquet":
		var rec arrow.RecordBatch
		if err := codec.Decode(info.Payload, &rec); err != nil {
			return decodeErr(err)
		}
		defer rec.Release()
		var buf bytes.Buffer
		if err := array.RecordToJSON(rec, &buf); err != nil {
			return failed("get %q: printing the record: %v", key, err)
		}
		_, err := w.Write(buf.Bytes()) // JSON lines, each ending in a newline
		return err
	case "gob":
		v, err := decodeGob(codec, info.Payload)
		if err != nil {
			return decodeErr(err)
		}
		out = asJSON(v)
	default: // msgpack, and codecs a program registered
		var v any
		if err := codec.Decode(info.Payload, &v); err != nil {
			return decodeErr(err)
		}
		out = asJSON(v)
	}
	if _, err := w.Write(out); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// gobTypes are the types get tries, in order, for a gob value: encoding/gob
// decodes only into a type compatible with the one written, which the
// command cannot know.
var gobTypes = []func() any{
	func() any { return new(any) },
	func() any { return new(string) },
	func() any { return new(int64) },
	func() any { return new(uint64) },
	func() any { return new(float64) },
	func() any { return new(bool) },
	func() any { return new([]byte) },
	func() any { return new([]string) },
	func() any { return new([]int64) },
	func() any { return new([]float64) },
	func() any { return new([]any) },
	func() any { return new(map[string]string) },
	func() any { return new(map[string]int64) },
	func() any { return new(map[string]float64) },
	func() any { return new(map[string]bool) },
	func() any { return new(map[string]any) },
}

func decodeGob(codec codecs.Codec, payload []byte) (any, error) {
	for _, newDst := range gobTypes {
		dst := newDst()
		err := codec.Decode(payload, dst)
		if err == nil {
			return derefAny(dst), nil
		}
		if !errors.Is(err, codecs.ErrType) {
			return nil, err // the bytes are bad, whatever the type
		}
	}
	return nil, errors.New("the value is of a type this command does not know (a struct, say): use --raw, or read it from a Go program that has the type")
}

func derefAny(p any) any {
	switch v := p.(type) {
	case *any:
		return *v
	case *string:
		return *v
	case *int64:
		return *v
	case *uint64:
		return *v
	case *float64:
		return *v
	case *bool:
		return *v
	case *[]byte:
		return *v
	case *[]string:
		return *v
	case *[]int64:
		return *v
	case *[]float64:
		return *v
	case *[]any:
		return *v
	case *map[string]string:
		return *v
	case *map[string]int64:
		return *v
	case *map[string]float64:
		return *v
	case *map[string]bool:
		return *v
	case *map[string]any:
		return *v
	}
	return p
}

// asJSON renders v as JSON, or with %v when JSON cannot hold it (a map
// with keys that are not strings).
func asJSON(v any) []byte {
	if b, err := json.Marshal(v); err == nil {
		return b
	}
	return fmt.Appendf(nil, "%v", v)
}

// encodeArg turns the VALUE argument of put into what the configured codec
// stores.
func encodeArg(cfg cachette.Config, value string) (any, error) {
	codec, err := configuredCodec(cfg)
	if err != nil {
		return nil, err
	}
	switch codec.Name() {
	case "vanilla", "gob":
		return value, nil
	case "json":
		if !json.Valid([]byte(value)) {
			return nil, usageErr(`put: VALUE is not JSON text, which the json codec stores (quote a string: '"text"')`)
		}
		return json.RawMessage(value), nil
	case "feather", "parquet":
		return nil, usageErr("put: the %s codec stores Arrow records, which this command does not build; write them from a Go program", codec.Name())
	default: // msgpack, and codecs a program registered: the value the JSON text stands for
		dec := json.NewDecoder(strings.NewReader(value))
		dec.UseNumber()
		var v any
		if !json.Valid([]byte(value)) || dec.Decode(&v) != nil {
			return nil, usageErr("put: VALUE must be JSON text, which is stored as the %s value it stands for (quote a string: '\"text\"')", codec.Name())
		}
		return numbers(v), nil
	}
}

// numbers replaces each json.Number in v by an int64 when it is a whole
// number that fits, else by a float64.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}
