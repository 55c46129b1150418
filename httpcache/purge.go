package httpcache

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cachette-go/cachette"
)

// Invalidation, purge and tags.
//
// None of them needs to list the store's keys, so they work on every
// backend, memcached included, with Get, Set and Delete alone:
//
//   - A response without Vary lives under its base key; dropping that key
//     drops it.
//   - A response with Vary lives under a variant key, and the vary marker
//     under the base key holds a random epoch; the response records the
//     epoch of the marker it was stored under, and a lookup that finds a
//     different epoch (or no marker) treats it as a miss. Dropping the
//     marker therefore drops every variant at once: the next response
//     stored creates a marker with a fresh epoch. An epoch is only ever
//     written fresh (a store that finds a live marker with the same names
//     reuses its epoch and does not write it back), so a store that read
//     the old marker before a purge can never bring its variants back.
//     The dropped variants stay in the store, unreachable, until their
//     TTL ends (or the store evicts them).
//   - Tags are cachette's own (cachette.WithTags, Cache.InvalidateTags):
//     a tagged response is stored with its tags, namespaced by
//     Options.Prefix (coreTag), and the cache records the version of each
//     tag in the entry and checks them on every read (FetchBytes), so that
//     PurgeTags is an InvalidateTags of the namespaced tags. A version is
//     never written back, so a response stored before PurgeTags returned
//     is never served after it, on any store.
//
// The races left only cost hits, never serve a purged response: two
// stores that create a marker at the same moment each write their own
// epoch, and the response stored with the epoch that lost is a miss the
// next time (it is replaced by the next store); tag versions behave the
// same way in cachette.

// maxTags bounds the tags of one response: a HIT reads one tag version
// per tag. A response with more is not stored. It is cachette's own bound
// of the tags of an entry.
const maxTags = 64

// newToken returns a fresh random token, 128 bits in URL-safe base64: the
// epoch of a vary marker. Tokens are never reused, so a value written once can never be written back by a late
// writer that read it before a purge.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Purge drops every response stored for r's URL: its host, path and
// query, keyed as the middleware keys a GET of it (with opts.Filter, only
// the filtered parameters count), in every Vary variant. r's method,
// headers and body do not matter. opts must be the Options of the
// middleware that stored the responses (Prefix and Filter make the key;
// TTL may be left zero here). It returns how many entries it removed from
// the store: 1 when the URL had a stored response, or a vary marker (whose
// variants are then never served again, and expire with their TTL), else
// 0. A URL whose query does not parse is never stored: 0, nil.
func Purge(ctx context.Context, c *cachette.Cache, opts Options, r *http.Request) (int, error) {
	cfg, err := purgeConfig(c, opts)
	if err != nil {
		return 0, err
	}
	base, ok := cfg.baseKey(r)
	if !ok {
		return 0, nil
	}
	removed, err := c.Clear(ctx, base)
	if removed {
		return 1, err
	}
	return 0, err
}

// PurgeTags drops every response stored with one of tags (the values of
// Options.TagsHeader, see there): after it returns, no request through a
// middleware with these opts is served a response stored before the call
// with one of those tags, on any store. opts must be the Options of the
// middleware (the Prefix counts; TTL may be left zero here). Empty tags
// are ignored. The responses stay in the store, never served, until their
// TTL ends.
func PurgeTags(ctx context.Context, c *cachette.Cache, opts Options, tags ...string) error {
	cfg, err := purgeConfig(c, opts)
	if err != nil {
		return err
	}
	var names []string
	for _, t := range tags {
		if t = strings.TrimSpace(t); t != "" {
			names = append(names, cfg.coreTag(t))
		}
	}
	if len(names) == 0 {
		return nil
	}
	if err := c.InvalidateTags(ctx, names...); err != nil {
		return fmt.Errorf("httpcache: purging tags: %w", err)
	}
	return nil
}

// purgeConfig is newConfig for Purge and PurgeTags: invalid options are an
// error rather than a panic, and a zero TTL is allowed.
func purgeConfig(c *cachette.Cache, opts Options) (cfg *config, err error) {
	if c == nil {
		return nil, errors.New("httpcache: purge needs a non-nil *cachette.Cache")
	}
	if opts.TTL == 0 {
		opts.TTL = time.Second // keys do not depend on it
	}
	defer func() {
		if v := recover(); v != nil {
			cfg, err = nil, fmt.Errorf("%v", v)
		}
	}()
	return newConfig(opts), nil
}

// coreTag is the cachette tag (cachette.WithTags) of the response tag
// tag: namespaced by the Prefix, so that the middlewares of two prefixes,
// and the cache's other users, have tags of their own.
func (c *config) coreTag(tag string) string {
	return c.Prefix + ":tag:" + tag
}

// coreTags is coreTag of each of tags.
func (c *config) coreTags(tags []string) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = c.coreTag(t)
	}
	return out
}

// parseTags returns the tags in the values of a TagsHeader, split on
// spaces and commas, sorted and de-duplicated.
func parseTags(values []string) []string {
	var tags []string
	for _, v := range values {
		tags = append(tags, strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })...)
	}
	slices.Sort(tags)
	return slices.Compact(tags)
}

// takeTags removes the TagsHeader (in any case) from h, which is about to
// be sent, and returns the tags it held. ok is false when there are more
// than maxTags: such a response is not stored.
func (c *config) takeTags(h http.Header) (tags []string, ok bool) {
	if c.TagsHeader == "-" {
		return nil, true
	}
	vs := headerValues(h, c.TagsHeader)
	for k := range h {
		if strings.EqualFold(k, c.TagsHeader) {
			delete(h, k)
		}
	}
	tags = parseTags(vs)
	if len(tags) > maxTags {
		return nil, false
	}
	return tags, true
}

