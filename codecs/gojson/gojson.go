// Package gojson provides the "gojson" codec of cachette: JSON through
// github.com/goccy/go-json, a drop-in replacement for encoding/json. The
// codec decodes about 3 times faster than the "json" codec and encodes
// 1.2 to 1.9 times faster (bench/results/jsonlib.md). Importing the
// package registers it under "gojson" and under "orjson", the name of the
// Python Cachette's fast JSON codec, so that Cachette configurations keep
// working:
//
//	import (
//		"github.com/cachette-go/cachette"
//		_ "github.com/cachette-go/cachette/codecs/gojson"
//	)
//
//	cache, err := cachette.New(ctx, cachette.Config{Codec: "gojson"}) // or "orjson"
//
// The codec follows the rules of the "json" codec (codecs.JSON): it writes
// JSON as encoding/json does (struct fields by `json` tags, map keys
// sorted, []byte as base64, time.Time as RFC 3339, HTML characters
// escaped, invalid UTF-8 replaced; only a few escapes differ, \u0008 for
// \b), accepts the values encoding/json accepts, and reads any text into
// the values encoding/json gives, so either codec reads what the other
// wrote. Values encoding/json refuses (channels, functions, NaN and
// infinities) give an error wrapping codecs.ErrType. Entries written by
// one codec are a miss for a cache configured with the other, as for any
// change of codec: the entry header names the codec.
//
// Decoding classifies failures as codecs.JSON does: bytes that are not
// exactly one well-formed JSON value, or that nest deeper than 10000
// levels, give an error wrapping codecs.ErrCorrupt; well-formed JSON that
// does not fit the destination (a string into an int) gives an error
// wrapping codecs.ErrType. go-json alone is not strict enough for that: it
// does not check the syntax of the values it skips (object keys the
// destination struct lacks), reads numbers such as 01, 1. and -01 and raw
// tabs in strings, and takes a NUL byte for the end of the text. So Decode
// first checks the text, as json.Unmarshal itself does, with a validator
// of its own that accepts exactly what json.Valid accepts (the fuzz target
// checks it) in a fraction of the time; that check is part of the decode
// times in bench/results/jsonlib.md. Text holding invalid UTF-8, which
// go-json would keep in strings where encoding/json puts U+FFFD, is
// decoded by encoding/json. A panic of go-json on well-formed text is
// recovered as an error wrapping codecs.ErrType.
//
// It is a separate package, like codecs/msgpack, so that only programs
// that import it link go-json (arrow-go, behind codecs/arrow, requires
// the same version). go-json uses unsafe but generates no machine code,
// and runs on every platform Go supports. github.com/bytedance/sonic, as
// fast on these benchmarks, was not chosen: it compiles coders to machine
// code at run time on amd64 and arm64 only, where a bug on hostile bytes
// would be a crash rather than a miss, adds six modules, and must be
// updated for each Go release.
package gojson

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"unicode/utf8"

	"github.com/cachette-go/cachette/codecs"
	gojson "github.com/goccy/go-json"
)

// Name is the codec's configuration name; "orjson" is an alias of it
// (codecs.Canonical).
const Name = "gojson"

func init() {
	codecs.Register(Codec{})
}

// Codec is the go-json codec. Its zero value is ready to use and safe for
// concurrent use.
type Codec struct{}

// Name returns "gojson".
func (Codec) Name() string { return Name }

// ID returns codecs.IDGoJSON.
func (Codec) ID() byte { return codecs.IDGoJSON }

// Encode returns the JSON encoding of v, as json.Marshal writes it. Values
// encoding/json cannot encode give an error wrapping codecs.ErrType.
func (Codec) Encode(v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("%w: gojson: cannot encode %T: %v", codecs.ErrType, v, r)
		}
	}()
	b, err = gojson.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: gojson: %v", codecs.ErrType, err)
	}
	return b, nil
}

// Decode fills dst, a non-nil pointer, from data, as json.Unmarshal does.
func (Codec) Decode(data []byte, dst any) (err error) {
	// go-json takes some malformed text for a value (see the package
	// documentation): check the text first, as json.Unmarshal does.
	if !valid(data) {
		// json.Unmarshal stops at the syntax error and says what it is.
		msg := "malformed JSON"
		var syntax *json.SyntaxError
		if jerr := json.Unmarshal(data, new(any)); errors.As(jerr, &syntax) {
			msg = jerr.Error()
		}
		return fmt.Errorf("%w: gojson: %s", codecs.ErrCorrupt, msg)
	}
	if rv := reflect.ValueOf(dst); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("%w: gojson: destination must be a non-nil pointer, not %T", codecs.ErrType, dst)
	}
	if !utf8.Valid(data) {
		// go-json keeps invalid UTF-8 in strings as it is; encoding/json
		// replaces it with U+FFFD. Text the codecs write never holds any.
		if err := json.Unmarshal(data, dst); err != nil {
			return fmt.Errorf("%w: gojson: decoding into %T: %v", codecs.ErrType, dst, err)
		}
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: gojson: decoding into %T: %v", codecs.ErrType, dst, r)
		}
	}()
	if err := gojson.Unmarshal(data, dst); err != nil {
		// The text is well-formed, so it does not fit dst.
		return fmt.Errorf("%w: gojson: decoding into %T: %v", codecs.ErrType, dst, err)
	}
	return nil
}
