package httpcache

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// cachemateFilter is fastapi-cachemate's BlogPydanticFilter: blog_id with
// the alias id, page >= 1, 1 <= max_page <= 100.
type cachemateFilter struct {
	BlogID  *string `query:"id,blog_id"`
	Slug    *string `query:"slug"`
	Page    int     `query:"page" default:"1" min:"1"`
	MaxPage int     `query:"max_page" default:"10" min:"1" max:"100"`
}

func strp(s string) *string { return &s }

func TestDecodeAliases(t *testing.T) {
	for _, tc := range []struct {
		target string
		want   cachemateFilter
	}{
		{"/b", cachemateFilter{Page: 1, MaxPage: 10}},
		{"/b?id=7", cachemateFilter{BlogID: strp("7"), Page: 1, MaxPage: 10}},
		{"/b?blog_id=7", cachemateFilter{BlogID: strp("7"), Page: 1, MaxPage: 10}},
		{"/b?id=7&blog_id=8", cachemateFilter{BlogID: strp("7"), Page: 1, MaxPage: 10}}, // the tag's first name wins
		{"/b?blog_id=8&id=7", cachemateFilter{BlogID: strp("7"), Page: 1, MaxPage: 10}},
		{"/b?id=&blog_id=8", cachemateFilter{BlogID: strp("8"), Page: 1, MaxPage: 10}}, // an empty value is absent
		{"/b?slug=go&page=3&max_page=100", cachemateFilter{Slug: strp("go"), Page: 3, MaxPage: 100}},
	} {
		got := cachemateFilter{BlogID: strp("stale"), Slug: strp("stale")}
		if err := decodeURL(t, tc.target, &got); err != nil {
			t.Errorf("%s: %v", tc.target, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %s, want %s", tc.target, showFilter(got), showFilter(tc.want))
		}
	}

	// A malformed alias is the field's; a malformed other parameter is ignored.
	if err := decodeURL(t, "/b?blog_id=%zz", &cachemateFilter{}); !errors.Is(err, ErrInvalidQuery) || !strings.Contains(err.Error(), `"blog_id"`) {
		t.Errorf("blog_id=%%zz: %v, want ErrInvalidQuery naming \"blog_id\"", err)
	}
	if err := decodeURL(t, "/b?blog_i=%zz&id=1", &cachemateFilter{}); err != nil {
		t.Errorf("blog_i=%%zz: %v", err)
	}

	cfg := newConfig(Options{TTL: time.Minute, Filter: cachemateFilter{}})
	same := [][]string{
		{"/b", "/b?utm=1", "/b?page=1&max_page=10", "/b?id=", "/b?blog_id="},
		{"/b?id=7", "/b?blog_id=7", "/b?blog_id=7&page=1", "/b?id=7&blog_id=8", "/b?id=&blog_id=7"},
		{"/b?id=8", "/b?blog_id=8"},
		{"/b?slug=go", "/b?slug=go&max_page=10"},
	}
	seen := map[string]int{}
	for i, group := range same {
		k := filterKey(t, cfg, group[0])
		for _, target := range group[1:] {
			if filterKey(t, cfg, target) != k {
				t.Errorf("%s and %s should share a key", group[0], target)
			}
		}
		if j, dup := seen[k]; dup {
			t.Errorf("groups %d and %d share a key", j, i)
		}
		seen[k] = i
	}
}

func showFilter(f cachemateFilter) string {
	deref := func(p *string) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprintf("%q", *p)
	}
	return fmt.Sprintf("{BlogID:%s Slug:%s Page:%d MaxPage:%d}", deref(f.BlogID), deref(f.Slug), f.Page, f.MaxPage)
}

func filterKey(t *testing.T, cfg *config, target string) string {
	t.Helper()
	k, ok := cfg.baseKey(httptest.NewRequest("GET", target, nil))
	if !ok {
		t.Fatalf("%s: no key", target)
	}
	return k
}

type boundsFilter struct {
	Page  int       `query:"page" default:"1" min:"1"`
	Max   int8      `query:"max" max:"100"`
	U     uint      `query:"u" min:"2" max:"4"`
	F     float64   `query:"f" min:"-0.5" max:"0.5"`
	Ns    []int     `query:"n" min:"0" max:"9"`
	P     *int      `query:"p" min:"10"`
	F32   *float32  `query:"f32" max:"1.5"`
	Range []float32 `query:"r" min:"1e-3"`
}

