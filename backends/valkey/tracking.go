package valkey

import (
	"context"
	"fmt"
	"sync"
	"time"

	valkeygo "github.com/valkey-io/valkey-go"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/internal/rediswire"
)

var _ backends.Invalidator = (*Store)(nil)

// SubscribeInvalidations follows the changes to the store's keys with
// RESP3 client tracking (CLIENT TRACKING ON BCAST PREFIX "prefix:") on a
// dedicated connection (valkey-go's Dedicate) to each primary the client
// knows: the one server, or every primary of a cluster (asked again every
// few seconds, so that a new primary is followed). A lost connection
// drops the whole subscription (h.Lost) and all connections are opened
// again with backoff (h.Ready). It needs RESP3 (the client's default;
// not with protocol=2).
//
// With Sentinel, the connection goes to the primary valkey-go follows
// (the one the sentinels name; valkey-go switches on their +switch-master
// message), checked again every SentinelRecheck rather than every few
// seconds: when it is another node (a failover, forced or not), the
// subscription is dropped (h.Lost) and opened again on the new primary
// (h.Ready). The old primary is not waited for: after a SENTINEL FAILOVER
// it stays a writable primary for several seconds before the sentinels
// turn it into a replica, and a paused or cut-off one never closes the
// connection at all.
func (s *Store) SubscribeInvalidations(ctx context.Context, h backends.InvalidationHandler) (func(), error) {
	t := &rediswire.Tracker{Prefix: s.prefix, Nodes: s.trackNodes, Log: s.log, Timeout: s.timeout}
	if s.client.Mode() == valkeygo.ClientModeSentinel {
		t.Recheck = SentinelRecheck
	}
	stop, err := t.SubscribeInvalidations(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("valkey: %w", err)
	}
	return stop, nil
}

// SentinelRecheck is how often SubscribeInvalidations looks for a new
// primary on a store over Sentinel.
const SentinelRecheck = time.Second

// trackNodes lists the primaries among the client's nodes (ROLE).
func (s *Store) trackNodes(ctx context.Context) ([]rediswire.TrackNode, error) {
	var nodes []rediswire.TrackNode
	for addr, n := range s.client.Nodes() {
		role, err := n.Do(ctx, n.B().Role().Build()).ToArray()
		if err != nil || len(role) == 0 {
			continue // an unreachable node is not followed; the next check retries it
		}
		if r, _ := role[0].ToString(); r != "master" {
			continue
		}
		nodes = append(nodes, rediswire.TrackNode{Name: addr, Connect: func(ctx context.Context, prefix string, report func([]string)) (rediswire.TrackConn, error) {
			return dedicatedTracking(ctx, n, prefix, report)
		}})
	}
	return nodes, nil
}

// dedicatedTrack is a dedicated valkey-go connection with tracking on.
type dedicatedTrack struct {
	dc     valkeygo.DedicatedClient
	lost   <-chan error
	mu     sync.Mutex
	closed bool
}

func dedicatedTracking(ctx context.Context, n valkeygo.Client, prefix string, report func([]string)) (rediswire.TrackConn, error) {
	dc, _ := n.Dedicate()
	t := &dedicatedTrack{dc: dc}
	t.lost = dc.SetOnInvalidations(func(msgs []valkeygo.ValkeyMessage) {
		var keys []string
		if msgs != nil {
			keys = make([]string, 0, len(msgs))
			for i := range msgs {
				if k, err := msgs[i].ToString(); err == nil {
					keys = append(keys, k)
				}
			}
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.closed {
			report(keys)
		}
	})
	err := dc.Do(ctx, dc.B().ClientTracking().On().Prefix().Prefix(prefix).Bcast().Build()).Error()
	if err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *dedicatedTrack) Lost() <-chan error { return t.lost }

// Close closes the connection (it is not given back to the pool, where it
// would carry its tracking to another user).
func (t *dedicatedTrack) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.dc.Close()
}
