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
	numOps
)

var opNames = [numOps]string{"get", "set", "delete", "clear_namespace", "flush", "flush_expired", "lock", "unlock"}

// systemName is the db.system.name of a cachette backend: the semantic
// conventions' name where there is one (aws.dynamodb, memcached,
// mongodb, redis), else the backend's own name (valkey, inmemory, gob).
func systemName(backend string) string {
	if backend == "dynamodb" {
		return semconv.DBSystemNameAWSDynamoDB.Value.AsString()
	}
	return backend
}

// store records every call of the store it wraps.
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
