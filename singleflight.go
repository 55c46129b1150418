package cachette

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"sync"
)

// ErrLoadPanicked is wrapped by the error GetOrLoad returns when load
// panicked. The error is a *LoadPanicError, which holds the panic value and
// the stack of the goroutine that panicked.
var ErrLoadPanicked = errors.New("cachette: load panicked")

// LoadPanicError is the error of a GetOrLoad whose load panicked. Every
// caller waiting for that load gets it; nobody panics.
type LoadPanicError struct {
	Key   string
	Value any    // what load panicked with
	Stack []byte // the stack of the panicking goroutine
}

func (e *LoadPanicError) Error() string {
	return fmt.Sprintf("cachette: load of %q panicked: %v\n\n%s", e.Key, e.Value, e.Stack)
}

// Unwrap returns ErrLoadPanicked, and the panic value when it is an error.
func (e *LoadPanicError) Unwrap() []error {
	if err, ok := e.Value.(error); ok {
		return []error{ErrLoadPanicked, err}
	}
	return []error{ErrLoadPanicked}
}

// group runs one call per flight key at a time and hands its result to
// every caller that asked meanwhile (golang.org/x/sync/singleflight), with
// three differences: each caller's wait is bounded by its own context; the
// call runs in its own goroutine, on a context that no single caller's
// cancellation ends (it keeps the first caller's values) and that is
// cancelled once every caller has left; and a panic of the call is handed
// to the callers as a *LoadPanicError.
type group struct {
	mu sync.Mutex
	m  map[flightKey]*flight
	// onPanic, if set, is told of each panic of a run, once.
	onPanic func(*LoadPanicError)
}

// flightKey tells flights apart by key and by the type of value they
// load, so that callers asking for one key as different types never get
// each other's values.
type flightKey struct {
	typ reflect.Type
	key string
}

type flight struct {
	done    chan struct{} // closed when val and err are set
	val     any
	err     error
	waiters int // callers still waiting; under group.mu
	cancel  context.CancelFunc
}

// do runs fn for k unless a run is in flight, in which case it joins it.
// It returns fn's result, or ctx.Err() as soon as ctx ends; fn goes on for
// the callers still waiting and is cancelled (its context ends) when the
// last one leaves. shared reports whether the result came from a run that
// another caller started.
func (g *group) do(ctx context.Context, k flightKey, fn func(context.Context) (any, error)) (val any, err error, shared bool) {
	if err := ctx.Err(); err != nil {
		return nil, err, false
	}
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[flightKey]*flight)
	}
	f, shared := g.m[k]
	if !shared {
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		g.m[k] = f
		go g.run(runCtx, k, f, fn)
	}
	f.waiters++
	g.mu.Unlock()

	select {
	case <-f.done:
		return f.val, f.err, shared
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody wants the result any more: stop the run, and let the
			// next caller start afresh rather than join a cancelled run.
			f.cancel()
			if g.m[k] == f {
				delete(g.m, k)
			}
		}
		g.mu.Unlock()
		return nil, ctx.Err(), shared
	}
}

// errGoexit is the panic value reported for a run that called
// runtime.Goexit (t.FailNow in a test, say).
var errGoexit = errors.New("runtime.Goexit called")

// run calls fn and publishes its result, or its panic as an error.
func (g *group) run(ctx context.Context, k flightKey, f *flight, fn func(context.Context) (any, error)) {
	returned := false
	defer func() {
		if r := recover(); r != nil || !returned {
			if r == nil {
				r = errGoexit
			}
			pe := &LoadPanicError{Key: k.key, Value: r, Stack: debug.Stack()}
			f.val, f.err = nil, pe
			if g.onPanic != nil {
				g.onPanic(pe)
			}
		}
		g.mu.Lock()
		if g.m[k] == f {
			delete(g.m, k)
		}
		g.mu.Unlock()
		f.cancel()
		close(f.done)
	}()
	f.val, f.err = fn(ctx)
	returned = true
}
