package httpcache

import (
	"errors"
	"hash/maphash"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/codecs"
)

// bigBody is a compressible body above the default compression_min_size.
var bigBody = strings.Repeat("a compressible line of a cached response\n", 64)

// storedEntry reads the value the middleware stored under the base key of
// target, through the store (the cache's own header stripped by FetchBytes).
func storedEntry(t *testing.T, c *cachette.Cache, target string) []byte {
	t.Helper()
	key, _ := newConfig(Options{TTL: time.Minute}).baseKey(httptestRequest(target))
	raw, _, err := c.FetchBytes(ctxT(t), key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func httptestRequest(target string) *http.Request {
	r, _ := http.NewRequest("GET", "http://example.com"+target, nil)
	return r
}

// The middleware compresses a big body itself, as the cache's
// compression would, and stores the value uncompressed by the store; a
// body the handler encoded already is not compressed again; with
// compression disabled nothing is compressed.
func TestBodyCompression(t *testing.T) {
	for _, tc := range []struct {
		name        string
		compression string
		encoding    string
		body        string
		zstd        bool
	}{
		{"default, big body", "", "", bigBody, true},
		{"default, small body", "", "", "small", false},
		{"default, encoded body", "", "gzip", bigBody, false},
		{"disabled", "disabled", "", bigBody, false},
		{"all, small body", "all", "", "small", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := inmemoryKind.open(t, func(cfg *cachette.Config) { cfg.Compression = tc.compression })
			h := testMiddleware(c, Options{TTL: time.Minute})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.encoding != "" {
					w.Header().Set("Content-Encoding", tc.encoding)
				}
				_, _ = io.WriteString(w, tc.body)
			}))
			wantStatus(t, request(h, "GET", "http://example.com/z"), 200, StatusMiss)
			raw := storedEntry(t, c, "/z")
			// The store did not compress it: FetchBytes hands out the
			// middleware's format as it was written.
			if len(raw) < 4 || string(raw[:2]) != "hc" {
				t.Fatalf("stored value %q is not the middleware's format", raw[:min(len(raw), 8)])
			}
			e, err := decodeEntry(raw)
			if err != nil {
				t.Fatal(err)
			}
			if string(e.resp.body) != tc.body {
				t.Fatalf("decoded body %q", trunc(string(e.resp.body)))
			}
			zstd := strings.Contains(string(raw), string(codecs.Compress(nil, []byte(tc.body))))
			if zstd != tc.zstd {
				t.Errorf("body stored compressed = %v, want %v", zstd, tc.zstd)
			}
			for range 2 {
				w := request(h, "GET", "http://example.com/z")
				wantStatus(t, w, 200, StatusHit)
				if w.Body.String() != tc.body {
					t.Fatalf("HIT body %q", trunc(w.Body.String()))
				}
			}
		})
	}
}

// A HIT on an entry decoded before reuses the decoded response: the same
// stored bytes are neither parsed nor decompressed again. Other bytes under
// the key (a new response) are decoded afresh.
func TestHotEntries(t *testing.T) {
	hot := &hotEntries{seed: maphash.MakeSeed()}
	resp := &storedResponse{status: 200, ttl: time.Minute, header: http.Header{"A": {"1"}}, body: []byte(bigBody)}
	raw := encodeResponseBody(resp, codecs.Compress(nil, resp.body))
	e1, err := hot.decode("k", raw, defaultBodyLimit)
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := hot.decode("k", raw, defaultBodyLimit)
	if e1.resp != e2.resp {
		t.Error("the same bytes were decoded again")
	}
	e3, _ := hot.decode("k", append([]byte(nil), raw...), defaultBodyLimit)
	if e3.resp != e1.resp {
		t.Error("equal bytes (a remote store's copy) were decoded again")
	}
	resp.header.Set("A", "2")
	e4, _ := hot.decode("k", encodeResponse(resp), defaultBodyLimit)
	if e4.resp == e1.resp || e4.resp.header.Get("A") != "2" {
		t.Error("a new response under the key was served from the table")
	}
	if e5, _ := hot.decode("other", encodeResponse(resp), defaultBodyLimit); e5.resp == e4.resp {
		t.Error("another key got this key's response")
	}
}

// A compressed body that does not decompress, or decompresses beyond the
// limit, is a corrupt entry (a miss), never a panic or a big allocation.
func TestCompressedBodyCorrupt(t *testing.T) {
	resp := &storedResponse{status: 200, ttl: time.Minute, header: http.Header{}, body: []byte(bigBody)}
	for name, b := range map[string][]byte{
		"not zstd":         encodeResponseBody(resp, []byte("not zstd at all")),
		"beyond the limit": encodeResponseBody(resp, codecs.Compress(nil, make([]byte, 1<<20))),
	} {
		if _, err := decodeEntryLimit(b, 1<<19); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: error %v, want errCorrupt", name, err)
		}
	}
}

// The header values a HIT sets are the client's: changing them in place
// (an outer middleware) does not change what the next HIT gets, although
// both HITs share one decoded response.
func TestHitHeadersNotShared(t *testing.T) {
	c := inmemoryKind.open(t, nil)
	h := testMiddleware(c, Options{TTL: time.Minute})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Version", "v1")
		w.Header().Add("Cache-Status", "upstream; hit")
		_, _ = io.WriteString(w, "ok")
	}))
	wantStatus(t, request(h, "GET", "/s"), 200, StatusMiss)
	w := request(h, "GET", "/s")
	wantStatus(t, w, 200, StatusHit)
	w.Header()["X-Version"][0] = "changed"
	w.Header()["Cache-Status"][0] = "changed"
	w.Header()["Cache-Status"] = append(w.Header()["Cache-Status"][:1], "appended")
	w = request(h, "GET", "/s")
	wantStatus(t, w, 200, StatusHit)
	if got := w.Header().Get("X-Version"); got != "v1" {
		t.Errorf("X-Version %q after a client changed it", got)
	}
	cs := w.Header().Values("Cache-Status")
	if len(cs) != 2 || cs[0] != "upstream; hit" || !strings.HasPrefix(cs[1], "cachette; hit") {
		t.Errorf("Cache-Status %q", cs)
	}
}
