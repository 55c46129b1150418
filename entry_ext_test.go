package cachette

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cachette-go/cachette/codecs"
)

// TestEntryExtension: an entry with an extension block round-trips, old
// entries keep their layout, and InspectEntry shows the block.
func TestEntryExtension(t *testing.T) {
	exp := time.UnixMilli(1_700_000_000_000)
	h := entryHeader{codec: codecs.IDJSON, expiresAt: exp, ext: true, staleWindow: 90 * time.Second,
		tags: encodeTags([]taggedVersion{{"users", "v1"}, {"team:7", "v2"}})}
	b := entryBytes(h, []byte(`"x"`))
	if b[3] != flagExt || b[1] != entryVersion {
		t.Fatalf("flags 0x%02x version %d", b[3], b[1])
	}
	got, payload, err := decodeEntry(b, DefaultMaxValueSize)
	if err != nil || got != h || string(payload) != `"x"` {
		t.Fatalf("%+v %q %v", got, payload, err)
	}
	info, err := InspectEntry(b, 0)
	if err != nil || info.StaleWindow != 90*time.Second || !slices.Equal(info.Tags, []string{"users", "team:7"}) || info.Negative {
		t.Fatalf("InspectEntry: %+v, %v", info, err)
	}
	neg := entryBytes(entryHeader{codec: codecs.IDJSON, expiresAt: exp, ext: true, negative: true}, nil)
	if info, err := InspectEntry(neg, 0); err != nil || !info.Negative || info.PayloadSize != 0 {
		t.Fatalf("negative marker: %+v, %v", info, err)
	}
	// Every truncation, and a few corruptions, are errors, never panics.
	for i := entryHeaderSize; i < len(b)-3; i++ {
		if _, _, err := decodeEntry(b[:i], DefaultMaxValueSize); !errors.Is(err, errCorruptEntry) {
			t.Fatalf("truncated to %d bytes: %v", i, err)
		}
	}
	for _, mutate := range []func([]byte){
		func(b []byte) { b[14] |= 0x80 },            // unknown extension flag
		func(b []byte) { b[19] = maxEntryTags + 1 }, // too many tags
		func(b []byte) { b[20] = 0 },                // empty tag
		func(b []byte) { b[12], b[13] = 0, 3 },      // block shorter than its fixed part
	} {
		c := append([]byte(nil), b...)
		mutate(c)
		if _, _, err := decodeEntry(c, DefaultMaxValueSize); !errors.Is(err, errCorruptEntry) {
			t.Fatalf("corrupt block % x: %v", c[:24], err)
		}
	}
}

// TestEntryLoadTime: the load duration of WithEarlyRefresh round-trips in
// the extension block, with tags after it, and a flag without its field,
// or with 0 in it, is a corrupt entry.
func TestEntryLoadTime(t *testing.T) {
	exp := time.UnixMilli(1_700_000_000_000)
	h := entryHeader{codec: codecs.IDJSON, expiresAt: exp, ext: true, loadTime: 1234 * time.Microsecond,
		tags: encodeTags([]taggedVersion{{"users", "v1"}})}
	b := entryBytes(h, []byte(`"x"`))
	got, payload, err := decodeEntry(b, DefaultMaxValueSize)
	if err != nil || got != h || string(payload) != `"x"` {
		t.Fatalf("%+v %q %v", got, payload, err)
	}
	if info, err := InspectEntry(b, 0); err != nil || info.LoadTime != h.loadTime || len(info.Tags) != 1 {
		t.Fatalf("InspectEntry: %+v, %v", info, err)
	}
	for i := entryHeaderSize; i < len(b)-3; i++ {
		if _, _, err := decodeEntry(b[:i], DefaultMaxValueSize); !errors.Is(err, errCorruptEntry) {
			t.Fatalf("truncated to %d bytes: %v", i, err)
		}
	}
	zero := append([]byte(nil), b...)
	copy(zero[19:23], []byte{0, 0, 0, 0})
	noField := entryBytes(entryHeader{codec: codecs.IDJSON, expiresAt: exp, ext: true}, nil)
	noField[14] |= extFlagLoadTime
	for name, c := range map[string][]byte{"zero": zero, "no field": noField} {
		if _, _, err := decodeEntry(c, DefaultMaxValueSize); !errors.Is(err, errCorruptEntry) {
			t.Fatalf("%s: % x: %v", name, c, err)
		}
	}
}
