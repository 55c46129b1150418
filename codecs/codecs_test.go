package codecs

import (
	"errors"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct{ name, want string }{
		{"", "vanilla"},
		{"vanilla", "vanilla"},
		{"  Vanilla ", "vanilla"},
		{"json", "json"},
		{"Json", "json"},
		{"JSON", "json"},
		{"gob", "gob"},
		{"pickle", "gob"},
		{"PICKLE", "gob"},
	}
	for _, tt := range tests {
		c, err := Lookup(tt.name)
		if err != nil {
			t.Errorf("Lookup(%q): %v", tt.name, err)
			continue
		}
		if c.Name() != tt.want {
			t.Errorf("Lookup(%q) = %s, want %s", tt.name, c.Name(), tt.want)
		}
	}
}

// This package's tests never import codecs/msgpack, so the codec is known
// but not linked.
func TestLookupNotLinked(t *testing.T) {
	for _, name := range []string{"msgpack", "MsgPack", "feather", "parquet", "csv", "gojson", "orjson"} {
		_, err := Lookup(name)
		if !errors.Is(err, ErrUnknownCodec) {
			t.Fatalf("Lookup(%q) = %v, want an error wrapping ErrUnknownCodec", name, err)
		}
		if !Known(name) {
			t.Errorf("Known(%q) = false", name)
		}
	}
	_, err := Lookup("msgpack")
	const pkg = "github.com/cachette-go/cachette/codecs/msgpack"
	if !strings.Contains(err.Error(), `import _ "`+pkg+`"`) {
		t.Errorf("error %q does not name the import %s", err, pkg)
	}
	for _, name := range []string{"parquet", "csv"} {
		_, err = Lookup(name)
		if !strings.Contains(err.Error(), "github.com/cachette-go/cachette/codecs/arrow") {
			t.Errorf("error %q does not name the arrow package", err)
		}
	}
	// Cachette's orjson is the gojson codec.
	_, err = Lookup("ORJSON")
	if !strings.Contains(err.Error(), `"gojson"`) || !strings.Contains(err.Error(), `import _ "github.com/cachette-go/cachette/codecs/gojson"`) {
		t.Errorf("Lookup(ORJSON) error %q does not name gojson and its import", err)
	}
}

func TestLookupUnknown(t *testing.T) {
	_, err := Lookup("bogus")
	if !errors.Is(err, ErrUnknownCodec) {
		t.Fatalf("Lookup(bogus) = %v, want an error wrapping ErrUnknownCodec", err)
	}
	if Known("bogus") {
		t.Error("Known(bogus) = true")
	}
	// The message lists what is available.
	for _, name := range []string{`"bogus"`, "gob", "json", "vanilla"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not mention %s", err, name)
		}
	}
}

func TestByIDAndRegistered(t *testing.T) {
	for id, name := range map[byte]string{IDVanilla: "vanilla", IDJSON: "json", IDGob: "gob"} {
		c, ok := ByID(id)
		if !ok || c.Name() != name {
			t.Errorf("ByID(%d) = %v, %v; want %s", id, c, ok, name)
		}
	}
	for _, id := range []byte{0, IDMsgpack, 200} {
		if c, ok := ByID(id); ok {
			t.Errorf("ByID(%d) = %s, want none", id, c.Name())
		}
	}
	got := strings.Join(Registered(), ",")
	if got != "gob,json,vanilla" {
		t.Errorf("Registered() = %s, want gob,json,vanilla", got)
	}
}

type fakeCodec struct {
	name string
	id   byte
}

func (f fakeCodec) Name() string                    { return f.name }
func (f fakeCodec) ID() byte                        { return f.id }
func (f fakeCodec) Encode(any) ([]byte, error)      { return nil, nil }
func (f fakeCodec) Decode(data []byte, _ any) error { return nil }

func TestRegisterDuplicatePanics(t *testing.T) {
	tests := []struct {
		name  string
		codec Codec
		want  string
	}{
		{"same name", fakeCodec{"json", 250}, "twice for json"},
		{"same name in another case", fakeCodec{"JSON", 251}, "twice for json"},
		{"same ID", fakeCodec{"fresh", IDGob}, "reuses the ID 3 of gob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.Contains(msg, tt.want) {
					t.Fatalf("Register panicked with %v, want a message containing %q", r, tt.want)
				}
			}()
			Register(tt.codec)
			t.Fatal("Register did not panic")
		})
	}
	// A refused codec is not half registered.
	if _, err := Lookup("fresh"); err == nil {
		t.Error("a codec whose Register panicked can be looked up")
	}
	if c, _ := ByID(250); c != nil {
		t.Error("a codec whose Register panicked has its ID taken")
	}
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{"": "vanilla", "PICKLE": "gob", " Json ": "json", "msgpack": "msgpack", "orjson": "gojson", "OrJSON": "gojson"} {
		if got := Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
}
