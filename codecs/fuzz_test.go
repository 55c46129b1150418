package codecs_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/cachette-go/cachette/codecs"
	"github.com/cachette-go/cachette/codecs/internal/codectest"
	"github.com/cachette-go/cachette/internal/zstdtest"
)

// checkDecode decodes data into a fresh destination and checks what every
// codec promises about bytes read from a store: no panic, an error that is
// either ErrType or ErrCorrupt, and a decoded value that the codec can
// write and read back.
func checkDecode(t *testing.T, c codecs.Codec, data []byte, newDst func() any) {
	t.Helper()
	dst := newDst()
	err := c.Decode(data, dst)
	if err != nil {
		if errors.Is(err, codecs.ErrType) == errors.Is(err, codecs.ErrCorrupt) {
			t.Fatalf("error wraps neither or both of ErrType and ErrCorrupt: %v", err)
		}
		return
	}
	again, err := c.Encode(reflect.ValueOf(dst).Elem().Interface())
	if err != nil {
		// Some decoded values cannot be written back (a time past year
		// 9999 in JSON); that must be a type error.
		if !errors.Is(err, codecs.ErrType) {
			t.Fatalf("re-encoding %#v: %v", dst, err)
		}
		return
	}
	if err := c.Decode(again, newDst()); err != nil {
		t.Fatalf("decoding our own encoding % x of %#v: %v", again, dst, err)
	}
}

func seed(f *testing.F, c codecs.Codec, values ...any) {
	for _, v := range values {
		b, err := c.Encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func newRecord() any { return new(codectest.Record) }
func newAny() any    { return new(any) }

func FuzzVanillaDecode(f *testing.F) {
	seed(f, codecs.Vanilla{}, 123, 123.45, "Hello, World!", []byte{0, 0xff}, map[string]int{"a": 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		v := codecs.Vanilla{}
		var s string
		var b []byte
		var a any
		if err := v.Decode(data, &s); err != nil || s != string(data) {
			t.Fatalf("into *string: %q, %v", s, err)
		}
		if err := v.Decode(data, &b); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("into *[]byte: %q, %v", b, err)
		}
		if err := v.Decode(data, &a); err != nil || a != string(data) {
			t.Fatalf("into *any: %#v, %v", a, err)
		}
		if err := v.Decode(data, new(int)); !errors.Is(err, codecs.ErrType) {
			t.Fatalf("into *int: %v", err)
		}
		if enc, err := v.Encode(s); err != nil || !bytes.Equal(enc, data) {
			t.Fatalf("Encode(%q) = %q, %v", s, enc, err)
		}
	})
}

func FuzzJSONDecode(f *testing.F) {
	seed(f, codecs.JSON{}, codectest.SampleRecord(), codectest.Record{}, map[string]any{"a": []any{1.5, "x", nil}}, "s")
	f.Add([]byte(`{"Created":"2024-02-29T13:14:15+07:00","Scores":{"x":1e308}}`))
	f.Add([]byte(`{"Tags":[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, codecs.JSON{}, data, newRecord)
		checkDecode(t, codecs.JSON{}, data, newAny)
	})
}

func FuzzGobDecode(f *testing.F) {
	rec := codectest.SampleRecord()
	seed(f, codecs.Gob{}, rec, codectest.Record{}, codectest.Record{Tags: []string{"x"}, Scores: map[string]float64{"": 0}},
		codectest.Inner{Note: "x"}, map[string]int{"a": 1}, "string",
		map[string]any{"a": 1, "b": "x", "c": 2.5, "d": []int{1}, "e": map[string]any{"f": []string{"g"}}})
	f.Add([]byte{})
	newMap := func() any { return new(map[string]any) }
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, codecs.Gob{}, data, newRecord)
		checkDecode(t, codecs.Gob{}, data, newMap)
	})
}

func FuzzDecompress(f *testing.F) {
	for _, n := range []int{0, 1, 300, 5000, 200 << 10} {
		f.Add(codecs.Compress(nil, bytes.Repeat([]byte("cachette "), n/9+1)[:n]))
	}
	f.Add([]byte("not zstd at all"))
	f.Add(zstdtest.Bomb()) // 16,386 bytes that used to cost 2.25 GB
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(codecs.Compress(nil, data)) == 0 {
			t.Fatal("Compress wrote nothing")
		}
		out, err := codecs.Decompress(data)
		if err != nil {
			if !errors.Is(err, codecs.ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		if len(out) > codecs.MaxDecompressedSize {
			t.Fatalf("%d bytes out, more than the limit", len(out))
		}
		again, err := codecs.Decompress(codecs.Compress(nil, out))
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("recompressing %d bytes: %v", len(out), err)
		}
	})
}
