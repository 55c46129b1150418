package httpcache

import (
	"bytes"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/cachette-go/cachette/codecs"
)

func sampleResponse() *storedResponse {
	return &storedResponse{
		status:  201,
		ttl:     90 * time.Second,
		fresh:   30 * time.Second,
		age:     7 * time.Second,
		swr:     20 * time.Second,
		sie:     60 * time.Second,
		genETag: true,
		compute: 1234 * time.Microsecond,
		header: http.Header{
			"Content-Type": {"application/json"},
			"Etag":         {`"abc"`},
			"X-Multi":      {"a", "b", ""},
		},
		body:  []byte(`{"blog_id":"1"}`),
		epoch: "e1",
		tags:  []string{"blog", "blog-1"},
	}
}

func TestEntryRoundTrip(t *testing.T) {
	for _, r := range []*storedResponse{
		sampleResponse(),
		{status: 200, ttl: time.Millisecond, header: http.Header{}, body: []byte{}},
		{status: 599, ttl: maxEntryTTL, compute: 24 * time.Hour, header: http.Header{"A": {"\t x"}}, body: bytes.Repeat([]byte{0, 0xff}, 70000)},
	} {
		b := encodeResponse(r)
		e, err := decodeEntry(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		got := e.resp
		fresh := r.fresh
		if fresh == 0 {
			fresh = r.ttl // 0 encodes as the whole ttl
		}
		if got == nil || got.status != r.status || got.ttl != r.ttl || got.compute != r.compute ||
			got.fresh != fresh || got.age != r.age || got.swr != r.swr || got.sie != r.sie || got.genETag != r.genETag ||
			!reflect.DeepEqual(got.header, r.header) || !bytes.Equal(got.body, r.body) || e.vary != nil ||
			got.epoch != r.epoch || !reflect.DeepEqual(got.tags, r.tags) {
			t.Errorf("round trip of %+v gave %+v", r, got)
		}
		if !bytes.Equal(encodeResponse(got), b) {
			t.Error("re-encoding differs")
		}
	}
	e, err := decodeEntry(encodeVary([]string{"Accept", "X-Theme"}, "ep"))
	if err != nil || e.resp != nil || !reflect.DeepEqual(e.vary, []string{"Accept", "X-Theme"}) || e.epoch != "ep" {
		t.Errorf("vary marker: %+v, %v", e, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := encodeResponse(sampleResponse())
	withStatus := func(s uint16) []byte {
		b := bytes.Clone(good)
		b[4], b[5] = byte(s>>8), byte(s)
		return b
	}
	// A response stored for 1ms: ttl at byte 6, fresh at 7, flags at 11.
	tiny := encodeResponse(&storedResponse{status: 200, ttl: time.Millisecond, header: http.Header{}})
	patch := func(i int, v byte) []byte {
		b := bytes.Clone(tiny)
		b[i] = v
		return b
	}
	cases := map[string][]byte{
		"fresh above ttl": patch(7, 2),
		"zero fresh":      patch(7, 0),
		"unknown flags":   patch(11, 2),
		"empty":           nil,
		"short":           good[:3],
		"magic":           append([]byte("xx"), good[2:]...),
		"version":         append([]byte{'h', 'c', 9}, good[3:]...),
		"kind":            append([]byte{'h', 'c', entryVersion, 7}, good[4:]...),
		"old version":     append([]byte{'h', 'c', 1}, good[3:]...),
		"status 99":       withStatus(99),
		"status 600":      withStatus(600),
		"truncated":       good[:len(good)-1],
		"trailing":        append(bytes.Clone(good), 0),
		"zero ttl":        encodeResponse(&storedResponse{status: 200, header: http.Header{}}),
		"bad name":        encodeResponse(&storedResponse{status: 200, ttl: time.Second, header: http.Header{"Bad Name": {"x"}}}),
		"bad value":       encodeResponse(&storedResponse{status: 200, ttl: time.Second, header: http.Header{"A": {"x\r\ny: z"}}}),
		"no values":       encodeResponse(&storedResponse{status: 200, ttl: time.Second, header: http.Header{"A": {}}}),
		"empty marker":    encodeVary(nil, "e"),
		"unsorted marker": encodeVary([]string{"B", "A"}, "e"),
		"marker no epoch": encodeVary([]string{"A"}, ""),
		"unsorted tags":   encodeResponse(&storedResponse{status: 200, ttl: time.Second, header: http.Header{}, tags: []string{"b", "a"}}),
		"repeated tag":    encodeResponse(&storedResponse{status: 200, ttl: time.Second, header: http.Header{}, tags: []string{"a", "a"}}),
		"empty tag":       encodeResponse(&storedResponse{status: 200, ttl: time.Second, header: http.Header{}, tags: []string{""}}),
		"version 2":       append([]byte{'h', 'c', 2}, good[3:]...),
		"huge count":      {'h', 'c', entryVersion, 2, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad varint":      {'h', 'c', entryVersion, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	}
	for name, b := range cases {
		if _, err := decodeEntry(b); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: got %v, want errCorrupt", name, err)
		}
	}
	// Version 5 held the tags' generations: a quiet miss too.
	if _, err := decodeEntry(append([]byte{'h', 'c', 5}, good[3:]...)); !errors.Is(err, errOldVersion) {
		t.Errorf("version 5: got %v, want errOldVersion", err)
	}
	if _, err := decodeEntry(cases["old version"]); !errors.Is(err, errOldVersion) {
		t.Errorf("old version: got %v, want errOldVersion", err)
	}
}

// FuzzDecodeResponse checks that no input makes the decoder panic, and that
// whatever it accepts encodes back to the same bytes.
func FuzzDecodeResponse(f *testing.F) {
	f.Add(encodeResponse(sampleResponse()))
	f.Add(encodeResponse(&storedResponse{status: 200, ttl: time.Second, header: http.Header{}, body: nil}))
	f.Add(encodeResponseBody(sampleResponse(), codecs.Compress(nil, sampleResponse().body)))
	f.Add(encodeVary([]string{"Accept-Encoding"}, "epoch"))
	f.Add([]byte("hc"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not wrap errCorrupt", err)
			}
			return
		}
		var again []byte
		switch {
		case e.resp != nil:
			again = encodeResponse(e.resp)
		default:
			again = encodeVary(e.vary, e.epoch)
		}
		e2, err := decodeEntry(again)
		if err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		if !reflect.DeepEqual(e, e2) && !(e.resp != nil && len(e.resp.body) == 0 && len(e2.resp.body) == 0) {
			t.Fatalf("round trip changed the entry:\n%+v\n%+v", e, e2)
		}
	})
}
