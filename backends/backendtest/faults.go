package backendtest

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
)

// Hang names the signals that pause and resume a server process, for
// DownAndBack's hung-server phase (syscall.SIGSTOP and syscall.SIGCONT on
// Unix); the zero value skips that phase.
type Hang struct{ Stop, Resume os.Signal }

// DownAndBack checks a store opened on the private server srv with a
// per-call timeout: while the server hangs (if hang is given) and while it
// is dead, every method returns an error within limit, and hung-server
// errors start with "name: "; after the server restarts on the same port,
// the same store works again.
func DownAndBack(t *testing.T, s backends.Backend, srv *Server, name string, limit time.Duration, hang Hang) {
	t.Helper()
	ctx := context.Background() // no deadline: the store's timeout must bound the calls
	exp := time.Now().Add(time.Minute)
	if err := s.Set(ctx, "k", []byte("v"), exp); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Get": func() error { // a miss is an answer from the server
			if _, _, err := s.Get(ctx, "k"); err != nil && !errors.Is(err, backends.ErrNotFound) {
				return err
			}
			return nil
		},
		"Set":            func() error { return s.Set(ctx, "k", []byte("v"), exp) },
		"Delete":         func() error { _, err := s.Delete(ctx, "k"); return err },
		"ClearNamespace": func() error { _, err := s.ClearNamespace(ctx, "ns"); return err },
		"Flush":          func() error { return s.Flush(ctx) },
		"Lock":           func() error { _, _, err := s.Lock(ctx, "l", time.Second); return err },
		"Unlock":         func() error { _, err := s.Unlock(ctx, "l", "t"); return err },
	}

	if hang.Stop != nil {
		// A hung server: the process is stopped, connections stay open.
		srv.Signal(hang.Stop)
		for what, call := range calls {
			if err := Within(t, limit, what+" on a hung server", call); err == nil {
				t.Errorf("%s on a hung server succeeded", what)
			} else if !strings.HasPrefix(err.Error(), name+": ") {
				t.Errorf("%s error lacks the backend name: %v", what, err)
			}
		}
		srv.Signal(hang.Resume)
	}

	// A dead server.
	srv.Stop()
	for what, call := range calls {
		if err := Within(t, limit, what+" on a dead server", call); err == nil {
			t.Errorf("%s on a dead server succeeded", what)
		}
	}

	// Back on the same port: the same store works again.
	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.Set(ctx, "k", []byte("back"), exp)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Set after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for what, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s after restart: %v", what, err)
		}
	}
}

// Within runs fn and fails the test if it does not return within limit.
func Within(t testing.TB, limit time.Duration, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("%s did not return within %v", what, limit)
		return nil
	}
}

// HungCallsBounded checks that a store opened on the private server srv
// with the per-call timeout timeout bounds each call as a whole, not each
// network read: while the server is paused (hang.Stop; resumed with
// hang.Resume before it returns), calls many more than a connection pool
// holds (Get, Set, Delete, Lock, Unlock, and GetMany and SetMany of 200 keys
// when the store has them) run at once, and each must return an error
// within 12 × timeout. A driver that applies the timeout per read, retries
// and waits for a free connection takes several times that.
func HungCallsBounded(t *testing.T, s backends.Backend, srv *Server, timeout time.Duration, hang Hang) {
	t.Helper()
	ctx := context.Background() // no deadline: the store's timeout must bound the calls
	exp := time.Now().Add(time.Minute)
	keys := make([]string, 200)
	entries := make([]backends.Entry, len(keys))
	for i := range keys {
		keys[i] = "hung" + strconv.Itoa(i)
		entries[i] = backends.Entry{Key: keys[i], Value: []byte("v"), ExpiresAt: exp}
		if err := s.Set(ctx, keys[i], []byte("v"), exp); err != nil {
			t.Fatal(err)
		}
	}
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Get", func() error { _, _, err := s.Get(ctx, "hung0"); return err }},
		{"Set", func() error { return s.Set(ctx, "hung0", []byte("v"), exp) }},
		{"Delete", func() error { _, err := s.Delete(ctx, "hung1"); return err }},
		{"Lock", func() error { _, _, err := s.Lock(ctx, "l", time.Second); return err }},
		{"Unlock", func() error { _, err := s.Unlock(ctx, "l", "t"); return err }},
	}
	if b, ok := s.(backends.Batcher); ok {
		calls = append(calls,
			struct {
				name string
				fn   func() error
			}{"GetMany", func() error { _, err := b.GetMany(ctx, keys); return err }},
			struct {
				name string
				fn   func() error
			}{"SetMany", func() error { return b.SetMany(ctx, entries) }})
	}
	const rounds = 36 // 180 to 252 calls at once: many times a pool's connections
	type result struct {
		name string
		took time.Duration
		err  error
	}
	results := make(chan result, rounds*len(calls))
	srv.Signal(hang.Stop)
	defer srv.Signal(hang.Resume)
	for range rounds {
		for _, c := range calls {
			go func() {
				start := time.Now()
				err := c.fn()
				results <- result{c.name, time.Since(start), err}
			}()
		}
	}
	limit := 12 * timeout
	guard := time.After(time.Minute)
	slowest := map[string]time.Duration{}
	for range rounds * len(calls) {
		select {
		case r := <-results:
			slowest[r.name] = max(slowest[r.name], r.took)
			if r.err == nil {
				t.Errorf("%s on a paused server succeeded", r.name)
			}
			if r.took >= limit {
				t.Errorf("%s on a paused server took %v, want under 12 × the timeout %v (%.200v)", r.name, r.took, timeout, r.err)
			}
		case <-guard:
			t.Fatalf("calls on a paused server still running after a minute (timeout %v)", timeout)
		}
	}
	t.Logf("%d calls at once on a paused server, timeout %v: the slowest of each kind took %v", rounds*len(calls), timeout, slowest)
}
