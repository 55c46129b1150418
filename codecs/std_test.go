package codecs_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette/codecs"
	"github.com/cachette-go/cachette/codecs/internal/codectest"
)

func TestJSONRoundTrip(t *testing.T) {
	codectest.RoundTrip(t, codecs.JSON{}, nil)
}

func TestGobRoundTrip(t *testing.T) {
	codectest.RoundTrip(t, codecs.Gob{}, map[string]string{
		codectest.Nil: "encoding/gob cannot encode a nil value",
	})
}

func TestVanillaRoundTrip(t *testing.T) {
	// Vanilla keeps only what fmt.Sprint gives back as a string; []byte is
	// stored as is.
	items := []any{
		123, -7, int64(math.MaxInt64), uint8(200), 123.45, float32(0.5), true,
		"A", "Hello, World!", "123", "123.45", "",
		map[string]string{"a": "b", "c": "d"},
		map[string]int{"a": 1, "b": 2},
		map[string]float64{"a": 1.2, "b": 3.4},
		[]int{1, 2, 3}, []string{"a", "b", "c"},
		struct{ A, B int }{1, 2},
		time.Date(2022, 4, 6, 3, 27, 0, 0, time.UTC),
		nil,
	}
	for _, v := range items {
		t.Run(fmt.Sprintf("%T %v", v, v), func(t *testing.T) {
			data, err := codecs.Vanilla{}.Encode(v)
			if err != nil {
				t.Fatal(err)
			}
			var s string
			if err := (codecs.Vanilla{}).Decode(data, &s); err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprint(v); s != want {
				t.Fatalf("got %q, want %q", s, want)
			}
		})
	}
	for _, b := range [][]byte{[]byte("A"), []byte("Hello, World!"), []byte("123"), {0, 0xff}} {
		t.Run(fmt.Sprintf("bytes %q", b), func(t *testing.T) {
			data, err := codecs.Vanilla{}.Encode(b)
			if err != nil {
				t.Fatal(err)
			}
			var s string
			if err := (codecs.Vanilla{}).Decode(data, &s); err != nil || s != string(b) {
				t.Fatalf("into *string: %q, %v; want %q", s, err, b)
			}
			var got []byte
			if err := (codecs.Vanilla{}).Decode(data, &got); err != nil || !bytes.Equal(got, b) {
				t.Fatalf("into *[]byte: %q, %v; want %q", got, err, b)
			}
		})
	}
}

func TestVanillaDestinations(t *testing.T) {
	v := codecs.Vanilla{}
	data, _ := v.Encode(123)

	var a any
	if err := v.Decode(data, &a); err != nil || a != "123" {
		t.Fatalf("into *any: %#v, %v; want the string \"123\"", a, err)
	}

	var b []byte
	if err := v.Decode(nil, &b); err != nil || b == nil || len(b) != 0 {
		t.Fatalf("empty data into *[]byte: %#v, %v; want an empty, non-nil slice", b, err)
	}

	// The decoded slice must not alias the stored bytes.
	src := []byte("abc")
	if err := v.Decode(src, &b); err != nil {
		t.Fatal(err)
	}
	src[0] = 'X'
	if string(b) != "abc" {
		t.Fatalf("decoded bytes alias the input: %q", b)
	}

	for _, dst := range []any{new(int), new(float64), new(map[string]string), "not a pointer", nil, (*string)(nil)} {
		if err := v.Decode(data, dst); !errors.Is(err, codecs.ErrType) {
			t.Errorf("Decode into %T: %v, want an error wrapping ErrType", dst, err)
		}
	}
}

type point struct{ X, Y int }

type other struct{ Name string }

