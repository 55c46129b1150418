package coherence_test

import (
	"context"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
)

// delays is an Observer that passes on each invalidation delay.
type delays struct {
	cachette.NopObserver
	ch chan time.Duration
}

func (o *delays) Invalidated(_ context.Context, d time.Duration) { o.ch <- d }

// next waits for the next reported delay.
func (o *delays) next(t *testing.T, what string) time.Duration {
	t.Helper()
	select {
	case d := <-o.ch:
		return d
	case <-time.After(30 * time.Second):
		t.Fatalf("after 30s: no invalidation delay reported for %s", what)
		return 0
	}
}

// none checks that nothing more was reported. It is called right after
// next returned the delay of a later write: the server pushes the
// invalidations of one prefix in order on one connection, so one of an
// earlier write would have come first.
func (o *delays) none(t *testing.T, what string) {
	t.Helper()
	select {
	case d := <-o.ch:
		t.Fatalf("%s: an extra invalidation delay was reported (%v)", what, d)
	default:
	}
}

// TestInvalidationDelay: with a local tier and an Observer on redis and
// valkey, each write of this process is reported once to
// Observer.Invalidated with a positive delay, when its invalidation comes
// back; another process's writes and a Clear that removed nothing are not.
func TestInvalidationDelay(t *testing.T) {
	targets := coherenceTargets()
	for _, name := range []string{"redis", "valkey"} {
		t.Run(name, func(t *testing.T) {
			cfg, _ := targets[name](t)
			ctx := context.Background()
			cfg.Prefix = randomPrefix(t)
			o := &delays{ch: make(chan time.Duration, 100)}
			ca := cfg
			ca.LocalEntries, ca.LocalTTL, ca.Observer = 100, time.Hour, o
			a, err := cachette.New(ctx, ca)
			must(t, err)
			defer a.Close()
			b, err := cachette.New(ctx, cfg) // another process: no local tier
			must(t, err)
			defer func() { b.Flush(ctx); b.Close() }()

			must(t, a.Put(ctx, "k", "v1"))
			if d := o.next(t, "Put"); d <= 0 {
				t.Fatalf("Put: delay %v, want > 0", d)
			}
			must(t, a.Put(ctx, "k2", "v2"))
			o.next(t, "a second Put")
			o.none(t, "two Puts")

			// Another process's write, and a Clear of nothing: not reported.
			if ok, err := a.Clear(ctx, "absent"); err != nil || ok {
				t.Fatalf("Clear(absent) = %v, %v", ok, err)
			}
			must(t, b.Put(ctx, "absent", "by b"))
			must(t, b.Put(ctx, "k", "by b"))
			must(t, a.PutBytes(ctx, "sync", []byte("s")))
			o.next(t, "PutBytes")
			o.none(t, "another process's writes")

			// A Clear that removed an entry, and a PutMany of two keys.
			if ok, err := a.Clear(ctx, "k2"); err != nil || !ok {
				t.Fatalf("Clear(k2) = %v, %v", ok, err)
			}
			o.next(t, "Clear")
			must(t, cachette.For[string](a).PutMany(ctx, map[string]string{"m1": "1", "m2": "2"}))
			o.next(t, "PutMany")
			o.next(t, "PutMany")
			must(t, a.PutBytes(ctx, "sync", []byte("s2")))
			o.next(t, "PutBytes")
			o.none(t, "Clear and PutMany")
		})
	}
}
