package httpcache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Stored value layout. Integers marked uvarint use encoding/binary's
// unsigned varints; strings and byte slices are a uvarint length followed
// by the bytes.
//
//	magic    2 bytes  "hc"
//	version  1 byte   3
//	kind     1 byte   1 = response, 2 = vary marker
//
// A response continues with
//
//	status   2 bytes  big-endian, 200-599
//	ttl      uvarint  milliseconds the entry was stored for, 1 to 100 years
//	compute  uvarint  microseconds the handler took
//	headers  bytes    a block: uvarint count, then per header: name,
//	                  uvarint value count, values
//	body     bytes
//	epoch    string   the epoch of the vary marker it was stored under; ""
//	                  when the response has no Vary
//	tags     uvarint  count, then per tag (sorted by name, no repeats):
//	                  name, generation (both non-empty)
//
// and a vary marker with
//
//	names    uvarint  count, then each name
//	epoch    string   non-empty random token (see purge.go)
//
// Nothing may follow. decodeEntry rejects anything else, so a corrupt or
// foreign value is a miss, never a wrong answer or a panic.
//
// Version 2 has the layout of version 1; what changed is what the headers
// hold: the Vary of the whole response (version 1 could lose one set by an
// outer middleware, and so be keyed too broadly), the handler's own
// Cache-Control and ETag. A version 1 value is a miss, replaced by the
// next response stored.
//
// Version 3 adds the epoch and tags fields, for Purge and PurgeTags; a
// version 2 value is a miss, likewise.
const (
	entryVersion = 3
	kindResponse = 1
	kindVary     = 2

	// maxEntryTTL is the largest TTL stored, and so the largest
	// Options.TTL: 100 years.
	maxEntryTTL     = 100 * 365 * 24 * time.Hour
	maxComputeMicro = uint64(24 * time.Hour / time.Microsecond)
)

var entryMagic = [2]byte{'h', 'c'}

// errCorrupt is wrapped by every decoding error.
var errCorrupt = errors.New("httpcache: corrupt stored response")

// errOldVersion is the decoding error of a value an earlier version of
// the package stored: a miss, but not a corrupt one.
var errOldVersion = fmt.Errorf("%w: stored by an earlier version", errCorrupt)

// storedResponse is a response as stored.
type storedResponse struct {
	status  int
	ttl     time.Duration // what the entry was stored for
	compute time.Duration // how long the handler took
	header  http.Header   // hop-by-hop and per-request headers removed; ETag set
	body    []byte
	epoch   string   // epoch of the vary marker it was stored under; "" without Vary
	tags    []tagGen // its tags (Options.TagsHeader), sorted by name, with their generations
}

// tagGen is a tag of a stored response and the generation the tag had
// when the response was stored (see purge.go).
type tagGen struct{ name, gen string }

