package codecs

import (
	"bytes"
	"encoding/gob"
	"errors"
	"math/big"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

type gobInner struct{ A int }

type gobHolder struct {
	I any
	M map[string]int
	T time.Time
}

type gobNode struct {
	Value int
	Next  *gobNode
}

type gobShapes struct {
	Arr     [3]uint8
	Ints    [2]int16
	C       complex128
	U       uint64
	F32     float32
	B       bool
	Nested  map[string][]map[int]string
	Ptr     *gobInner
	Big     *big.Int
	IP      net.IP
	When    time.Time
	Any     any
	AnyNil  any
	Anys    []any
	Unnamed struct{ X, Y string }
}

func init() {
	gob.Register(gobInner{})
	gob.Register(map[string]any{})
	gob.Register([]any{})
}

func gobList(n int) *gobNode {
	var head *gobNode
	for i := range n {
		head = &gobNode{Value: i, Next: head}
	}
	return head
}

func TestGobShapesRoundTrip(t *testing.T) {
	values := []any{
		gobShapes{
			Arr: [3]uint8{1, 2, 3}, Ints: [2]int16{-1, 1}, C: complex(1, -2), U: 1 << 63, F32: 0.25, B: true,
			Nested: map[string][]map[int]string{"a": {{1: "x"}, {}}},
			Ptr:    &gobInner{A: 9}, Big: big.NewInt(-12345678901234), IP: net.ParseIP("192.0.2.1").To4(),
			When: time.Date(2024, 2, 29, 1, 2, 3, 4, time.UTC), Any: gobInner{A: 1},
			Anys:    []any{gobInner{A: 2}, map[string]any{"k": gobInner{A: 3}}, []any{gobInner{A: 4}}},
			Unnamed: struct{ X, Y string }{"x", "y"},
		},
		gobShapes{},
		gobHolder{I: gobInner{A: 5}},
		// A type first sent inside an interface nested in another one.
		gobHolder{I: map[string]any{"x": gobInner{A: 1}}},
		map[string]any{"a": map[string]any{"b": gobInner{A: 3}}},
		[]any{[]any{[]any{gobInner{A: 1}}, map[string]any{"m": gobInner{A: 2}}}},
		*gobList(MaxGobDepth),
		map[string]int{},
		"", 0, -1, 3.5, []byte{1}, [0]int{}, []string{"a"},
	}
	for _, v := range values {
		data, err := Gob{}.Encode(v)
		if err != nil {
			t.Fatalf("Encode(%T): %v", v, err)
		}
		if err := checkGob(data); err != nil {
			t.Fatalf("our encoding of %T fails the check: %v", v, err)
		}
		// encoding/gob reads it both ways: into the type and skipping it.
		if err := gob.NewDecoder(bytes.NewReader(data)).DecodeValue(reflect.Value{}); err != nil {
			t.Fatalf("encoding/gob cannot skip our encoding of %T: %v", v, err)
		}
		got := reflect.New(reflect.TypeOf(v))
		if err := (Gob{}).Decode(data, got.Interface()); err != nil {
			t.Fatalf("Decode(%T): %v", v, err)
		}
		if !reflect.DeepEqual(got.Elem().Interface(), v) {
			t.Fatalf("round trip of %T:\n got %#v\nwant %#v", v, got.Elem().Interface(), v)
		}
	}
}

// gobMessages splits a gob stream into its messages (without their length
// prefixes).
func gobMessages(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var msgs [][]byte
	p := gobParser{data: data}
	for p.pos < len(data) {
		if err := p.nextMessage(); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, data[p.pos:p.end])
		p.pos = p.end
	}
	return msgs
}

// gobStream joins messages, each prefixed with its length.
func gobStream(msgs ...[]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = appendGobUint(out, uint64(len(m)))
		out = append(out, m...)
	}
	return out
}

// rawGob is what encoding/gob writes for v, without Gob's care.
func rawGob(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGobNestedInterfaceTypes(t *testing.T) {
	v := gobHolder{I: map[string]any{"x": gobInner{A: 1}}}
	raw := rawGob(t, v)
	// encoding/gob's own counts are wrong here, and its Decoder misreads
	// the stream when it skips the interface.
	if err := checkGob(raw); !errors.Is(err, errGobCount) {
		t.Fatalf("checkGob(raw) = %v, want errGobCount", err)
	}
	if err := gob.NewDecoder(bytes.NewReader(raw)).DecodeValue(reflect.Value{}); err == nil {
		t.Log("encoding/gob now skips such streams correctly")
	}
	// Such a stream is refused; ours is read.
	var got gobHolder
	if err := (Gob{}).Decode(raw, &got); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Decode(raw) = %v, want ErrCorrupt", err)
	}
	ours, err := Gob{}.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := (Gob{}).Decode(ours, &got); err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("Decode(ours) = %#v, %v", got, err)
	}
	// A plain gob Decoder reads ours too.
	got = gobHolder{}
	if err := gob.NewDecoder(bytes.NewReader(ours)).Decode(&got); err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("gob.Decoder on ours = %#v, %v", got, err)
	}
}

