package otelcache

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/cachette-go/cachette/backends"
)

// The store operations, as db.operation.name.
const (
	opGet = iota
	opSet
	opDelete
	opClearNamespace
	opFlush
	opFlushExpired
	opLock
	opUnlock
	opGetMany
	opSetMany
	opUsage
	numOps
)

var opNames = [numOps]string{"get", "set", "delete", "clear_namespace", "flush", "flush_expired", "lock", "unlock", "get_many", "set_many", "usage"}

// systemName is the db.system.name of a cachette backend: the semantic
// conventions' name where there is one (aws.dynamodb, memcached,
// mongodb, redis), else the backend's own name (valkey, inmemory, gob).
func systemName(backend string) string {
	if backend == "dynamodb" {
		return semconv.DBSystemNameAWSDynamoDB.Value.AsString()
	}
	return backend
}

// store records every call of the store it wraps. It is a
// backends.Batcher whatever the store: GetMany and SetMany of a store
// that has them are recorded as get_many and set_many, and those of a
// store without them run as cachette would run them, as parallel Gets and
// Sets of the store (each recorded). The optional interfaces whose
// presence matters (backends.UsageReporter, backends.Invalidator,
// backends.TimedGetter) are implemented by the types below, chosen by
// what the wrapped store implements.
type store struct {
	inner  backends.Backend
	obs    *Observer
	system string
	ops    [numOps]storeOp
}

type storeOp struct {
	ok        attribute.Set // db.system.name, db.operation.name, WithAttributes
	attrs     []attribute.KeyValue
	spanStart []trace.SpanStartOption
}

var (
	_ backends.Batcher       = (*store)(nil)
	_ backends.UsageReporter = usageStore{}
	_ backends.Invalidator   = invalidatorStore{}
	_ backends.TimedGetter   = timedStore{}
	_ backends.UsageReporter = usageInvalidatorTimedStore{}
	_ backends.Invalidator   = usageInvalidatorTimedStore{}
	_ backends.TimedGetter   = usageInvalidatorTimedStore{}
)

// The optional methods, each forwarded to the wrapped store's.
type (
	usageOf       struct{ s *store } // Usage of a backends.UsageReporter
	invalidatorOf struct{ s *store } // SubscribeInvalidations of a backends.Invalidator
	timedOf       struct{ s *store } // GetTimed of a backends.TimedGetter
)

func (m usageOf) Usage(ctx context.Context, namespace string) (backends.Usage, error) {
	return m.s.usage(ctx, namespace)
}

func (m invalidatorOf) SubscribeInvalidations(ctx context.Context, h backends.InvalidationHandler) (func(), error) {
	return m.s.subscribe(ctx, h)
}

func (m timedOf) GetTimed(ctx context.Context, key string) ([]byte, time.Time, time.Time, error) {
	return m.s.getTimed(ctx, key)
}

// A store with the optional methods of the store it wraps.
type (
	usageStore struct {
		*store
		usageOf
	}
	invalidatorStore struct {
		*store
		invalidatorOf
	}
	usageInvalidatorStore struct {
		*store
		usageOf
		invalidatorOf
	}
	timedStore struct {
		*store
		timedOf
	}
	usageTimedStore struct {
		*store
		usageOf
		timedOf
	}
	invalidatorTimedStore struct {
		*store
		invalidatorOf
		timedOf
	}
	usageInvalidatorTimedStore struct {
		*store
		usageOf
		invalidatorOf
		timedOf
	}
)

// wrapStore wraps inner in the store type that implements the optional
// interfaces of package backends inner implements.
func wrapStore(o *Observer, backend string, inner backends.Backend) backends.Backend {
	s := newStore(o, backend, inner)
	_, usage := inner.(backends.UsageReporter)
	_, inv := inner.(backends.Invalidator)
	_, timed := inner.(backends.TimedGetter)
	u, i, t := usageOf{s}, invalidatorOf{s}, timedOf{s}
	switch {
	case usage && inv && timed:
		return usageInvalidatorTimedStore{s, u, i, t}
	case usage && inv:
		return usageInvalidatorStore{s, u, i}
	case usage && timed:
		return usageTimedStore{s, u, t}
	case inv && timed:
		return invalidatorTimedStore{s, i, t}
	case usage:
		return usageStore{s, u}
	case inv:
		return invalidatorStore{s, i}
	case timed:
		return timedStore{s, t}
	}
	return s
}

func newStore(o *Observer, backend string, inner backends.Backend) *store {
	s := &store{inner: inner, obs: o, system: systemName(backend)}
	for i := range s.ops {
		attrs := append([]attribute.KeyValue{
			semconv.DBSystemNameKey.String(s.system),
			semconv.DBOperationName(opNames[i]),
		}, o.attrs...)
		s.ops[i] = storeOp{
			ok:    attribute.NewSet(attrs...),
			attrs: attrs,
			spanStart: []trace.SpanStartOption{
				trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(attrs...),
			},
		}
	}
	return s
}

// Unwrap returns the store it wraps (cachette names a store by it).
func (s *store) Unwrap() backends.Backend { return s.inner }

// start begins the span of op. The span is named after the operation, as
// the semantic conventions name a database call without a collection.
func (s *store) start(ctx context.Context, op int) (context.Context, trace.Span, time.Time) {
	ctx, span := s.obs.tracer.Start(ctx, opNames[op], s.ops[op].spanStart...)
	return ctx, span, time.Now()
}

