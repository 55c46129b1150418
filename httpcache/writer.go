package httpcache

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// captureWriter passes a response through to the client as the handler
// writes it, and keeps a copy for the cache while the response stays
// storable. It implements http.Flusher, and Unwrap for
// http.ResponseController (deadlines, ...); the handler gets it as a
// hijackWriter, an http.Hijacker too, when the client's writer can hijack.
type captureWriter struct {
	w     http.ResponseWriter
	cfg   *config
	head  bool        // the client asked HEAD: the body is captured, not sent
	store bool        // the response is stored if it can be
	outer http.Header // the headers set before the handler ran, canonical
	// vary names request headers the stored response varies on, besides
	// those of its own Vary: a refresh keeps those of the entry it replaces.
	vary []string
	// release, when set, is called once as soon as the response turns out
	// not to be shareable (not storable, flushed, hijacked): it lets the
	// requests waiting for it go, and gives up the store lock.
	release func()

	// cond is set when the request to the handler carries the validators
	// of a stale stored response: a 304 then freshens it (RFC 9111 §4.3.4)
	// instead of reaching the client.
	cond bool
	// staleOK is set when a stale stored response may answer in place of
	// a 5xx (stale-if-error, RFC 5861 §4).
	staleOK bool
	// fwd is the Cache-Status fwd parameter of a MISS (RFC 9211 §2.2).
	fwd string
	// intercepted is the status of a response the cache keeps from the
	// client (a 304 to its own conditional request, a 5xx it answers
	// with a stale response instead); 0 otherwise. Its header, as the
	// handler set it, is in interHeader; its body is dropped.
	intercepted int
	interHeader http.Header

	plan     entryPlan // freshness, as planned at WriteHeader
	wrote    bool
	status   int
	storable bool        // still a candidate for the cache
	header   http.Header // what will be stored, snapshot at WriteHeader
	hadType  bool        // the response had a Content-Type at WriteHeader
	body     []byte
	writeErr bool     // a write to the client failed: the handler may have stopped early
	flushed  bool     // the handler flushed: anything written after makes it a stream
	hijacked bool     // the handler took the connection over
	tags     []string // from Options.TagsHeader
}

// newCaptureWriter wraps w for a handler run. The headers w holds already
// were set outside the cache (by an outer middleware, for this request
// alone): they are not stored unless the handler changes them, except
// Vary, which keys the response whoever set it. store false means the
// response is passed through and never stored.
func newCaptureWriter(w http.ResponseWriter, cfg *config, head, store bool) *captureWriter {
	return &captureWriter{w: w, cfg: cfg, head: head, store: store, outer: canonicalHeader(w.Header())}
}

// writer is what the handler gets: cw, an http.Hijacker too when the
// client's writer can hijack.
func (cw *captureWriter) writer() http.ResponseWriter {
	if canHijack(cw.w) {
		return hijackWriter{cw}
	}
	return cw
}

func (cw *captureWriter) Header() http.Header { return cw.w.Header() }

// Unwrap returns the client's writer, for http.ResponseController.
func (cw *captureWriter) Unwrap() http.ResponseWriter { return cw.w }

func (cw *captureWriter) WriteHeader(code int) {
	if cw.intercepted != 0 {
		return
	}
	if cw.wrote || cw.hijacked {
		cw.w.WriteHeader(code) // net/http reports the superfluous call
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		cw.w.WriteHeader(code) // informational; the final status follows
		return
	}
	cw.wrote = true
	cw.status = code
	h := cw.w.Header()
	if cw.cond && code == http.StatusNotModified || cw.staleOK && code >= 500 {
		cw.intercept(code)
		return
	}
	now := time.Now()
	var tagsOK bool
	cw.tags, tagsOK = cw.cfg.takeTags(h) // the client never sees them (purge.go)
	cw.storable = cw.store && tagsOK && cw.cfg.responseStorable(code, h)
	if cw.storable {
		cw.plan = cw.cfg.plan(h, now)
		cw.storable = cw.plan.ok
	}
	if cw.storable {
		cw.header = storedHeader(h, cw.outer)
		if _, ok := cw.header["Date"]; !ok {
			// The date the client of this MISS gets: HITs replay it.
			cw.header.Set("Date", now.UTC().Format(http.TimeFormat))
		}
		_, cw.hadType = h["Content-Type"]
		if !hasHeader(h, "Cache-Control") {
			h.Set("Cache-Control", maxAge(cw.plan.fresh+cw.plan.age))
		}
	}
	h.Set(StatusHeader, StatusMiss)
	fwd := cw.fwd
	if fwd == "" {
		fwd = "miss"
	}
	if cw.storable {
		h.Add("Cache-Status", cacheStatus("; fwd="+fwd+"; stored"))
	} else {
		h.Add("Cache-Status", cacheStatus("; fwd="+fwd))
	}
	cw.w.WriteHeader(code)
	if cw.storable {
		// Read Vary as sent, after the outer writers had their say.
		cw.keepVary(h)
	}
	if !cw.storable {
		cw.unshare()
	}
}

// intercept keeps a response from the client: its header is moved to
// interHeader, and the client's header is put back as it was before the
// handler ran, for the cache to answer instead.
func (cw *captureWriter) intercept(code int) {
	cw.intercepted = code
	cw.interHeader = storedHeader(cw.w.Header(), cw.outer)
	cw.resetHeader()
	cw.storable = false
	if code != http.StatusNotModified {
		cw.unshare() // the waiters do not get a 5xx; they run the handler
	}
}

