package backends

import (
	"context"
	"strings"
)

// Invalidator is implemented by stores whose server tells its clients which
// keys changed (Redis and Valkey, through RESP3 client tracking in
// broadcasting mode on the store's prefix). cachette's local tier
// subscribes to it so that a write by any process drops the stale copy in
// every other process at once, instead of after the local tier's TTL.
type Invalidator interface {
	// SubscribeInvalidations starts following the changes to the store's
	// keys on a connection of its own (one per primary node of a cluster)
	// and calls h's functions, from goroutines of its own, until stop is
	// called. It returns once the changes are followed on every node, or
	// with an error if they cannot be (the server does not speak RESP3, or
	// refuses CLIENT TRACKING). stop waits until no function of h runs
	// any more.
	//
	// When a connection is lost, h.Lost is called; the store reconnects,
	// with backoff, and calls h.Ready once every node is followed again.
	// Between Lost and Ready changes may be missed, so a subscriber keeps
	// nothing it learnt of the store before Ready.
	SubscribeInvalidations(ctx context.Context, h InvalidationHandler) (stop func(), err error)
}

// InvalidationHandler receives what an Invalidator learns. Every field may
// be nil. The functions are called one at a time, in the order the events
// happened on each node (never concurrently with each other).
type InvalidationHandler struct {
	// Keys reports user keys (as given to Set, without the prefix) that
	// changed: written, deleted, expired or evicted. A key may be reported
	// although it did not change (the server's own writes of expired keys,
	// a write of the same bytes): a report means "do not trust what you
	// had", not "a new value exists".
	Keys func(keys []string)
	// Reset means that every key may have changed (the server was
	// flushed, or a connection may have missed reports).
	Reset func()
	// Lost means that the reports stopped: a connection was lost. Every
	// key may change unreported until Ready is called.
	Lost func()
	// Ready means that the changes are followed again on every node after
	// Lost.
	Ready func()
}

// UserKey is the inverse of Key: the user key whose store key is
// storeKey under prefix, and true; or false for a key outside the prefix
// or a store's own record (InternalKey: locks, ...).
func UserKey(prefix, storeKey string) (string, bool) {
	rest, ok := strings.CutPrefix(storeKey, prefix+":")
	if !ok {
		return "", false
	}
	if strings.HasPrefix(rest, "!") {
		if strings.HasPrefix(rest, "!!") {
			return rest[1:], true
		}
		return "", false
	}
	return rest, true
}
