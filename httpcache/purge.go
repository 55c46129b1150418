package httpcache

import (
	"crypto/rand"
	"encoding/base64"
)

// newToken returns a fresh random token, 128 bits in URL-safe base64: the
// epoch of a vary marker, or the generation of a tag. Tokens are never
// reused, so a value written once can never be written back by a late
// writer that read it before a purge.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}
