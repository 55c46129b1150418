package httpcache

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The rules of rfc9111.go, one table each. Cases marked "suite" are those
// of the HTTP caching test suite (cache-tests.fyi) with the same id.

func TestParseCacheControl(t *testing.T) { // RFC 9111 §5.2, RFC 9110 §5.6
	type want struct {
		name  string
		value string
		ok    bool // deltaSeconds ok
		n     int64
	}
	for _, tc := range []struct {
		lines []string
		want  []want
		not   []string // names that must be absent
	}{
		{[]string{"max-age=3600"}, []want{{"max-age", "3600", true, 3600}}, nil},
		{[]string{"MaX-aGe=3600"}, []want{{"max-age", "3600", true, 3600}}, nil},
		{[]string{"foobar, max-age=3600"}, []want{{"max-age", "3600", true, 3600}, {"foobar", "", false, 0}}, nil},
		{[]string{"max-age=003600"}, []want{{"max-age", "003600", true, 3600}}, nil},                      // suite: leading-zero
		{[]string{`max-age="3600"`}, []want{{"max-age", "3600", true, 3600}}, nil},                        // suite: quoted (accepted)
		{[]string{"max-age='3600'"}, []want{{"max-age", "'3600'", false, 0}}, nil},                        // suite: single-quoted is invalid
		{[]string{"max-age=-3600"}, []want{{"max-age", "-3600", false, 0}}, nil},                          // negative
		{[]string{"max-age=3600.5"}, []want{{"max-age", "3600.5", false, 0}}, nil},                        // a fraction
		{[]string{"max-age =3600"}, []want{{"max-age", "", false, 0}}, nil},                               // space before =
		{[]string{"max-age= 3600"}, []want{{"max-age", "", false, 0}}, nil},                               // space after =
		{[]string{"max-age=99999999999"}, []want{{"max-age", "99999999999", true, maxDeltaSeconds}}, nil}, // §1.2.2: 2^31
		{[]string{"max-age=2147483648"}, []want{{"max-age", "2147483648", true, maxDeltaSeconds}}, nil},
		{[]string{"max-age=1800, max-age=1"}, []want{{"max-age", "1800", true, 1800}}, nil},       // first wins
		{[]string{"max-age=1", "max-age=1800"}, []want{{"max-age", "1", true, 1}}, nil},           // across lines too
		{[]string{`extension="max-age=3600", max-age=1`}, []want{{"max-age", "1", true, 1}}, nil}, // suite: ignore-quoted
		{[]string{`max-age=1, extension="max-age=3600"`}, []want{{"max-age", "1", true, 1}}, nil}, // suite: ignore-quoted-rev
		{[]string{`no-cache="a, b", max-age=5`}, []want{{"no-cache", "a, b", false, 0}, {"max-age", "5", true, 5}}, nil},
		{[]string{"No-StOrE"}, []want{{"no-store", "", false, 0}}, []string{"max-age"}},
		{[]string{"", " , ,"}, nil, []string{""}},
	} {
		d := parseCacheControl(tc.lines)
		for _, w := range tc.want {
			dir, ok := d[w.name]
			if !ok {
				t.Errorf("%q: no %s in %+v", tc.lines, w.name, d)
				continue
			}
			if !dir.bad && dir.value != w.value {
				t.Errorf("%q: %s = %q, want %q", tc.lines, w.name, dir.value, w.value)
			}
			n, ok := deltaSeconds(dir)
			if ok != w.ok || n != w.n {
				t.Errorf("%q: deltaSeconds(%s) = %d, %v; want %d, %v", tc.lines, w.name, n, ok, w.n, w.ok)
			}
		}
		for _, name := range tc.not {
			if _, ok := d[name]; ok {
				t.Errorf("%q: has %q", tc.lines, name)
			}
		}
	}
}

