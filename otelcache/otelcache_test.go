package otelcache_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
	"github.com/cachette-go/cachette/httpcache"
	"github.com/cachette-go/cachette/otelcache"
)

// harness is an Observer on an in-memory meter reader and span recorder.
type harness struct {
	obs    *otelcache.Observer
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
}

func newHarness(t *testing.T, opts ...otelcache.Option) *harness {
	t.Helper()
	h := &harness{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()); _ = h.tp.Shutdown(context.Background()) })
	obs, err := otelcache.New(append([]otelcache.Option{otelcache.WithMeterProvider(mp), otelcache.WithTracerProvider(h.tp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	h.obs = obs
	return h
}

// points maps "name{k=v,...}" to a counter's value or a histogram's count.
func (h *harness) points(t *testing.T) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelcache.ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+attrString(p.Attributes)] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+attrString(p.Attributes)] += int64(p.Count)
				}
			default:
				t.Errorf("metric %s has data of type %T", m.Name, m.Data)
			}
		}
	}
	return out
}

func attrString(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// flaky fails every call of the keys it is told to fail.
type flaky struct {
	backends.Backend
	err error
}

func (f flaky) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	if strings.HasSuffix(key, "bad") {
		return nil, time.Time{}, f.err
	}
	return f.Backend.Get(ctx, key)
}

type refusedError struct{}

func (refusedError) Error() string { return "connection refused" }

func TestMetricsAndSpansOfAScriptedSequence(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c, err := cachette.NewWithBackend(flaky{inmemory.New(inmemory.Options{}), refusedError{}},
		cachette.Config{Backend: "inmemory", Codec: "json", Observer: h.obs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, parent := h.tp.Tracer("test").Start(ctx, "request")

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	must(c.Put(ctx, "a", 1))                                                    // set
	must(c.Fetch(ctx, "a", &n))                                                 // get: hit
	if err := c.Fetch(ctx, "nope", &n); !errors.Is(err, cachette.ErrNotFound) { // get: miss
		t.Fatal(err)
	}
	if err := c.Fetch(ctx, "bad", &n); !errors.As(err, new(refusedError)) { // get: store error
		t.Fatal(err)
	}
	slow := fmt.Errorf("the database: %w", context.DeadlineExceeded)
	if _, err := cachette.GetOrLoad(ctx, c, "l", func(context.Context) (int, error) { return 0, slow }); !errors.Is(err, slow) {
		t.Fatal(err) // get (miss), get (the flight's check), load: timeout
	}
	v, err := cachette.GetOrLoad(ctx, c, "l", func(lctx context.Context) (int, error) {
		_ = c.Fetch(lctx, "inner", &n) // get: miss, under the load's span
		return 7, nil
	}) // get (miss), get (check), load, set
	if err != nil || v != 7 {
		t.Fatalf("GetOrLoad = %d, %v", v, err)
	}
	if v, err = cachette.GetOrLoad(ctx, c, "l", func(context.Context) (int, error) { return 8, nil }); err != nil || v != 7 {
		t.Fatalf("GetOrLoad = %d, %v", v, err) // get: hit
	}
	parent.End()

	got := h.points(t)
	const (
		inmem = "db.system.name=inmemory"
		dur   = "db.client.operation.duration"
	)
	want := map[string]int64{
		"cachette.lookups{cachette.lookup.result=hit}":   2,
		"cachette.lookups{cachette.lookup.result=miss}":  4,
		"cachette.lookups{cachette.lookup.result=error}": 1,
		"cachette.load.duration{}":                       1,
		"cachette.load.duration{error.type=timeout}":     1,
		dur + "{db.operation.name=get," + inmem + "}":    8,
		dur + "{db.operation.name=get," + inmem + ",error.type=github.com/cachette-go/cachette/otelcache_test.refusedError}": 1,
		dur + "{db.operation.name=set," + inmem + "}": 2,
	}
	if !equalMaps(got, want) {
		t.Fatalf("metrics:\n%s\nwant\n%s", dump(got), dump(want))
	}

	spans := map[string]int{}
	var loads []sdktrace.ReadOnlySpan
	byID := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range h.spans.Ended() {
		spans[s.Name()]++
		byID[s.SpanContext().SpanID().String()] = s
		if s.Name() == otelcache.LoadSpanName {
			loads = append(loads, s)
		}
	}
	if spans["get"] != 9 || spans["set"] != 2 || spans[otelcache.LoadSpanName] != 2 || spans["request"] != 1 {
		t.Fatalf("spans by name: %v", spans)
	}
	if loads[0].Status().Code != codes.Error || loads[1].Status().Code == codes.Error {
		t.Fatalf("load span statuses: %v, %v", loads[0].Status(), loads[1].Status())
	}
	for _, s := range h.spans.Ended() {
		switch {
		case s.Name() == "request":
		case s.Name() == "get" && hasAttr(s, "db.operation.name", "get") && s.Parent().SpanID() == loads[1].SpanContext().SpanID():
			// the load's own Fetch
		default:
			if s.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("span %s: parent %s, not the caller's span", s.Name(), s.Parent().SpanID())
			}
		}
		if s.Name() == "get" && hasAttr(s, "error.type", "github.com/cachette-go/cachette/otelcache_test.refusedError") {
			if s.Status().Code != codes.Error || s.SpanKind().String() != "client" || !hasAttr(s, "db.system.name", "inmemory") {
				t.Errorf("failed get span: status %v, kind %v, attrs %v", s.Status(), s.SpanKind(), s.Attributes())
			}
		}
	}
	children := 0
	for _, s := range h.spans.Ended() {
		if s.Parent().SpanID() == loads[1].SpanContext().SpanID() {
			children++
		}
	}
	if children != 1 {
		t.Fatalf("%d spans under the load that made one store call", children)
	}
}

func hasAttr(s sdktrace.ReadOnlySpan, k, v string) bool {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == k && kv.Value.String() == v {
			return true
		}
	}
	return false
}