func TestDecodeBounds(t *testing.T) {
	ok := []string{
		"/x", "/x?page=1", "/x?page=9223372036854775807", "/x?max=100", "/x?max=-128",
		"/x?u=2", "/x?u=4", "/x?f=-0.5", "/x?f=0.5", "/x?n=0&n=9", "/x?p=10", "/x?f32=1.5", "/x?r=0.001",
	}
	for _, target := range ok {
		if err := decodeURL(t, target, &boundsFilter{}); err != nil {
			t.Errorf("%s: %v", target, err)
		}
	}
	for _, tc := range []struct {
		target, name, msg string
	}{
		{"/x?page=0", "page", "0 is less than the minimum 1"},
		{"/x?page=-5", "page", "-5 is less than the minimum 1"},
		{"/x?max=101", "max", "101 is more than the maximum 100"},
		{"/x?u=1", "u", "1 is less than the minimum 2"},
		{"/x?u=5", "u", "5 is more than the maximum 4"},
		{"/x?f=0.51", "f", "0.51 is more than the maximum 0.5"},
		{"/x?f=-1e9", "f", "is less than the minimum -0.5"},
		{"/x?f=NaN", "f", "NaN"},
		{"/x?n=3&n=10&n=1", "n", "10 is more than the maximum 9"},
		{"/x?p=9", "p", "9 is less than the minimum 10"},
		{"/x?f32=2", "f32", "2 is more than the maximum 1.5"},
		{"/x?r=0", "r", "less than the minimum"},
	} {
		err := decodeURL(t, tc.target, &boundsFilter{})
		if !errors.Is(err, ErrOutOfRange) || !errors.Is(err, ErrInvalidQuery) ||
			!strings.Contains(err.Error(), fmt.Sprintf("%q", tc.name)) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v; want ErrOutOfRange and ErrInvalidQuery naming %q and saying %q", tc.target, err, tc.name, tc.msg)
		}
	}
	// A value that does not parse is not out of range: only ErrInvalidQuery.
	if err := decodeURL(t, "/x?page=two", &boundsFilter{}); !errors.Is(err, ErrInvalidQuery) || errors.Is(err, ErrOutOfRange) {
		t.Errorf("page=two: %v", err)
	}
	// The error names the parameter as the request spelt it.
	if err := decodeURL(t, "/b?blog_id=1&max_page=1000", &cachemateFilter{}); !errors.Is(err, ErrOutOfRange) || !strings.Contains(err.Error(), `"max_page"`) {
		t.Errorf("max_page=1000: %v", err)
	}

	// A request outside the bounds makes no key.
	cfg := newConfig(Options{TTL: time.Minute, Filter: cachemateFilter{}})
	for _, target := range []string{"/b?page=-5", "/b?page=0", "/b?max_page=1000", "/b?max_page=0", "/b?id=1&page=-1"} {
		if k, ok := cfg.baseKey(httptest.NewRequest("GET", target, nil)); ok {
			t.Errorf("%s: key %q, want none", target, k)
		}
	}
}

// boundedBlogFilter is cachemateFilter without pointers, as a filter
// could be written before pointer fields were supported.
type boundedBlogFilter struct {
	ID      string `query:"id,blog_id"`
	Page    int    `query:"page" default:"1" min:"1"`
	MaxPage int    `query:"max_page" default:"10" min:"1" max:"100"`
}

// TestFilterOutOfRangeNotCached is the regression test for page=-5 and
// max_page=1000 each getting their own entry: such a request is a MISS
// that reads and writes nothing, and the handler's 400 reaches the client.
func TestFilterOutOfRangeNotCached(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		h := &counter{fn: func(w http.ResponseWriter, r *http.Request, n int) {
			var f boundedBlogFilter
			if err := Decode(r, &f); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			_, _ = fmt.Fprintf(w, "%d page=%d max=%d", n, f.Page, f.MaxPage)
		}}
		c := k.open(t, nil)
		// 400 is storable here, so only the bounds keep these out.
		mw := testMiddleware(c, Options{TTL: time.Minute, Filter: boundedBlogFilter{}, CacheStatuses: []int{200, 400}})(h)
		for _, target := range []string{"/blogs?page=-5", "/blogs?max_page=1000", "/blogs?max_page=0&utm=1"} {
			for range 2 {
				w := request(mw, "GET", target)
				wantStatus(t, w, http.StatusBadRequest, StatusMiss)
				if !strings.Contains(w.Body.String(), "range") && !strings.Contains(w.Body.String(), "minimum") && !strings.Contains(w.Body.String(), "maximum") {
					t.Errorf("%s: body %q", target, w.Body)
				}
			}
		}
		if n := h.n(); n != 6 {
			t.Errorf("handler ran %d times, want 6", n)
		}
		// Nothing was written: the middleware's namespace is empty.
		if n, err := c.ClearNamespace(ctxT(t), DefaultPrefix); err != nil || n != 0 {
			t.Errorf("out-of-range requests stored %d entries (%v)", n, err)
		}
		// In range, aliased or not: one entry.
		wantStatus(t, request(mw, "GET", "/blogs?id=3&page=2"), 200, StatusMiss)
		wantStatus(t, request(mw, "GET", "/blogs?blog_id=3&page=2"), 200, StatusHit)
		if n, err := c.ClearNamespace(ctxT(t), DefaultPrefix); err != nil || n != 1 {
			t.Errorf("one in-range request: %d entries (%v), want 1", n, err)
		}
	})
}

