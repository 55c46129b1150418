// Package codecs defines how cachette turns values into bytes and back, the
// registry of codecs by name, and the zstd compression that wraps any codec.
//
// The standard-library codecs (vanilla, json, gob) are always registered.
// Codecs that need a third-party library live in their own packages and
// register themselves when imported:
//
//	import _ "github.com/cachette-go/cachette/codecs/msgpack" // msgpack
//	import _ "github.com/cachette-go/cachette/codecs/gojson"  // gojson, alias orjson
//	import _ "github.com/cachette-go/cachette/codecs/arrow"   // feather, parquet, csv
package codecs

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// ErrUnknownCodec is returned by Lookup for a name no imported package registered.
var ErrUnknownCodec = errors.New("cachette: unknown codec")

// ErrType is wrapped by Encode and Decode errors caused by the type of the
// value or destination (for example vanilla decoding into an *int), as
// opposed to bytes that cannot be decoded.
var ErrType = errors.New("cachette: unsupported type for codec")

// ErrCorrupt is wrapped by errors about bytes that cannot be decoded.
var ErrCorrupt = errors.New("cachette: corrupt data")

// Codec encodes values to bytes and decodes them back.
// Implementations must be safe for concurrent use.
type Codec interface {
	// Name is the codec's configuration name, lower case.
	Name() string
	// ID is the byte stored in each entry's header; it is unique among
	// registered codecs and must never change once data was written with it.
	ID() byte
	// Encode returns the bytes of v.
	Encode(v any) ([]byte, error)
	// Decode fills dst, a non-nil pointer, from data. Errors caused by
	// dst's type wrap ErrType; errors caused by data wrap ErrCorrupt.
	Decode(data []byte, dst any) error
}

// DecodeBounder is implemented by codecs whose Decode may allocate far
// more than the bytes it reads (the Arrow codecs: dictionary and
// run-length encoded Parquet columns expand). A cachette.Cache calls
// WithMaxDecodedSize once, with a budget tied to its Config.MaxValueSize,
// and uses the codec it returns, so that no stored value costs a reader
// more than a small multiple of the largest value the cache stores. The
// returned codec has the same name and ID.
type DecodeBounder interface {
	WithMaxDecodedSize(n int64) Codec
}

// TypeChecker is implemented by codecs that can hold only some Go types.
// CheckType returns nil when a value of type t survives Encode then
// Decode into a *t, and otherwise an error wrapping ErrType.
type TypeChecker interface {
	CheckType(t reflect.Type) error
}

// CheckType reports, with an error wrapping ErrType, that c cannot hold
// values of type t. A codec that does not implement TypeChecker is assumed
// to hold any type (its Encode and Decode report what they cannot do).
func CheckType(c Codec, t reflect.Type) error {
	if tc, ok := c.(TypeChecker); ok {
		return tc.CheckType(t)
	}
	return nil
}

var (
	mu      sync.RWMutex
	byName  = map[string]Codec{}
	byID    = map[byte]Codec{}
	aliases = map[string]string{"": "vanilla", "pickle": "gob", "orjson": "gojson"}
)

// Register makes c available by its name. It panics on a nil codec or a
// duplicate name or ID.
func Register(c Codec) {
	if c == nil {
		panic("cachette/codecs: Register of a nil codec")
	}
	mu.Lock()
	defer mu.Unlock()
	name := strings.ToLower(c.Name())
	if _, dup := byName[name]; dup {
		panic("cachette/codecs: Register called twice for " + name)
	}
	if other, dup := byID[c.ID()]; dup {
		panic(fmt.Sprintf("cachette/codecs: codec %s reuses the ID %d of %s", name, c.ID(), other.Name()))
	}
	byName[name] = c
	byID[c.ID()] = c
}

// Canonical returns the registered name an alias stands for ("" and
// "vanilla" give "vanilla", "pickle" gives "gob", "orjson" gives
// "gojson"), lower-cased.
func Canonical(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if a, ok := aliases[name]; ok {
		return a
	}
	return name
}

// Known reports whether name (or its alias) is a codec cachette ships,
// linked or not.
func Known(name string) bool {
	_, ok := packages[Canonical(name)]
	return ok
}

// packages maps every codec cachette ships to the package that provides it.
var packages = map[string]string{
	"vanilla": "github.com/cachette-go/cachette/codecs",
	"json":    "github.com/cachette-go/cachette/codecs",
	"gob":     "github.com/cachette-go/cachette/codecs",
	"msgpack": "github.com/cachette-go/cachette/codecs/msgpack",
	"feather": "github.com/cachette-go/cachette/codecs/arrow",
	"parquet": "github.com/cachette-go/cachette/codecs/arrow",
	"csv":     "github.com/cachette-go/cachette/codecs/arrow",
	"gojson":  "github.com/cachette-go/cachette/codecs/gojson",
}

// Lookup returns the codec registered under name or its alias. A codec that
// is not linked gives an error wrapping ErrUnknownCodec that names the import.
func Lookup(name string) (Codec, error) {
	canon := Canonical(name)
	mu.RLock()
	c, ok := byName[canon]
	mu.RUnlock()
	if ok {
		return c, nil
	}
	if pkg, known := packages[canon]; known {
		return nil, fmt.Errorf("%w %q: add `import _ %q` to your program", ErrUnknownCodec, canon, pkg)
	}
	return nil, fmt.Errorf("%w %q (registered: %s)", ErrUnknownCodec, canon, strings.Join(Registered(), ", "))
}

// ByID returns the registered codec with the given header ID.
func ByID(id byte) (Codec, bool) {
	mu.RLock()
	defer mu.RUnlock()
	c, ok := byID[id]
	return c, ok
}

// Registered lists the registered codec names, sorted.
func Registered() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
