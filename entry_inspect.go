package cachette

import (
	"context"
	"time"

	"github.com/cachette-go/cachette/codecs"
)

// EntryInfo describes a stored entry: what its header says, and its
// payload. InspectEntry fills it.
type EntryInfo struct {
	Version     int       // format version of the header (1 today)
	CodecID     byte      // codec ID of the header; 0 for bytes stored by PutBytes
	Codec       string    // name of the codec with that ID: "raw" for PutBytes, "" when no linked codec has the ID
	Compressed  bool      // the payload is stored zstd-compressed
	Signed      bool      // the entry ends with an HMAC-SHA-256 tag (Config.SigningKey); InspectEntry does not check it
	ExpiresAt   time.Time // expiry, to the millisecond
	StoredSize  int       // bytes as the store holds them, header included
	PayloadSize int       // bytes of the payload, decompressed
	Payload     []byte    // the payload, decompressed, not decoded by the codec

	// From the extension block of entries stored with a stale window, a load duration,
	// tags or as a negative marker (WithNegativeTTL).
	StaleWindow time.Duration // the store keeps the entry this long past ExpiresAt, for GetOrLoad
	Negative    bool          // a negative marker: the key is known not to exist, no value
	Tags        []string      // the tags the entry was stored with (a tag longer than 255 bytes by its hash)
	LoadTime    time.Duration // how long the value's load took, stored by GetOrLoad with WithEarlyRefresh; 0 otherwise
}

// CodecRaw is EntryInfo.Codec of bytes stored by PutBytes, without a codec.
const CodecRaw = "raw"

// InspectEntry reads an entry as a store returns it (Backend().Get), for
// tools that show entries to people without decoding them (cmd/cachette).
// It checks the header like Fetch does and decompresses the payload, with
// the same bound: a payload longer than maxValueSize (DefaultMaxValueSize
// when maxValueSize <= 0), compressed or not, is refused before it is
// decompressed. Malformed bytes give an error, with the fields read so far
// filled in; they never panic.
//
// A signed entry (Config.SigningKey) has Signed set; its tag is cut off
// and not checked (InspectEntry has no key): Cache.VerifyEntry checks it.
func InspectEntry(raw []byte, maxValueSize int) (EntryInfo, error) {
	if maxValueSize <= 0 {
		maxValueSize = DefaultMaxValueSize
	}
	info := EntryInfo{StoredSize: len(raw)}
	if len(raw) >= 4 && raw[0] == entryMagic {
		info.Version = int(raw[1])
		info.CodecID = raw[2]
		info.Compressed = raw[3]&flagCompressed != 0
		info.Codec = codecName(raw[2])
	}
	body, tag, err := splitTag(raw)
	if err != nil {
		return info, err
	}
	info.Signed = tag != nil
	h, payload, err := decodeEntry(body, maxValueSize)
	info.ExpiresAt = h.expiresAt // zero when the header did not parse
	if err != nil {
		return info, err
	}
	info.StaleWindow, info.Negative, info.LoadTime = h.staleWindow, h.negative, h.loadTime
	for _, tv := range decodeTags(h.tags) {
		info.Tags = append(info.Tags, tv.tag)
	}
	info.PayloadSize = len(payload)
	info.Payload = payload
	return info, nil
}

// EntryTagsCurrent reports whether the tags an entry was stored with (raw,
// as Backend().Get returns it) still have the versions the entry recorded,
// as Fetch checks on every read: false means that InvalidateTags of one of
// them (or the expiry or eviction of a tag's version) made the entry a
// miss, although the store still holds it. An entry without tags is
// current. It reads one version entry per tag; it does not check a
// signature (VerifyEntry does) and does not remove anything. Malformed
// bytes are an error.
func (c *Cache) EntryTagsCurrent(ctx context.Context, raw []byte) (bool, error) {
	if c.isClosed() {
		return false, ErrClosed
	}
	body, _, err := splitTag(raw)
	if err != nil {
		return false, err
	}
	h, _, err := decodeEntry(body, c.cfg.MaxValueSize)
	if err != nil {
		return false, err
	}
	if h.tags == "" {
		return true, nil
	}
	return c.tagsCurrent(ctx, h.tags)
}

func codecName(id byte) string {
	if id == codecRaw {
		return CodecRaw
	}
	if c, ok := codecs.ByID(id); ok {
		return c.Name()
	}
	return ""
}
