package dynamodb

import (
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"
)

// unescapeKey inverts backends.EscapeUTF8, to show that it loses nothing.
func unescapeKey(e string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(e); {
		r, n := utf8.DecodeRuneInString(e[i:])
		if r != utf8.RuneError {
			b.WriteString(e[i : i+n])
			i += n
			continue
		}
		if n != 3 || i+n+2 > len(e) {
			return "", false
		}
		code := e[i+n : i+n+2]
		if code == "uu" {
			b.WriteRune(utf8.RuneError)
		} else {
			c, err := hex.DecodeString(code)
			if err != nil {
				return "", false
			}
			b.Write(c)
		}
		i += n + 2
	}
	return b.String(), true
}

func TestStoreKey(t *testing.T) {
	long := strings.Repeat("é", 1500)
	tests := []struct {
		in, wantPrefix string
		hashed         bool
	}{
		{"p:k", "p:k", false},
		{"p:\xff", "p:\uFFFDff", false},
		{"p:\uFFFD", "p:\uFFFDuu", false},
		{"p:" + long, "p:é", true},
		{"p:" + strings.Repeat("\xff", 1000), "p:\uFFFDff", true},
	}
	for _, tt := range tests {
		got := storeKey(tt.in)
		if !strings.HasPrefix(got, tt.wantPrefix) || strings.Contains(got, hashMark) != tt.hashed {
			t.Errorf("storeKey(%.20q) = %.40q..., want a key starting %q (hashed: %v)", tt.in, got, tt.wantPrefix, tt.hashed)
		}
		if len(got) > maxKeySize || !utf8.ValidString(got) {
			t.Errorf("storeKey(%.20q) is %d bytes, valid UTF-8: %v", tt.in, len(got), utf8.ValidString(got))
		}
	}
	if storeKey("p:"+long+"a") == storeKey("p:"+long+"b") {
		t.Error("two long keys that differ at the end map to one key")
	}
}

func FuzzStoreKey(f *testing.F) {
	f.Add("ns", "key", "key2")
	f.Add("n\xffs", "k\xfe", "k\uFFFDfe")
	f.Add("ns", strings.Repeat("x", 3000), strings.Repeat("x", 2999))
	f.Add("\uFFFD", "\uFFFDuu", "\uFFFD")
	f.Fuzz(func(t *testing.T, ns, a, b string) {
		full := "p:" + ns + ":" + a
		k := storeKey(full)
		if len(k) > maxKeySize || !utf8.ValidString(k) {
			t.Fatalf("storeKey(%q) = %q: %d bytes, valid UTF-8 %v", full, k, len(k), utf8.ValidString(k))
		}
		if !strings.Contains(k, hashMark) {
			if back, ok := unescapeKey(k); !ok || back != full {
				t.Fatalf("storeKey(%q) = %q does not map back (%q, %v)", full, k, back, ok)
			}
		}
		if p, err := keyPrefix("p:" + ns + ":"); err == nil && !strings.HasPrefix(k, p) {
			t.Fatalf("storeKey(%q) = %q lost its namespace prefix %q", full, k, p)
		}
		if a != b && storeKey("p:"+ns+":"+b) == k {
			t.Fatalf("keys %q and %q map to one key %q", a, b, k)
		}
	})
}
