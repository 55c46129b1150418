package msgpack_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/cachette-go/cachette/codecs"
	"github.com/cachette-go/cachette/codecs/internal/codectest"
	"github.com/cachette-go/cachette/codecs/msgpack"
)

func FuzzMsgpackDecode(f *testing.F) {
	c := msgpack.Codec{}
	for _, v := range []any{codectest.SampleRecord(), codectest.Record{}, map[string]any{"a": []any{1, "x", nil, 2.5}}, "s", []byte{1}} {
		b, err := c.Encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dst := range []func() any{
			func() any { return new(codectest.Record) },
			func() any { return new(any) },
		} {
			v := dst()
			err := c.Decode(data, v)
			if err != nil {
				if errors.Is(err, codecs.ErrType) == errors.Is(err, codecs.ErrCorrupt) {
					t.Fatalf("error wraps neither or both of ErrType and ErrCorrupt: %v", err)
				}
				continue
			}
			again, err := c.Encode(reflect.ValueOf(v).Elem().Interface())
			if err != nil {
				t.Fatalf("re-encoding %#v: %v", v, err)
			}
			if err := c.Decode(again, dst()); err != nil {
				t.Fatalf("decoding our own encoding % x of %#v: %v", again, v, err)
			}
		}
	})
}
