package gob

import (
	"context"
	"sync"
)

// guards holds one semaphore per locks directory, so that the goroutines of
// one process queue here instead of polling the file lock.
var guards sync.Map // string -> chan struct{}

// guard serializes lock takeovers, unlocks and lock sweeps on dir, between
// goroutines and (where the platform has flock) between processes. It
// returns the function that releases it.
func guard(ctx context.Context, dir string) (release func(), err error) {
	v, _ := guards.LoadOrStore(dir, make(chan struct{}, 1))
	sem := v.(chan struct{})
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	unlock, err := fileGuard(ctx, dir)
	if err != nil {
		<-sem
		return nil, err
	}
	return func() {
		unlock()
		<-sem
	}, nil
}
