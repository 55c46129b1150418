package msgpack_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette/codecs"
	"github.com/cachette-go/cachette/codecs/internal/codectest"
	"github.com/cachette-go/cachette/codecs/msgpack"
)

func TestRegistered(t *testing.T) {
	for _, name := range []string{"msgpack", "MsgPack"} {
		c, err := codecs.Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if c.Name() != "msgpack" || c.ID() != codecs.IDMsgpack {
			t.Fatalf("Lookup(%q) = %s/%d", name, c.Name(), c.ID())
		}
	}
	if c, ok := codecs.ByID(codecs.IDMsgpack); !ok || c.Name() != "msgpack" {
		t.Fatalf("ByID(IDMsgpack) = %v, %v", c, ok)
	}
}

func TestRoundTrip(t *testing.T) {
	codectest.RoundTrip(t, msgpack.Codec{}, nil)
}

func TestDecodeIntoAny(t *testing.T) {
	c := msgpack.Codec{}
	data, err := c.Encode(map[string]any{"a": "b", "n": 1, "list": []any{"x", 2.5}})
	if err != nil {
		t.Fatal(err)
	}
	var got any
	if err := c.Decode(data, &got); err != nil {
		t.Fatal(err)
	}
	m, ok := got.(map[string]any)
	if !ok || m["a"] != "b" || len(m["list"].([]any)) != 2 {
		t.Fatalf("decoded %#v", got)
	}
}

// msg builds MessagePack bytes from hex-like pieces.
func msg(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case int:
			b = append(b, byte(p))
		case string:
			b = append(b, p...)
		case []byte:
			b = append(b, p...)
		}
	}
	return b
}

// TestDecodeErrorClassification documents how the codec classifies
// failures: bytes that are not exactly one well-formed MessagePack value
// wrap ErrCorrupt; a well-formed value that does not fit the destination
// wraps ErrType.
func TestDecodeErrorClassification(t *testing.T) {
	c := msgpack.Codec{}
	enc := func(v any) []byte {
		b, err := c.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := enc(codectest.SampleRecord())
	deep := append(bytes.Repeat([]byte{0x91}, msgpack.MaxDepth+1), 0xc0)
	tests := []struct {
		name string
		data []byte
		dst  any
		want error
	}{
		{"empty", nil, new(int), codecs.ErrCorrupt},
		{"never used code", msg(0xc1), new(any), codecs.ErrCorrupt},
		{"truncated", good[:len(good)-1], new(codectest.Record), codecs.ErrCorrupt},
		{"trailing bytes", append(bytes.Clone(good), 0x01), new(codectest.Record), codecs.ErrCorrupt},
		{"two values", msg(0x01, 0x02), new(int), codecs.ErrCorrupt},
		{"array32 of 4 billion", msg(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01), new([]int), codecs.ErrCorrupt},
		{"map32 of 4 billion", msg(0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, "a", 0x01), new(map[string]int), codecs.ErrCorrupt},
		{"str32 longer than data", msg(0xdb, 0x7f, 0xff, 0xff, 0xff, "abc"), new(string), codecs.ErrCorrupt},
		{"bin8 longer than data", msg(0xc4, 0x05, "ab"), new([]byte), codecs.ErrCorrupt},
		{"ext without type", msg(0xc7, 0x01), new(any), codecs.ErrCorrupt},
		{"timestamp of 3 bytes", msg(0xc7, 0x03, 0xff, 0x01, 0x02, 0x03), new(time.Time), codecs.ErrCorrupt},
		{"nested too deep", deep, new(any), codecs.ErrCorrupt},
		{"string into int", enc("abc"), new(int), codecs.ErrType},
		{"array into map", enc([]int{1, 2}), new(map[string]int), codecs.ErrType},
		{"map with integer keys into any", enc(map[int]string{1: "a"}), new(any), codecs.ErrType},
		{"unknown extension into any", msg(0xd4, 0x42, 0x00), new(any), codecs.ErrType},
		{"non-pointer", good, codectest.Record{}, codecs.ErrType},
		{"nil", good, nil, codecs.ErrType},
		{"nil pointer", good, (*codectest.Record)(nil), codecs.ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Decode(tt.data, tt.dst)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(% x, %T) = %v, want an error wrapping %v", tt.data[:min(len(tt.data), 16)], tt.dst, err, tt.want)
			}
			if errors.Is(err, codecs.ErrType) && errors.Is(err, codecs.ErrCorrupt) {
				t.Fatalf("error wraps both ErrType and ErrCorrupt: %v", err)
			}
			if !strings.Contains(err.Error(), "msgpack") {
				t.Errorf("error %q does not name the codec", err)
			}
		})
	}
}

func TestDepthLimitIsExact(t *testing.T) {
	var v any
	ok := append(bytes.Repeat([]byte{0x91}, msgpack.MaxDepth), 0xc0)
	if err := (msgpack.Codec{}).Decode(ok, &v); err != nil {
		t.Fatalf("%d levels: %v", msgpack.MaxDepth, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, v := range []any{make(chan int), func() {}, complex(1, 2)} {
		if _, err := (msgpack.Codec{}).Encode(v); !errors.Is(err, codecs.ErrType) {
			t.Errorf("Encode(%T) = %v, want an error wrapping ErrType", v, err)
		}
	}
}

func BenchmarkMsgpack(b *testing.B) { codectest.Bench(b, msgpack.Codec{}) }

type node struct {
	Next *node
}

func TestEncodeRefusesTooDeep(t *testing.T) {
	var head *node
	for range msgpack.MaxDepth + 1 {
		head = &node{Next: head}
	}
	if _, err := (msgpack.Codec{}).Encode(head); !errors.Is(err, codecs.ErrType) {
		t.Fatalf("Encode of %d levels = %v, want ErrType", msgpack.MaxDepth+1, err)
	}
}
