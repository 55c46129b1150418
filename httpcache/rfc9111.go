package httpcache

// The rules of a shared cache, in one place: RFC 9111 (HTTP Caching),
// RFC 9213 (Targeted Cache-Control: CDN-Cache-Control) and RFC 5861
// (stale-while-revalidate, stale-if-error). The middleware asks two
// questions of a response: may it be stored, and for how long is it fresh
// (responseFreshness); the rest of the package turns the answer into a
// stored entry (see config.plan).

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxDeltaSeconds is the largest delta-seconds value used: RFC 9111 §1.2.2
// says a cache receiving a larger one uses 2^31.
const maxDeltaSeconds = 1 << 31

// ccDirective is one directive of a Cache-Control style list.
type ccDirective struct {
	value    string
	hasValue bool
	quoted   bool // the value was a quoted-string
	bad      bool // the directive did not parse (RFC 9110 §5.6.2 syntax)
}

// directives is a parsed Cache-Control (or CDN-Cache-Control) field:
// lower-case names, the first occurrence of each (RFC 9111 §4.2.1: "either
// the first occurrence should be used or the response should be considered
// stale").
type directives map[string]ccDirective

func (d directives) has(name string) bool { _, ok := d[name]; return ok }

// parseCacheControl parses the lines of a Cache-Control field (RFC 9111
// §5.2, list syntax of RFC 9110 §5.6.1): comma-separated directives,
// `token [ "=" ( token / quoted-string ) ]`, names case-insensitive. A
// comma inside a quoted-string does not split (so `ext="max-age=1, x"` is
// one directive). A directive with a malformed value (`max-age =3600`,
// `max-age= 3600`, an unterminated quote) is kept, marked bad.
func parseCacheControl(lines []string) directives {
	d := directives{}
	for _, line := range lines {
		s := line
		for len(s) > 0 {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			i := 0
			for i < len(s) && isTokenChar(s[i]) {
				i++
			}
			name := strings.ToLower(s[:i])
			s = s[i:]
			dir := ccDirective{bad: name == ""}
			if strings.HasPrefix(s, "=") {
				s = s[1:]
				dir.hasValue = true
				if strings.HasPrefix(s, `"`) {
					v, rest, ok := quotedString(s)
					dir.value, dir.quoted, dir.bad = v, true, dir.bad || !ok
					s = rest
				} else {
					j := 0
					for j < len(s) && isTokenChar(s[j]) {
						j++
					}
					dir.value, dir.bad = s[:j], dir.bad || j == 0
					s = s[j:]
				}
			}
			// Only optional whitespace may come before the next comma.
			rest := strings.TrimLeft(s, " \t")
			if rest != "" && rest[0] != ',' {
				dir.bad = true
				rest = skipToComma(rest)
			}
			s = rest
			if _, seen := d[name]; !seen && name != "" {
				d[name] = dir
			}
		}
	}
	return d
}

// quotedString reads a quoted-string (RFC 9110 §5.6.4) at the start of s.
func quotedString(s string) (value, rest string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), "", false
}

// skipToComma returns s from its next comma outside a quoted-string.
func skipToComma(s string) string {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			return s[i:]
		}
	}
	return ""
}

