package backendtest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
)

// testBatch checks backends.Batcher: GetMany and SetMany agree with Get
// and Set, leave out missing and expired keys, take repeated keys, more
// keys than one request of the store holds (DynamoDB: 100 reads, 25
// writes), odd keys, and a value big enough to be split (DynamoDB chunks).
func testBatch(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	bb, ok := b.(backends.Batcher)
	if !ok {
		t.Skipf("%T does not implement backends.Batcher", b)
	}
	ctx := Ctx(t)

	if got, err := bb.GetMany(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("GetMany(nil) = %v, %v; want empty", got, err)
	}
	if err := bb.SetMany(ctx, nil); err != nil {
		t.Fatalf("SetMany(nil) = %v", err)
	}

	big := make([]byte, 600<<10)
	for i := range big {
		big[i] = byte(i*13 + i>>9)
	}
	exp := time.Now().Add(time.Minute).Truncate(time.Millisecond).Add(7 * time.Millisecond)
	want := map[string][]byte{}
	var entries []backends.Entry
	for i := range 130 {
		k := fmt.Sprintf("k%03d", i)
		v := []byte(fmt.Sprintf("value %d", i))
		want[k] = v
		entries = append(entries, backends.Entry{Key: k, Value: v, ExpiresAt: exp})
	}
	odd := []string{"with spaces", "ключ-🔑", strings.Repeat("k", 1024), "!lock:job", ""}
	for i, k := range odd {
		v := []byte(fmt.Sprint("odd ", i))
		want[k] = v
		entries = append(entries, backends.Entry{Key: k, Value: v, ExpiresAt: exp})
	}
	want["empty"] = []byte{}
	want["big"] = big
	entries = append(entries,
		backends.Entry{Key: "empty", Value: []byte{}, ExpiresAt: exp},
		backends.Entry{Key: "big", Value: big, ExpiresAt: exp},
		// A repeated key: the last entry wins.
		backends.Entry{Key: "twice", Value: []byte("first"), ExpiresAt: exp},
		backends.Entry{Key: "twice", Value: []byte("second"), ExpiresAt: exp},
	)
	want["twice"] = []byte("second")
	if err := bb.SetMany(ctx, entries); err != nil {
		t.Fatalf("SetMany(%d entries) = %v", len(entries), err)
	}
	// What SetMany wrote, Get reads.
	for _, k := range []string{"k000", "k129", "big", "twice", "!lock:job", ""} {
		mustGet(t, b, k, want[k])
	}
	// What Set wrote, GetMany reads.
	mustSet(t, b, "single", []byte("by Set"), exp)
	want["single"] = []byte("by Set")

	keys := []string{"missing-1", "k000", "k000", "missing-2"} // a repeat, and misses
	for k := range want {
		keys = append(keys, k)
	}
	got, err := bb.GetMany(ctx, keys)
	if err != nil {
		t.Fatalf("GetMany(%d keys) = %v", len(keys), err)
	}
	if len(got) != len(want) {
		t.Errorf("GetMany returned %d entries, want %d", len(got), len(want))
	}
	for k, w := range want {
		it, ok := got[k]
		if !ok {
			t.Errorf("GetMany: %.40q missing", k)
			continue
		}
		if !bytes.Equal(it.Value, w) {
			t.Errorf("GetMany: %.40q = %d bytes %q, want %d bytes %q", k, len(it.Value), trunc(it.Value), len(w), trunc(w))
		}
		if d := it.ExpiresAt.Sub(exp); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("GetMany: %.40q expires %v, want %v", k, it.ExpiresAt, exp)
		}
	}
	for _, k := range []string{"missing-1", "missing-2"} {
		if _, ok := got[k]; ok {
			t.Errorf("GetMany: %q present, never set", k)
		}
	}

	// Overwriting (the big value by a small one too) and expiry.
	soon := later(400 * time.Millisecond)
	err = bb.SetMany(ctx, []backends.Entry{
		{Key: "big", Value: []byte("small now"), ExpiresAt: exp},
		{Key: "k001", Value: []byte("short-lived"), ExpiresAt: soon},
	})
	if err != nil {
		t.Fatalf("SetMany (overwrite) = %v", err)
	}
	mustGet(t, b, "big", []byte("small now"))
	sleepUntil(soon)
	got, err = bb.GetMany(ctx, []string{"big", "k001", "k002"})
	if err != nil {
		t.Fatalf("GetMany after expiry = %v", err)
	}
	if _, ok := got["k001"]; ok {
		t.Errorf("GetMany returned the expired k001")
	}
	if string(got["big"].Value) != "small now" || string(got["k002"].Value) != "value 2" {
		t.Errorf("GetMany after overwrite = big %q, k002 %q", trunc(got["big"].Value), got["k002"].Value)
	}
}
