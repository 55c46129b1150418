package otelcache_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/otelcache"
)

// The cache's metrics on a Prometheus /metrics page, through the
// OpenTelemetry Prometheus exporter.
func Example_prometheus() {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		log.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(ctx)

	obs, err := otelcache.New(otelcache.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	cache, err := cachette.New(ctx, cachette.Config{Observer: obs})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()

	var s string
	_ = cache.Put(ctx, "greeting", "hello")
	_ = cache.Fetch(ctx, "greeting", &s) // a hit
	_ = cache.Fetch(ctx, "absent", &s)   // a miss

	// In a program: http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{})).
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	for _, line := range scrape(srv.URL, "cachette_lookups_total") {
		fmt.Println(line)
	}
	// Output:
	// cachette_lookups_total{cachette_lookup_result="hit"} 1
	// cachette_lookups_total{cachette_lookup_result="miss"} 1
}

// scrape returns the sample lines of the metric family name, in order.
func scrape(url, name string) []string {
	resp, err := http.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			out = append(out, line)
		}
	}
	return out
}
