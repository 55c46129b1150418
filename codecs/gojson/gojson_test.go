package gojson_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/codecs"
	"github.com/cachette-go/cachette/codecs/gojson"
	"github.com/cachette-go/cachette/codecs/internal/codectest"
)

func TestRegistered(t *testing.T) {
	for _, name := range []string{"gojson", "GoJSON", "orjson", " ORJSON "} {
		c, err := codecs.Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if c.Name() != "gojson" || c.ID() != codecs.IDGoJSON {
			t.Fatalf("Lookup(%q) = %s/%d", name, c.Name(), c.ID())
		}
	}
	if c, ok := codecs.ByID(codecs.IDGoJSON); !ok || c.Name() != "gojson" {
		t.Fatalf("ByID(IDGoJSON) = %v, %v", c, ok)
	}
}

func TestRoundTrip(t *testing.T) {
	codectest.RoundTrip(t, gojson.Codec{}, nil)
}

// TestSameTextAsJSON checks that the codec writes what the json codec
// writes and that each reads what the other wrote.
func TestSameTextAsJSON(t *testing.T) {
	for _, it := range codectest.Items() {
		t.Run(it.Name, func(t *testing.T) {
			if strings.HasPrefix(it.Name, "time now") {
				t.Skip("encoded twice, at two moments")
			}
			fast, err := gojson.Codec{}.Encode(it.Value)
			if err != nil {
				t.Fatal(err)
			}
			std, err := codecs.JSON{}.Encode(it.Value)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fast, std) {
				t.Errorf("gojson wrote\n  %s\njson wrote\n  %s", fast, std)
			}
			got := it.New()
			if err := (codecs.JSON{}).Decode(fast, got); err != nil || !it.Equal(got) {
				t.Errorf("json reading gojson's text: %v", err)
			}
			got = it.New()
			if err := (gojson.Codec{}).Decode(std, got); err != nil || !it.Equal(got) {
				t.Errorf("gojson reading json's text: %v", err)
			}
		})
	}
	// What encoding/json escapes or replaces.
	for _, v := range []any{"<a href=\"x\">&</a>", "bad \xff utf-8", "\u2028\u2029", map[string]int{"b": 1, "a": 2, "c": 3}} {
		fast, err := gojson.Codec{}.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		std, _ := codecs.JSON{}.Encode(v)
		if !bytes.Equal(fast, std) {
			t.Errorf("Encode(%q): gojson wrote %s, json %s", v, fast, std)
		}
	}
}

type point struct{ X, Y int }

// TestDecodeErrorClassification is the json codec's table
// (codecs/std_test.go) run against this codec.
func TestDecodeErrorClassification(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		dst  any
		want error
	}{
		{"garbage", []byte("{not json"), new(map[string]int), codecs.ErrCorrupt},
		{"truncated", []byte(`{"a":`), new(map[string]int), codecs.ErrCorrupt},
		{"truncated after a type mismatch", []byte(`{"X":"a","Y":`), new(point), codecs.ErrCorrupt},
		{"empty", nil, new(int), codecs.ErrCorrupt},
		{"trailing data", []byte(`1 2`), new(int), codecs.ErrCorrupt},
		{"NUL after the value", []byte("1\x00"), new(int), codecs.ErrCorrupt},
		{"NUL inside", []byte("[1,\x002]"), new(any), codecs.ErrCorrupt},
		{"nested too deep", []byte(strings.Repeat("[", 10001) + strings.Repeat("]", 10001)), new(any), codecs.ErrCorrupt},
		{"nested too deep into a slice", []byte(strings.Repeat("[", 10001) + strings.Repeat("]", 10001)), new([]any), codecs.ErrCorrupt},
		{"garbage into nil", []byte("{not json"), nil, codecs.ErrCorrupt},
		// go-json alone skips the value of a key point lacks without
		// checking it, and decodes this.
		{"malformed value of an unknown key", []byte(`{"":{""}}`), new(point), codecs.ErrCorrupt},
		{"malformed value of an unknown key, nested", []byte(`{"X":1,"Z":[1,{"a"}],"Y":2}`), new(point), codecs.ErrCorrupt},
		{"string into int", []byte(`"abc"`), new(int), codecs.ErrType},
		{"object into slice", []byte(`{"a":1}`), new([]int), codecs.ErrType},
		{"number into struct", []byte(`12`), new(point), codecs.ErrType},
		{"bad time text", []byte(`"yesterday"`), new(time.Time), codecs.ErrType},
		{"non-pointer", []byte(`1`), 0, codecs.ErrType},
		{"nil", []byte(`1`), nil, codecs.ErrType},
		{"nil pointer", []byte(`1`), (*int)(nil), codecs.ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := gojson.Codec{}.Decode(tt.data, tt.dst)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(%.40q, %T) = %v, want an error wrapping %v", tt.data, tt.dst, err, tt.want)
			}
			if errors.Is(err, codecs.ErrType) && errors.Is(err, codecs.ErrCorrupt) {
				t.Fatalf("error wraps both ErrType and ErrCorrupt: %v", err)
			}
			if !strings.Contains(err.Error(), "gojson") {
				t.Errorf("error %q does not name the codec", err)
			}
			// The json codec agrees.
			if jerr := (codecs.JSON{}).Decode(tt.data, tt.dst); !errors.Is(jerr, tt.want) {
				t.Errorf("the json codec says %v", jerr)
			}
		})
	}
}

