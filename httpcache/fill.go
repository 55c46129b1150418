package httpcache

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// fill answers a miss. The first request for key in this process (the
// leader) fills it; requests that arrive meanwhile wait for its response
// and are answered with it as HITs, unless it could not be stored, in
// which case each runs the handler itself. They stop waiting as soon as
// the leader's response turns out not to be storable, or to be a stream
// (flushed, hijacked), not when it ends. When the leader's client went
// away before it had a response, the waiters start a new flight, so that
// one of them fills the key as a leader would. A waiter whose own client
// went away leaves without running the handler (see compute). stale,
// when not nil, is the stale stored response: the handler is asked to
// revalidate it (see compute).
func (h *handler) fill(w http.ResponseWriter, r *http.Request, base, key string, stale *hit) {
	for r.Context().Err() == nil {
		f, leader := h.flights.join(key)
		if leader {
			h.leadFlight(w, r, base, key, f, stale)
			return
		}
		select {
		case <-f.done:
			if f.resp != nil && sameVariant(f, base, r) {
				serveHit(w, r, &hit{resp: f.resp, resident: max(time.Since(f.stored), 0)}, StatusHit, "; hit; collapsed")
				return
			}
			if f.abandoned {
				continue
			}
		case <-r.Context().Done():
		}
		h.compute(w, r, base, true, nil, stale)
		return
	}
}

// leadFlight fills key as the leader of flight f.
func (h *handler) leadFlight(w http.ResponseWriter, r *http.Request, base, key string, f *flight, stale *hit) {
	var (
		resp   *storedResponse
		k      string
		stored time.Time
	)
	defer func() { // also when the handler panics: the others run it themselves
		h.flights.finish(key, f)
		f.settle(resp, k, stored, resp == nil && r.Context().Err() != nil)
	}()
	resp, k, stored = h.lead(w, r, base, key, f, stale)
}

// sameVariant reports whether the response f holds answers r too: always,
// unless it varies on request headers whose values differ.
func sameVariant(f *flight, base string, r *http.Request) bool {
	names, _ := varyNames(f.resp.header)
	if len(names) == 0 {
		return true
	}
	return varyKey(base, names, r) == f.key
}

// lead fills key across processes: it takes the store lock lock:<key>, or
// waits for the holder's response, and computes when it has the lock or
// waited LockTTL in vain. It returns what it served when that can be
// shared, with the key it is stored under and the time it was stored. As
// soon as its response turns out not to be shareable, the waiters of f
// are let go and the store lock is released, so that nobody waits for a
// stream.
func (h *handler) lead(w http.ResponseWriter, r *http.Request, base, key string, f *flight, stale *hit) (*storedResponse, string, time.Time) {
	ctx := r.Context()
	letGo := func() { f.settle(nil, "", time.Time{}, false) }
	tok, locked, err := h.lock(ctx, key)
	if err != nil {
		h.storeError(ctx, "locking", key, err)
		h.compute(w, r, base, false, letGo, stale)
		return nil, "", time.Time{}
	}
	// After a recent store error the lock may be an orphan: compute
	// rather than wait for it (see locksSuspect).
	if !locked && !h.locksSuspect() {
		found, k, t, ok := h.await(ctx, base, key, r)
		if found != nil {
			serveHit(w, r, found, StatusHit, "")
			return found.resp, k, time.Now().Add(-found.resident)
		}
		tok, locked = t, ok
	}
	if locked {
		unlock := sync.OnceFunc(func() { h.unlock(ctx, key, tok) })
		defer unlock()
		// Someone may have stored it between our lookup and the lock.
		found, k, err := h.lookup(ctx, base, r)
		switch {
		case err != nil:
			// The store failed since the lock: like any store error, it
			// pauses the store, and this request does not write to it
			// either (on a hung store, one more timeout).
			h.storeError(ctx, "reading", key, err)
			h.compute(w, r, base, false, func() { letGo(); unlock() }, stale)
			return nil, "", time.Time{}
		case found != nil:
			if found.fresh() {
				serveHit(w, r, found, StatusHit, "")
				return found.resp, k, time.Now().Add(-found.resident)
			}
			stale = found
		}
		return h.compute(w, r, base, true, func() { letGo(); unlock() }, stale)
	}
	return h.compute(w, r, base, true, letGo, stale)
}

// Polling intervals while another process fills a key.
const (
	pollFirst = 25 * time.Millisecond
	pollMax   = 250 * time.Millisecond
)