func TestParseCDNCacheControl(t *testing.T) { // RFC 9213 §2.1, RFC 8941
	for _, tc := range []struct {
		lines  []string
		ok     bool
		maxAge int64 // -1: absent
	}{
		{nil, false, -1},
		{[]string{"max-age=3600"}, true, 3600},
		{[]string{"foobar, max-age=3600"}, true, 3600},
		{[]string{"max-age=0"}, true, 0},
		{[]string{"private"}, true, -1},
		{[]string{"no-store"}, true, -1},
		{[]string{"max-age=10000, &&&&&"}, false, -1}, // suite: cdn-cc-invalid-sh-type-unknown
		{[]string{`max-age="10000"`}, false, -1},      // suite: cdn-cc-invalid-sh-type-wrong
		{[]string{"max-age =100"}, false, -1},         // not a dictionary
		{[]string{"max-age= 100"}, false, -1},
		{[]string{"MaX-aGe=3600"}, false, -1}, // keys are lower case
		{[]string{"no-store=?0, max-age=5"}, true, 5},
		{[]string{"max-age=5;foo=bar"}, true, 5},
	} {
		d, ok := parseCDNCacheControl(tc.lines)
		if ok != tc.ok {
			t.Errorf("%q: ok %v, want %v", tc.lines, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		n, has := deltaSeconds(d["max-age"])
		if tc.maxAge < 0 && d.has("max-age") || tc.maxAge >= 0 && (!has || n != tc.maxAge) {
			t.Errorf("%q: max-age %d, %v; want %d", tc.lines, n, has, tc.maxAge)
		}
	}
	if d, _ := parseCDNCacheControl([]string{"no-store=?0"}); d.has("no-store") {
		t.Error("no-store=?0 counted as no-store")
	}
}

func TestParseAge(t *testing.T) { // RFC 9111 §5.1
	for _, tc := range []struct {
		lines []string
		n     int64
		ok    bool
	}{
		{nil, 0, false},
		{[]string{"30"}, 30, true},
		{[]string{"abc"}, 0, false},   // suite: age-parse-nonnumeric
		{[]string{"-7200"}, 0, false}, // suite: age-parse-negative
		{[]string{"7200.0"}, 0, false},
		{[]string{"2147483647"}, 2147483647, true},
		{[]string{"2147483648"}, maxDeltaSeconds, true},
		{[]string{"2147483649"}, maxDeltaSeconds, true},
		{[]string{"7200, 0"}, 7200, true},    // suite: age-parse-suffix, the first value
		{[]string{"0, 7200"}, 0, true},       // suite: age-parse-prefix
		{[]string{"7200", "0"}, 7200, true},  // suite: age-parse-suffix-twoline
		{[]string{"0", "7200"}, 0, true},     // suite: age-parse-prefix-twoline
		{[]string{"7200;foo=bar"}, 0, false}, // a parameter: not delta-seconds
	} {
		n, ok := parseAge(tc.lines)
		if n != tc.n || ok != tc.ok {
			t.Errorf("%q: %d, %v; want %d, %v", tc.lines, n, ok, tc.n, tc.ok)
		}
	}
}

func TestParseHTTPDate(t *testing.T) { // RFC 9110 §5.6.7
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	aug18 := time.Date(2050, 8, 18, 2, 1, 18, 0, time.UTC)
	for _, tc := range []struct {
		s    string
		want time.Time // zero: invalid
	}{
		{"Thu, 18 Aug 2050 02:01:18 GMT", aug18},
		{"THU, 18 Aug 2050 02:01:18 GMT", aug18},    // suite: wrong-case-weekday
		{"Thu, 18 AUG 2050 02:01:18 GMT", aug18},    // suite: wrong-case-month
		{"Thu, 18 Aug 2050 02:01:18 gMT", aug18},    // suite: wrong-case-tz
		{"Thursday, 18-Aug-50 02:01:18 GMT", aug18}, // RFC 850
		{"Thu Aug 18 02:01:18 2050", aug18},         // asctime
		{"Thu Aug  8 02:01:18 2050", time.Date(2050, 8, 8, 2, 1, 18, 0, time.UTC)},
		{"Tue, 19 Jan 2038 14:14:08 GMT", time.Date(2038, 1, 19, 14, 14, 8, 0, time.UTC)},
		{"Thu, 18 Aug 2050 02:01:18 UTC", time.Time{}},   // suite: invalid-utc
		{"Thu, 18 Aug 2050 02:01:18 AEST", time.Time{}},  // suite: invalid-aest
		{"Thu, 18 Aug 50 02:01:18 GMT", time.Time{}},     // suite: invalid-2-digit-year
		{"Thu 18 Aug 2050 02:01:18 GMT", time.Time{}},    // suite: invalid-no-comma
		{"Thu, 18  Aug  2050 02:01:18 GMT", time.Time{}}, // suite: invalid-multiple-spaces
		{"Thu, 18-Aug-2050 02:01:18 GMT", time.Time{}},   // suite: invalid-date-dashes
		{"Thu, 18 Aug 2050 02.01.18 GMT", time.Time{}},   // suite: invalid-time-periods
		{"Thu, 18 Aug 2050 2:01:18 GMT", time.Time{}},    // suite: invalid-1-digit-hour
		{"0", time.Time{}}, // suite: freshness-expires-invalid
		{"", time.Time{}},
		{"Thu, 31 Feb 2050 02:01:18 GMT", time.Time{}},
	} {
		got, ok := parseHTTPDate(tc.s, now)
		if ok != !tc.want.IsZero() || ok && !got.Equal(tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.s, got, ok, tc.want)
		}
	}
	// RFC 850: a two-digit year more than 50 years ahead is in the past.
	if got, ok := parseHTTPDate("Sunday, 06-Nov-94 08:49:37 GMT", now); !ok || got.Year() != 1994 {
		t.Errorf("RFC 850 year 94: %v, %v", got, ok)
	}
}

func TestResponseFreshness(t *testing.T) { // RFC 9111 §3, §4.2, §5.2.2, §5.3; RFC 9213; RFC 5861
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	const none = -1
	for _, tc := range []struct {
		name     string
		hdr      http.Header
		storable bool
		explicit bool
		lifetime time.Duration
		age      time.Duration
		swr, sie time.Duration
		noStale  bool
	}{
		{"nothing", http.Header{}, true, false, 0, 0, none, none, false},
		{"max-age", http.Header{"Cache-Control": {"max-age=60"}}, true, true, time.Minute, 0, none, none, false},
		{"max-age=0", http.Header{"Cache-Control": {"max-age=0"}}, true, true, 0, 0, none, none, false},
		{"bad max-age is stale", http.Header{"Cache-Control": {"max-age='3600'"}}, true, true, 0, 0, none, none, false},
		{"s-maxage over max-age", http.Header{"Cache-Control": {"max-age=3600, s-maxage=1"}}, true, true, time.Second, 0, none, none, true},
		{"s-maxage over max-age, lines", http.Header{"Cache-Control": {"max-age=3600", "s-maxage=1"}}, true, true, time.Second, 0, none, none, true},
		{"max-age over Expires", http.Header{"Cache-Control": {"max-age=0"}, "Expires": {date(time.Hour)}, "Date": {date(0)}}, true, true, 0, 0, none, none, false},
		{"Expires - Date", http.Header{"Expires": {date(time.Hour)}, "Date": {date(0)}}, true, true, time.Hour, 0, none, none, false},
		{"Expires in the past", http.Header{"Expires": {date(-time.Hour)}, "Date": {date(0)}}, true, true, 0, 0, none, none, false},
		{"Expires invalid", http.Header{"Expires": {"0"}}, true, true, 0, 0, none, none, false},
		{"Expires twice", http.Header{"Expires": {date(time.Hour), date(time.Hour)}}, true, true, 0, 0, none, none, false},
		{"Expires without Date", http.Header{"Expires": {date(time.Hour)}}, true, true, time.Hour, 0, none, none, false},
		{"Age", http.Header{"Cache-Control": {"max-age=3600"}, "Age": {"7200"}}, true, true, time.Hour, 2 * time.Hour, none, none, false},
		{"apparent age", http.Header{"Cache-Control": {"max-age=3600"}, "Date": {date(-2 * time.Hour)}}, true, true, time.Hour, 2 * time.Hour, none, none, false},
		{"no-store", http.Header{"Cache-Control": {"max-age=60, No-Store"}}, false, true, time.Minute, 0, none, none, false},
		{"private", http.Header{"Cache-Control": {"private, max-age=60"}}, false, true, time.Minute, 0, none, none, false},
		{"no-cache", http.Header{"Cache-Control": {"max-age=60, no-cache"}}, false, true, time.Minute, 0, none, none, false},
		{"cdn over cc", http.Header{"Cache-Control": {"max-age=3600"}, "Cdn-Cache-Control": {"max-age=1"}}, true, true, time.Second, 0, none, none, false},
		{"cdn fresh, cc no-store", http.Header{"Cache-Control": {"no-store"}, "Cdn-Cache-Control": {"max-age=10000"}}, true, true, 10000 * time.Second, 0, none, none, false},
		{"cdn private", http.Header{"Cache-Control": {"max-age=10000"}, "Cdn-Cache-Control": {"private"}}, false, false, 0, 0, none, none, false},
		{"cdn no-store", http.Header{"Cache-Control": {"max-age=10000"}, "Cdn-Cache-Control": {"no-store"}}, false, false, 0, 0, none, none, false},
		{"cdn invalid, cc counts", http.Header{"Cache-Control": {"no-store"}, "Cdn-Cache-Control": {`max-age="10000"`}}, false, false, 0, 0, none, none, false},
		{"cdn max-age=0 over Expires", http.Header{"Cdn-Cache-Control": {"max-age=0"}, "Expires": {date(time.Hour)}, "Date": {date(0)}}, true, true, 0, 0, none, none, false},
		{"stale windows", http.Header{"Cache-Control": {"max-age=1, stale-while-revalidate=4, stale-if-error=60"}}, true, true, time.Second, 0, 4 * time.Second, time.Minute, false},
		{"must-revalidate", http.Header{"Cache-Control": {"max-age=1, must-revalidate, stale-if-error=60"}}, true, true, time.Second, 0, none, time.Minute, true},
		{"proxy-revalidate", http.Header{"Cache-Control": {"max-age=1, proxy-revalidate"}}, true, true, time.Second, 0, none, none, true},
	} {
		f := responseFreshness(tc.hdr, now)
		want := freshness{storable: tc.storable, explicit: tc.explicit, lifetime: tc.lifetime, age: tc.age, swr: tc.swr, sie: tc.sie, noStale: tc.noStale}
		if f != want {
			t.Errorf("%s: %+v, want %+v", tc.name, f, want)
		}
	}
}

func TestStaleWindow(t *testing.T) { // RFC 5861 §3, §4; RFC 9111 §4.2.4
	s := time.Second
	for _, tc := range []struct {
		option, directive time.Duration
		noStale           bool
		want              time.Duration
	}{
		{0, -1, false, 0},
		{10 * s, -1, false, 10 * s},   // the option alone
		{0, 4 * s, false, 4 * s},      // the directive alone
		{10 * s, 4 * s, false, 4 * s}, // the smaller
		{3 * s, 4 * s, false, 3 * s},  // the smaller
		{10 * s, 0, false, 0},         // stale-while-revalidate=0 closes it
		{10 * s, 4 * s, true, 0},      // must-revalidate
	} {
		if got := staleWindow(tc.option, tc.directive, tc.noStale); got != tc.want {
			t.Errorf("staleWindow(%v, %v, %v) = %v, want %v", tc.option, tc.directive, tc.noStale, got, tc.want)
		}
	}
}

func TestPlan(t *testing.T) { // the freshness rules applied to Options
	now := time.Now()
	cfg := newConfig(Options{TTL: time.Hour, StaleIfError: time.Minute})
	for _, tc := range []struct {
		name                  string
		hdr                   http.Header
		ok                    bool
		fresh, age, keep, swr time.Duration
		sie                   time.Duration
	}{
		{"heuristic: the TTL", http.Header{}, true, time.Hour, 0, time.Hour + time.Minute, 0, time.Minute},
		{"TTL caps max-age", http.Header{"Cache-Control": {"max-age=86400"}}, true, time.Hour, 0, time.Hour + time.Minute, 0, time.Minute},
		{"max-age below the TTL", http.Header{"Cache-Control": {"max-age=60"}}, true, time.Minute, 0, 2 * time.Minute, 0, time.Minute},
		{"less the age", http.Header{"Cache-Control": {"max-age=60"}, "Age": {"20"}}, true, 40 * time.Second, 20 * time.Second, 100 * time.Second, 0, time.Minute},
		{"age past the lifetime", http.Header{"Cache-Control": {"max-age=3600"}, "Age": {"7200"}}, false, 0, 0, 0, 0, 0},
		{"max-age=0", http.Header{"Cache-Control": {"max-age=0"}}, false, 0, 0, 0, 0, 0},
		{"no-store", http.Header{"Cache-Control": {"no-store"}}, false, 0, 0, 0, 0, 0},
		{"validator: kept for the TTL", http.Header{"Cache-Control": {"max-age=2"}, "Etag": {`"a"`}}, true, 2 * time.Second, 0, time.Hour, 0, time.Minute},
		{"directive smaller than the option", http.Header{"Cache-Control": {"max-age=2, stale-if-error=5, stale-while-revalidate=7"}}, true, 2 * time.Second, 0, 9 * time.Second, 7 * time.Second, 5 * time.Second},
		{"must-revalidate: no window", http.Header{"Cache-Control": {"max-age=2, must-revalidate"}}, true, 2 * time.Second, 0, 2 * time.Second, 0, 0},
	} {
		p := cfg.plan(tc.hdr, now)
		want := entryPlan{ok: tc.ok, fresh: tc.fresh, age: tc.age, keep: tc.keep, swr: tc.swr, sie: tc.sie}
		if p != want {
			t.Errorf("%s: %+v, want %+v", tc.name, p, want)
		}
	}
}

func TestFreshenHeader(t *testing.T) { // RFC 9111 §4.3.4
	stored := http.Header{"Etag": {`"a"`}, "Test-Header": {"A"}, "Content-Type": {"text/plain"}, "Content-Length": {"36"}}
	got := freshenHeader(stored, http.Header{"Test-Header": {"B"}, "Content-Length": {"10"}, "Cache-Control": {"max-age=3600"}})
	want := http.Header{"Etag": {`"a"`}, "Test-Header": {"B"}, "Content-Type": {"text/plain"}, "Content-Length": {"36"}, "Cache-Control": {"max-age=3600"}}
	if len(got) != len(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	for k, vs := range want {
		if got.Get(k) != vs[0] {
			t.Errorf("%s = %q, want %q", k, got.Get(k), vs[0])
		}
	}
	if stored.Get("Test-Header") != "A" {
		t.Error("the stored header was modified")
	}
}

func TestNoCacheRequest(t *testing.T) { // RFC 9111 §5.2.1.4, §5.2.1.5, §5.4
	for _, tc := range []struct {
		method string
		hdr    http.Header
		want   bool
	}{
		{"GET", nil, false},
		{"HEAD", nil, false},
		{"POST", nil, true},
		{"GET", http.Header{"Cache-Control": {"no-cache"}}, true},
		{"GET", http.Header{"Cache-Control": {"max-age=0, No-Store"}}, true},
		{"GET", http.Header{"Cache-Control": {`no-cache="x"`}}, true},
		{"GET", http.Header{"Cache-Control": {"max-age=60"}}, false},
		{"GET", http.Header{"Pragma": {"no-cache"}}, true},
		{"GET", http.Header{"Pragma": {"no-store"}}, false},
	} {
		r := httptest.NewRequest(tc.method, "/", nil)
		maps.Copy(r.Header, tc.hdr)
		if got := noCache(r); got != tc.want {
			t.Errorf("%s %v: noCache = %v, want %v", tc.method, tc.hdr, got, tc.want)
		}
	}
}

func TestNotModified(t *testing.T) { // RFC 9110 §13.1.1, §13.1.3, §13.2.2; RFC 9111 §4.3.2
	const (
		lm     = "Mon, 01 Jan 2024 00:00:00 GMT"
		before = "Sun, 31 Dec 2023 00:00:00 GMT"
		after  = "Tue, 02 Jan 2024 00:00:00 GMT"
	)
	stored := http.Header{"Etag": {`"a"`}, "Last-Modified": {lm}}
	dateOnly := http.Header{"Date": {lm}}
	for _, tc := range []struct {
		name   string
		req    http.Header
		stored http.Header
		want   bool
	}{
		{"no condition", nil, stored, false},
		{"etag matches", http.Header{"If-None-Match": {`"a"`}}, stored, true},
		{"etag differs", http.Header{"If-None-Match": {`"b"`}}, stored, false},
		{"If-None-Match wins over a matching date", http.Header{"If-None-Match": {`"b"`}, "If-Modified-Since": {after}}, stored, false},
		{"not modified since", http.Header{"If-Modified-Since": {after}}, stored, true},
		{"modified at the date given", http.Header{"If-Modified-Since": {lm}}, stored, true},
		{"modified since", http.Header{"If-Modified-Since": {before}}, stored, false},
		{"invalid date ignored", http.Header{"If-Modified-Since": {"yesterday"}}, stored, false},
		{"Date without Last-Modified", http.Header{"If-Modified-Since": {after}}, dateOnly, true},
		{"no date at all", http.Header{"If-Modified-Since": {after}}, http.Header{}, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		maps.Copy(r.Header, tc.req)
		if got := notModified(r, tc.stored); got != tc.want {
			t.Errorf("%s: notModified = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestValidators(t *testing.T) { // RFC 9110 §8.8; RFC 9111 §4.3.1
	for _, tc := range []struct {
		name    string
		stored  http.Header
		genETag bool
		has     bool
		inm     string
		ims     string
	}{
		{"none", http.Header{}, false, false, "", ""},
		{"handler's ETag", http.Header{"Etag": {`"a"`}}, false, true, `"a"`, ""},
		{"generated ETag", http.Header{"Etag": {`"h"`}}, true, false, "", ""},
		{"Last-Modified", http.Header{"Last-Modified": {"Mon, 01 Jan 2024 00:00:00 GMT"}}, true, true, "", "Mon, 01 Jan 2024 00:00:00 GMT"},
		{"both", http.Header{"Etag": {`W/"a"`}, "Last-Modified": {"x"}}, false, true, `W/"a"`, "x"},
	} {
		if got := hasValidator(tc.stored, tc.genETag); got != tc.has {
			t.Errorf("%s: hasValidator = %v, want %v", tc.name, got, tc.has)
		}
		req := http.Header{}
		setValidators(req, &storedResponse{header: tc.stored, genETag: tc.genETag})
		if req.Get("If-None-Match") != tc.inm || req.Get("If-Modified-Since") != tc.ims {
			t.Errorf("%s: conditions %v, want If-None-Match %q, If-Modified-Since %q", tc.name, req, tc.inm, tc.ims)
		}
	}
}
