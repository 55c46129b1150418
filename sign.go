package cachette

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
	"sync"

	"github.com/cachette-go/cachette/backends"
)

// Signed entries (Config.SigningKey). An entry whose flags have
// flagSigned set ends with a tag of macSize bytes:
//
//	HMAC-SHA-256(signing key,
//	    uint32 len(namespace) | namespace | uint32 len(key) | key |
//	    every byte of the entry before the tag)
//
// where namespace is the store's prefix (Config.Prefix, or the Prefix()
// of a store given to NewWithBackend) and key is the cache key. The tag
// so covers the header (expiry, codec, flags), whatever follows it, and
// the payload as stored (compressed or not), and binds the entry to the
// place it was written to: copied to another key or prefix, it fails.
const (
	flagSigned = 1 << 1
	macSize    = sha256.Size

	// MinSigningKeyLen is the shortest signing key accepted, in bytes:
	// the output size of SHA-256, as RFC 2104 recommends for HMAC keys.
	MinSigningKeyLen = 32
)

// errUnauthenticated wraps every reason a signing cache refuses an
// entry; it wraps errCorruptEntry.
var errUnauthenticated = fmt.Errorf("%w: not authenticated", errCorruptEntry)

// signingKeys splits Config.SigningKey: comma-separated keys, each
// trimmed. The first signs, all verify.
func signingKeys(s string) []string {
	if s == "" {
		return nil
	}
	keys := strings.Split(s, ",")
	for i, k := range keys {
		keys[i] = strings.TrimSpace(k)
	}
	return keys
}

// signingKeyProblem checks Config.SigningKey; given tells whether
// LoadConfig or ConfigFromEnv saw the key. The message names the key
// "signing_key" and the position of a bad part, never a value or a length.
func signingKeyProblem(s string, given bool) (problem, bool) {
	if s == "" && given {
		// An empty secret (a template whose secret did not load) would
		// silently turn signing off: refuse it, like any key given empty.
		return problem{"signing_key", `The "signing_key" cannot be empty when given`}, true
	}
	keys := signingKeys(s)
	for i, k := range keys {
		if len(k) < MinSigningKeyLen {
			msg := fmt.Sprintf(`The "signing_key" must be at least %d bytes long`, MinSigningKeyLen)
			if len(keys) > 1 {
				msg = fmt.Sprintf(`The "signing_key" holds %d comma-separated keys; key %d is not at least %d bytes long`, len(keys), i+1, MinSigningKeyLen)
			}
			return problem{"signing_key", msg}, true
		}
	}
	return problem{}, false
}

// signer signs entries with its first key and verifies them with any.
type signer struct {
	keys      []*sync.Pool // of *macState, one pool per key
	namespace []byte       // length-prefixed namespace, written before the key
}

// macState is an HMAC-SHA-256 of one key, with buffers for what precedes
// the entry bytes and for the tag, reused so that a tag costs no
// allocation.
type macState struct {
	h   hash.Hash
	buf []byte
	sum []byte
}

// newSigner returns nil when cfg has no signing key.
func newSigner(cfg Config, store backends.Backend) *signer {
	keys := signingKeys(cfg.SigningKey)
	if len(keys) == 0 {
		return nil
	}
	ns := cfg.Prefix
	if p, ok := backends.Unwrap(store).(interface{ Prefix() string }); ok {
		ns = p.Prefix()
	}
	s := &signer{namespace: binary.BigEndian.AppendUint32(nil, uint32(len(ns)))}
	s.namespace = append(s.namespace, ns...)
	for _, k := range keys {
		secret := []byte(k)
		s.keys = append(s.keys, &sync.Pool{New: func() any { return &macState{h: hmac.New(sha256.New, secret)} }})
	}
	return s
}

// withTag calls f with the tag, made with key i, of body stored under
// key; the tag is valid only during the call.
func (s *signer) withTag(i int, key string, body []byte, f func(tag []byte)) {
	m := s.keys[i].Get().(*macState)
	m.h.Reset()
	m.buf = append(m.buf[:0], s.namespace...)
	m.buf = binary.BigEndian.AppendUint32(m.buf, uint32(len(key)))
	m.buf = append(m.buf, key...)
	m.h.Write(m.buf)
	m.h.Write(body)
	m.sum = m.h.Sum(m.sum[:0])
	f(m.sum)
	if cap(m.buf) <= 4<<10 {
		s.keys[i].Put(m)
	}
}

// sign sets the signed flag of the entry in buf (header already written)
// and appends its tag.
func (s *signer) sign(key string, buf []byte) []byte {
	buf[3] |= flagSigned
	s.withTag(0, key, buf, func(tag []byte) { buf = append(buf, tag...) })
	return buf
}

// verify checks the tag of the entry b stored under key and returns the
// entry without it. It reads only the flags byte of the header: an entry
// is authenticated before any other part of it is parsed.
func (s *signer) verify(key string, b []byte) ([]byte, error) {
	body, tag, err := splitTag(b)
	if err != nil {
		return nil, err
	}
	if tag == nil {
		return nil, fmt.Errorf("%w: the entry is not signed", errUnauthenticated)
	}
	for i := range s.keys {
		ok := false
		s.withTag(i, key, body, func(sum []byte) { ok = hmac.Equal(sum, tag) })
		if ok {
			return body, nil
		}
	}
	return nil, fmt.Errorf("%w: the tag does not match (signed with another key, for another key, or altered)", errUnauthenticated)
}

// splitTag splits the entry b into the bytes the tag covers and the tag,
// nil when the entry is not signed. A signed entry too short to hold a
// header and a tag is an error wrapping errUnauthenticated.
func splitTag(b []byte) (body, tag []byte, err error) {
	if len(b) < entryHeaderSize || b[0] != entryMagic || b[3]&flagSigned == 0 {
		return b, nil, nil
	}
	if len(b) < entryHeaderSize+macSize {
		return nil, nil, fmt.Errorf("%w: a signed entry of %d bytes is too short to hold its %d-byte tag", errUnauthenticated, len(b), macSize)
	}
	return b[:len(b)-macSize], b[len(b)-macSize:], nil
}

// verifySigned returns the entry b as decodeEntry reads it: checked and
// without its tag when the cache signs, without its tag (unchecked) when
// it does not.
func (c *Cache) verifySigned(key string, b []byte) ([]byte, error) {
	if c.signer != nil {
		return c.signer.verify(key, b)
	}
	body, _, err := splitTag(b)
	return body, err
}

// VerifyEntry checks raw, an entry as the store returns it for key
// (Backend().Get), the way Fetch does before decoding it: it returns nil
// when the cache has no SigningKey or raw carries a valid tag for key,
// and otherwise an error saying why Fetch would refuse it. For tools that
// read entries without Fetch (cmd/cachette, with InspectEntry).
func (c *Cache) VerifyEntry(key string, raw []byte) error {
	if c.signer == nil {
		return nil
	}
	_, err := c.signer.verify(key, raw)
	return err
}