// TestInvalidUTF8 checks that strings holding invalid UTF-8 decode as
// encoding/json decodes them (go-json alone keeps the bad bytes).
func TestInvalidUTF8(t *testing.T) {
	data := []byte("{\"\x82\":\"a\xffb\",\"ok\":[\"\xc3\"]}")
	var got, want any
	if err := (gojson.Codec{}).Decode(data, &got); err != nil {
		t.Fatal(err)
	}
	if err := (codecs.JSON{}).Decode(data, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("gojson decoded %#v, json %#v", got, want)
	}
}

func TestDepthLimitIsEncodingJSONs(t *testing.T) {
	ok := []byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000))
	var v any
	if err := (gojson.Codec{}).Decode(ok, &v); err != nil {
		t.Fatalf("10000 levels: %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, v := range []any{make(chan int), func() {}, math.Inf(1), math.NaN(), map[string]any{"f": math.Inf(-1)}, complex(1, 2)} {
		if _, err := (gojson.Codec{}).Encode(v); !errors.Is(err, codecs.ErrType) {
			t.Errorf("Encode(%T %v) = %v, want an error wrapping ErrType", v, v, err)
		}
	}
}

func BenchmarkGoJSON(b *testing.B) { codectest.Bench(b, gojson.Codec{}) }

func BenchmarkJSON(b *testing.B) { codectest.Bench(b, codecs.JSON{}) }

// TestCacheOrjson reads a Cachette configuration naming its orjson codec
// from the environment and stores values with it.
func TestCacheOrjson(t *testing.T) {
	t.Setenv("CACHETTE_CODEC", "orjson")
	cfg, err := cachette.ConfigFromEnv("CACHETTE_")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := cachette.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := codectest.SampleRecord()
	if err := c.Put(ctx, "k", in); err != nil {
		t.Fatal(err)
	}
	var out codectest.Record
	if err := c.Fetch(ctx, "k", &out); err != nil {
		t.Fatal(err)
	}
	if !codectest.EqualRecords(in, out) {
		t.Fatalf("got %+v", out)
	}
	raw, _, err := c.Backend().Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 3 || raw[2] != codecs.IDGoJSON {
		t.Fatalf("entry header % x does not name the gojson codec", raw[:min(len(raw), 12)])
	}
}

// TestValid checks the codec's validator against json.Valid on text
// go-json alone accepts and encoding/json does not, and on its edges.
func TestValid(t *testing.T) {
	deep := func(n int, open, end string) string { return strings.Repeat(open, n) + strings.Repeat(end, n) }
	for _, in := range []string{
		`{"":{""}}`, `{"X":1,"Z":[1,{"a"}],"Y":2}`, "1\x00", `{"Z":tru}`, `{"Z":01}`, `{"Z":"\x01"}`,
		`{"Z":[1,]}`, `{"Z":1.}`, `{"Z":-}`, `[1e]`, `[1e+]`, `{"a" 1}`, `{"a":1,}`, `"\u12"`, `[.5]`,
		`[+1]`, "\"a\tb\"", `[1 2]`, `{"a":1 "b":2}`, `[0x10]`, `[Infinity]`, `[nul]`, `[-01]`, `-0`,
		`-0.0e-0`, `1E+2`, ` [ 1 , { "a" : [ ] } ] `, "\t\r\n1\n", `""`, `"\"\\\/\b\f\n\r\t\u00Ef"`,
		"\"\xff\"", `{}`, `[]`, `{"a":{}}`, `[[]]`, ``, ` `, `{`, `}`, `[`, `]`, `"`, `,`, `1,`, `[1]]`,
		`{"a":1}}`, `{1:2}`, `{"a"}`, `truex`, `nulll`, `fals`, `"\ud800"`, `1.5e`, `--1`,
		deep(maxDepthForTest, "[", "]"), deep(maxDepthForTest+1, "[", "]"),
		strings.Repeat(`{"a":`, maxDepthForTest) + "1" + strings.Repeat("}", maxDepthForTest),
		strings.Repeat(`{"a":`, maxDepthForTest+1) + "1" + strings.Repeat("}", maxDepthForTest+1),
	} {
		if got, want := gojson.Valid([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("valid(%.40q) = %v, json.Valid %v", in, got, want)
		}
	}
}

const maxDepthForTest = 10000
