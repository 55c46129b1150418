package httpcache

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// serveHit writes a stored response with X-Cache-Status status. shared
// means the response is also handed to other requests, so its header
// slices are copied. The handler's Cache-Control (and Date) are replayed
// as stored; without a Cache-Control (and none set by an outer middleware
// for this request) the middleware's max-age, the stored lifetime, goes
// with Age, so a downstream cache sees exactly the time left. Age is the
// age the response had when stored (RFC 9111 §4.2.3) plus the seconds
// since. cs is the Cache-Status parameters; "" means those of a hit:
// "; hit; ttl=<seconds of freshness left>".
func serveHit(w http.ResponseWriter, r *http.Request, found *hit, shared bool, status, cs string) {
	resp := found.resp
	hdr := w.Header()
	age := strconv.FormatInt(int64((resp.age+found.resident)/time.Second), 10)
	if cs == "" {
		cs = "; hit" + ttlParam(found.freshLeft())
	}
	code := resp.status
	if code/100 == 2 && notModified(r, resp.header) {
		for _, k := range notModifiedHeaders {
			if vs, ok := resp.header[k]; ok {
				hdr[k] = slices.Clone(vs)
			}
		}
		if !hasHeader(hdr, "Cache-Control") {
			hdr.Set("Cache-Control", maxAge(resp.fresh+resp.age))
		}
		hdr.Set("Age", age)
		hdr.Set(StatusHeader, status)
		hdr.Add("Cache-Status", cacheStatus(cs))
		w.WriteHeader(http.StatusNotModified)
		return
	}
	for k, vs := range resp.header {
		if shared {
			vs = slices.Clone(vs)
		}
		hdr[k] = vs
	}
	if !hasHeader(hdr, "Cache-Control") {
		hdr.Set("Cache-Control", maxAge(resp.fresh+resp.age))
	}
	hdr.Set("Age", age)
	hdr.Set(StatusHeader, status)
	hdr.Add("Cache-Status", cacheStatus(cs))
	if code != http.StatusNoContent {
		hdr.Set("Content-Length", strconv.Itoa(len(resp.body)))
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