func TestFilterBadTags(t *testing.T) {
	type minOnString struct {
		S string `query:"s" min:"1"`
	}
	type maxOnBool struct {
		B *bool `query:"b" max:"1"`
	}
	type maxOnTime struct {
		T time.Time `query:"t" max:"2024-01-01"`
	}
	type minAboveMax struct {
		N int `query:"n" min:"5" max:"4"`
	}
	type badBound struct {
		N int `query:"n" min:"one"`
	}
	type boundOutsideType struct {
		N uint8 `query:"n" min:"-1"`
	}
	type nanBound struct {
		F float64 `query:"f" max:"NaN"`
	}
	type defaultOutside struct {
		N int `query:"n" default:"0" min:"1"`
	}
	type emptyAlias struct {
		N int `query:"n,"`
	}
	type dupAlias struct {
		A int `query:"a,x"`
		B int `query:"b,x"`
	}
	type pointerToSlice struct {
		P *[]int `query:"p"`
	}
	type sliceOfPointers struct {
		P []*int `query:"p"`
	}
	for _, tc := range []struct {
		filter any
		want   string
	}{
		{minOnString{}, "min tag needs a number"},
		{maxOnBool{}, "max tag needs a number"},
		{maxOnTime{}, "max tag needs a number"},
		{minAboveMax{}, "min 5 is above max 4"},
		{badBound{}, "bad min tag"},
		{boundOutsideType{}, "bad min tag"},
		{nanBound{}, "bad max tag"},
		{defaultOutside{}, "bad default tag: 0 is less than the minimum 1"},
		{emptyAlias{}, "empty name"},
		{dupAlias{}, `"x"`},
		{pointerToSlice{}, "has type *[]int"},
		{sliceOfPointers{}, "has type []*int"},
	} {
		name := reflect.TypeOf(tc.filter).Name()
		dst := reflect.New(reflect.TypeOf(tc.filter)).Interface()
		if err := decodeURL(t, "/x", dst); !errors.Is(err, ErrInvalidFilter) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Decode: %v, want ErrInvalidFilter saying %q", name, err, tc.want)
		}
		func() {
			defer func() {
				s, _ := recover().(string)
				if !strings.Contains(s, "invalid Options: Filter") || !strings.Contains(s, tc.want) || !strings.Contains(s, name) {
					t.Errorf("%s: Middleware panic %q, want invalid Options naming the filter and saying %q", name, s, tc.want)
				}
			}()
			Middleware(inmemoryKind.open(t, nil), Options{TTL: time.Minute, Filter: tc.filter})
			t.Errorf("%s: Middleware accepted the filter", name)
		}()
	}
}

type pointerTimeFilter struct {
	P     *int        `query:"p"`
	PD    *int        `query:"pd" default:"5"`
	S     *string     `query:"s"`
	B     *bool       `query:"b"`
	At    time.Time   `query:"at"`
	Since *time.Time  `query:"since"`
	Days  []time.Time `query:"day"`
	From  time.Time   `query:"from" default:"2024-01-01"`
}

