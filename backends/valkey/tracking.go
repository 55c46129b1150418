package valkey

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
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
// knows: the one server, or the primary of every slot range of a cluster
// (asked again every few seconds, so that a new primary is followed; until
// every one of them answers as a primary, after a failover for instance,
// tracking is not ready). A lost connection
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

// trackNodes lists the primaries to follow: those of the cluster's slot
// map (clusterTrackNodes), or the primaries among the client's nodes
// (ROLE).
func (s *Store) trackNodes(ctx context.Context) ([]rediswire.TrackNode, error) {
	if s.client.Mode() == valkeygo.ClientModeCluster {
		return clusterTrackNodes(ctx, s.client.Nodes())
	}
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

// clusterTrackNodes lists the primary of every slot range of the cluster's
// slot map (CLUSTER SLOTS, asked of the first of the client's nodes that
// answers). Each must be one of the client's nodes and answer ROLE as a
// primary, or the listing fails and the Tracker tries again with backoff:
// while a killed primary's replica has not taken over, or while the map
// still names a node that is no longer a primary, tracking is not ready
// (the local tier stays off) rather than ready without the invalidations
// of some slots. (It skipped unreachable nodes before, so a failover left
// the dead primary's slots unfollowed until the next check, up to
// rediswire.TrackRecheck later, while the local tier served them.)
func clusterTrackNodes(ctx context.Context, all map[string]valkeygo.Client) ([]rediswire.TrackNode, error) {
	addrs := slices.Sorted(maps.Keys(all))
	var (
		primaries []string
		lastErr   = errors.New("no node")
		found     bool
	)
	for _, a := range addrs {
		n := all[a]
		ranges, err := n.Do(ctx, n.B().ClusterSlots().Build()).ToArray()
		if err != nil {
			lastErr = err
			continue
		}
		host, _, _ := net.SplitHostPort(a)
		for _, r := range ranges {
			f, err := r.ToArray()
			if err != nil || len(f) < 3 {
				continue
			}
			node, err := f[2].ToArray()
			if err != nil || len(node) < 2 {
				continue
			}
			ip, _ := node[0].ToString()
			port, err := node[1].AsInt64()
			if err != nil {
				continue
			}
			if ip == "" || ip == "?" {
				ip = host // "the node asked"
			}
			primaries = append(primaries, net.JoinHostPort(ip, strconv.FormatInt(port, 10)))
		}
		found = true
		break
	}
	if !found {
		return nil, fmt.Errorf("cluster slots: %w", lastErr)
	}
	slices.Sort(primaries)
	primaries = slices.Compact(primaries)
	nodes := make([]rediswire.TrackNode, 0, len(primaries))
	for _, addr := range primaries {
		n, ok := all[addr]
		if !ok {
			return nil, fmt.Errorf("primary %s is not among the client's nodes yet", addr)
		}
		role, err := n.Do(ctx, n.B().Role().Build()).ToArray()
		if err != nil {
			return nil, fmt.Errorf("primary %s: %w", addr, err)
		}
		if len(role) == 0 {
			return nil, fmt.Errorf("primary %s: empty ROLE", addr)
		}
		if r, _ := role[0].ToString(); r != "master" {
			return nil, fmt.Errorf("%s serves slots in the map but is a %q", addr, r)
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