// deltaSeconds reads a delta-seconds directive value (RFC 9111 §1.2.2):
// one or more digits, leading zeros allowed, capped at 2^31. The token
// form is the standard one; a quoted-string holding digits is accepted too
// (§5.2: "recipients ... ought to accept" it). Anything else (a sign, a
// decimal point, single quotes, no value) is invalid.
func deltaSeconds(d ccDirective) (int64, bool) {
	if !d.hasValue || d.bad || d.value == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(d.value); i++ {
		c := d.value[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < maxDeltaSeconds {
			n = n*10 + int64(c-'0')
		}
	}
	return min(n, maxDeltaSeconds), true
}

// sfKey matches a Structured Field dictionary key (RFC 8941 §3.2).
var sfKey = regexp.MustCompile(`^[a-z*][a-z0-9_\-.*]*$`)

// parseCDNCacheControl parses CDN-Cache-Control (RFC 9213 §2.1), a
// Structured Field Dictionary (RFC 8941). ok is false when the field is
// absent or does not parse as a dictionary, or when a directive it uses
// here has a value of the wrong type (max-age and the stale windows are
// integers, the others booleans): RFC 9213 §2.1 says a cache then ignores
// the whole field, and uses Cache-Control.
func parseCDNCacheControl(lines []string) (directives, bool) {
	if len(lines) == 0 {
		return nil, false
	}
	d := directives{}
	for _, line := range lines {
		for member := range strings.SplitSeq(line, ",") {
			member = strings.Trim(member, " \t")
			if member == "" {
				return nil, false // an empty member is a parse failure
			}
			member, _, _ = strings.Cut(member, ";") // parameters are ignored
			name, value, hasValue := strings.Cut(member, "=")
			if !sfKey.MatchString(name) {
				return nil, false
			}
			dir := ccDirective{value: value, hasValue: hasValue}
			if hasValue && !sfItem(value) {
				return nil, false
			}
			switch name {
			case "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error":
				if !sfInteger(value) || strings.HasPrefix(value, "-") {
					return nil, false
				}
			case "no-store", "no-cache", "private", "must-revalidate", "proxy-revalidate", "public":
				if hasValue && value != "?1" && value != "?0" {
					return nil, false
				}
				if value == "?0" {
					continue // explicitly false
				}
			}
			if _, seen := d[name]; !seen {
				d[name] = dir
			}
		}
	}
	return d, true
}

var (
	sfIntegerRe = regexp.MustCompile(`^-?[0-9]{1,15}$`)
	sfItemRe    = regexp.MustCompile(`^(-?[0-9]{1,15}(\.[0-9]{1,3})?|"([\x20-\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"|[A-Za-z*][!#$%&'*+\-.^_` + "`" + `|~0-9A-Za-z:/]*|\?[01]|:[A-Za-z0-9+/=]*:)$`)
)

func sfInteger(v string) bool { return sfIntegerRe.MatchString(v) }
func sfItem(v string) bool    { return sfItemRe.MatchString(v) }

// parseAge reads the Age field (RFC 9111 §5.1): delta-seconds, the first
// value when the field has several (in one line or several), 2^31 when
// larger. ok is false when it is absent or invalid (negative, a fraction,
// not a number), in which case it is ignored.
func parseAge(lines []string) (int64, bool) {
	if len(lines) == 0 {
		return 0, false
	}
	first, _, _ := strings.Cut(lines[0], ",")
	return deltaSeconds(ccDirective{value: strings.Trim(first, " \t"), hasValue: true})
}

// httpDateRe are the three date formats a recipient accepts (RFC 9110
// §5.6.7): IMF-fixdate, and the obsolete RFC 850 and asctime formats,
// each exactly: one space where one is due, two-digit hours, "GMT".
// Day and month names are matched without regard to case.
var (
	imfFixdateRe = regexp.MustCompile(`^(?i:(Mon|Tue|Wed|Thu|Fri|Sat|Sun)), [0-9]{2} (?i:(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} (?i:GMT)$`)
	rfc850Re     = regexp.MustCompile(`^(?i:(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)), [0-9]{2}-(?i:(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec))-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} (?i:GMT)$`)
	asctimeRe    = regexp.MustCompile(`^(?i:(Mon|Tue|Wed|Thu|Fri|Sat|Sun)) (?i:(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)) ([0-9]{2}| [0-9]) [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$`)
)

// parseHTTPDate parses one HTTP-date (RFC 9110 §5.6.7). Unlike
// http.ParseTime it is strict: "UTC" or another zone, a one-digit hour,
// a two-digit year in the IMF-fixdate form, a missing comma or a doubled
// space make the date invalid. An RFC 850 two-digit year more than 50
// years in the future is taken as in the past.
func parseHTTPDate(s string, now time.Time) (time.Time, bool) {
	canon := func(s string) string { // "thu, 18 aug 2050 ... gmt" → Go's layout case
		b := []byte(strings.ToLower(s))
		upper := true
		for i, c := range b {
			if upper && 'a' <= c && c <= 'z' {
				b[i] = c - 'a' + 'A'
			}
			upper = c == ' ' || c == '-' || c == ','
		}
		return strings.Replace(string(b), "Gmt", "GMT", 1)
	}
	switch {
	case imfFixdateRe.MatchString(s):
		t, err := time.Parse(http.TimeFormat, canon(s))
		return t, err == nil
	case rfc850Re.MatchString(s):
		t, err := time.Parse("Monday, 02-Jan-06 15:04:05 GMT", canon(s))
		if err != nil {
			return time.Time{}, false
		}
		// Go maps 69-99 to 19xx and 00-68 to 20xx; RFC 9110 wants the
		// year that is not more than 50 years in the future.
		for t.After(now.AddDate(50, 0, 0)) {
			t = t.AddDate(-100, 0, 0)
		}
		for t.AddDate(100, 0, 0).Before(now.AddDate(50, 0, 1)) {
			t = t.AddDate(100, 0, 0)
		}
		return t, true
	case asctimeRe.MatchString(s):
		t, err := time.Parse(time.ANSIC, canon(s))
		return t, err == nil
	}
	return time.Time{}, false
}

// freshness is what RFC 9111 says about a response for a shared cache.
type freshness struct {
	// storable is false when the response must not be stored (§3, §5.2.2):
	// no-store, private or no-cache, in CDN-Cache-Control when it is
	// present and valid (RFC 9213 §2.1), otherwise in Cache-Control.
	storable bool
	// explicit is true when the response gives its freshness lifetime
	// (§4.2.1): CDN-Cache-Control max-age, s-maxage, max-age or Expires.
	// A present but invalid max-age, s-maxage or Expires counts, with a
	// lifetime of 0 (§5.2.2.1, §5.3: treat as stale).
	explicit bool
	lifetime time.Duration // the explicit freshness lifetime
	// age is the corrected initial age (§4.2.3): the larger of the Age the
	// response came with and its apparent age, now − Date.
	age time.Duration
	// swr and sie are the response's stale-while-revalidate and
	// stale-if-error windows (RFC 5861 §3, §4); -1 when absent. They are 0
	// when the response forbids serving it stale: must-revalidate,
	// proxy-revalidate or s-maxage (§5.2.2.2, §5.2.2.8, §5.2.2.10).
	swr, sie time.Duration
	// noStale is true for must-revalidate, proxy-revalidate and s-maxage.
	noStale bool
}

// responseFreshness applies RFC 9111 to a response header received at
// now, as a shared cache does.
func responseFreshness(h http.Header, now time.Time) freshness {
	f := freshness{storable: true, swr: -1, sie: -1}
	cc := parseCacheControl(headerValues(h, "Cache-Control"))
	// RFC 9213 §2.1: a cache that a valid CDN-Cache-Control targets uses
	// it, and ignores Cache-Control for storage and freshness.
	if cdn, ok := parseCDNCacheControl(headerValues(h, "Cdn-Cache-Control")); ok {
		cc = cdn
	}
	// §5.2.2.3, §5.2.2.5, §5.2.2.7: no-store and private (a shared
	// cache); no-cache (this cache does not store what it would have to
	// revalidate on every use). The qualified forms (no-cache="field")
	// count like the unqualified ones: the conservative reading.
	if cc.has("no-store") || cc.has("private") || cc.has("no-cache") {
		f.storable = false
	}

	// §4.2.1: s-maxage (shared caches), then max-age, then Expires − Date.
	date, hasDate := time.Time{}, false
	if ds := headerValues(h, "Date"); len(ds) == 1 {
		date, hasDate = parseHTTPDate(ds[0], now)
	}
	switch {
	case cc.has("s-maxage"):
		f.explicit = true
		if n, ok := deltaSeconds(cc["s-maxage"]); ok {
			f.lifetime = time.Duration(n) * time.Second
		}
	case cc.has("max-age"):
		f.explicit = true
		if n, ok := deltaSeconds(cc["max-age"]); ok {
			f.lifetime = time.Duration(n) * time.Second
		}
	default:
		if es := headerValues(h, "Expires"); len(es) > 0 {
			// §5.3: an invalid date, "0" included, or several lines,
			// means already expired.
			f.explicit = true
			if len(es) == 1 {
				if exp, ok := parseHTTPDate(es[0], now); ok {
					base := now
					if hasDate {
						base = date
					}
					f.lifetime = max(exp.Sub(base), 0)
				}
			}
		}
	}

	// §4.2.3: corrected_initial_age = max(apparent_age, corrected_age_value),
	// the response delay taken as 0 (the handler runs in this process).
	if n, ok := parseAge(headerValues(h, "Age")); ok {
		f.age = time.Duration(n) * time.Second
	}
	if hasDate {
		f.age = max(f.age, now.Sub(date).Truncate(time.Second))
	}

	// RFC 5861 §3, §4, with RFC 9111 §4.2.4: a response that must be
	// revalidated once stale is never served stale.
	f.noStale = cc.has("must-revalidate") || cc.has("proxy-revalidate") || cc.has("s-maxage")
	if n, ok := deltaSeconds(cc["stale-while-revalidate"]); ok {
		f.swr = time.Duration(n) * time.Second
	}
	if n, ok := deltaSeconds(cc["stale-if-error"]); ok {
		f.sie = time.Duration(n) * time.Second
	}
	return f
}

// staleWindow combines an option's stale window with the response's
// directive of the same name (RFC 5861): the directive alone opens a
// window when the option is 0; when both are set, the smaller wins; a
// response that must be revalidated (noStale) has none.
func staleWindow(option, directive time.Duration, noStale bool) time.Duration {
	switch {
	case noStale:
		return 0
	case directive < 0:
		return option
	case option <= 0:
		return directive
	default:
		return min(option, directive)
	}
}

// hasValidator reports whether a stored header carries a validator the
// handler can check (RFC 9110 §8.8): its own ETag or a Last-Modified.
func hasValidator(h http.Header, generatedETag bool) bool {
	return !generatedETag && h.Get("Etag") != "" || h.Get("Last-Modified") != ""
}

// notUpdatedBy304 are the stored headers a 304 does not replace (RFC 9111
// §3.2, §4.3.4): the length of the stored body is the stored body's.
var notUpdatedBy304 = map[string]bool{
	"Content-Length": true,
}

// freshenHeader returns the stored header h updated with the header of a
// 304 Not Modified that revalidated it (RFC 9111 §4.3.4): each field the
// 304 carries replaces the stored one, except Content-Length.
func freshenHeader(h, notModified http.Header) http.Header {
	out := h.Clone()
	for k, vs := range notModified {
		if !notUpdatedBy304[k] {
			out[k] = vs
		}
	}
	return out
}

// cacheStatus is the Cache-Status member of this cache (RFC 9211 §2):
// "cachette; hit; ttl=42", "cachette; fwd=miss; stored", ... params are
// the parameters after the name, each starting with "; ".
func cacheStatus(params string) string { return "cachette" + params }

// ttlParam is the ttl parameter of Cache-Status (RFC 9211 §2.5): the
// freshness left, in whole seconds, negative once stale.
func ttlParam(left time.Duration) string {
	return "; ttl=" + strconv.FormatInt(int64(left/time.Second), 10)
}

// entryPlan is how a response is stored, from its header and the Options.
type entryPlan struct {
	ok       bool          // store it
	fresh    time.Duration // how long it is fresh from storing
	age      time.Duration // its age when stored
	keep     time.Duration // how long it stays in the store
	swr, sie time.Duration // its stale windows, after fresh
}

// plan applies the freshness rules to a response header received at now
// (the status and the other storage rules are checked by
// responseStorable):
//
//   - fresh is the smaller of Options.TTL and the explicit freshness
//     lifetime less the age it already has (RFC 9111 §4.2.1, §4.2.3); a
//     response without explicit freshness is fresh for Options.TTL (the
//     heuristic freshness of this cache, §4.2.2). When fresh is not
//     positive (max-age=0, an Expires in the past, an Age beyond the
//     lifetime), the response is not stored.
//   - The stale windows are the Options' and the response's (staleWindow).
//   - The entry stays in the store for fresh plus the larger window, and at
//     least Options.TTL when the handler gave a validator (its own ETag or
//     Last-Modified), so that once stale it can be revalidated with a
//     conditional request (§4.3) instead of computed again.
func (c *config) plan(h http.Header, now time.Time) entryPlan {
	f := responseFreshness(h, now)
	if !f.storable {
		return entryPlan{}
	}
	p := entryPlan{ok: true, fresh: c.TTL, age: f.age}
	if f.explicit {
		p.fresh = min(c.TTL, f.lifetime-f.age)
	}
	if p.fresh <= 0 {
		return entryPlan{}
	}
	p.fresh = time.Duration(ttlMillis(p.fresh)) * time.Millisecond
	p.age = min(p.age, maxDeltaSeconds*time.Second)
	p.swr = min(staleWindow(c.StaleWhileRevalidate, f.swr, f.noStale), maxEntryTTL)
	p.sie = min(staleWindow(c.StaleIfError, f.sie, f.noStale), maxEntryTTL)
	p.keep = p.fresh + max(p.swr, p.sie)
	if hasValidator(h, false) {
		p.keep = max(p.keep, c.TTL)
	}
	p.keep = min(p.keep, maxEntryTTL)
	return p
}

// noCache reports a request the cache must not answer nor store: a method
// other than GET and HEAD (RFC 9111 §2: this cache keys GET and HEAD
// only), or a client asking for no-cache or no-store (§5.2.1.4,
// §5.2.1.5), in Cache-Control or in Pragma (§5.4).
func noCache(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return true
	}
	return hasDirective(r.Header["Cache-Control"], "no-cache", "no-store") ||
		hasDirective(r.Header["Pragma"], "no-cache")
}