// await polls the store while another process holds the lock of key, for
// up to LockTTL. It returns the response once stored, or the lock when the
// holder released it without storing one, or neither when the time is up
// (or the store fails, or ctx ends).
func (h *handler) await(ctx context.Context, base, key string, r *http.Request) (*hit, string, string, bool) {
	deadline := time.Now().Add(h.cfg.LockTTL)
	wait := pollFirst
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, "", "", false
		case <-timer.C:
		}
		found, k, err := h.lookup(ctx, base, r)
		if err != nil {
			h.storeError(ctx, "reading", key, err)
			return nil, "", "", false
		}
		if found != nil && found.fresh() {
			return found, k, "", false
		}
		tok, ok, err := h.lock(ctx, key)
		if err != nil {
			h.storeError(ctx, "locking", key, err)
			return nil, "", "", false
		}
		if ok {
			return nil, "", tok, true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, "", "", false
		}
		wait = min(wait*3/2, pollMax, left)
		timer.Reset(wait)
	}
}

// compute runs the handler for r, streaming its response to w while
// capturing it, and stores the response when it is storable (and store is
// true). It returns the stored response, its key and the time it was
// stored, or nil. release, when not nil, is called as soon as the response
// turns out not to be shareable (see captureWriter.release).
// A HEAD request runs the handler as a GET, so the entry has the body a
// GET needs; the HEAD client gets the headers only.
//
// stale, when not nil, is the stale stored response for r. When it has a
// validator of the handler's (its own ETag, Last-Modified), the handler
// gets a conditional request (If-None-Match, If-Modified-Since, in place
// of the client's), and a 304 freshens the stored response (RFC 9111
// §4.3.4), which then answers the client. Within its stale-if-error
// window, a 5xx from the handler, or a panic before it wrote anything, is
// answered with the stale response (STALE) instead (RFC 5861 §4).
//
// A request whose context ended (a client that went away while waiting
// for another request's response) returns at once: the handler does not
// run and nothing is written.
func (h *handler) compute(w http.ResponseWriter, r *http.Request, base string, store bool, release func(), stale *hit) (*storedResponse, string, time.Time) {
	ctx := r.Context()
	if ctx.Err() != nil {
		h.log.DebugContext(ctx, "httpcache: client gone before the handler ran", "path", r.URL.Path)
		return nil, "", time.Time{}
	}
	head := r.Method == http.MethodHead
	req, cond := handlerRequest(r, stale)
	w.Header().Set(StatusHeader, StatusMiss)
	cw := newCaptureWriter(w, h.cfg, head, store)
	cw.release = release
	cw.cond = cond
	cw.staleOK = stale != nil && stale.inSIE()
	cw.fwd = "uri-miss"
	if stale != nil {
		cw.fwd = "stale"
	}
	start := time.Now()
	recovered := h.serveNext(cw, req, cw.staleOK)
	elapsed := time.Since(start)
	switch {
	case recovered || cw.intercepted >= 500:
		if recovered {
			cw.resetHeader() // what the handler set before it panicked
		}
		serveHit(w, r, stale, StatusStale, "; fwd=stale; fwd-status="+strconv.Itoa(max(cw.intercepted, 500))+ttlParam(stale.freshLeft()))
		return nil, "", time.Time{}
	case cw.intercepted == http.StatusNotModified:
		resp, ok := h.freshen(stale.resp, cw.interHeader, time.Now())
		cs := "; fwd=stale; fwd-status=304"
		if !ok || !store {
			serveHit(w, r, &hit{resp: resp}, StatusMiss, cs)
			return nil, "", time.Time{}
		}
		key, err := h.store(ctx, base, r, resp)
		if err != nil {
			h.storeError(ctx, "writing", key, err)
			serveHit(w, r, &hit{resp: resp}, StatusMiss, cs)
			return nil, "", time.Time{}
		}
		serveHit(w, r, &hit{resp: resp}, StatusMiss, cs+"; stored")
		return resp, key, time.Now()
	}
	resp := cw.result()
	if resp == nil || !store || ctx.Err() != nil {
		// Not storable, or the client left and the handler may have cut its answer short.
		return nil, "", time.Time{}
	}
	resp.compute = elapsed
	key, err := h.store(ctx, base, r, resp)
	if err != nil {
		h.storeError(ctx, "writing", key, err)
		return nil, "", time.Time{}
	}
	return resp, key, time.Now()
}