// markerTTL is how long a vary marker lives: twice the longest TTL a
// response of this middleware is stored for, so that variants stored
// while it lives keep their full life; when it expires, the variants under
// it are misses and the next store creates a new one.
func (h *handler) markerTTL(ttl time.Duration) time.Duration {
	return min(2*max(ttl, h.cfg.TTL), maxEntryTTL)
}

// stamp prepares resp for storing under base: with Vary names, it takes the
// epoch of the live vary marker with the same names, or writes a new
// marker with a fresh epoch. (The versions of its tags are taken by
// cachette when it is stored, see handler.put.)
func (h *handler) stamp(ctx context.Context, base string, names []string, resp *storedResponse) error {
	if len(names) == 0 {
		return nil
	}
	e, _, err := h.fetch(ctx, base)
	if err != nil {
		return err
	}
	if e.vary != nil && slices.Equal(e.vary, names) {
		resp.epoch = e.epoch
		return nil
	}
	resp.epoch = newToken()
	return h.put(ctx, base, encodeVary(names, resp.epoch), h.markerTTL(resp.ttl), nil)
}

// current returns e when the response it holds may still be served: it
// was stored under the vary marker epoch (the empty string for a response
// stored without Vary). Otherwise it returns the zero entry, a miss. (A
// response whose tags were purged is a miss of FetchBytes already.)
func current(e entry, epoch string) entry {
	if e.resp.epoch != epoch {
		return entry{} // its vary marker was dropped (Purge, invalidation) or replaced
	}
	return e
}

// Invalidation (RFC 9111, 4.4).

// safeMethod reports a method that RFC 9110 (9.2.1) defines as safe. Any
// other method, registered or not, may change the resource.
func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// invalidate drops the stored responses of r's URL, and of the URLs its
// response's Location and Content-Location name when they are on r's host
// (RFC 9111, 4.4): r used an unsafe method and got a 2xx or 3xx. The
// keys are those of a GET of each URL. Store errors are logged.
func (h *handler) invalidate(r *http.Request, location, contentLocation string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.StoreTimeout)
	defer cancel()
	var keys []string
	add := func(u *url.URL, host string) {
		if key, ok := h.cfg.baseKey(&http.Request{Method: http.MethodGet, URL: u, Host: host}); ok && !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	add(r.URL, r.Host)
	for _, loc := range []string{location, contentLocation} {
		if loc == "" {
			continue
		}
		u, err := url.Parse(loc)
		if err != nil {
			continue
		}
		switch {
		case u.Host == "" && u.Scheme == "":
			add(r.URL.ResolveReference(u), r.Host) // relative: on r's host
		case (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, r.Host):
			add(u, r.Host)
		}
	}
	for _, key := range keys {
		if _, err := h.cache.Clear(ctx, key); err != nil {
			h.log.WarnContext(ctx, "httpcache: invalidation failed, the stored response may be served until it expires",
				"method", r.Method, "key", logKey(key), "error", err)
		}
	}
}

// passWriter is the writer of a request that goes to the handler without
// the cache (BYPASS, NO_CACHE, and the MISSes that skip the cache). It
// removes Options.TagsHeader from the response, and, for a request with
// an unsafe method, invalidates its URL when its status is 2xx or 3xx,
// before the status reaches the client: a client that reads after its
// own write does not get the old response from the cache.
type passWriter struct {
	w        http.ResponseWriter
	h        *handler
	r        *http.Request
	wrote    bool
	hijacked bool
}

// passWriterFor wraps w for pass; done must be called after the handler.
func (h *handler) passWriterFor(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *passWriter) {
	pw := &passWriter{w: w, h: h, r: r}
	if canHijack(w) {
		return passHijackWriter{pw}, pw
	}
	return pw, pw
}

func (pw *passWriter) Header() http.Header { return pw.w.Header() }

// Unwrap returns the client's writer, for http.ResponseController.
func (pw *passWriter) Unwrap() http.ResponseWriter { return pw.w }

func (pw *passWriter) WriteHeader(code int) {
	if !pw.wrote && !pw.hijacked && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		pw.final(code)
	}
	pw.w.WriteHeader(code)
}

// final handles the final status, once.
func (pw *passWriter) final(code int) {
	pw.wrote = true
	h := pw.w.Header()
	pw.h.cfg.takeTags(h)
	if !safeMethod(pw.r.Method) && code >= 200 && code < 400 {
		pw.h.invalidate(pw.r, h.Get("Location"), h.Get("Content-Location"))
	}
}

func (pw *passWriter) Write(p []byte) (int, error) {
	if !pw.wrote && !pw.hijacked {
		pw.final(http.StatusOK)
	}
	return pw.w.Write(p)
}

// Flush sends what was written so far to the client.
func (pw *passWriter) Flush() { _ = pw.FlushError() }

// FlushError is Flush that reports the client writer's error.
func (pw *passWriter) FlushError() error {
	if !pw.wrote && !pw.hijacked {
		pw.final(http.StatusOK)
	}
	return http.NewResponseController(pw.w).Flush()
}

// done is called when the handler returned: a handler that wrote nothing
// gets net/http's 200.
func (pw *passWriter) done() {
	if !pw.wrote && !pw.hijacked {
		pw.final(http.StatusOK)
	}
}

// passHijackWriter is a passWriter that is also an http.Hijacker. A
// hijacked response has no status the cache can see: it invalidates
// nothing.
type passHijackWriter struct{ *passWriter }

// Hijack takes the connection over; see http.Hijacker.
func (hw passHijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(hw.w).Hijack()
	if err == nil && !hw.wrote {
		hw.hijacked = true
	}
	return conn, brw, err
}
