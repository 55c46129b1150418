package valkey

import (
	"bytes"
	"path"
	"testing"
	"time"
)

func TestGlobEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a*b", `a\*b`},
		{"a?b", `a\?b`},
		{"[x]", `\[x\]`},
		{`back\slash`, `back\\slash`},
		{"ключ*", `ключ\*`},
	}
	for _, tt := range tests {
		if got := globEscape(tt.in); got != tt.want {
			t.Errorf("globEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestGlobEscapeMatchesOnlyItself checks the escaped pattern with the same
// glob rules SCAN MATCH uses for these characters (path.Match agrees with
// Redis on *, ?, [ ] and backslash escapes, as long as there is no "/").
func TestGlobEscapeMatchesOnlyItself(t *testing.T) {
	for _, p := range []string{"a*", "a?", "a[bc]", `a\b`, "a]", "a[", "*", "[!x]"} {
		pat := globEscape(p+":") + "*"
		if ok, err := path.Match(pat, p+":key"); err != nil || !ok {
			t.Errorf("pattern for %q does not match its own key: %v", p, err)
		}
		for _, other := range []string{"ab", "ax", "a", "ab:c", "zz", "x"} {
			if other == p {
				continue
			}
			if ok, _ := path.Match(pat, other+":key"); ok {
				t.Errorf("pattern for prefix %q matches prefix %q", p, other)
			}
		}
	}
}

func TestEntryRoundTrip(t *testing.T) {
	exp := time.Now().Add(time.Minute)
	ms := ceilMilli(exp)
	if time.UnixMilli(ms).Before(exp) {
		t.Fatalf("ceilMilli(%v) = %v, before it", exp, time.UnixMilli(ms))
	}
	v, got, ok := decodeEntry(encodeEntry([]byte("value"), ms))
	if !ok || got != ms || string(v) != "value" {
		t.Fatalf("round trip = %q, %d, %v", v, got, ok)
	}
	if _, _, ok := decodeEntry([]byte("short")); ok {
		t.Fatal("a 5-byte value decoded as an entry")
	}
	if !liveHeader(string(encodeEntry(nil, ms)), time.Now()) {
		t.Fatal("live header read as dead")
	}
	if liveHeader(string(encodeEntry(nil, time.Now().Add(-time.Millisecond).UnixMilli())), time.Now()) {
		t.Fatal("dead header read as live")
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry([]byte("hello"), 1700000000123))
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Add(bytes.Repeat([]byte{0xff}, 9))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ms, ok := decodeEntry(b)
		if !ok {
			if len(b) >= headerSize {
				t.Fatalf("%d bytes refused", len(b))
			}
			return
		}
		if again := encodeEntry(v, ms); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding %x gave %x", b, again)
		}
		_ = liveHeader(string(b), time.Now())
	})
}
