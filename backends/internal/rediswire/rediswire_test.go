package rediswire

import (
	"bytes"
	"errors"
	"net/url"
	"path"
	"slices"
	"strings"
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
		if got := GlobEscape(tt.in); got != tt.want {
			t.Errorf("GlobEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestGlobEscapeMatchesOnlyItself checks the escaped pattern with the same
// glob rules SCAN MATCH uses for these characters (path.Match agrees with
// Redis on *, ?, [ ] and backslash escapes, as long as there is no "/").
func TestGlobEscapeMatchesOnlyItself(t *testing.T) {
	for _, p := range []string{"a*", "a?", "a[bc]", `a\b`, "a]", "a[", "*", "[!x]"} {
		pat := Pattern(p + ":")
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
	ms := CeilMilli(exp)
	if time.UnixMilli(ms).Before(exp) {
		t.Fatalf("CeilMilli(%v) = %v, before it", exp, time.UnixMilli(ms))
	}
	v, got, ok := DecodeEntry(EncodeEntry([]byte("value"), ms))
	if !ok || got != ms || string(v) != "value" {
		t.Fatalf("round trip = %q, %d, %v", v, got, ok)
	}
	if _, _, ok := DecodeEntry([]byte("short")); ok {
		t.Fatal("a 5-byte value decoded as an entry")
	}
	if !LiveHeader(string(EncodeEntry(nil, ms)), time.Now()) {
		t.Fatal("live header read as dead")
	}
	if LiveHeader(string(EncodeEntry(nil, time.Now().Add(-time.Millisecond).UnixMilli())), time.Now()) {
		t.Fatal("dead header read as live")
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(EncodeEntry([]byte("hello"), 1700000000123))
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Add(bytes.Repeat([]byte{0xff}, 9))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ms, ok := DecodeEntry(b)
		if !ok {
			if len(b) >= HeaderSize {
				t.Fatalf("%d bytes refused", len(b))
			}
			return
		}
		if again := EncodeEntry(v, ms); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding %x gave %x", b, again)
		}
		_ = LiveHeader(string(b), time.Now())
	})
}

func TestMaxValue(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"1048576", 1048576 - HeaderSize},
		{"9", 1},
		{"8", DefaultMaxValueSize},
		{"", DefaultMaxValueSize},
		{"lots", DefaultMaxValueSize},
	}
	for _, tt := range tests {
		if got := MaxValue(tt.in); got != tt.want {
			t.Errorf("MaxValue(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestLockToken(t *testing.T) {
	now := time.UnixMilli(1700000000000).Add(300 * time.Microsecond)
	token, px, err := LockToken(now, 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// The expiry is rounded up, and the PX reaches it from now's millisecond.
	if !strings.HasSuffix(token, ".1700000001501") || px != 1501 {
		t.Fatalf("LockToken = %q, %d", token, px)
	}
	if _, _, err := LockToken(now, 0); err == nil {
		t.Fatal("a zero ttl was accepted")
	}
}

func TestCheckPrefix(t *testing.T) {
	if err := CheckPrefix("store", "app"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "a:b"} {
		err := CheckPrefix("store", p)
		if err == nil || !strings.HasPrefix(err.Error(), "store: ") {
			t.Errorf("CheckPrefix(%q) = %v", p, err)
		}
	}
}

func TestSplitURL(t *testing.T) {
	accept := func(int, *url.URL, *url.URL) error { return nil }
	first, addrs, err := SplitURL("store", " x://u:p@h1:7001, h2 ,x://[::1]:7003/2?o=1 ", accept)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"h1:7001", "h2:6379", "[::1]:7003"}; !slices.Equal(addrs, want) {
		t.Errorf("addrs = %q, want %q", addrs, want)
	}
	if first.User.String() != "u:p" || DBPath(first.Path) != "2" || first.RawQuery != "o=1" {
		t.Errorf("first = user %q, path %q, query %q", first.User, first.Path, first.RawQuery)
	}

	var seen []int
	refuse := errors.New("refused")
	_, _, err = SplitURL("store", "x://a,y://b,x://c", func(n int, first, u *url.URL) error {
		seen = append(seen, n)
		if u.Scheme != first.Scheme {
			return refuse
		}
		return nil
	})
	if !errors.Is(err, refuse) || !slices.Equal(seen, []int{1, 2}) {
		t.Errorf("scheme check: err %v, nodes seen %v", err, seen)
	}

	for _, raw := range []string{
		"", "x://a,,x://b", "x://", "x://a:0", "x://a:70000", "x://a/1,x://b/2",
		"x://u:p@a,x://v:q@b", "x://a?o=1,x://b?o=2", "x://a\x7f",
	} {
		_, _, err := SplitURL("store", raw, accept)
		if err == nil || !strings.HasPrefix(err.Error(), "store: ") {
			t.Errorf("SplitURL(%q) = %v, want a store: error", raw, err)
		}
	}
}

func TestURLError(t *testing.T) {
	err := URLError("store", &url.Error{Op: "parse", URL: "x://secret@h", Err: errors.New("bad")})
	if err.Error() != "store: the URL is not valid" {
		t.Errorf("url.Error gave %q", err)
	}
	err = URLError("store", errors.New("store: invalid database number: \"x\""))
	if err.Error() != `store: the URL is not valid: invalid database number: "x"` {
		t.Errorf("library error gave %q", err)
	}
}