// TestDecodeErrorClassification documents how each codec classifies
// decode failures: bytes that are not a well-formed encoding wrap
// ErrCorrupt; a well-formed encoding that does not fit the destination
// wraps ErrType.
func TestDecodeErrorClassification(t *testing.T) {
	gobOf := func(v any) []byte {
		b, err := codecs.Gob{}.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	goodGob := gobOf(point{1, 2})
	tests := []struct {
		name  string
		codec codecs.Codec
		data  []byte
		dst   any
		want  error
	}{
		{"json garbage", codecs.JSON{}, []byte("{not json"), new(map[string]int), codecs.ErrCorrupt},
		{"json truncated", codecs.JSON{}, []byte(`{"a":`), new(map[string]int), codecs.ErrCorrupt},
		{"json empty", codecs.JSON{}, nil, new(int), codecs.ErrCorrupt},
		{"json trailing data", codecs.JSON{}, []byte(`1 2`), new(int), codecs.ErrCorrupt},
		{"json nested too deep", codecs.JSON{}, []byte(strings.Repeat("[", 10001) + strings.Repeat("]", 10001)), new(any), codecs.ErrCorrupt},
		{"json string into int", codecs.JSON{}, []byte(`"abc"`), new(int), codecs.ErrType},
		{"json object into slice", codecs.JSON{}, []byte(`{"a":1}`), new([]int), codecs.ErrType},
		{"json number into struct", codecs.JSON{}, []byte(`12`), new(point), codecs.ErrType},
		{"json bad time text", codecs.JSON{}, []byte(`"yesterday"`), new(time.Time), codecs.ErrType},
		{"json non-pointer", codecs.JSON{}, []byte(`1`), 0, codecs.ErrType},
		{"json nil", codecs.JSON{}, []byte(`1`), nil, codecs.ErrType},

		{"gob garbage", codecs.Gob{}, []byte("definitely not gob"), new(point), codecs.ErrCorrupt},
		{"gob empty", codecs.Gob{}, nil, new(point), codecs.ErrCorrupt},
		{"gob truncated", codecs.Gob{}, goodGob[:len(goodGob)-2], new(point), codecs.ErrCorrupt},
		{"gob trailing data", codecs.Gob{}, append(bytes.Clone(goodGob), 0), new(point), codecs.ErrCorrupt},
		{"gob huge message length", codecs.Gob{}, []byte{0xfc, 0x3f, 0xff, 0xff, 0xff, 0x04}, new(point), codecs.ErrCorrupt},
		{"gob string into int", codecs.Gob{}, gobOf("abc"), new(int), codecs.ErrType},
		{"gob struct into other struct", codecs.Gob{}, goodGob, new(other), codecs.ErrType},
		{"gob int into any", codecs.Gob{}, gobOf(7), new(any), codecs.ErrType},
		{"gob non-pointer", codecs.Gob{}, goodGob, point{}, codecs.ErrType},
		{"gob nil pointer", codecs.Gob{}, goodGob, (*point)(nil), codecs.ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.codec.Decode(tt.data, tt.dst)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(%q, %T) = %v, want an error wrapping %v", tt.data, tt.dst, err, tt.want)
			}
			if errors.Is(err, codecs.ErrType) && errors.Is(err, codecs.ErrCorrupt) {
				t.Fatalf("error wraps both ErrType and ErrCorrupt: %v", err)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, c := range []codecs.Codec{codecs.JSON{}, codecs.Gob{}} {
		for _, v := range []any{make(chan int), func() {}} {
			if _, err := c.Encode(v); !errors.Is(err, codecs.ErrType) {
				t.Errorf("%s.Encode(%T) = %v, want an error wrapping ErrType", c.Name(), v, err)
			}
		}
	}
	for _, v := range []any{nil, (*point)(nil)} {
		if _, err := (codecs.Gob{}).Encode(v); !errors.Is(err, codecs.ErrType) {
			t.Errorf("gob Encode(%#v) = %v, want an error wrapping ErrType", v, err)
		}
	}
	if _, err := (codecs.JSON{}).Encode(math.Inf(1)); !errors.Is(err, codecs.ErrType) {
		t.Errorf("json Encode(+Inf) = %v, want an error wrapping ErrType", err)
	}
}

func TestCheckType(t *testing.T) {
	for _, tt := range []struct {
		codec codecs.Codec
		typ   reflect.Type
		ok    bool
	}{
		{codecs.Vanilla{}, reflect.TypeFor[string](), true},
		{codecs.Vanilla{}, reflect.TypeFor[[]byte](), true},
		{codecs.Vanilla{}, reflect.TypeFor[int](), false},
		{codecs.Vanilla{}, reflect.TypeFor[any](), false},
		{codecs.Vanilla{}, reflect.TypeFor[struct{ A int }](), false},
		{codecs.JSON{}, reflect.TypeFor[struct{ A int }](), true},
		{codecs.Gob{}, reflect.TypeFor[map[string]int](), true},
	} {
		err := codecs.CheckType(tt.codec, tt.typ)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, codecs.ErrType)) {
			t.Errorf("CheckType(%s, %v) = %v, want ok %v", tt.codec.Name(), tt.typ, err, tt.ok)
		}
	}
}
