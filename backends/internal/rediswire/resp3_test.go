package rediswire

import (
	"bufio"
	"reflect"
	"strings"
	"testing"
)

func TestReadValue(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{">2\r\n$10\r\ninvalidate\r\n*2\r\n$3\r\np:a\r\n$3\r\np:b\r\n", respPush{"invalidate", []any{"p:a", "p:b"}}},
		{">2\r\n$10\r\ninvalidate\r\n_\r\n", respPush{"invalidate", nil}},
		{"%1\r\n+server\r\n+redis\r\n", []any{"server", "redis"}},
		{"|1\r\n+a\r\n:1\r\n+OK\r\n", "OK"},
		{"-ERR no\r\n", respError("ERR no")},
		{"$-1\r\n", nil},
		{":42\r\n", int64(42)},
	}
	for _, c := range cases {
		got, err := readValue(bufio.NewReader(strings.NewReader(c.in)), 0)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"?x\r\n", "$999999999999\r\n", "*3\r\n:1\r\n", "+no end\n", "$3\r\nab"} {
		if _, err := readValue(bufio.NewReader(strings.NewReader(bad)), 0); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzReadValue: whatever a server sends, reading is an error or a value,
// never a panic, and never a huge allocation.
func FuzzReadValue(f *testing.F) {
	f.Add(">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\np:a\r\n")
	f.Add("%1\r\n+a\r\n|1\r\n+b\r\n+c\r\n+d\r\n")
	f.Add("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		r := bufio.NewReader(strings.NewReader(in))
		for range 4 {
			if _, err := readValue(r, 0); err != nil {
				return
			}
		}
	})
}
