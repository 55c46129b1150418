package httpcache

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
)

// errDown is the failure of flakyStore while it is down.
var errDown = errors.New("test: store down")

// flakyStore is a store whose calls fail with errDown while down is set,
// as a store that is dead or hung (past StoreTimeout) would. With
// downAfterLock (optional) set, a Lock that succeeds sets down; setsDown
// (optional) counts the Sets tried while down.
type flakyStore struct {
	backends.Backend
	down          *atomic.Bool
	downAfterLock *atomic.Bool
	setsDown      *atomic.Int32
}

func (s flakyStore) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	if s.down.Load() {
		return nil, time.Time{}, errDown
	}
	return s.Backend.Get(ctx, key)
}

func (s flakyStore) Set(ctx context.Context, key string, v []byte, exp time.Time) error {
	if s.down.Load() {
		if s.setsDown != nil {
			s.setsDown.Add(1)
		}
		return errDown
	}
	return s.Backend.Set(ctx, key, v, exp)
}

func (s flakyStore) Lock(ctx context.Context, key string, ttl time.Duration) (string, bool, error) {
	if s.down.Load() {
		return "", false, errDown
	}
	tok, ok, err := s.Backend.Lock(ctx, key, ttl)
	if ok && s.downAfterLock != nil && s.downAfterLock.Load() {
		s.down.Store(true)
	}
	return tok, ok, err
}

func (s flakyStore) Unlock(ctx context.Context, key, token string) (bool, error) {
	if s.down.Load() {
		return false, errDown
	}
	return s.Backend.Unlock(ctx, key, token)
}

type flakyObserver struct {
	cachette.NopObserver
	down          *atomic.Bool
	downAfterLock *atomic.Bool
	setsDown      *atomic.Int32
}

func (o flakyObserver) WrapStore(_ string, s backends.Backend) backends.Backend {
	return flakyStore{s, o.down, o.downAfterLock, o.setsDown}
}

// TestOrphanLockAfterOutage: a request holds the store lock of a key when
// the store goes down, so it can neither store its response nor release
// the lock. Once the store is back, the next request for that key must
// not wait for the orphan lock to expire (LockTTL, a minute here): it
// computes the response at once, and stores it.
func TestOrphanLockAfterOutage(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		var down atomic.Bool
		c := k.open(t, func(cfg *cachette.Config) { cfg.Observer = flakyObserver{down: &down} })
		entered, release := make(chan struct{}), make(chan struct{})
		var calls atomic.Int32
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				close(entered)
				<-release
			}
			w.Write([]byte("body"))
		})
		h := Middleware(c, Options{TTL: time.Minute, LockTTL: time.Minute, StoreTimeout: 10 * time.Second, Logger: (&logSink{}).logger()})(next).(*handler)

		first := make(chan *httptest.ResponseRecorder)
		go func() { first <- request(h, http.MethodGet, "/k") }()
		<-entered // it holds lock:<key> in the store
		down.Store(true)
		close(release)
		wantStatus(t, <-first, http.StatusOK, StatusMiss) // its write and its unlock failed
		down.Store(false)
		h.pausedTo.Store(0) // the store is back: skip the pause after the error

		done := make(chan *httptest.ResponseRecorder, 1)
		go func() { done <- request(h, http.MethodGet, "/k") }()
		select {
		case w := <-done:
			wantStatus(t, w, http.StatusOK, StatusMiss)
		case <-time.After(20 * time.Second): // far less than LockTTL
			t.Fatal("the request after the outage is still waiting for the lock the store kept")
		}
		wantStatus(t, request(h, http.MethodGet, "/k"), http.StatusOK, StatusHit)
		if n := calls.Load(); n != 2 {
			t.Errorf("handler ran %d times, want 2", n)
		}
	})
}

// TestPauseAfterStoreErrorFollowsTimeout: after a store error the store is
// left alone for StoreTimeout when that is shorter than a second, so that
// the cache uses a store that came back within two timeouts (a call in
// flight, then the pause); with the default StoreTimeout it is a second.
func TestPauseAfterStoreErrorFollowsTimeout(t *testing.T) {
	for _, tc := range []struct {
		timeout, want time.Duration
	}{{100 * time.Millisecond, 100 * time.Millisecond}, {0, time.Second}, {5 * time.Second, time.Second}} {
		var down atomic.Bool
		c := inmemoryKind.open(t, func(cfg *cachette.Config) { cfg.Observer = flakyObserver{down: &down} })
		h := Middleware(c, Options{TTL: time.Minute, StoreTimeout: tc.timeout, Logger: (&logSink{}).logger()})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("body"))
		})).(*handler)
		down.Store(true)
		before := time.Now()
		wantStatus(t, request(h, http.MethodGet, "/k"), http.StatusOK, StatusMiss)
		after := time.Now()
		to := time.Unix(0, h.pausedTo.Load())
		if to.Before(before.Add(tc.want)) || to.After(after.Add(tc.want)) {
			t.Errorf("StoreTimeout %v: the store is paused for %v after the error, want %v", tc.timeout, to.Sub(before), tc.want)
		}
	}
}

// TestStoreFailsAfterLock: the store fails right after a MISS took the
// store lock, so its second read (has someone stored it meanwhile?)
// fails. That is a store error like any other: the request is served by
// the handler and does not try to write the response to the failing
// store (on a hung store each write waits for StoreTimeout).
func TestStoreFailsAfterLock(t *testing.T) {
	var down, downAfterLock atomic.Bool
	var setsDown atomic.Int32
	c := inmemoryKind.open(t, func(cfg *cachette.Config) {
		cfg.Observer = flakyObserver{down: &down, downAfterLock: &downAfterLock, setsDown: &setsDown}
	})
	logs := &logSink{}
	h := Middleware(c, Options{TTL: time.Minute, StoreTimeout: 10 * time.Second, Logger: logs.logger()})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("body"))
	})).(*handler)
	downAfterLock.Store(true)
	w := request(h, http.MethodGet, "/k")
	wantStatus(t, w, http.StatusOK, StatusMiss)
	if w.Body.String() != "body" {
		t.Errorf("body %q", w.Body.String())
	}
	if n := setsDown.Load(); n != 0 {
		t.Errorf("%d writes tried on the store that failed the read after the lock, want none", n)
	}
	if h.pausedTo.Load() == 0 {
		t.Errorf("the failed read after the lock did not pause the store; logs:\n%s", logs)
	}
}