// TestDecodePointersAndTimes is the regression test for pointer and
// time.Time fields, which made Middleware panic at start-up.
func TestDecodePointersAndTimes(t *testing.T) {
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("Middleware panicked on pointer and time fields: %v", v)
			}
		}()
		Middleware(inmemoryKind.open(t, nil), Options{TTL: time.Minute, Filter: pointerTimeFilter{}})
	}()

	jan1 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := time.Date(2024, 5, 1, 8, 30, 0, 0, time.UTC)
	var got pointerTimeFilter
	if err := decodeURL(t, "/x", &got); err != nil {
		t.Fatal(err)
	}
	if got.P != nil || got.S != nil || got.B != nil || got.Since != nil || got.PD == nil || *got.PD != 5 ||
		!got.At.IsZero() || got.Days != nil || !got.From.Equal(jan1) {
		t.Errorf("defaults: %+v", got)
	}
	*got.PD = 99 // the handler may change what it decoded
	if err := decodeURL(t, "/x", &got); err != nil || *got.PD != 5 {
		t.Errorf("second Decode: PD %d, %v; want a fresh default 5", *got.PD, err)
	}

	got = pointerTimeFilter{}
	err := decodeURL(t, "/x?p=0&pd=-1&s=hi&b=false&at=2024-05-01T10:30:00%2B02:00&since=2024-05-01T08:30:00Z"+
		"&day=2024-05-02&day=2024-05-01&day=2024-05-02T00:00:00Z&from=2024-05-01T10:30:00+02:00", &got)
	if err != nil {
		t.Fatal(err)
	}
	if got.P == nil || *got.P != 0 || *got.PD != -1 || *got.S != "hi" || got.B == nil || *got.B ||
		!got.At.Equal(at) || got.At.Location() != time.UTC || got.Since == nil || !got.Since.Equal(at) ||
		!reflect.DeepEqual(got.Days, []time.Time{jan1.AddDate(0, 4, 0), jan1.AddDate(0, 4, 1)}) ||
		!got.From.Equal(at) {
		t.Errorf("got %+v", got)
	}

	for _, tc := range []struct{ target, name string }{
		{"/x?p=x", "p"},
		{"/x?at=yesterday", "at"},
		{"/x?at=2024-13-01", "at"},
		{"/x?since=2024-05-01T10:30:00", "since"}, // no offset
		{"/x?day=2024-05-01&day=5", "day"},
	} {
		err := decodeURL(t, tc.target, &pointerTimeFilter{})
		if !errors.Is(err, ErrInvalidQuery) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.name)) {
			t.Errorf("%s: %v, want ErrInvalidQuery naming %q", tc.target, err, tc.name)
		}
	}

	cfg := newConfig(Options{TTL: time.Minute, Filter: pointerTimeFilter{}})
	same := [][]string{
		{"/x", "/x?p=", "/x?pd=5", "/x?from=2024-01-01T00:00:00Z", "/x?from=2024-01-01"},
		{"/x?p=0"},
		{"/x?s=0"},
		{"/x?b=false", "/x?b=0"},
		{"/x?at=2024-05-01T08:30:00Z", "/x?at=2024-05-01T10:30:00%2B02:00", "/x?at=2024-05-01T10:30:00+02:00", "/x?at=2024-05-01T08:30:00.000Z"},
		{"/x?day=2024-05-01&day=2024-05-02", "/x?day=2024-05-02&day=2024-05-01T00:00:00Z&day=2024-05-01"},
	}
	seen := map[string]int{}
	for i, group := range same {
		k := filterKey(t, cfg, group[0])
		for _, target := range group[1:] {
			if filterKey(t, cfg, target) != k {
				t.Errorf("%s and %s should share a key", group[0], target)
			}
		}
		if j, dup := seen[k]; dup {
			t.Errorf("groups %d (%s) and %d (%s) share a key", j, same[j][0], i, group[0])
		}
		seen[k] = i
	}
}

// fuzzFilter has a field of every shape and kind, aliases and bounds.
type fuzzFilter struct {
	ID    *string     `query:"id,blog_id"`
	Page  int         `query:"page" default:"1" min:"1"`
	Max   uint8       `query:"max" max:"100"`
	F     *float32    `query:"f" min:"-1" max:"1"`
	Tags  []string    `query:"tag,t"`
	Ns    []int16     `query:"n" min:"0"`
	B     *bool       `query:"b"`
	At    time.Time   `query:"at"`
	Days  []time.Time `query:"day"`
	Since *time.Time  `query:"since" default:"2024-01-01"`
}

// FuzzDecodeQuery: a query string from a request never makes Decode or the
// key panic, and the middleware keys exactly the requests Decode accepts.
func FuzzDecodeQuery(f *testing.F) {
	for _, seed := range []string{
		"", "id=1&page=2", "blog_id=x&id=", "page=-5", "max=1000", "f=NaN", "f=0.5&n=1&n=-1",
		"tag=a&t=b", "at=2024-05-01T10:30:00+02:00", "day=2024-05-01&day=x", "since=%zz", "b=maybe;x",
	} {
		f.Add(seed)
	}
	cfg := newConfig(Options{TTL: time.Minute, Filter: fuzzFilter{}})
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/x", nil)
		r.URL.RawQuery = raw
		var dst fuzzFilter
		err := Decode(r, &dst)
		if err != nil && !errors.Is(err, ErrInvalidQuery) {
			t.Fatalf("%q: %v", raw, err)
		}
		if _, ok := cfg.baseKey(r); ok != (err == nil) {
			t.Fatalf("%q: key made %v, Decode error %v", raw, ok, err)
		}
	})
}
