package httpcache

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// responseStorable applies the storage rules known when the handler sends
// its status: a status listed in CacheStatuses, no Set-Cookie, no Vary: *,
// no Trailer, not an event stream, and a declared Content-Length within
// MaxBodySize. The freshness rules (no-store, private, no-cache, a
// lifetime of 0) are config.plan's.
func (c *config) responseStorable(code int, h http.Header) bool {
	if !c.storableStatus(code) {
		return false
	}
	for k, vs := range h {
		switch {
		case strings.EqualFold(k, "Set-Cookie"), strings.EqualFold(k, "Trailer"):
			return false
		case strings.EqualFold(k, "Vary"):
			if _, star := varyNames(http.Header{"Vary": vs}); star {
				return false
			}
		case strings.EqualFold(k, "Content-Type"):
			for _, v := range vs {
				if mt, _, _ := strings.Cut(v, ";"); strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
					return false // a stream, never complete
				}
			}
		case strings.EqualFold(k, "Content-Length"):
			for _, v := range vs {
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil || n > c.MaxBodySize {
					return false
				}
			}
		}
	}
	return true
}

// storedHeader copies the headers of a response that are worth storing:
// not hop-by-hop (including those the Connection header names), not set
// per answer, valid on the wire, and not set outside the cache: a header
// whose values are those of outer (the headers before the handler ran)
// belongs to the request, not to the response. Names are stored in
// canonical form, the values of names that differ only in case merged.
func storedHeader(h, outer http.Header) http.Header {
	var named []string
	for _, v := range h.Values("Connection") {
		for n := range strings.SplitSeq(v, ",") {
			named = append(named, http.CanonicalHeaderKey(strings.TrimSpace(n)))
		}
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		if notStored[ck] || len(vs) == 0 || !validHeaderName(k) || strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		skip := false
		for _, n := range named {
			skip = skip || n == ck
		}
		for _, v := range vs {
			skip = skip || !validHeaderValue(v)
		}
		if !skip {
			out[ck] = append(out[ck], vs...)
		}
	}
	for k, vs := range out {
		if ov, ok := outer[k]; ok && slices.Equal(ov, vs) {
			delete(out, k)
		}
	}
	return out
}

// notStored lists the response headers that are never stored: hop-by-hop
// headers, and those the middleware sets on every answer. The handler's
// Cache-Control and Date are stored and replayed; Age is set afresh from
// the age stored apart.
var notStored = map[string]bool{
	"Connection":          true,
	"Keep-Alive":          true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Proxy-Connection":    true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
	"Age":                 true,
	StatusHeader:          true,
}

// canonicalHeader copies h with its names in canonical form, the values
// of names that differ only in case merged.
func canonicalHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		out[ck] = append(out[ck], vs...)
	}
	return out
}

// headerGet is h.Get(name) for a name in canonical form, without the
// canonicalisation Get does on every call (the request path's lookups).
func headerGet(h http.Header, name string) string {
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// hasHeader reports whether h has name, in any case.
func hasHeader(h http.Header, name string) bool {
	if _, ok := h[name]; ok {
		return true
	}
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// headerValues returns the values of name in h, in any case, in a new slice.
func headerValues(h http.Header, name string) []string {
	var out []string
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			out = append(out, vs...)
		}
	}
	return out
}