// entry is a decoded stored value: a response or a vary marker.
type entry struct {
	resp  *storedResponse
	vary  []string // canonical header names, sorted, when this is a marker
	epoch string   // the marker's epoch
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeResponse returns the stored form of r. Header names are written
// sorted, so equal responses encode to equal bytes.
func encodeResponse(r *storedResponse) []byte {
	size := 32 + len(r.body)
	names := make([]string, 0, len(r.header))
	for k, vs := range r.header {
		names = append(names, k)
		size += len(k) + 8
		for _, v := range vs {
			size += len(v) + 4
		}
	}
	slices.Sort(names)
	b := make([]byte, 0, size)
	b = append(b, entryMagic[0], entryMagic[1], entryVersion, kindResponse)
	b = binary.BigEndian.AppendUint16(b, uint16(r.status))
	b = binary.AppendUvarint(b, ttlMillis(r.ttl))
	b = binary.AppendUvarint(b, uint64(max(r.compute, 0)/time.Microsecond))
	block := make([]byte, 0, size-len(r.body))
	block = binary.AppendUvarint(block, uint64(len(names)))
	for _, k := range names {
		vs := r.header[k]
		block = appendString(block, k)
		block = binary.AppendUvarint(block, uint64(len(vs)))
		for _, v := range vs {
			block = appendString(block, v)
		}
	}
	b = appendBytes(b, block)
	b = appendBytes(b, r.body)
	b = appendString(b, r.epoch)
	b = binary.AppendUvarint(b, uint64(len(r.tags)))
	for _, t := range r.tags {
		b = appendString(b, t.name)
		b = appendString(b, t.gen)
	}
	return b
}

// ttlMillis is d in milliseconds, rounded up, so that any positive TTL
// stores as at least 1; 0 for d <= 0, which the decoder rejects.
func ttlMillis(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64((d + time.Millisecond - 1) / time.Millisecond)
}

// encodeVary returns the stored form of a vary marker listing names,
// with its epoch.
func encodeVary(names []string, epoch string) []byte {
	b := make([]byte, 0, 8+16*len(names)+len(epoch))
	b = append(b, entryMagic[0], entryMagic[1], entryVersion, kindVary)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = appendString(b, n)
	}
	return appendString(b, epoch)
}

// reader walks a stored value; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{errCorrupt}, args...)...)
	}
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad %s", what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of items that each take at least one byte, so it
// can never exceed what is left.
func (r *reader) count(what string) int {
	n := r.uvarint(what)
	if r.err == nil && n > uint64(len(r.b)) {
		r.fail("%s count %d exceeds the %d bytes left", what, n, len(r.b))
		return 0
	}
	return int(n)
}

func (r *reader) bytes(what string) []byte {
	n := r.uvarint(what + " length")
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("%s length %d exceeds the %d bytes left", what, n, len(r.b))
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

// decodeEntry parses a stored value. The body of a response shares b's
// memory; b must not change afterwards.
func decodeEntry(b []byte) (entry, error) {
	if len(b) < 4 {
		return entry{}, fmt.Errorf("%w: %d bytes is shorter than the header", errCorrupt, len(b))
	}
	if b[0] != entryMagic[0] || b[1] != entryMagic[1] {
		return entry{}, fmt.Errorf("%w: bad magic %q", errCorrupt, b[:2])
	}
	if b[2] != entryVersion {
		if b[2] < entryVersion {
			return entry{}, errOldVersion
		}
		return entry{}, fmt.Errorf("%w: unknown version %d", errCorrupt, b[2])
	}
	r := &reader{b: b[4:]}
	var e entry
	switch b[3] {
	case kindResponse:
		e.resp = r.response()
	case kindVary:
		e.vary = r.varyNames()
		e.epoch = string(r.bytes("epoch"))
		if r.err == nil && e.epoch == "" {
			r.fail("vary marker without epoch")
		}
	default:
		return entry{}, fmt.Errorf("%w: unknown kind %d", errCorrupt, b[3])
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d bytes after the end", len(r.b))
	}
	if r.err != nil {
		return entry{}, r.err
	}
	return e, nil
}

func (r *reader) response() *storedResponse {
	if len(r.b) < 2 {
		r.fail("truncated status")
		return nil
	}
	resp := &storedResponse{status: int(binary.BigEndian.Uint16(r.b))}
	r.b = r.b[2:]
	if resp.status < 200 || resp.status > 599 {
		r.fail("status %d out of range", resp.status)
	}
	ttl := r.uvarint("ttl")
	if r.err == nil && (ttl == 0 || ttl > uint64(maxEntryTTL/time.Millisecond)) {
		r.fail("ttl %dms out of range", ttl)
	}
	resp.ttl = time.Duration(ttl) * time.Millisecond
	compute := r.uvarint("compute time")
	if r.err == nil && compute > maxComputeMicro {
		r.fail("compute time %dµs out of range", compute)
	}
	resp.compute = time.Duration(compute) * time.Microsecond
	block := r.bytes("header block")
	if r.err != nil {
		return nil
	}
	resp.header = r.headers(block)
	resp.body = r.bytes("body")
	resp.epoch = string(r.bytes("epoch"))
	n := r.count("tag")
	for i := range n {
		name, gen := r.bytes("tag name"), r.bytes("tag generation")
		switch {
		case r.err != nil:
			return nil
		case len(name) == 0 || len(gen) == 0:
			r.fail("empty tag or generation")
		case i > 0 && string(name) <= resp.tags[i-1].name:
			r.fail("tags not sorted")
		}
		if r.err != nil {
			return nil
		}
		if resp.tags == nil {
			resp.tags = make([]tagGen, 0, n)
		}
		resp.tags = append(resp.tags, tagGen{string(name), string(gen)})
	}
	return resp
}

// headers parses a header block. The names and values are substrings of
// one copy of the block, which keeps a HIT's allocations few.
func (r *reader) headers(block []byte) http.Header {
	hr := &sreader{s: string(block)}
	n := hr.count("header")
	h := make(http.Header, n)
	for range n {
		k := hr.str("header name")
		if hr.err != nil {
			break
		}
		if !validHeaderName(k) {
			hr.fail("bad header name %q", k)
			break
		}
		if _, dup := h[k]; dup {
			hr.fail("header %q repeated", k)
			break
		}
		nv := hr.count("header value")
		if hr.err == nil && nv == 0 {
			hr.fail("header %q without values", k)
		}
		vs := make([]string, 0, nv)
		for range nv {
			v := hr.str("header value")
			if hr.err != nil {
				break
			}
			if !validHeaderValue(v) {
				hr.fail("bad value of header %q", k)
				break
			}
			vs = append(vs, v)
		}
		h[k] = vs
	}
	if hr.err == nil && len(hr.s) != 0 {
		hr.fail("%d bytes after the headers", len(hr.s))
	}
	if hr.err != nil {
		r.err = hr.err
		return nil
	}
	return h
}

// sreader is reader over a string.
type sreader struct {
	s   string
	err error
}

func (r *sreader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{errCorrupt}, args...)...)
	}
}

