package otelcache_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/httpcache"
	"github.com/cachette-go/cachette/otelcache"
)

// TestPrometheusScrape: after some traffic, the /metrics page of the
// OpenTelemetry Prometheus exporter (default options: scope labels,
// target_info) has the cache's counters with the right values.
func TestPrometheusScrape(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(ctx)
	obs, err := otelcache.New(otelcache.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := cachette.New(ctx, cachette.Config{Observer: obs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()

	var s string
	for i := 0; i < 3; i++ {
		_ = cache.Fetch(ctx, "absent", &s) // 3 misses
	}
	for i := 0; i < 4; i++ {
		v, err := cachette.GetOrLoad(ctx, cache, "k", func(context.Context) (string, error) { return "v", nil })
		if err != nil || v != "v" {
			t.Fatalf("GetOrLoad = %q, %v", v, err) // 1 miss and a load, then 3 hits
		}
	}
	app := httpcache.Middleware(cache, httpcache.Options{TTL: time.Minute, OnServe: obs.ServedHTTP, Logger: slog.New(slog.DiscardHandler)})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "page") }))
	for i := 0; i < 3; i++ {
		app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/page", nil)) // MISS, HIT, HIT
	}

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)

	// httpcache's reads (FetchBytes) are not lookups: its answers are cachette.http.responses.
	for _, c := range []struct {
		name   string
		labels []string
		want   string
	}{
		{"cachette_lookups_total", []string{`cachette_lookup_result="hit"`}, "3"},
		{"cachette_lookups_total", []string{`cachette_lookup_result="miss"`}, "4"},
		{"cachette_load_duration_seconds_count", nil, "1"},
		{"cachette_http_responses_total", []string{`cachette_http_cache_status="HIT"`}, "2"},
		{"cachette_http_responses_total", []string{`cachette_http_cache_status="MISS"`}, "1"},
		{"db_client_operation_duration_seconds_count", []string{`db_operation_name="set"`, `db_system_name="inmemory"`}, "2"},
	} {
		if got := sample(page, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %q, want %s\n%s", c.name, c.labels, got, c.want, page)
		}
	}
	if !strings.Contains(page, `otel_scope_name="`+otelcache.ScopeName+`"`) {
		t.Errorf("no scope label in\n%s", page)
	}
}

// sample returns the value of the one sample of metric name that has all
// the labels, or "" (and "several" when more than one has them).
func sample(page, name string, labels ...string) string {
	found := ""
	for _, line := range strings.Split(page, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		if found != "" {
			return "several"
		}
		found = line[strings.LastIndexByte(line, ' ')+1:]
	}
	return found
}
