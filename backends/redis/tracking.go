package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/internal/rediswire"
)

var _ backends.Invalidator = (*Store)(nil)

// SubscribeInvalidations follows the changes to the store's keys with
// RESP3 client tracking (CLIENT TRACKING ON BCAST PREFIX "prefix:") on a
// connection of its own to each primary: the one server, every master of
// a cluster (asked again every few seconds, so that a new master is
// followed; until every master of the slot map answers as one, after a
// failover for instance, tracking is not ready), every shard of a ring, or the master a Sentinel names. The
// connections are dialled with the client's own dialer, TLS and
// credentials (Username/Password or CredentialsProvider), and speak RESP3
// whatever the client's Protocol. A lost connection drops the whole
// subscription (h.Lost) and all connections are opened again with backoff
// (h.Ready). It needs Redis 6 or later.
//
// With Sentinel (a failover client), the connection goes to the master
// the sentinels name, and they are asked again every SentinelRecheck
// (one SENTINEL GET-MASTER-ADDR-BY-NAME and one TCP connection opened and
// closed): when they name another master (a failover, forced or not), the
// subscription is dropped (h.Lost) and opened again on the new master
// (h.Ready). The old master is not waited for: after a SENTINEL FAILOVER
// it stays a writable master for several seconds before the sentinels
// turn it into a replica, and a paused or cut-off one never closes the
// connection at all.
func (s *Store) SubscribeInvalidations(ctx context.Context, h backends.InvalidationHandler) (func(), error) {
	t := &rediswire.Tracker{Prefix: s.prefix, Nodes: s.trackNodes, Log: s.log, Timeout: DefaultTimeout}
	if c, ok := s.client.(*goredis.Client); ok && isFailover(c) {
		t.Recheck = SentinelRecheck
	}
	stop, err := t.SubscribeInvalidations(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	return stop, nil
}

// trackNodes lists the primaries to follow, each with how to dial it.
func (s *Store) trackNodes(ctx context.Context) ([]rediswire.TrackNode, error) {
	var (
		mu    sync.Mutex
		nodes []rediswire.TrackNode
	)
	add := func(_ context.Context, c *goredis.Client) error {
		o := c.Options()
		mu.Lock()
		nodes = append(nodes, rediswire.TrackNode{Name: o.Addr, Connect: func(ctx context.Context, prefix string, report func([]string)) (rediswire.TrackConn, error) {
			return dialTracking(ctx, o, prefix, report)
		}})
		mu.Unlock()
		return nil
	}
	var err error
	switch c := s.client.(type) {
	case *goredis.ClusterClient:
		c.ReloadState(ctx) // lazy: this listing may still use the previous map
		err = c.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
			// A map that lags a failover may name a node that is now a
			// replica: fail, and the Tracker lists the nodes again later.
			if err := isPrimary(ctx, m); err != nil {
				return err
			}
			return add(ctx, m)
		})
	case *goredis.Ring:
		err = c.ForEachShard(ctx, add)
	case *goredis.Client:
		if isFailover(c) {
			return failoverNode(ctx, c.Options())
		}
		err = add(ctx, c)
	default:
		return nil, fmt.Errorf("%T: %w", s.client, backends.ErrNotSupported)
	}
	return nodes, err
}

// isPrimary checks with ROLE that the node c is a primary. A node that
// refuses ROLE (an ACL without it) is taken for one.
func isPrimary(ctx context.Context, c *goredis.Client) error {
	role, err := c.Do(ctx, "ROLE").Slice()
	var rerr goredis.Error
	switch {
	case errors.As(err, &rerr):
		return nil
	case err != nil:
		return fmt.Errorf("node %s: %w", c.Options().Addr, err)
	case len(role) == 0:
		return fmt.Errorf("node %s: empty ROLE", c.Options().Addr)
	}
	if r, _ := role[0].(string); r != "master" {
		return fmt.Errorf("node %s is in the slot map as a primary but is a %q", c.Options().Addr, r)
	}
	return nil
}

// dialTracking opens a tracking connection to the node o describes.
func dialTracking(ctx context.Context, o *goredis.Options, prefix string, report func([]string)) (rediswire.TrackConn, error) {
	return dialTrackingAt(ctx, o, "", prefix, report)
}

// dialTrackingAt is dialTracking; with want set (a failover client's
// master), the connection must reach that address, or it is closed with
// an error (the master changed meanwhile; the Tracker tries again).
func dialTrackingAt(ctx context.Context, o *goredis.Options, want, prefix string, report func([]string)) (rediswire.TrackConn, error) {
	dial := o.Dialer
	if dial == nil {
		return nil, errors.New("no dialer")
	}
	user, password := o.Username, o.Password
	switch {
	case o.CredentialsProviderContext != nil:
		var err error
		if user, password, err = o.CredentialsProviderContext(ctx); err != nil {
			return nil, err
		}
	case o.CredentialsProvider != nil:
		user, password = o.CredentialsProvider()
	}
	network := o.Network
	if network == "" {
		network = "tcp"
	}
	conn, err := dial(ctx, network, o.Addr)
	if err != nil {
		return nil, err
	}
	if got := conn.RemoteAddr().String(); want != "" && got != want {
		conn.Close()
		return nil, fmt.Errorf("the sentinels named %s, then %s: the master changed", want, got)
	}
	return rediswire.DialTracking(ctx, conn, user, password, prefix, report)
}

// SentinelRecheck is how often SubscribeInvalidations asks the sentinels
// which node is the master, on a store over Sentinel.
const SentinelRecheck = time.Second

// isFailover tells a go-redis failover client (NewFailoverClient, which
// dials the master the sentinels name, whatever the address it is given)
// from a plain one: go-redis gives it this placeholder address.
func isFailover(c *goredis.Client) bool { return c.Options().Addr == "FailoverClient" }

// failoverNode names the master the sentinels name now: its address is the
// node's Name, so that the Tracker's recheck sees a failover as a change
// of primary. Its connection is checked to reach that same address.
func failoverNode(ctx context.Context, o *goredis.Options) ([]rediswire.TrackNode, error) {
	addr, err := failoverMaster(ctx, o)
	if err != nil {
		return nil, err
	}
	return []rediswire.TrackNode{{Name: addr, Connect: func(ctx context.Context, prefix string, report func([]string)) (rediswire.TrackConn, error) {
		return dialTrackingAt(ctx, o, addr, prefix, report)
	}}}, nil
}

// failoverMaster asks the failover client's dialer for a connection to the
// master and returns the address it reached.
func failoverMaster(ctx context.Context, o *goredis.Options) (string, error) {
	if o.Dialer == nil {
		return "", errors.New("no dialer")
	}
	conn, err := o.Dialer(ctx, "tcp", o.Addr)
	if err != nil {
		return "", fmt.Errorf("sentinel master: %w", err)
	}
	addr := conn.RemoteAddr().String()
	conn.Close()
	return addr, nil
}
