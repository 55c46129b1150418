package rediswire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/cachette-go/cachette/backends"
)

// Tracking defaults.
const (
	// TrackRecheck is how often a Tracker asks for the nodes again, so that
	// a primary that appeared (a failover, a resharding) gets followed.
	TrackRecheck = 5 * time.Second
	// trackMinBackoff and trackMaxBackoff bound the wait between attempts
	// to follow the nodes again after a loss.
	trackMinBackoff = 50 * time.Millisecond
	trackMaxBackoff = 5 * time.Second
)

// TrackConn is one node's connection with CLIENT TRACKING on.
type TrackConn interface {
	// Lost is closed, or receives an error, when the connection is lost.
	Lost() <-chan error
	// Close ends the connection; no report comes from it once Close returns.
	Close()
}

// TrackNode is one node to follow: Name identifies it across calls of
// Tracker.Nodes, Connect opens its tracking connection.
type TrackNode struct {
	Name string
	// Connect opens a connection that runs CLIENT TRACKING ON BCAST
	// PREFIX prefix and calls report with the store keys each invalidation
	// names, or with nil for a flush of the server or a lost connection.
	Connect func(ctx context.Context, prefix string, report func(storeKeys []string)) (TrackConn, error)
}

// Tracker follows invalidations on every primary node of a Redis or
// Valkey deployment: it implements backends.Invalidator for both stores.
type Tracker struct {
	Prefix  string                                         // the store's prefix
	Nodes   func(ctx context.Context) ([]TrackNode, error) // the primaries, in any order
	Log     *slog.Logger
	Timeout time.Duration // bounds connecting to one node
	Recheck time.Duration // TrackRecheck if 0
}

// subscription is one SubscribeInvalidations.
type subscription struct {
	t  *Tracker
	h  backends.InvalidationHandler
	mu sync.Mutex // serialises the calls of h; stopped under it
	// stopped means that stop was called: h is not called any more.
	stopped bool
}

func (s *subscription) keys(storeKeys []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	if storeKeys == nil {
		if s.h.Reset != nil {
			s.h.Reset()
		}
		return
	}
	if s.h.Keys == nil {
		return
	}
	keys := make([]string, 0, len(storeKeys))
	for _, k := range storeKeys {
		if u, ok := backends.UserKey(s.t.Prefix, k); ok {
			keys = append(keys, u)
		}
	}
	if len(keys) > 0 {
		s.h.Keys(keys)
	}
}

func (s *subscription) call(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped && fn != nil {
		fn()
	}
}

// SubscribeInvalidations follows every primary, reconnecting after a loss
// (see backends.Invalidator).
func (t *Tracker) SubscribeInvalidations(ctx context.Context, h backends.InvalidationHandler) (func(), error) {
	s := &subscription{t: t, h: h}
	conns, names, err := t.connectAll(ctx, s)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.run(runCtx, s, conns, names)
	}()
	return func() {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		cancel()
		<-done
	}, nil
}

// connectAll opens a tracking connection to every node, or none.
func (t *Tracker) connectAll(ctx context.Context, s *subscription) ([]TrackConn, []string, error) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, 2*timeout)
	defer cancel()
	nodes, err := t.Nodes(cctx)
	if err != nil {
		return nil, nil, fmt.Errorf("tracking: list nodes: %w", err)
	}
	if len(nodes) == 0 {
		return nil, nil, errors.New("tracking: no primary node")
	}
	conns := make([]TrackConn, 0, len(nodes))
	names := make([]string, 0, len(nodes))
	for _, n := range nodes {
		c, err := n.Connect(cctx, t.Prefix+":", s.keys)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, nil, fmt.Errorf("tracking: node %s: %w", n.Name, err)
		}
		conns = append(conns, c)
		names = append(names, n.Name)
	}
	slices.Sort(names)
	return conns, names, nil
}

// run waits for a lost connection, a change of the primaries or the end of
// ctx; after a loss it resets the subscriber and follows the nodes again.
func (t *Tracker) run(ctx context.Context, s *subscription, conns []TrackConn, names []string) {
	recheck := t.Recheck
	if recheck <= 0 {
		recheck = TrackRecheck
	}
	for {
		reason := t.wait(ctx, conns, names, recheck)
		for _, c := range conns {
			c.Close()
		}
		if ctx.Err() != nil {
			return
		}
		s.call(s.h.Lost)
		t.Log.Warn("cachette: invalidation tracking interrupted; local copies dropped, reconnecting", "prefix", t.Prefix, "reason", reason)
		backoff := trackMinBackoff
		for {
			var err error
			conns, names, err = t.connectAll(ctx, s)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			t.Log.Warn("cachette: invalidation tracking: reconnect failed", "prefix", t.Prefix, "error", err, "retry_in", backoff)
			timer := time.NewTimer(backoff + rand.N(backoff/2+1))
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
			backoff = min(2*backoff, trackMaxBackoff)
		}
		s.call(s.h.Ready)
		t.Log.Info("cachette: invalidation tracking restored", "prefix", t.Prefix, "nodes", len(names))
	}
}

// wait returns why the connections must be opened again: one was lost, or
// the primaries changed. It returns when ctx ends too.
func (t *Tracker) wait(ctx context.Context, conns []TrackConn, names []string, recheck time.Duration) string {
	lost := make(chan error, len(conns))
	stop := make(chan struct{})
	defer close(stop)
	for _, c := range conns {
		go func() {
			select {
			case err := <-c.Lost():
				if err == nil {
					err = errors.New("connection closed")
				}
				lost <- err
			case <-stop:
			}
		}()
	}
	tick := time.NewTicker(recheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return "stopped"
		case err := <-lost:
			return err.Error()
		case <-tick.C:
			cctx, cancel := context.WithTimeout(ctx, recheck)
			nodes, err := t.Nodes(cctx)
			cancel()
			if err != nil {
				continue // a lost node shows as a lost connection
			}
			now := make([]string, len(nodes))
			for i, n := range nodes {
				now[i] = n.Name
			}
			slices.Sort(now)
			if !slices.Equal(now, names) {
				return "the primary nodes changed"
			}
		}
	}
}
