package cachette

import (
	"encoding/binary"
	"fmt"
	"time"
)

// The extension block of an entry (flag bit 2, flagExt), right after the
// 12-byte header and before the payload. Entries without tags, stale
// window or negative mark do not have one and keep the version 1 layout
// byte for byte.
//
//	offset size  field
//	0      2     length N of the rest of the block (big-endian)
//	2      1     extension flags: bit 0 = negative marker (no value, see WithNegativeTTL),
//	             bit 1 = the load duration follows the stale window
//	3      4     stale window, milliseconds (big-endian): the store keeps the
//	             entry this long after the header's expiry
//	(7     4     if flag bit 1: how long the load of the value took,
//	             microseconds (big-endian, 1 or more), for WithEarlyRefresh)
//	7      1     number of tags, at most maxEntryTags
//	8      ...   per tag: 1 byte length, the tag (1-255 bytes),
//	             1 byte length, its version when stored (1-64 bytes)
//
// (The offsets of the tag count and tags are 4 more with the load duration.)
//
// The header's expiry stays the logical one: Fetch never returns an entry
// past it, whatever the stale window.
const (
	flagExt          = 1 << 2
	extFixedSize     = 2 + 1 + 4 + 1 // length, flags, window, tag count
	extFlagNegative  = 1 << 0
	extFlagLoadTime  = 1 << 1 // a load duration follows the stale window
	extLoadTimeSize  = 4
	maxEntryTags     = 64
	maxTagLen        = 255
	maxTagVersionLen = 64
	maxStaleWindow   = time.Duration(1<<32-1) * time.Millisecond // what 4 bytes of milliseconds hold, about 49 days
	maxLoadTime      = time.Duration(1<<32-1) * time.Microsecond // what 4 bytes of microseconds hold, about 71 minutes
)

// appendExt appends the extension block of h to b; h.ext must be set and
// h.tags must be a tag block as encodeTags builds it.
func appendExt(b []byte, h entryHeader) []byte {
	n := extFixedSize - 3 + max(len(h.tags), 1) // the tag block, or its count byte 0
	var flags byte
	if h.negative {
		flags |= extFlagNegative
	}
	if h.loadTime > 0 {
		flags |= extFlagLoadTime
		n += extLoadTimeSize
	}
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(b, flags)
	b = binary.BigEndian.AppendUint32(b, uint32(h.staleWindow/time.Millisecond))
	if h.loadTime > 0 {
		b = binary.BigEndian.AppendUint32(b, uint32(h.loadTime/time.Microsecond))
	}
	if h.tags == "" {
		return append(b, 0)
	}
	return append(b, h.tags...)
}

// parseExt reads the extension block at the start of rest into h and
// returns what follows it (the payload). Malformed bytes give an error
// wrapping errCorruptEntry; the cost is linear in the block, at most 64 KiB.
func parseExt(h *entryHeader, rest []byte) ([]byte, error) {
	if len(rest) < extFixedSize {
		return nil, fmt.Errorf("%w: extension block truncated", errCorruptEntry)
	}
	n := int(binary.BigEndian.Uint16(rest[0:2]))
	if n < extFixedSize-2 || len(rest) < 2+n {
		return nil, fmt.Errorf("%w: extension block of %d bytes in %d", errCorruptEntry, n, len(rest)-2)
	}
	block := rest[2 : 2+n]
	if block[0]&^(extFlagNegative|extFlagLoadTime) != 0 {
		return nil, fmt.Errorf("%w: unknown extension flags 0x%02x", errCorruptEntry, block[0])
	}
	h.ext = true
	h.negative = block[0]&extFlagNegative != 0
	h.staleWindow = time.Duration(binary.BigEndian.Uint32(block[1:5])) * time.Millisecond
	tags := block[5:]
	if block[0]&extFlagLoadTime != 0 {
		if len(tags) < extLoadTimeSize+1 {
			return nil, fmt.Errorf("%w: extension block too short for its load duration", errCorruptEntry)
		}
		us := binary.BigEndian.Uint32(tags[:extLoadTimeSize])
		if us == 0 {
			return nil, fmt.Errorf("%w: load duration of 0", errCorruptEntry)
		}
		h.loadTime = time.Duration(us) * time.Microsecond
		tags = tags[extLoadTimeSize:]
	}
	if err := checkTagBlock(tags); err != nil {
		return nil, err
	}
	if tags[0] > 0 {
		h.tags = string(tags)
	}
	return rest[2+n:], nil
}

// checkTagBlock checks that b is a tag count and exactly that many tags
// with their versions.
func checkTagBlock(b []byte) error {
	count := int(b[0])
	if count > maxEntryTags {
		return fmt.Errorf("%w: %d tags, more than %d", errCorruptEntry, count, maxEntryTags)
	}
	i := 1
	for range count {
		for _, limit := range [2]int{maxTagLen, maxTagVersionLen} {
			if i >= len(b) {
				return fmt.Errorf("%w: tag block truncated", errCorruptEntry)
			}
			l := int(b[i])
			if l == 0 || l > limit || i+1+l > len(b) {
				return fmt.Errorf("%w: bad tag field of %d bytes", errCorruptEntry, l)
			}
			i += 1 + l
		}
	}
	if i != len(b) {
		return fmt.Errorf("%w: %d stray bytes after the tags", errCorruptEntry, len(b)-i)
	}
	return nil
}

// taggedVersion is a tag and its version.
type taggedVersion struct{ tag, version string }

// encodeTags builds the tag block of an extension from tags and their
// versions (at most maxEntryTags, each within its bounds; callers check).
func encodeTags(tvs []taggedVersion) string {
	if len(tvs) == 0 {
		return ""
	}
	b := []byte{byte(len(tvs))}
	for _, tv := range tvs {
		b = append(b, byte(len(tv.tag)))
		b = append(b, tv.tag...)
		b = append(b, byte(len(tv.version)))
		b = append(b, tv.version...)
	}
	return string(b)
}

// decodeTags returns the tags and versions of a tag block that parseExt
// accepted.
func decodeTags(block string) []taggedVersion {
	if block == "" {
		return nil
	}
	out := make([]taggedVersion, 0, block[0])
	i := 1
	for i < len(block) {
		l := int(block[i])
		tag := block[i+1 : i+1+l]
		i += 1 + l
		l = int(block[i])
		out = append(out, taggedVersion{tag: tag, version: block[i+1 : i+1+l]})
		i += 1 + l
	}
	return out
}
