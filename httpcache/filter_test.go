package httpcache

import (
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

type allTypes struct {
	S    string    `query:"s" default:"dflt"`
	B    bool      `query:"b"`
	I    int       `query:"i" default:"-3"`
	I8   int8      `query:"i8"`
	U    uint16    `query:"u"`
	F    float64   `query:"f" default:"0.5"`
	Ints []int     `query:"n" default:"3,1,3"`
	Strs []string  `query:"tag"`
	Fl   []float32 `query:"fl"`
	Bs   []bool    `query:"bs"`
	Skip string    `query:"-"`
	None string
	embedded
}

type embedded struct {
	E string `query:"e"`
}

func decodeURL(t *testing.T, target string, dst any) error {
	t.Helper()
	return Decode(httptest.NewRequest("GET", target, nil), dst)
}

func TestDecode(t *testing.T) {
	var got allTypes
	if err := decodeURL(t, "/x?utm=1", &got); err != nil {
		t.Fatal(err)
	}
	want := allTypes{S: "dflt", I: -3, F: 0.5, Ints: []int{1, 3}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults: got %+v, want %+v", got, want)
	}

	got = allTypes{Skip: "kept", None: "kept", Strs: []string{"old"}}
	err := decodeURL(t, "/x?s=hi&b=true&i=7&i8=-8&u=65535&f=1e3&n=10&n=2&n=10&tag=b&tag=a&tag=b&fl=2.5&fl=-1&bs=true&bs=false&bs=true&e=emb&Skip=no", &got)
	if err != nil {
		t.Fatal(err)
	}
	want = allTypes{S: "hi", B: true, I: 7, I8: -8, U: 65535, F: 1000, Ints: []int{2, 10},
		Strs: []string{"a", "b"}, Fl: []float32{-1, 2.5}, Bs: []bool{false, true},
		Skip: "kept", None: "kept", embedded: embedded{E: "emb"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		target string
		name   string
	}{
		{"/x?i=abc", `"i"`},
		{"/x?i8=300", `"i8"`},
		{"/x?u=-1", `"u"`},
		{"/x?b=maybe", `"b"`},
		{"/x?f=one", `"f"`},
		{"/x?n=1&n=x", `"n"`},
	} {
		var f allTypes
		err := decodeURL(t, tc.target, &f)
		if !errors.Is(err, ErrInvalidQuery) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: %v, want ErrInvalidQuery naming %s", tc.target, err, tc.name)
		}
	}
	// A bad escape in a parameter the filter reads (one it ignores is
	// ignored: TestDecodeIgnoresBadOtherParameters).
	if err := decodeURL(t, "/x?s=%zz", &allTypes{}); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("bad escape: %v", err)
	}

	var s allTypes
	for _, dst := range []any{nil, s, &s.S, (*allTypes)(nil), 3, &[]int{}} {
		if err := decodeURL(t, "/x", dst); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("Decode into %T: %v, want ErrInvalidFilter", dst, err)
		}
	}
	type badType struct {
		C chan int `query:"c"`
	}
	type badDefault struct {
		N []int `query:"n" default:"1,x"`
	}
	type dup struct {
		A string `query:"a"`
		B string `query:"a"`
	}
	type unexported struct {
		a string `query:"a"`
	}
	type viaPointer struct {
		*embedded
	}
	for _, dst := range []any{&badType{}, &badDefault{}, &dup{}, &unexported{}, &viaPointer{}} {
		if err := decodeURL(t, "/x", dst); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("Decode into %T: %v, want ErrInvalidFilter", dst, err)
		}
	}
	_ = unexported{}.a
}

func TestFilterKeys(t *testing.T) {
	cfg := newConfig(Options{TTL: time.Minute, Filter: allTypes{}})
	key := func(target string) string {
		t.Helper()
		k, ok := cfg.baseKey(httptest.NewRequest("GET", target, nil))
		if !ok {
			t.Fatalf("%s: no key", target)
		}
		return k
	}
	same := [][]string{
		{"/x", "/x?utm=1", "/x?s=dflt", "/x?i=-3&f=0.5", "/x?n=1&n=3", "/x?n=3&n=1&n=1", "/x?f=0.50", "/x?i=", "/x?s="},
		{"/x?tag=a&tag=b", "/x?tag=b&tag=a", "/x?tag=b&tag=a&tag=a&other=z"},
		{"/x?b=true", "/x?b=1", "/x?b=TRUE"},
	}
	seen := map[string]int{}
	for i, group := range same {
		k := key(group[0])
		for _, target := range group[1:] {
			if key(target) != k {
				t.Errorf("%s and %s should share a key", group[0], target)
			}
		}
		if j, dup := seen[k]; dup {
			t.Errorf("groups %d and %d share a key", j, i)
		}
		seen[k] = i
	}
	if key("/x?s=a") == key("/x?s=b") || key("/x") == key("/y") {
		t.Error("different filters share a key")
	}
	if _, ok := cfg.baseKey(httptest.NewRequest("GET", "/x?i=abc", nil)); ok {
		t.Error("a value that does not parse made a key")
	}
}

func TestKeys(t *testing.T) {
	cfg := newConfig(Options{TTL: time.Minute, Prefix: "p"})
	key := func(method, target string) string {
		k, _ := cfg.baseKey(httptest.NewRequest(method, target, nil))
		return k
	}
	if k := key("GET", "http://Example.COM/a/b"); k != "p:GET:example.com:/a/b" {
		t.Errorf("key %q", k)
	}
	if key("HEAD", "http://h/a?x=1") != key("GET", "http://h/a?x=1") {
		t.Error("HEAD and GET keys differ")
	}
	if key("GET", "http://h/a?x=1") == key("GET", "http://h2/a?x=1") {
		t.Error("hosts share a key")
	}
	if key("GET", "http://h/a%2Fb") == key("GET", "http://h/a/b") {
		t.Error("escaped and plain slashes share a key")
	}
	if k := key("GET", "http://h/a?x=1"); !strings.HasPrefix(k, "p:GET:h:/a?") || len(k) != len("p:GET:h:/a?")+22 {
		t.Errorf("query key %q", k)
	}
}