func TestGobDepthLimit(t *testing.T) {
	if _, err := (Gob{}).Encode(gobList(MaxGobDepth + 1)); !errors.Is(err, ErrType) {
		t.Fatalf("Encode of a list %d deep = %v, want ErrType", MaxGobDepth+1, err)
	}
	var got gobNode
	if err := (Gob{}).Decode(rawGob(t, gobList(MaxGobDepth+1)), &got); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Decode of a list %d deep = %v, want ErrCorrupt", MaxGobDepth+1, err)
	}
}

// TestGobDeepStreamDoesNotCrash feeds a stream nested five million levels
// deep (10 MB). encoding/gob alone overflows the goroutine stack on it,
// which kills the process.
func TestGobDeepStreamDoesNotCrash(t *testing.T) {
	msgs := gobMessages(t, rawGob(t, gobNode{}))
	// The last message is the value: its type ID, then the (empty) struct.
	last := msgs[len(msgs)-1]
	idLen := len(last) - 1
	const levels = 5_000_000
	body := append([]byte{}, last[:idLen]...)
	body = append(body, bytes.Repeat([]byte{0x02}, levels-1)...) // field Next
	body = append(body, bytes.Repeat([]byte{0x00}, levels)...)   // ends of structs
	deep := gobStream(append(msgs[:len(msgs)-1:len(msgs)-1], body)...)
	var got gobNode
	if err := (Gob{}).Decode(deep, &got); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("Decode = %v, want ErrCorrupt for the depth", err)
	}
}

func TestGobHostileStreams(t *testing.T) {
	mapMsgs := gobMessages(t, rawGob(t, map[string]int{"a": 1}))
	mapID := mapMsgs[len(mapMsgs)-1][:2] // the map's type ID, 65
	innerMsgs := gobMessages(t, rawGob(t, gobInner{A: 1}))
	innerDef, innerVal := innerMsgs[0], innerMsgs[1]

	withCount := func(n uint64) []byte {
		v := append(append([]byte{}, mapID...), 0) // ID, singleton delta
		v = appendGobUint(v, n)
		v = append(v, 0x01, 'a', 0x02)
		return gobStream(append(mapMsgs[:len(mapMsgs)-1:len(mapMsgs)-1], v)...)
	}
	if err := checkGob(withCount(1)); err != nil {
		t.Fatalf("the hand-built map stream is not valid: %v", err)
	}
	good := rawGob(t, gobInner{A: 1})
	tests := map[string][]byte{
		"empty":                      nil,
		"map of 2^40 entries":        withCount(1 << 40),
		"map of 2 entries, 1 sent":   withCount(2),
		"message longer than data":   {0xfc, 0x3f, 0xff, 0xff, 0xff, 0x04},
		"invalid unsigned integer":   {0x80},
		"field number out of range":  gobStream(innerDef, append(bytes.Clone(innerVal[:len(innerVal)-3]), 0x05, 0x02, 0x00)),
		"unknown type":               gobStream([]byte{0xff, 0xfe, 0x00, 0x02}),
		"reserved type ID":           gobStream([]byte{0x13}), // defines type 10
		"type defined twice":         gobStream(innerDef, innerDef, innerVal),
		"non-zero singleton delta":   gobStream([]byte{0x04, 0x01, 0x02}),
		"data after the value":       append(bytes.Clone(good), 0x01, 0x00),
		"bytes left in the message":  gobStream(innerDef, append(bytes.Clone(innerVal), 0x00)),
		"string longer than message": gobStream([]byte{0x0c, 0x00, 0x05, 'a'}),
		"field of an undefined type": func() []byte {
			def := bytes.Clone(innerDef)
			i := bytes.LastIndex(def, []byte{0x04, 0x00, 0x00, 0x00}) // field A: int
			def[i] = 0x30                                             // type 24, not defined
			return gobStream(def, append(bytes.Clone(innerVal[:len(innerVal)-3]), 0x00))
		}(),
		"field without a name": func() []byte {
			def := bytes.Clone(innerDef)
			i := bytes.Index(def, []byte{0x01, 0x01, 'A'}) // field name "A"
			def[i+1], def[i+2] = 0xff, 0x00                // a name of 0 bytes, in two
			return gobStream(def, innerVal)
		}(),
		"interface name too long": gobStream(append([]byte{0x10, 0x00, 0xfe, 0x04, 0x01}, bytes.Repeat([]byte{'n'}, 1025)...)),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			var dst map[string]int
			if err := (Gob{}).Decode(data, &dst); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode(% x) = %v, want ErrCorrupt", data[:min(len(data), 24)], err)
			}
		})
	}
	t.Run("every truncation", func(t *testing.T) {
		full, err := Gob{}.Encode(gobShapes{Any: gobInner{A: 1}, Nested: map[string][]map[int]string{"a": {{1: "x"}}}})
		if err != nil {
			t.Fatal(err)
		}
		for i := range full {
			var dst gobShapes
			if err := (Gob{}).Decode(full[:i], &dst); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode of the first %d of %d bytes = %v, want ErrCorrupt", i, len(full), err)
			}
		}
	})
}

