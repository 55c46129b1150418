package gojson_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/cachette-go/cachette/codecs"
	"github.com/cachette-go/cachette/codecs/gojson"
	"github.com/cachette-go/cachette/codecs/internal/codectest"
)

// FuzzGoJSONDecode checks the codec against the json codec on any bytes:
// no panic; bytes encoding/json finds malformed are corrupt here too (and
// every error is exactly one of ErrType and ErrCorrupt); and when both
// decode, they give the same value, which both codecs write back as text
// that reads the same, and which the codec reads again.
func FuzzGoJSONDecode(f *testing.F) {
	c := gojson.Codec{}
	for _, v := range []any{codectest.SampleRecord(), codectest.Record{}, map[string]any{"a": []any{1.5, "x", nil, true}}, "s\u2028\xff", []byte{1}, 1e308} {
		b, err := c.Encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Created":"2024-02-29T13:14:15+07:00","Scores":{"x":1e308}}`))
	f.Add([]byte(`{"Tags":[`))
	f.Add([]byte("1\x00"))
	f.Add([]byte(`{"ID":"1","Name":1}`))
	f.Add([]byte(`{"Z":01}`))
	f.Add([]byte("[-0.5e+10,\"\\u00e9\\n\",true,false,null,{}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := gojson.Valid(data), json.Valid(data); got != want {
			t.Fatalf("the codec's validator says %v, json.Valid %v", got, want)
		}
		for _, newDst := range []func() any{
			func() any { return new(codectest.Record) },
			func() any { return new(any) },
		} {
			got, want := newDst(), newDst()
			err := c.Decode(data, got)
			jerr := codecs.JSON{}.Decode(data, want)
			if err != nil && errors.Is(err, codecs.ErrType) == errors.Is(err, codecs.ErrCorrupt) {
				t.Fatalf("error wraps neither or both of ErrType and ErrCorrupt: %v", err)
			}
			if errors.Is(jerr, codecs.ErrCorrupt) != errors.Is(err, codecs.ErrCorrupt) {
				t.Fatalf("into %T: gojson says %v, json says %v", got, err, jerr)
			}
			if err == nil && !json.Valid(data) {
				t.Fatalf("decoded malformed JSON into %#v", got)
			}
			if err != nil || jerr != nil {
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("gojson decoded %#v, json %#v", reflect.ValueOf(got).Elem().Interface(), reflect.ValueOf(want).Elem().Interface())
			}
			// Both write it, as text that reads back the same (go-json
			// escapes some characters differently: \u0008 for \b).
			v := reflect.ValueOf(got).Elem().Interface()
			again, err := c.Encode(v)
			std, jerr := codecs.JSON{}.Encode(v)
			if (err == nil) != (jerr == nil) {
				t.Fatalf("encoding %#v: gojson says %v, json %v", v, err, jerr)
			}
			if err == nil {
				var a, b any
				if json.Unmarshal(again, &a) != nil || json.Unmarshal(std, &b) != nil || !reflect.DeepEqual(a, b) {
					t.Fatalf("encoding %#v: gojson wrote %q, json %q", v, again, std)
				}
			}
			if err != nil {
				if !errors.Is(err, codecs.ErrType) {
					t.Fatalf("re-encoding %#v: %v", got, err)
				}
				continue
			}
			if err := c.Decode(again, newDst()); err != nil {
				t.Fatalf("decoding our own encoding %q of %#v: %v", again, got, err)
			}
		}
	})
}
