package otelcache

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/dbconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/cachette-go/cachette/otelcache"

// Names of the instruments and attributes that are not OpenTelemetry
// semantic conventions (there are none for caches).
const (
	LookupsName           = "cachette.lookups"
	LoadDurationName      = "cachette.load.duration"
	HTTPResponsesName     = "cachette.http.responses"
	InvalidationDelayName = "cachette.invalidation.delay"
	// StoreDurationName is the semantic conventions' database client
	// metric, which store calls are recorded in.
	StoreDurationName = "db.client.operation.duration"

	LookupResultKey    = attribute.Key("cachette.lookup.result")
	HTTPCacheStatusKey = attribute.Key("cachette.http.cache_status")

	// LoadSpanName names the span of a GetOrLoad load.
	LoadSpanName = "cachette.load"
)

// Bucket boundaries, in seconds. Store calls use the semantic
// conventions' advice for db.client.operation.duration; loads (a database
// query, an HTTP call) and invalidation delays reach further.
var (
	storeBuckets        = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}
	loadBuckets         = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	invalidationBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
)

// Option configures New.
type Option func(*options)

type options struct {
	mp    metric.MeterProvider
	tp    trace.TracerProvider
	attrs []attribute.KeyValue
}

// WithMeterProvider sets the meter provider; the default is the global
// one (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.mp = mp }
}

// WithTracerProvider sets the tracer provider; the default is the global
// one (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tp = tp }
}

// WithAttributes adds attributes to every measurement and span, for
// example attribute.String("cachette.cache", "sessions") to tell apart
// the caches of one program, each with its own Observer.
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return func(o *options) { o.attrs = append(o.attrs, attrs...) }
}

// Observer records a cache's metrics and spans. It implements
// cachette.Observer (set it in cachette.Config.Observer) and its
// ServedHTTP method is an httpcache.Options.OnServe. Give each cache its
// own Observer (they may share providers and instruments' names; tell
// them apart with WithAttributes). It is safe for concurrent use.
type Observer struct {
	cachette.NopObserver // the methods cachette may add later

	tracer trace.Tracer
	attrs  []attribute.KeyValue

	lookups           metric.Int64Counter
	loadDuration      metric.Float64Histogram
	storeDuration     dbconv.ClientOperationDuration
	httpResponses     metric.Int64Counter
	invalidationDelay metric.Float64Histogram

	// Measurement options computed once, so that a recording allocates
	// no attribute set.
	lookupOpts   [cachette.LookupStale + 1]metric.AddOption
	loadOKOpt    metric.RecordOption
	plainOpt     metric.RecordOption // the WithAttributes only
	httpOpts     map[string]metric.AddOption
	loadSpanOpts []trace.SpanStartOption
}

var _ cachette.Observer = (*Observer)(nil)

// New returns an Observer that records with the given (or the global)
// providers. It fails only if an instrument cannot be created.
func New(opts ...Option) (*Observer, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.mp == nil {
		o.mp = otel.GetMeterProvider()
	}
	if o.tp == nil {
		o.tp = otel.GetTracerProvider()
	}
	meter := o.mp.Meter(ScopeName)
	obs := &Observer{tracer: o.tp.Tracer(ScopeName), attrs: o.attrs}
	var err, e error
	obs.lookups, e = meter.Int64Counter(LookupsName, metric.WithUnit("{lookup}"),
		metric.WithDescription("Reads of the cache by key, by result: hit, miss, error (the store failed), local_hit, stale."))
	err = errors.Join(err, e)
	obs.loadDuration, e = meter.Float64Histogram(LoadDurationName, metric.WithUnit("s"),
		metric.WithDescription("Duration of the loads GetOrLoad ran; failed loads carry error.type."),
		metric.WithExplicitBucketBoundaries(loadBuckets...))
	err = errors.Join(err, e)
	obs.storeDuration, e = dbconv.NewClientOperationDuration(meter, metric.WithExplicitBucketBoundaries(storeBuckets...))
	err = errors.Join(err, e)
	obs.httpResponses, e = meter.Int64Counter(HTTPResponsesName, metric.WithUnit("{response}"),
		metric.WithDescription("Responses of the httpcache middleware, by X-Cache-Status."))
	err = errors.Join(err, e)
	obs.invalidationDelay, e = meter.Float64Histogram(InvalidationDelayName, metric.WithUnit("s"),
		metric.WithDescription("Time from this process sending a write to the store's invalidation of that key arriving back (local tier on redis, valkey)."),
		metric.WithExplicitBucketBoundaries(invalidationBuckets...))
	err = errors.Join(err, e)
	if err != nil {
		return nil, err
	}

	for r := cachette.LookupHit; r <= cachette.LookupStale; r++ {
		obs.lookupOpts[r] = metric.WithAttributeSet(obs.set(LookupResultKey.String(r.String())))
	}
	obs.loadOKOpt = metric.WithAttributeSet(obs.set())
	obs.plainOpt = obs.loadOKOpt
	obs.httpOpts = make(map[string]metric.AddOption)
	for _, s := range []string{"HIT", "MISS", "BYPASS", "NO_CACHE", "STALE"} {
		obs.httpOpts[s] = metric.WithAttributeSet(obs.set(HTTPCacheStatusKey.String(s)))
	}
	obs.loadSpanOpts = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
	if len(obs.attrs) > 0 {
		obs.loadSpanOpts = append(obs.loadSpanOpts, trace.WithAttributes(obs.attrs...))
	}
	return obs, nil
}

