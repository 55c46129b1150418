package httpcache

import (
	"crypto/sha256"
	"encoding/base64"
	"hash/maphash"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
)

// baseKey returns the key of r before Vary: "prefix:GET:host:path", then
// "?" and a short hash of the canonical query when there is one. HEAD uses
// GET's key. ok is false when the query does not parse; such a request is
// not cached. Without a filter, any parameter that url.ParseQuery rejects
// (a bad escape, a semicolon) counts; with one, only a parameter a field
// reads counts, or a value that does not parse as the field's type.
func (c *config) baseKey(r *http.Request) (key string, ok bool) {
	var canon string
	if c.filter != nil {
		q, err := c.filter.query(r.URL.RawQuery)
		if err != nil {
			return "", false
		}
		vals, err := c.filter.parse(q)
		if err != nil {
			return "", false
		}
		canon = c.filter.canonical(vals)
	} else {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return "", false
		}
		canon = canonicalQuery(q)
	}
	var b strings.Builder
	b.Grow(len(c.Prefix) + len(r.Host) + len(r.URL.Path) + 40)
	b.WriteString(c.Prefix)
	b.WriteString(":GET:")
	b.WriteString(strings.ToLower(r.Host))
	b.WriteByte(':')
	b.WriteString(r.URL.EscapedPath())
	if canon != "" {
		b.WriteByte('?')
		b.WriteString(shortHash(canon))
	}
	return b.String(), true
}

// canonicalQuery writes every parameter of q sorted by name; the values of
// one name keep their order, which a handler may depend on.
func canonicalQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, k := range names {
		for _, v := range q[k] {
			appendParam(&b, k, v)
		}
	}
	return b.String()
}

// varyKey is the key of the response to r stored under base with a Vary
// listing names (canonical, sorted).
func varyKey(base string, names []string, r *http.Request) string {
	parts := make([]string, 0, 2*len(names))
	for _, n := range names {
		parts = append(parts, n, strings.Join(r.Header.Values(n), ","))
	}
	return base + "|vary=" + shortHash(parts...)
}

// varyNames parses the Vary headers of a response into canonical names,
// sorted and de-duplicated. star reports a "*" (or a malformed name), which
// no request can match.
func varyNames(h http.Header) (names []string, star bool) {
	for _, line := range h.Values("Vary") {
		for n := range strings.SplitSeq(line, ",") {
			n = strings.TrimSpace(n)
			switch n {
			case "":
				continue
			case "*":
				return nil, true
			}
			if !validHeaderName(n) {
				return nil, true // not a header name: nothing can match it
			}
			names = append(names, http.CanonicalHeaderKey(n))
		}
	}
	slices.Sort(names)
	return slices.Compact(names), false
}

// shortHash is a 128-bit digest of s, URL-safe base64 (22 characters).
// It is a cryptographic hash so that nobody can craft a query that lands
// on another query's entry.
func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:16])
}

func sum256(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// lockName is the name of the store lock that guards filling key.
func lockName(key string) string { return "lock:" + key }

// keyTable keeps the base keys made last, so that a request for a hot URL
// neither parses its query nor hashes it again. It is a direct-mapped
// table like hotEntries: a slot holds the parts of the request the key is
// made of (Host, the path as parsed and as sent, the raw query) and the
// key, or that there is none (ok false).
type keyTable struct {
	seed  maphash.Seed
	slots [keySlots]atomic.Pointer[keyEntry]
}

const keySlots = 256

type keyEntry struct {
	host, path, rawPath, rawQuery string
	key                           string
	ok                            bool
}

// baseKey is config.baseKey, from the table when r's URL was keyed last
// in its slot.
func (h *handler) baseKey(r *http.Request) (string, bool) {
	u := r.URL
	var mh maphash.Hash
	mh.SetSeed(h.keys.seed)
	for _, s := range [...]string{r.Host, u.Path, u.RawPath, u.RawQuery} {
		mh.WriteString(s)
		mh.WriteByte(0)
	}
	slot := &h.keys.slots[mh.Sum64()%keySlots]
	if ke := slot.Load(); ke != nil && ke.host == r.Host && ke.path == u.Path && ke.rawPath == u.RawPath && ke.rawQuery == u.RawQuery {
		return ke.key, ke.ok
	}
	key, ok := h.cfg.baseKey(r)
	slot.Store(&keyEntry{host: r.Host, path: u.Path, rawPath: u.RawPath, rawQuery: u.RawQuery, key: key, ok: ok})
	return key, ok
}