func (r *sreader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	for i := 0; i < binary.MaxVarintLen64 && i < len(r.s); i++ {
		c := r.s[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break // overflow
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.s = r.s[i+1:]
			return v
		}
	}
	r.fail("bad %s", what)
	return 0
}

func (r *sreader) count(what string) int {
	n := r.uvarint(what)
	if r.err == nil && n > uint64(len(r.s)) {
		r.fail("%s count %d exceeds the %d bytes left", what, n, len(r.s))
		return 0
	}
	return int(n)
}

func (r *sreader) str(what string) string {
	n := r.uvarint(what + " length")
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.s)) {
		r.fail("%s length %d exceeds the %d bytes left", what, n, len(r.s))
		return ""
	}
	v := r.s[:n]
	r.s = r.s[n:]
	return v
}

func (r *reader) varyNames() []string {
	n := r.count("vary name")
	if r.err == nil && n == 0 {
		r.fail("vary marker without names")
	}
	names := make([]string, 0, n)
	for range n {
		name := r.bytes("vary name")
		if r.err != nil {
			return nil
		}
		if !validHeaderName(name) {
			r.fail("bad vary name %q", name)
			return nil
		}
		names = append(names, string(name))
	}
	if r.err == nil && !slices.IsSorted(names) {
		r.fail("vary names not sorted")
	}
	return names
}

// validHeaderName reports whether b is an HTTP token (RFC 9110, 5.1).
func validHeaderName[T ~string | ~[]byte](b T) bool {
	if len(b) == 0 {
		return false
	}
	for i := range len(b) {
		if !isTokenChar(b[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validHeaderValue reports whether b can be sent as a header value: no
// control characters other than tab.
func validHeaderValue[T ~string | ~[]byte](b T) bool {
	for i := range len(b) {
		c := b[i]
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
