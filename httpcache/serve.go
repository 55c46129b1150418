package httpcache

import (
	"net/http"
	"strconv"
	"time"
)

// serveHit writes a stored response with X-Cache-Status status. The
// stored response may be shared with other requests (see hotEntries), so
// its header values are copied, all into one slice. The handler's
// Cache-Control (and Date) are replayed as stored; without a Cache-Control
// (and none set by an outer middleware for this request) the middleware's
// max-age, the stored lifetime, goes with Age, so a downstream cache sees
// exactly the time left. Age is the age the response had when stored (RFC
// 9111 §4.2.3) plus the seconds since. cs is the Cache-Status parameters;
// "" means those of a hit: "; hit; ttl=<seconds of freshness left>".
func serveHit(w http.ResponseWriter, r *http.Request, found *hit, status, cs string) {
	resp := found.resp
	hdr := w.Header()
	code := resp.status
	notMod := code/100 == 2 && notModified(r, resp.header)

	// The strings this answer makes (Age, Cache-Status) are built in one
	// buffer and converted once.
	var buf [64]byte
	b := strconv.AppendInt(buf[:0], int64((resp.age+found.resident)/time.Second), 10)
	ageEnd := len(b)
	b = append(b, "cachette"...)
	if cs == "" {
		b = append(b, "; hit; ttl="...)
		b = strconv.AppendInt(b, int64(found.freshLeft()/time.Second), 10)
	} else {
		b = append(b, cs...)
	}
	s := string(b)
	age, cacheStatus := s[:ageEnd], s[ageEnd:]

	// Every value set here, in one slice: each header gets a full slice
	// of it (len == cap), so an append by an outer writer copies.
	// A Cache-Control set for this request outside the cache, in any case;
	// before the stored headers are copied, so that few names are looked at.
	_, storedCC := resp.header["Cache-Control"]
	hasCC := storedCC || hasHeader(hdr, "Cache-Control")
	n := 5
	for _, vs := range resp.header {
		n += len(vs)
	}
	vals := make([]string, 0, n)
	set := func(k string, vs ...string) {
		i := len(vals)
		vals = append(vals, vs...)
		hdr[k] = vals[i:len(vals):len(vals)]
	}
	if notMod {
		for _, k := range notModifiedHeaders {
			if vs, ok := resp.header[k]; ok {
				set(k, vs...)
			}
		}
	} else {
		for k, vs := range resp.header {
			set(k, vs...)
		}
	}
	if !hasCC {
		ma := resp.maxAge
		if ma == "" {
			ma = maxAge(resp.fresh + resp.age)
		}
		set("Cache-Control", ma)
	}
	set("Age", age)
	set(StatusHeader, status)
	if prev := hdr["Cache-Status"]; len(prev) > 0 {
		hdr["Cache-Status"] = append(prev[:len(prev):len(prev)], cacheStatus)
	} else {
		set("Cache-Status", cacheStatus)
	}
	if notMod {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if code != http.StatusNoContent {
		cl := resp.contentLength
		if cl == "" {
			cl = strconv.Itoa(len(resp.body))
		}
		set("Content-Length", cl)
	}
	w.WriteHeader(code)
	if r.Method != http.MethodHead && len(resp.body) > 0 {
		_, _ = w.Write(resp.body) // a client that went away is not an error here
	}
}

// maxAge is the Cache-Control value of the middleware for an entry stored
// for ttl: the TTL's whole seconds, at least 1. A HIT carries it with Age,
// the seconds since storing, so a downstream cache sees the time left.
func maxAge(ttl time.Duration) string {
	return "max-age=" + strconv.FormatInt(max(int64(ttl/time.Second), 1), 10)
}
