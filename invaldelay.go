package cachette

import (
	"context"
	"sync"
	"time"
)

// Invalidation delay (Observer.Invalidated).
//
// The servers' invalidation messages do not say when a key was written,
// so the delay is measured where both ends are known: on this process's
// own writes. Broadcasting tracking (local.go) reports every write under
// the prefix to every follower, the writer's own included. So a write of
// key by this cache notes the time just before it is sent to the store;
// when the store's invalidation of key arrives, the time since then is
// reported. That is the delay of the invalidation path for this process's
// writes: the write's trip to the server plus the server's push back to
// this process. Other processes learn of the same write through the same
// push from the same server, so theirs is of the same order, give or take
// their distance to the server.
//
// It is measured from the send, not from the store's acknowledgement:
// the server writes its broadcast invalidations and its reply to the
// writer in the same turn of its event loop, on two connections, so the
// push may well arrive before the acknowledgement.
//
// Only per-key writes are measured (Put, PutBytes, PutMany, negative
// markers, Clear of a live entry); ClearNamespace and Flush are not. A
// write that fails, or a Clear that removed nothing, is forgotten. At
// most maxPendingDelays writes wait for their invalidation (the oldest is
// forgotten first), and all are forgotten when the invalidations stop
// (the connection was lost) or the store says every key may have changed.
// If another process writes the key while this one's write is in flight,
// its invalidation may be taken for this one's: the delay reported is
// then shorter, never longer, than this write's.

// maxPendingDelays bounds the writes waiting for their invalidation.
const maxPendingDelays = 1024

// pendingDelays is the writes of this process waiting for the store's
// invalidation. Its zero value is not used: a local tier has one only
// when there is an Observer and the store reports invalidations.
type pendingDelays struct {
	mu   sync.Mutex
	sent map[string]pendingWrite
	ring [maxPendingDelays]pendingSlot // the order of the notes, oldest first from next
	next int
	seq  uint64
	obs  Observer
}

type pendingWrite struct {
	at  time.Time // monotonic: when the write was sent
	seq uint64
}

type pendingSlot struct {
	key string
	seq uint64
}

func newPendingDelays(o Observer) *pendingDelays {
	return &pendingDelays{sent: make(map[string]pendingWrite), obs: o}
}

// note records that a write of key is about to be sent. A key whose
// earlier write is still waiting keeps that one (the server may report
// both writes at once).
func (p *pendingDelays) note(key string) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.sent[key]; ok {
		return
	}
	old := p.ring[p.next]
	if w, ok := p.sent[old.key]; ok && w.seq == old.seq {
		delete(p.sent, old.key) // the oldest note goes
	}
	p.seq++
	p.sent[key] = pendingWrite{at: now, seq: p.seq}
	p.ring[p.next] = pendingSlot{key: key, seq: p.seq}
	p.next = (p.next + 1) % maxPendingDelays
}

// forget drops the note of key (its write failed or changed nothing).
func (p *pendingDelays) forget(key string) {
	p.mu.Lock()
	delete(p.sent, key)
	p.mu.Unlock()
}

// forgetAll drops every note.
func (p *pendingDelays) forgetAll() {
	p.mu.Lock()
	clear(p.sent)
	p.mu.Unlock()
}

// arrived reports the delays of the noted keys among keys, whose
// invalidation just arrived.
func (p *pendingDelays) arrived(keys []string) {
	now := time.Now()
	var delays []time.Duration
	p.mu.Lock()
	if len(p.sent) == 0 {
		p.mu.Unlock()
		return
	}
	for _, k := range keys {
		if w, ok := p.sent[k]; ok {
			delete(p.sent, k)
			delays = append(delays, now.Sub(w.at))
		}
	}
	p.mu.Unlock()
	for _, d := range delays {
		p.obs.Invalidated(context.Background(), d)
	}
}

// noteWrite notes a write of key about to be sent to the store, when the
// invalidation delay is measured (an Observer, and a local tier that
// follows the store's invalidations); it costs a nil check otherwise.
func (c *Cache) noteWrite(key string) {
	if c.local != nil && c.local.delays != nil {
		c.local.delays.note(key)
	}
}

// wrote drops key's local copy after a write (even a failed one: see
// localInvalidate) and forgets its noted send when the write did not
// change the key (failed, or a delete of nothing).
func (c *Cache) wrote(key string, changed bool) {
	c.localInvalidate(key)
	if !changed && c.local != nil && c.local.delays != nil {
		c.local.delays.forget(key)
	}
}