// hasDirective reports whether a Cache-Control (or Pragma) value list holds
// one of the directives, in any case, with or without an argument.
func hasDirective(values []string, directives ...string) bool {
	for _, line := range values {
		for d := range strings.SplitSeq(line, ",") {
			name, _, _ := strings.Cut(d, "=")
			name = strings.TrimSpace(name)
			for _, want := range directives {
				if strings.EqualFold(name, want) {
					return true
				}
			}
		}
	}
	return false
}

// conditionalHeaders are the request headers that make a request
// conditional (RFC 9110 §13.1).
var conditionalHeaders = []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"}

// setValidators adds the conditions that revalidate resp (RFC 9111 §4.3.1).
func setValidators(h http.Header, resp *storedResponse) {
	if etag := resp.header.Get("Etag"); etag != "" && !resp.genETag {
		h.Set("If-None-Match", etag)
	}
	if lm := resp.header.Get("Last-Modified"); lm != "" {
		h.Set("If-Modified-Since", lm)
	}
}

// notModifiedHeaders are the headers a 304 carries (RFC 9110, 15.4.5).
var notModifiedHeaders = []string{"Cache-Control", "Content-Location", "Date", "Etag", "Expires", "Vary"}

// notModified evaluates the client's conditions against a stored
// response header (RFC 9110 §13.2.2): If-None-Match when present, else
// If-Modified-Since, compared with the stored Last-Modified, or without
// one the stored Date (RFC 9111 §4.3.2). An invalid date is ignored.
func notModified(r *http.Request, stored http.Header) bool {
	if inm := r.Header["If-None-Match"]; len(inm) > 0 {
		return etagMatch(inm, headerGet(stored, "Etag"))
	}
	ims := headerGet(r.Header, "If-Modified-Since")
	if ims == "" {
		return false
	}
	now := time.Now()
	since, ok := parseHTTPDate(ims, now)
	if !ok {
		return false
	}
	lm := stored.Get("Last-Modified")
	if lm == "" {
		lm = stored.Get("Date")
	}
	modified, ok := parseHTTPDate(lm, now)
	return ok && !modified.After(since)
}

// etagMatch applies If-None-Match to etag with the weak comparison (RFC
// 9110, 13.1.2): "*" matches any, and W/ prefixes are ignored.
func etagMatch(ifNoneMatch []string, etag string) bool {
	if etag == "" || len(ifNoneMatch) == 0 {
		return false
	}
	etag = strings.TrimPrefix(etag, "W/")
	for _, line := range ifNoneMatch {
		for t := range strings.SplitSeq(line, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
	}
	return false
}