// handlerRequest returns the request the handler gets for r: a GET for a
// HEAD, and, when stale has validators of the handler's, a conditional
// request with them in place of the client's conditions. cond reports
// the latter. r itself is not modified.
func handlerRequest(r *http.Request, stale *hit) (req *http.Request, cond bool) {
	cond = stale != nil && hasValidator(stale.resp.header, stale.resp.genETag)
	if r.Method != http.MethodHead && !cond {
		return r, false
	}
	req = r.WithContext(r.Context()) // a shallow copy
	req.Method = http.MethodGet
	if cond {
		req.Header = r.Header.Clone()
		for _, k := range conditionalHeaders {
			req.Header.Del(k)
		}
		setValidators(req.Header, stale.resp)
	}
	return req, cond
}

// serveNext runs the handler into cw. With recoverable, a panic is
// recovered and reported (true) when the client has had nothing yet, so
// that a stale response can answer instead; otherwise it goes on.
func (h *handler) serveNext(cw *captureWriter, req *http.Request, recoverable bool) (recovered bool) {
	if recoverable {
		defer func() {
			if cw.wrote && cw.intercepted == 0 {
				return // the client has a response under way: let the panic go on
			}
			if v := recover(); v != nil {
				h.log.ErrorContext(req.Context(), "httpcache: handler panicked, serving the stale response",
					"path", req.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				recovered = true
			}
		}()
	}
	h.next.ServeHTTP(cw.writer(), req)
	return false
}

// freshen returns old updated by the header of a 304 Not Modified that
// revalidated it at now (RFC 9111 §4.3.4), planned afresh from the
// updated header; ok is false when that header forbids storing it.
func (h *handler) freshen(old *storedResponse, notModified http.Header, now time.Time) (*storedResponse, bool) {
	hdr := freshenHeader(old.header, notModified)
	if _, ok := notModified["Date"]; !ok {
		hdr.Set("Date", now.UTC().Format(http.TimeFormat)) // the 304's date, as net/http would send it
	}
	// The tags stay those the response was stored with; a tags header on
	// the 304 is not shown to clients either (purge.go).
	_, _ = h.cfg.takeTags(hdr)
	resp := &storedResponse{status: old.status, header: hdr, body: old.body, genETag: old.genETag, compute: old.compute, tags: old.tags}
	p := h.cfg.plan(hdr, now)
	if !p.ok {
		resp.fresh, resp.ttl = time.Millisecond, time.Millisecond
		return resp, false
	}
	resp.ttl, resp.fresh, resp.age, resp.swr, resp.sie = p.keep, p.fresh, p.age, p.swr, p.sie
	return resp, true
}

// flightGroup coalesces the concurrent misses of one key in this process.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight
}

// flight is one fill in progress. Its result fields are written once, by
// settle, before done is closed, and only read after. The leader settles
// it early, while its response is still being written, when that response
// turns out not to be shareable; the flight then stays in its group until
// the leader finishes, and requests that join it meanwhile run the handler
// themselves at once.
type flight struct {
	done      chan struct{}
	once      sync.Once
	resp      *storedResponse // nil when the response cannot be shared
	key       string
	stored    time.Time // when resp was stored
	abandoned bool      // no response: the leader's client went away
	joined    int       // requests that joined the flight after its leader; under the group's mutex
}

// join returns the flight of key, and whether the caller leads it.
func (g *flightGroup) join(key string) (*flight, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		f.joined++
		return f, false
	}
	if g.m == nil {
		g.m = make(map[string]*flight)
	}
	f := &flight{done: make(chan struct{})}
	g.m[key] = f
	return f, true
}

// waiting returns how many requests joined the flight of key in progress.
func (g *flightGroup) waiting(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f.joined
	}
	return 0
}

// finish removes f, whose leader is done, from the group.
func (g *flightGroup) finish(key string, f *flight) {
	g.mu.Lock()
	if g.m[key] == f {
		delete(g.m, key)
	}
	g.mu.Unlock()
}

// settle gives the flight's outcome to its waiters; only the first call counts.
func (f *flight) settle(resp *storedResponse, key string, stored time.Time, abandoned bool) {
	f.once.Do(func() {
		f.resp, f.key, f.stored, f.abandoned = resp, key, stored, abandoned
		close(f.done)
	})
}