// set is the attribute set of kvs and the WithAttributes.
func (o *Observer) set(kvs ...attribute.KeyValue) attribute.Set {
	all := make([]attribute.KeyValue, 0, len(kvs)+len(o.attrs))
	all = append(append(all, o.attrs...), kvs...)
	return attribute.NewSet(all...)
}

// Lookup counts a read in cachette.lookups.
func (o *Observer) Lookup(ctx context.Context, _ string, r cachette.LookupResult) {
	if int(r) < len(o.lookupOpts) && r != 0 {
		o.lookups.Add(ctx, 1, o.lookupOpts[r])
		return
	}
	o.lookups.Add(ctx, 1, metric.WithAttributeSet(o.set(LookupResultKey.String(r.String()))))
}

// LoadStart starts the span of a load; the load runs under it.
func (o *Observer) LoadStart(ctx context.Context, _ string) context.Context {
	ctx, _ = o.tracer.Start(ctx, LoadSpanName, o.loadSpanOpts...)
	return ctx
}

// LoadDone ends the load's span and records its duration.
func (o *Observer) LoadDone(ctx context.Context, _ string, elapsed time.Duration, err error) {
	span := trace.SpanFromContext(ctx) // the one LoadStart put there
	if err != nil {
		et := errorType(err)
		span.SetAttributes(et)
		span.SetStatus(codes.Error, err.Error())
		o.loadDuration.Record(ctx, elapsed.Seconds(), metric.WithAttributeSet(o.set(et)))
	} else {
		o.loadDuration.Record(ctx, elapsed.Seconds(), o.loadOKOpt)
	}
	span.End()
}

// Invalidated records an invalidation delay: that of this process's own
// writes, from the send to the store's invalidation arriving back (see
// cachette.Observer.Invalidated).
func (o *Observer) Invalidated(ctx context.Context, delay time.Duration) {
	o.invalidationDelay.Record(ctx, delay.Seconds(), o.plainOpt)
}

// ServedHTTP counts a response of the httpcache middleware by its
// X-Cache-Status; use it as httpcache.Options.OnServe.
func (o *Observer) ServedHTTP(r *http.Request, status string) {
	opt, ok := o.httpOpts[status]
	if !ok {
		opt = metric.WithAttributeSet(o.set(HTTPCacheStatusKey.String(status)))
	}
	o.httpResponses.Add(r.Context(), 1, opt)
}

// WrapStore returns store wrapped in a decorator that records each call
// in db.client.operation.duration and as a client span. The decorator
// keeps the optional interfaces of package backends that store has
// (backends.UsageReporter, backends.Invalidator, backends.TimedGetter,
// whose GetTimed is recorded as a get), is a backends.Batcher
// (the store's batches, or one call per key for a store without them)
// and has Unwrap, which returns store. The cache calls
// it when Config.Observer is set; a program that builds its Cache with
// NewWithBackend and no Observer may call it itself, for store metrics
// alone.
func (o *Observer) WrapStore(backend string, store backends.Backend) backends.Backend {
	return wrapStore(o, backend, store)
}

// errorType is the error.type of err: a short name for the errors
// cachette and the standard library tell apart, else the semantic
// conventions' default (the error's type).
func errorType(err error) attribute.KeyValue {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return semconv.ErrorTypeKey.String("timeout")
	case errors.Is(err, context.Canceled):
		return semconv.ErrorTypeKey.String("canceled")
	case errors.Is(err, cachette.ErrLoadPanicked):
		return semconv.ErrorTypeKey.String("panic")
	case errors.Is(err, cachette.ErrClosed):
		return semconv.ErrorTypeKey.String("closed")
	case errors.Is(err, backends.ErrTooLarge):
		return semconv.ErrorTypeKey.String("too_large")
	case errors.Is(err, backends.ErrInvalidKey):
		return semconv.ErrorTypeKey.String("invalid_key")
	case errors.Is(err, backends.ErrNotSupported):
		return semconv.ErrorTypeKey.String("not_supported")
	}
	return semconv.ErrorType(err)
}
