// Package codectest holds the values every typed cachette codec must
// round-trip, ported from the codec tests of the Python Cachette, and a
// helper that checks a codec against them.
package codectest

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette/codecs"
)

// Record is a struct with the field kinds users cache.
type Record struct {
	ID      int64
	Name    string
	Tags    []string
	Scores  map[string]float64
	Blob    []byte
	Created time.Time
	Child   *Inner
}

// Inner is nested in Record.
type Inner struct {
	Note  string
	Count uint32
}

// Item is a value to encode and how to decode and compare it.
type Item struct {
	Name  string
	Value any
	// New returns a pointer to a fresh zero value of Value's type.
	New func() any
	// Equal reports whether the decoded value (pointed to by got) equals Value.
	Equal func(got any) bool
}

func item[T any](name string, v T) Item {
	return Item{
		Name:  name,
		Value: v,
		New:   func() any { return new(T) },
		Equal: func(got any) bool { return reflect.DeepEqual(*got.(*T), v) },
	}
}

func timeItem(name string, v time.Time) Item {
	return Item{
		Name:  name,
		Value: v,
		New:   func() any { return new(time.Time) },
		Equal: func(got any) bool { return got.(*time.Time).Equal(v) },
	}
}

// Nil is the name of the nil item, decoded into an *any.
const Nil = "nil"

// SampleRecord returns a Record with every field set.
func SampleRecord() Record {
	return Record{
		ID:      42,
		Name:    "Hello, World!",
		Tags:    []string{"a", "b", "c"},
		Scores:  map[string]float64{"a": 1.2, "b": 3.4},
		Blob:    []byte{0, 1, 2, 0xff},
		Created: time.Date(2024, 2, 29, 13, 14, 15, 123456789, time.FixedZone("ICT", 7*3600)),
		Child:   &Inner{Note: "inner", Count: 7},
	}
}

// Items returns the round-trip values: the upstream list (numbers, strings,
// bytes, maps of strings, bytes, integers and floats, lists, sets) plus
// structs, times and integer limits.
func Items() []Item {
	rec := SampleRecord()
	return []Item{
		{
			Name:  Nil,
			Value: nil,
			New:   func() any { return new(any) },
			Equal: func(got any) bool { return *got.(*any) == nil },
		},
		item("integer", 123),
		item("negative integer", -123),
		item("int64 max", int64(math.MaxInt64)),
		item("int64 min", int64(math.MinInt64)),
		item("uint64 max", uint64(math.MaxUint64)),
		item("float", 123.45),
		item("float32", float32(1.5)),
		item("bool", true),
		item("charstring", "A"),
		item("string", "Hello, World!"),
		item("unicode string", "héllo, 世界"),
		item("string of an integer", "123"),
		item("string of a float", "123.45"),
		item("charbytes", []byte("A")),
		item("bytes", []byte("Hello, World!")),
		item("bytes of an integer", []byte("123")),
		item("bytes of a float", []byte("123.45")),
		item("binary bytes", []byte{0, 0xff, 0x80, 0x7f}),
		item("map of strings", map[string]string{"a": "b", "c": "d"}),
		item("map of bytes", map[string][]byte{"a": []byte("b"), "c": []byte("d")}),
		item("map of integers", map[string]int{"a": 1, "b": 2}),
		item("map of floats", map[string]float64{"a": 1.2, "b": 3.4}),
		item("list of numbers", []int{1, 2, 3}),
		item("list of charstrings", []string{"a", "b", "c"}),
		item("list of charbytes", [][]byte{[]byte("a"), []byte("b"), []byte("c")}),
		item("set of numbers", map[int]bool{1: true, 2: true, 3: true}),
		item("set of charstrings", map[string]bool{"a": true, "b": true, "c": true}),
		item("struct", Inner{Note: "x", Count: 3}),
		{
			Name:  "struct with nested values",
			Value: rec,
			New:   func() any { return new(Record) },
			Equal: func(got any) bool { return EqualRecords(*got.(*Record), rec) },
		},
		item("pointer to struct", &Inner{Note: "p", Count: 1}),
		timeItem("time in UTC", time.Date(2022, 4, 6, 3, 27, 0, 0, time.UTC)),
		timeItem("time with an offset and nanoseconds", rec.Created),
		timeItem("time now", time.Now()),
	}
}

// EqualRecords compares records, times with time.Time.Equal.
func EqualRecords(a, b Record) bool {
	if !a.Created.Equal(b.Created) {
		return false
	}
	a.Created, b.Created = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// RoundTrip encodes every item with c, decodes it into a fresh value and
// compares. Items named in skip are left out, each with the reason the codec
// cannot carry it.
func RoundTrip(t *testing.T, c codecs.Codec, skip map[string]string) {
	t.Helper()
	for _, it := range Items() {
		t.Run(it.Name, func(t *testing.T) {
			if why, ok := skip[it.Name]; ok {
				t.Skip(why)
			}
			data, err := c.Encode(it.Value)
			if err != nil {
				t.Fatalf("Encode(%#v): %v", it.Value, err)
			}
			got := it.New()
			if err := c.Decode(data, got); err != nil {
				t.Fatalf("Decode(% x) into %T: %v", data, got, err)
			}
			if !it.Equal(got) {
				t.Fatalf("round trip of %#v gave %s", it.Value, describe(got))
			}
		})
	}
}

func describe(p any) string {
	return fmt.Sprintf("%#v", reflect.ValueOf(p).Elem().Interface())
}

// BenchRecord returns a Record whose encodings are about 1 KiB.
func BenchRecord() Record {
	r := SampleRecord()
	r.Name = strings.Repeat("cachette ", 20)
	r.Tags = make([]string, 20)
	for i := range r.Tags {
		r.Tags[i] = fmt.Sprintf("tag-%02d", i)
	}
	r.Scores = make(map[string]float64, 20)
	for i := range 20 {
		r.Scores[fmt.Sprintf("score-%02d", i)] = float64(i) * 1.25
	}
	r.Blob = bytes.Repeat([]byte{0xab}, 300)
	return r
}

// Bench encodes and decodes BenchRecord with c once per iteration.
func Bench(b *testing.B, c codecs.Codec) {
	in := BenchRecord()
	data, err := c.Encode(in)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		data, err := c.Encode(in)
		if err != nil {
			b.Fatal(err)
		}
		var out Record
		if err := c.Decode(data, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes/value")
}
