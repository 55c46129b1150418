package cachette

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cachette-go/cachette/codecs"
)

// Stored entry layout (all integers big-endian):
//
//	offset size  field
//	0      1     magic 0xCA
//	1      1     format version (1)
//	2      1     codec ID (codecs.IDVanilla, ...; 0 for raw bytes)
//	3      1     flags: bit 0 = payload is zstd-compressed,
//	             bit 1 = signed: the entry ends with a 32-byte tag (sign.go),
//	             bit 2 = an extension block follows the header (entry_ext.go)
//	4      8     expiry, Unix milliseconds
//	12     ...   the extension block if flagged, then the payload
//	end-32 32    HMAC-SHA-256 tag, when signed (not part of the payload)
//
// decodeEntry reads an entry whose tag, if any, was checked and cut off
// (Cache.verifySigned).
const (
	entryMagic      = 0xCA
	entryVersion    = 1
	entryHeaderSize = 12
	flagCompressed  = 1 << 0
	codecRaw        = 0 // bytes stored without a codec (PutBytes)
)

// errCorruptEntry wraps every reason an entry cannot be read.
var errCorruptEntry = errors.New("cachette: corrupt entry")

type entryHeader struct {
	codec      byte
	compressed bool
	signed     bool // the stored entry ended with a tag (cut off before decodeEntry)
	expiresAt  time.Time

	// From the extension block (entry_ext.go), when ext is set.
	ext         bool
	negative    bool          // a negative marker: no value
	staleWindow time.Duration // the store keeps the entry this long after expiresAt
	tags        string        // the tag block, "" without tags
	loadTime    time.Duration // how long the value's load took, in microseconds (WithEarlyRefresh, xfetch.go); 0: not stored
}

// putHeader writes h into the first entryHeaderSize bytes of b.
func putHeader(b []byte, h entryHeader) {
	var flags byte
	if h.compressed {
		flags |= flagCompressed
	}
	if h.ext {
		flags |= flagExt
	}
	if h.signed {
		flags |= flagSigned
	}
	b[0], b[1], b[2], b[3] = entryMagic, entryVersion, h.codec, flags
	binary.BigEndian.PutUint64(b[4:entryHeaderSize], uint64(h.expiresAt.UnixMilli()))
}

// decodeEntry parses a stored entry and returns its header and its payload,
// decompressed. Any malformed input gives an error wrapping errCorruptEntry,
// and so does a payload longer than limit bytes, compressed or not: a
// compressed one is refused from its declared size, before anything is
// decompressed (codecs.DecompressLimit).
func decodeEntry(b []byte, limit int) (entryHeader, []byte, error) {
	var h entryHeader
	if len(b) < entryHeaderSize {
		return h, nil, fmt.Errorf("%w: %d bytes is shorter than the header", errCorruptEntry, len(b))
	}
	if b[0] != entryMagic {
		return h, nil, fmt.Errorf("%w: bad magic byte 0x%02x", errCorruptEntry, b[0])
	}
	if b[1] != entryVersion {
		return h, nil, fmt.Errorf("%w: unknown format version %d", errCorruptEntry, b[1])
	}
	if b[3]&^(flagCompressed|flagSigned|flagExt) != 0 {
		return h, nil, fmt.Errorf("%w: unknown flags 0x%02x", errCorruptEntry, b[3])
	}
	h.codec = b[2]
	h.compressed = b[3]&flagCompressed != 0
	h.signed = b[3]&flagSigned != 0
	h.expiresAt = time.UnixMilli(int64(binary.BigEndian.Uint64(b[4:12])))
	payload := b[entryHeaderSize:]
	if b[3]&flagExt != 0 {
		var err error
		if payload, err = parseExt(&h, payload); err != nil {
			return h, nil, err
		}
	}
	if h.compressed {
		out, err := codecs.DecompressLimit(payload, limit)
		if err != nil {
			return h, nil, fmt.Errorf("%w (max_value_size %d): %v", errCorruptEntry, limit, err)
		}
		payload = out
	} else if len(payload) > limit {
		return h, nil, fmt.Errorf("%w: payload of %d bytes, more than max_value_size %d", errCorruptEntry, len(payload), limit)
	}
	return h, payload, nil
}
