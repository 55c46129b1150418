package redis

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// reloadOnFailure is a go-redis hook, added to the cluster clients Open
// builds, that asks for the cluster's slot map again (ReloadState: one
// CLUSTER SLOTS in the background, at most one every 200 ms) when a command
// or pipeline fails without an answer from the server (a refused
// connection, a reset, a timeout) or with CLUSTERDOWN.
//
// go-redis reloads the map on its own only after a MOVED or ASK answer, or
// every ClusterStateReloadInterval (a minute by default): a primary killed
// outright never answers MOVED, so without this hook the client would send
// the commands of that primary's slots to the dead address for up to a
// minute after its replica took over.
type reloadOnFailure struct{ c *goredis.ClusterClient }

func (h reloadOnFailure) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h reloadOnFailure) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		h.check(err)
		return err
	}
}

func (h reloadOnFailure) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		err := next(ctx, cmds)
		h.check(err)
		for _, c := range cmds {
			if e := c.Err(); e != nil && e != err {
				if h.check(e) {
					break
				}
			}
		}
		return err
	}
}

// check reloads the slot map when err says the node may be gone, and
// reports whether it did.
func (h reloadOnFailure) check(err error) bool {
	if !nodeFailure(err) {
		return false
	}
	h.c.ReloadState(context.Background()) // lazy: returns at once
	return true
}

// nodeFailure says whether err is a failure to reach a node rather than a
// server's answer (nil, a missing key, WRONGTYPE, a script error...) or the
// caller's cancellation.
func nodeFailure(err error) bool {
	if err == nil || errors.Is(err, goredis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	var rerr goredis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		return strings.HasPrefix(msg, "CLUSTERDOWN") || strings.HasPrefix(msg, "TRYAGAIN")
	}
	var nerr net.Error
	return errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// withClusterReload adds reloadOnFailure to client when it is a cluster
// client.
func withClusterReload(client goredis.UniversalClient) goredis.UniversalClient {
	if c, ok := client.(*goredis.ClusterClient); ok {
		c.AddHook(reloadOnFailure{c})
	}
	return client
}