// end records op, failed when err is not nil.
func (s *store) end(ctx context.Context, op int, span trace.Span, start time.Time, err error) {
	d := time.Since(start).Seconds()
	if err == nil {
		s.obs.storeDuration.RecordSet(ctx, d, s.ops[op].ok)
		span.End()
		return
	}
	et := errorType(err)
	attrs := make([]attribute.KeyValue, 0, len(s.ops[op].attrs)+1)
	attrs = append(append(attrs, s.ops[op].attrs...), et)
	s.obs.storeDuration.RecordSet(ctx, d, attribute.NewSet(attrs...))
	span.SetAttributes(et)
	span.SetStatus(codes.Error, err.Error())
	span.End()
}

func (s *store) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	ctx, span, start := s.start(ctx, opGet)
	v, exp, err := s.inner.Get(ctx, key)
	failed := err
	if errors.Is(err, backends.ErrNotFound) {
		failed = nil // a miss is an answer, not a failure
	}
	s.end(ctx, opGet, span, start, failed)
	return v, exp, err
}

// getTimed is the wrapped store's GetTimed (a backends.TimedGetter: the
// in-memory store), recorded as get, as Get is: the cache keeps reusing the
// store's clock reading under an Observer.
func (s *store) getTimed(ctx context.Context, key string) ([]byte, time.Time, time.Time, error) {
	ctx, span, start := s.start(ctx, opGet)
	v, exp, now, err := s.inner.(backends.TimedGetter).GetTimed(ctx, key)
	failed := err
	if errors.Is(err, backends.ErrNotFound) {
		failed = nil // a miss is an answer, not a failure
	}
	s.end(ctx, opGet, span, start, failed)
	return v, exp, now, err
}

func (s *store) Set(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	ctx, span, start := s.start(ctx, opSet)
	err := s.inner.Set(ctx, key, value, expiresAt)
	s.end(ctx, opSet, span, start, err)
	return err
}

func (s *store) Delete(ctx context.Context, key string) (bool, error) {
	ctx, span, start := s.start(ctx, opDelete)
	ok, err := s.inner.Delete(ctx, key)
	s.end(ctx, opDelete, span, start, err)
	return ok, err
}

func (s *store) ClearNamespace(ctx context.Context, namespace string) (int, error) {
	ctx, span, start := s.start(ctx, opClearNamespace)
	n, err := s.inner.ClearNamespace(ctx, namespace)
	s.end(ctx, opClearNamespace, span, start, err)
	return n, err
}

func (s *store) Flush(ctx context.Context) error {
	ctx, span, start := s.start(ctx, opFlush)
	err := s.inner.Flush(ctx)
	s.end(ctx, opFlush, span, start, err)
	return err
}

func (s *store) FlushExpired(ctx context.Context) error {
	ctx, span, start := s.start(ctx, opFlushExpired)
	err := s.inner.FlushExpired(ctx)
	s.end(ctx, opFlushExpired, span, start, err)
	return err
}

func (s *store) Lock(ctx context.Context, key string, ttl time.Duration) (string, bool, error) {
	ctx, span, start := s.start(ctx, opLock)
	tok, ok, err := s.inner.Lock(ctx, key, ttl)
	s.end(ctx, opLock, span, start, err)
	return tok, ok, err
}

func (s *store) Unlock(ctx context.Context, key, token string) (bool, error) {
	ctx, span, start := s.start(ctx, opUnlock)
	ok, err := s.inner.Unlock(ctx, key, token)
	s.end(ctx, opUnlock, span, start, err)
	return ok, err
}

// Close closes the wrapped store; it is not recorded.
func (s *store) Close() error { return s.inner.Close() }

// GetMany is the wrapped store's backends.Batcher GetMany, recorded as
// get_many (its span carries db.operation.batch.size); for a store
// without it, parallel Gets, each recorded.
func (s *store) GetMany(ctx context.Context, keys []string) (map[string]backends.Item, error) {
	b, ok := s.inner.(backends.Batcher)
	if !ok {
		return backends.GetManyParallel(ctx, s, keys, 0)
	}
	ctx, span, start := s.start(ctx, opGetMany)
	if len(keys) > 1 {
		span.SetAttributes(semconv.DBOperationBatchSize(len(keys)))
	}
	items, err := b.GetMany(ctx, keys)
	s.end(ctx, opGetMany, span, start, err)
	return items, err
}

// SetMany is the wrapped store's backends.Batcher SetMany, recorded as
// set_many; for a store without it, parallel Sets, each recorded.
func (s *store) SetMany(ctx context.Context, entries []backends.Entry) error {
	b, ok := s.inner.(backends.Batcher)
	if !ok {
		return backends.SetManyParallel(ctx, s, entries, 0)
	}
	ctx, span, start := s.start(ctx, opSetMany)
	if len(entries) > 1 {
		span.SetAttributes(semconv.DBOperationBatchSize(len(entries)))
	}
	err := b.SetMany(ctx, entries)
	s.end(ctx, opSetMany, span, start, err)
	return err
}

// usage is the wrapped store's Usage (a backends.UsageReporter),
// recorded as usage.
func (s *store) usage(ctx context.Context, namespace string) (backends.Usage, error) {
	ctx, span, start := s.start(ctx, opUsage)
	u, err := s.inner.(backends.UsageReporter).Usage(ctx, namespace)
	s.end(ctx, opUsage, span, start, err)
	return u, err
}

// subscribe is the wrapped store's SubscribeInvalidations (a
// backends.Invalidator). It is not recorded: it is a subscription, not a
// call, and the invalidations' delay goes to cachette.invalidation.delay.
func (s *store) subscribe(ctx context.Context, h backends.InvalidationHandler) (func(), error) {
	return s.inner.(backends.Invalidator).SubscribeInvalidations(ctx, h)
}
