package backendtest

import (
	"bytes"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
)

// RunUsage checks a store's backends.UsageReporter: it counts the entries
// of its prefix or of one namespace, with their bytes, and neither locks
// nor another prefix's entries.
func RunUsage(t *testing.T, open Open) {
	prefix := NewPrefix()
	b := open(t, prefix)
	other := open(t, NewPrefix())
	r, ok := b.(backends.UsageReporter)
	if !ok {
		t.Fatalf("%T does not implement backends.UsageReporter", b)
	}
	exp := time.Now().Add(time.Hour)
	values := map[string][]byte{
		"a:1": []byte("one"), "a:2": bytes.Repeat([]byte("x"), 1000), "a:3": {0},
		"b:1": []byte("bee"), "b:2": []byte("bee two"),
		"!x": []byte("bang"), "ab:1": []byte("not in a"),
	}
	total := 0
	for k, v := range values {
		mustSet(t, b, k, v, exp)
		total += len(v)
	}
	mustSet(t, other, "a:1", []byte("elsewhere"), exp)
	if _, ok, err := b.Lock(Ctx(t), "a:1", time.Hour); err != nil || !ok {
		t.Fatalf("Lock: %v, %v", ok, err)
	}
	check := func(ns string, entries int64, minBytes int) {
		t.Helper()
		u, err := r.Usage(Ctx(t), ns)
		if err != nil {
			t.Fatalf("Usage(%q): %v", ns, err)
		}
		// Bytes include the store's framing: at least the values, and not
		// much more than them.
		if u.Entries != entries || u.Bytes < int64(minBytes) || u.Bytes > int64(minBytes)+entries*1024 {
			t.Errorf("Usage(%q) = %+v, want %d entries of at least %d bytes", ns, u, entries, minBytes)
		}
	}
	check("", int64(len(values)), total)
	check("a", 3, 1004)
	check("b", 2, 10)
	check("nothing", 0, 0)
	if _, err := b.Delete(Ctx(t), "a:1"); err != nil {
		t.Fatal(err)
	}
	check("a", 2, 1001)
}
