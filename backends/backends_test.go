package backends

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestKeyEscapesReservedNames(t *testing.T) {
	tests := []struct{ key, want string }{
		{"job", "p:job"},
		{"", "p:"},
		{"!lock:job", "p:!!lock:job"},
		{"!!x", "p:!!!x"},
		{"a!b", "p:a!b"},
	}
	for _, tt := range tests {
		if got := Key("p", tt.key); got != tt.want {
			t.Errorf("Key(p, %q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	if Key("p", "!lock:job") == LockKey("p", "job") {
		t.Fatal(`the user key "!lock:job" is stored under the lock's name`)
	}
	if k := InternalKey("p", "chunk", "v:0"); Key("p", "!chunk:v:0") == k {
		t.Fatalf("a user key maps to the internal record %q", k)
	}
}

func TestNamespacePrefix(t *testing.T) {
	tests := []struct {
		ns, want string
		in, out  []string // user keys inside and outside the namespace
	}{
		{"ns", "p:ns:", []string{"ns:x", "ns:"}, []string{"nsx:1", "ns", "!ns:x"}},
		{"!lock", "p:!!lock:", []string{"!lock:job"}, []string{"lock:job", "!!lock:job"}},
		{"", "p::", []string{":x"}, []string{"x", "!:x"}},
	}
	for _, tt := range tests {
		p := NamespacePrefix("p", tt.ns)
		if p != tt.want {
			t.Errorf("NamespacePrefix(p, %q) = %q, want %q", tt.ns, p, tt.want)
		}
		for _, k := range tt.in {
			if !strings.HasPrefix(Key("p", k), p) {
				t.Errorf("Key(p, %q) = %q does not start with NamespacePrefix %q", k, Key("p", k), p)
			}
		}
		for _, k := range tt.out {
			if strings.HasPrefix(Key("p", k), p) {
				t.Errorf("Key(p, %q) = %q starts with NamespacePrefix(p, %q) = %q", k, Key("p", k), tt.ns, p)
			}
		}
	}
	if strings.HasPrefix(LockKey("p", "job"), NamespacePrefix("p", "!lock")) {
		t.Fatal(`the namespace "!lock" matches the locks`)
	}
}

func TestCheckPrefix(t *testing.T) {
	if err := CheckPrefix("store", "app"); err != nil {
		t.Fatalf("CheckPrefix(app) = %v", err)
	}
	for _, p := range []string{"", "a:b", ":"} {
		err := CheckPrefix("store", p)
		if err == nil || !strings.HasPrefix(err.Error(), "store: ") || !strings.Contains(err.Error(), "prefix") {
			t.Errorf("CheckPrefix(%q) = %v; want an error naming the store and the prefix", p, err)
		}
	}
}

func TestCeilMilli(t *testing.T) {
	base := time.UnixMilli(1_700_000_000_123)
	tests := []struct {
		t    time.Time
		want int64
	}{
		{base, 1_700_000_000_123},
		{base.Add(time.Nanosecond), 1_700_000_000_124},
		{base.Add(999_999 * time.Nanosecond), 1_700_000_000_124},
		{time.UnixMilli(-5).Add(-time.Nanosecond), -5},
		// Outside the years UnixNano can represent.
		{time.UnixMilli(3_472_328_296_227_680_304), 3_472_328_296_227_680_304},
		{time.UnixMilli(-3_472_328_296_227_680_304).Add(time.Nanosecond), -3_472_328_296_227_680_303},
	}
	for _, tt := range tests {
		if got := CeilMilli(tt.t); got != tt.want {
			t.Errorf("CeilMilli(%v) = %d, want %d", tt.t, got, tt.want)
		}
	}
}

func TestSettingsValue(t *testing.T) {
	s := Settings{
		Values:   Values{"redis_url": "redis://new", "table_name": ""},
		RedisURL: "redis://old", TableName: "old-table", Region: "eu-west-1",
	}
	for key, want := range map[string]string{
		"redis_url":  "redis://new", // Values wins
		"table_name": "",            // given empty in Values: not the field
		"region":     "eu-west-1",   // the deprecated field when Values lacks the key
		"other_key":  "",
	} {
		if got := s.Value(key); got != want {
			t.Errorf("Value(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestRegisterDriverChecksKeyNames(t *testing.T) {
	open := func(context.Context, Settings) (Backend, error) { return nil, nil }
	for _, name := range []string{"", "Redis_URL", "1st", "a-b", "test_url"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterDriver with key %q did not panic", name)
				}
			}()
			RegisterDriver("badkeys-"+name, Driver{Open: open, Keys: []ConfigKey{{Name: name}}})
		}()
	}
	RegisterDriver("goodkeys", Driver{Open: open, Keys: []ConfigKey{{Name: "good_key_2", Default: "x"}}})
	d, ok := Lookup("GoodKeys")
	if !ok || len(d.Keys) != 1 || d.Keys[0].Name != "good_key_2" {
		t.Errorf("Lookup(GoodKeys) = %+v, %v", d, ok)
	}
}

func TestUserKey(t *testing.T) {
	for _, k := range []string{"a", "ns:a", "!odd", "!!two", ""} {
		got, ok := UserKey("p", Key("p", k))
		if !ok || got != k {
			t.Errorf("UserKey(Key(%q)) = %q, %v", k, got, ok)
		}
	}
	for _, sk := range []string{LockKey("p", "x"), "q:a", "pa", "p"} {
		if got, ok := UserKey("p", sk); ok {
			t.Errorf("UserKey(%q) = %q, true", sk, got)
		}
	}
}