func equalMaps(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func dump(m map[string]int64) string {
	var lines []string
	for k, v := range m {
		lines = append(lines, fmt.Sprintf("  %s %d", k, v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestStoreOperationsAndErrors: every store operation is recorded under
// its name, through cachette.New (the Observer wraps the store it
// opens), with the WithAttributes; refusals carry their error.type.
func TestStoreOperationsAndErrors(t *testing.T) {
	h := newHarness(t, otelcache.WithAttributes(attribute.String("cachette.cache", "c1")))
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{MaxValueSize: 1 << 20, Observer: h.obs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Config().Backend; got != "inmemory" {
		t.Fatalf("Backend %q", got)
	}
	_ = c.PutBytes(ctx, "k", []byte("v"))
	_, _ = c.Clear(ctx, "k")
	_, _ = c.Clear(ctx, "k") // nothing to delete: not an error
	_, _ = c.ClearNamespace(ctx, "ns")
	_ = c.FlushExpired(ctx)
	tok, ok, _ := c.Lock(ctx, "job", time.Minute)
	if _, held, _ := c.Lock(ctx, "job", time.Minute); held || !ok {
		t.Fatal("lock")
	}
	_, _ = c.Unlock(ctx, "job", tok)
	_ = c.Flush(ctx)
	_ = c.Close()

	got := h.points(t)
	d := func(op, extra string) string {
		return "db.client.operation.duration{cachette.cache=c1,db.operation.name=" + op + ",db.system.name=inmemory" + extra + "}"
	}
	want := map[string]int64{
		d("set", ""):             1,
		d("delete", ""):          2,
		d("clear_namespace", ""): 1,
		d("flush_expired", ""):   1,
		d("lock", ""):            2,
		d("unlock", ""):          1,
		d("flush", ""):           1,
	}
	if !equalMaps(got, want) {
		t.Fatalf("metrics:\n%s\nwant\n%s", dump(got), dump(want))
	}
	for _, s := range h.spans.Ended() {
		if !hasAttr(s, "cachette.cache", "c1") {
			t.Errorf("span %s lacks the WithAttributes: %v", s.Name(), s.Attributes())
		}
	}
}

// TestErrorTypes: the error.type of a failed store call.
func TestErrorTypes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), "timeout"},
		{context.Canceled, "canceled"},
		{fmt.Errorf("redis: %w", backends.ErrTooLarge), "too_large"},
		{fmt.Errorf("memcached: %w", backends.ErrInvalidKey), "invalid_key"},
		{backends.ErrNotSupported, "not_supported"},
		{cachette.ErrClosed, "closed"},
		{fmt.Errorf("wrapped: %w", refusedError{}), "github.com/cachette-go/cachette/otelcache_test.refusedError"},
	} {
		h := newHarness(t)
		c, err := cachette.NewWithBackend(flaky{inmemory.New(inmemory.Options{}), tc.err}, cachette.Config{Backend: "flaky", Observer: h.obs, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		var s string
		_ = c.Fetch(context.Background(), "bad", &s)
		_ = c.Close()
		k := "db.client.operation.duration{db.operation.name=get,db.system.name=flaky,error.type=" + tc.want + "}"
		if got := h.points(t); got[k] != 1 {
			t.Errorf("%v: no %s in %v", tc.err, k, got)
		}
	}
}

// TestReservedInstruments: the hooks the core does not call yet record
// when called (the local tier will call them).
func TestReservedInstruments(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.obs.Lookup(ctx, "k", cachette.LookupLocalHit)
	h.obs.Lookup(ctx, "k", cachette.LookupStale)
	h.obs.Invalidated(ctx, 40*time.Millisecond)
	want := map[string]int64{
		"cachette.lookups{cachette.lookup.result=local_hit}": 1,
		"cachette.lookups{cachette.lookup.result=stale}":     1,
		"cachette.invalidation.delay{}":                      1,
	}
	if got := h.points(t); !equalMaps(got, want) {
		t.Fatalf("metrics:\n%s\nwant\n%s", dump(got), dump(want))
	}
}

// TestHTTPStatuses: ServedHTTP as httpcache's OnServe counts each answer
// by its X-Cache-Status.
func TestHTTPStatuses(t *testing.T) {
	h := newHarness(t)
	c, err := cachette.New(context.Background(), cachette.Config{Observer: h.obs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mw := httpcache.Middleware(c, httpcache.Options{TTL: time.Minute, BypassValue: "s3cret", OnServe: h.obs.ServedHTTP, Logger: slog.New(slog.DiscardHandler)})
	srv := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hi")) }))
	do := func(method string, hdr ...string) {
		r := httptest.NewRequest(method, "/page", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		srv.ServeHTTP(httptest.NewRecorder(), r)
	}
	do("GET")
	do("GET")
	do("GET")
	do("GET", "X-Cache-Bypass", "s3cret")
	do("POST")
	do("GET", "Cache-Control", "no-cache")
	got := h.points(t)
	for status, n := range map[string]int64{"HIT": 2, "MISS": 1, "BYPASS": 1, "NO_CACHE": 2} {
		if k := "cachette.http.responses{cachette.http.cache_status=" + status + "}"; got[k] != n {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
}