// resetHeader puts the client's header back as it was before the handler ran.
func (cw *captureWriter) resetHeader() {
	h := cw.w.Header()
	for k := range h {
		delete(h, k)
	}
	for k, vs := range cw.outer {
		h[k] = slices.Clone(vs)
	}
}

// keepVary stores the Vary of the response as it was sent, set by the
// handler or outside it, with the names of cw.vary added: the stored
// response must be keyed by every request header it depends on.
func (cw *captureWriter) keepVary(sent http.Header) {
	vs := headerValues(sent, "Vary")
	names, star := varyNames(http.Header{"Vary": vs})
	if star {
		cw.giveUp()
		return
	}
	var extra []string
	for _, n := range cw.vary {
		if !slices.Contains(names, n) {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		vs = append(vs, strings.Join(extra, ", "))
	}
	if len(vs) > 0 {
		cw.header["Vary"] = vs
	} else {
		delete(cw.header, "Vary") // an outer writer removed it
	}
}

func (cw *captureWriter) Write(p []byte) (int, error) {
	if cw.intercepted != 0 {
		return len(p), nil
	}
	if cw.hijacked {
		return cw.w.Write(p) // net/http answers http.ErrHijacked
	}
	if !cw.wrote {
		cw.WriteHeader(http.StatusOK)
	}
	if cw.storable && len(p) > 0 {
		switch {
		case cw.flushed: // more after a flush: a stream
			cw.giveUp()
		case int64(len(cw.body))+int64(len(p)) > cw.cfg.MaxBodySize:
			cw.giveUp()
		default:
			cw.body = append(cw.body, p...)
		}
	}
	if cw.head {
		return len(p), nil
	}
	n, err := cw.w.Write(p)
	if err != nil {
		cw.writeErr = true
	}
	return n, err
}

// Flush sends what was written so far to the client.
func (cw *captureWriter) Flush() { _ = cw.FlushError() }

// FlushError is Flush that reports the client writer's error, for
// http.ResponseController. A flushed response may be a stream: the
// requests waiting for it stop waiting, and anything written after the
// flush makes it one, which is not stored.
func (cw *captureWriter) FlushError() error {
	if cw.intercepted != 0 {
		return nil
	}
	if cw.hijacked {
		return http.ErrHijacked
	}
	if !cw.wrote {
		cw.WriteHeader(http.StatusOK)
	}
	cw.flushed = true
	cw.unshare()
	return http.NewResponseController(cw.w).Flush()
}

// hijack takes the connection over from the client's writer; the response
// is then never stored nor shared.
func (cw *captureWriter) hijack() (net.Conn, *bufio.ReadWriter, error) {
	if cw.intercepted != 0 {
		return nil, nil, errIntercepted
	}
	conn, brw, err := http.NewResponseController(cw.w).Hijack()
	if err != nil {
		return conn, brw, err
	}
	cw.hijacked = true
	cw.giveUp()
	return conn, brw, nil
}

// giveUp drops the copy of a response that cannot be stored after all.
func (cw *captureWriter) giveUp() {
	cw.storable, cw.body, cw.header = false, nil, nil
	cw.unshare()
}

// unshare lets the requests waiting for this response go, once.
func (cw *captureWriter) unshare() {
	if f := cw.release; f != nil {
		cw.release = nil
		f()
	}
}

// result returns the captured response, or nil when it must not be stored.
func (cw *captureWriter) result() *storedResponse {
	if !cw.wrote {
		cw.cfg.takeTags(cw.w.Header()) // net/http sends an empty 200 with the headers set
	}
	if !cw.wrote || !cw.storable || cw.writeErr || cw.hijacked {
		return nil
	}
	h := cw.header
	// A declared length the body does not match means a cut response.
	if cl := h.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(cw.body)) {
		return nil
	}
	// Trailers set after the body cannot be replayed.
	for k := range cw.w.Header() {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return nil
		}
	}
	h.Del("Content-Length")
	// Sniff the type as net/http does, unless the client got one (maybe set
	// outside the cache, which then sets it on a HIT too).
	if _, ok := h["Content-Type"]; !ok && !cw.hadType && len(cw.body) > 0 && h.Get("Content-Encoding") == "" {
		h.Set("Content-Type", http.DetectContentType(cw.body))
	}
	p := cw.plan
	return &storedResponse{status: cw.status, ttl: p.keep, fresh: p.fresh, age: p.age, swr: p.swr, sie: p.sie, header: h, body: cw.body, tags: cw.tags}
}

// errIntercepted is the error of a hijack after the cache kept the
// response from the client.
var errIntercepted = errors.New("httpcache: the response was replaced by a stored one")

// hijackWriter is a captureWriter that is also an http.Hijacker.
type hijackWriter struct{ *captureWriter }

// Hijack takes the connection over; see http.Hijacker.
func (hw hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) { return hw.hijack() }

// canHijack reports whether http.ResponseController can hijack w: w, or a
// writer it unwraps to, is an http.Hijacker.
func canHijack(w http.ResponseWriter) bool {
	for range 32 { // a bound against a cycle of Unwraps
		switch v := w.(type) {
		case http.Hijacker:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return false
		}
	}
	return false
}

// discardWriter is the client of a refresh: it keeps headers
// and drops the body.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
