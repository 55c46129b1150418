package cachette

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"
)

type delayCount struct {
	NopObserver
	mu sync.Mutex
	n  int
}

func (o *delayCount) Invalidated(context.Context, time.Duration) {
	o.mu.Lock()
	o.n++
	o.mu.Unlock()
}

// TestPendingDelaysBounded: at most maxPendingDelays writes wait, the
// oldest forgotten first; a forgotten or reported key is not reported
// again.
func TestPendingDelaysBounded(t *testing.T) {
	o := &delayCount{}
	p := newPendingDelays(o)
	for i := range maxPendingDelays + 10 {
		p.note("k" + strconv.Itoa(i))
	}
	if len(p.sent) != maxPendingDelays {
		t.Fatalf("%d pending, want %d", len(p.sent), maxPendingDelays)
	}
	p.arrived([]string{"k0", "k9", "k10", "k11"}) // k0..k9 were dropped
	if o.n != 2 {
		t.Fatalf("%d reported, want 2", o.n)
	}
	p.arrived([]string{"k10", "k11"})
	p.forget("k12")
	p.arrived([]string{"k12"})
	if o.n != 2 {
		t.Fatalf("%d reported, want 2", o.n)
	}
	// A key noted twice keeps its first note and is reported once.
	p.note("k13")
	p.note("k13")
	p.arrived([]string{"k13", "k13"})
	if o.n != 3 {
		t.Fatalf("%d reported, want 3", o.n)
	}
	p.forgetAll()
	if len(p.sent) != 0 {
		t.Fatal(len(p.sent))
	}
	// Re-noting after the ring wrapped never drops a newer note.
	for i := range 3 * maxPendingDelays {
		p.note("r" + strconv.Itoa(i%7))
		p.arrived([]string{"r" + strconv.Itoa(i%7)})
	}
	if len(p.sent) != 0 {
		t.Fatal(len(p.sent))
	}
}