func TestGobIntegers(t *testing.T) {
	for _, x := range []uint64{0, 1, 0x7f, 0x80, 0xff, 0x100, 1<<32 - 1, 1 << 32, 1<<64 - 1} {
		p := gobParser{data: appendGobUint(nil, x)}
		p.end = len(p.data)
		if got, err := p.readUint(); err != nil || got != x || p.pos != len(p.data) {
			t.Errorf("uint %d: read %d, %v", x, got, err)
		}
	}
	for _, i := range []int64{0, 1, -1, 63, -64, 64, -65, 1 << 40, -(1 << 62), 1<<63 - 1, -1 << 63} {
		p := gobParser{data: appendGobInt(nil, i)}
		p.end = len(p.data)
		if got, err := p.readInt(); err != nil || got != i {
			t.Errorf("int %d: read %d, %v", i, got, err)
		}
	}
}

type gobWithList struct {
	L []any
	B int
}

type gobOnlyB struct{ B int }

func TestGobNilInterfaces(t *testing.T) {
	// Nil interface values are fine at top level and inside interface values.
	for _, v := range []any{
		map[string]any{"x": nil, "y": 1},
		[]any{nil, gobInner{A: 1}},
		gobHolder{I: []any{nil, gobInner{A: 1}}},
		gobHolder{I: map[string]any{"x": nil}},
	} {
		data, err := Gob{}.Encode(v)
		if err != nil {
			t.Fatalf("Encode(%#v): %v", v, err)
		}
		got := reflect.New(reflect.TypeOf(v))
		if err := (Gob{}).Decode(data, got.Interface()); err != nil || !reflect.DeepEqual(got.Elem().Interface(), v) {
			t.Fatalf("round trip of %#v: %#v, %v", v, got.Elem().Interface(), err)
		}
	}

	// In a struct field's slice they are refused: encoding/gob misreads
	// the stream when it skips that field.
	v := gobWithList{L: []any{nil, nil}, B: 7}
	raw := rawGob(t, v)
	var onlyB gobOnlyB
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&onlyB); err == nil && onlyB.B == 7 {
		t.Log("encoding/gob now skips nil interface values correctly")
	}
	if _, err := (Gob{}).Encode(v); !errors.Is(err, ErrType) || !strings.Contains(err.Error(), "nil interface") {
		t.Fatalf("Encode(%#v) = %v, want ErrType naming the nil interface", v, err)
	}
	if err := (Gob{}).Decode(raw, &onlyB); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Decode = %v, want ErrCorrupt", err)
	}
}

type gobEmpty struct{}

// FuzzGobCheck checks checkGob against encoding/gob itself: when the check
// accepts a stream of a struct, encoding/gob can skip every field of it
// (decoding into a struct without fields) and stops at its end, as the
// check does. A difference would let encoding/gob read, in a field it
// skips, bytes the check read as something else.
func FuzzGobCheck(f *testing.F) {
	for _, v := range []any{
		gobShapes{Any: gobInner{A: 1}, Anys: []any{gobInner{A: 2}, map[string]any{"k": []any{nil}}}, Ints: [2]int16{1, 2}},
		gobHolder{I: map[string]any{"x": gobInner{A: 1}}, M: map[string]int{"a": 1}},
		*gobList(3),
		map[string]any{"a": nil, "b": []any{1, "x"}},
	} {
		data, err := Gob{}.Encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkGob(data) != nil {
			return
		}
		p := gobParser{data: data, types: map[int64]*gobWire{}}
		id, err := p.typeSequence(false)
		if err != nil {
			t.Fatalf("checked stream % x: %v", data, err)
		}
		if w := p.types[id]; w == nil || w.kind != gobStructKind {
			return
		}
		r := bytes.NewReader(data)
		if err := gob.NewDecoder(r).Decode(&gobEmpty{}); err != nil {
			t.Fatalf("checked stream % x: encoding/gob cannot skip its fields: %v", data, err)
		}
		if r.Len() != 0 {
			t.Fatalf("checked stream % x: encoding/gob stops %d bytes early", data, r.Len())
		}
	})
}
