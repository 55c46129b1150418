package redis_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/redis"
)

// roundTrips counts what go-redis sends: single commands and pipelines.
type roundTrips struct {
	cmds, pipes atomic.Int32
	mu          sync.Mutex
	sent        []string
}

func (r *roundTrips) log(s string) {
	r.mu.Lock()
	r.sent = append(r.sent, s)
	r.mu.Unlock()
}

func (r *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (r *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if n := cmd.Name(); n != "hello" && n != "client" { // a new connection's handshake
			r.cmds.Add(1)
		}
		r.log(cmd.Name())
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if n := cmds[0].Name(); n != "hello" && n != "client" {
			r.pipes.Add(1)
		}
		r.log(fmt.Sprintf("pipeline of %d %s", len(cmds), cmds[0].Name()))
		return next(ctx, cmds)
	}
}

// TestBatchOneRoundTrip: 100 keys are one pipeline to write and one MGET
// to read on a single server, never a command per key.
func TestBatchOneRoundTrip(t *testing.T) {
	opt, err := goredis.ParseURL(backendtest.ServerEnv(t, envURL))
	if err != nil {
		t.Fatal(err)
	}
	opt.PoolSize = 1 // one connection, whose handshake Ping does first
	rdb := goredis.NewClient(opt)
	defer rdb.Close()
	var rt roundTrips
	rdb.AddHook(&rt)
	s, err := redis.NewFromClient(rdb, backendtest.NewPrefix())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Flush(context.Background())
	ctx := backendtest.Ctx(t)
	var entries []backends.Entry
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
		entries = append(entries, backends.Entry{Key: keys[i], Value: []byte(keys[i]), ExpiresAt: time.Now().Add(time.Minute)})
	}
	if err := rdb.Ping(ctx).Err(); err != nil { // the connection's handshake
		t.Fatal(err)
	}
	rt.cmds.Store(0)
	rt.pipes.Store(0)
	rt.sent = nil
	if err := s.SetMany(ctx, entries); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMany(ctx, keys)
	if err != nil || len(got) != 100 {
		t.Fatalf("GetMany = %d entries, %v", len(got), err)
	}
	if c, p := rt.cmds.Load(), rt.pipes.Load(); c != 1 || p != 1 {
		t.Fatalf("go-redis sent %d commands and %d pipelines; want 1 (MGET) and 1 (the SETs): %q", c, p, rt.sent)
	}
}
