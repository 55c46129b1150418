// Package rediswire holds what the stores that speak the Redis protocol
// (backends/redis and backends/valkey) share, whatever client library they
// use: the layout of a stored entry (an 8-byte big-endian expiry in Unix
// milliseconds, then the value), the Lua scripts behind Delete, Lock and
// Unlock, the escaping of SCAN MATCH patterns, lock tokens, and the parts
// of a URL parser that split "scheme://node1,node2/db?options" into nodes.
//
// Keeping one copy means a key written by one of the two stores is read
// the same way by the other.
package rediswire

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cachette-go/cachette/backends"
)

// HeaderSize is the stored expiry in front of every value.
const HeaderSize = 8

// DefaultMaxValueSize is the default proto-max-bulk-len (512 MiB) less
// the header: the largest value a store accepts when the server does not
// tell its own limit.
const DefaultMaxValueSize = 512<<20 - HeaderSize

// EncodeEntry lays out an entry: expiry in Unix milliseconds, then the value.
func EncodeEntry(value []byte, expMs int64) []byte {
	b := make([]byte, HeaderSize+len(value))
	binary.BigEndian.PutUint64(b, uint64(expMs))
	copy(b[HeaderSize:], value)
	return b
}

// DecodeEntry splits a stored entry; ok is false when b is too short to be one.
func DecodeEntry(b []byte) (value []byte, expMs int64, ok bool) {
	if len(b) < HeaderSize {
		return nil, 0, false
	}
	return b[HeaderSize:], int64(binary.BigEndian.Uint64(b)), true
}

// CeilMilli is backends.CeilMilli: t in Unix milliseconds, rounded up.
func CeilMilli(t time.Time) int64 { return backends.CeilMilli(t) }

// Alive reports whether an expiry in Unix milliseconds is still ahead of now.
func Alive(expMs int64, now time.Time) bool { return now.UnixMilli() < expMs }

// LiveHeader reports whether an entry's expiry header (as DelScript returns
// it) says the entry is alive.
func LiveHeader(h string, now time.Time) bool {
	if len(h) < HeaderSize {
		return false
	}
	return Alive(int64(binary.BigEndian.Uint64([]byte(h))), now)
}

// MaxValue turns the server's proto-max-bulk-len, as CONFIG GET gives it,
// into the largest value a store should accept: the limit less the header,
// or DefaultMaxValueSize when the reply is not a usable number.
func MaxValue(protoMaxBulkLen string) int {
	n, err := strconv.ParseInt(protoMaxBulkLen, 10, 64)
	if err != nil || n <= HeaderSize {
		return DefaultMaxValueSize
	}
	return int(min(n-HeaderSize, int64(^uint(0)>>1)))
}

// TooLarge recognises the server's refusals of an oversized value.
func TooLarge(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "invalid bulk length") ||
		strings.Contains(msg, "exceeds maximum allowed size") ||
		strings.Contains(msg, "string exceeds maximum")
}

// DelScript removes a key and returns the expiry header it held, or nil
// when there was no key.
const DelScript = `
local h = redis.call('GETRANGE', KEYS[1], 0, 7)
if redis.call('UNLINK', KEYS[1]) == 0 then return false end
return h`

// Locks are stored as "<token>.<expiry in Unix ms>" and written with PX
// as a safety net; whether a lock is held is judged by the stored expiry
// and the caller's clock, like entries, so a lock lasts its ttl to the
// millisecond however long the command took to reach the server.

// LockScript takes the lock unless a live one is there. ARGV: the new
// value, now in Unix ms, the PX in ms.
const LockScript = `
local v = redis.call('GET', KEYS[1])
if v then
  local dot = string.find(v, '.', 1, true)
  local exp = dot and tonumber(string.sub(v, dot + 1))
  if exp == nil or exp > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`

// UnlockScript deletes a lock only while it holds the caller's token, and
// reports a release only if the lock was still alive. ARGV: the token, now
// in Unix ms.
const UnlockScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
local dot = string.find(ARGV[1], '.', 1, true)
local exp = dot and tonumber(string.sub(ARGV[1], dot + 1))
if exp == nil or exp <= tonumber(ARGV[2]) then return 0 end
return 1`

// LockToken makes the value of a lock taken at now for ttl, and the PX
// that makes the server drop it no earlier than its expiry.
func LockToken(now time.Time, ttl time.Duration) (token string, px int64, err error) {
	if ttl <= 0 {
		return "", 0, fmt.Errorf("the lock ttl must be positive, got %v", ttl)
	}
	exp := CeilMilli(now.Add(ttl))
	return backends.NewToken() + "." + strconv.FormatInt(exp, 10), exp - now.UnixMilli(), nil
}

// CheckPrefix is backends.CheckPrefix: non-empty, without ":".
func CheckPrefix(name, prefix string) error { return backends.CheckPrefix(name, prefix) }

// Pattern is the SCAN MATCH pattern of every key that starts with
// keyPrefix, and of no other.
func Pattern(keyPrefix string) string { return GlobEscape(keyPrefix) + "*" }

// GlobEscape escapes the characters SCAN MATCH treats specially, so that
// a prefix like "a*" or "[x]" matches only itself.
func GlobEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
