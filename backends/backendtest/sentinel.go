package backendtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette/backends"
)

// TrackingStore is a store that reports invalidations (the redis and
// valkey stores).
type TrackingStore interface {
	backends.Backend
	backends.Invalidator
}

// TrackingFollowsFailover checks that a store over Sentinel moves its
// invalidation subscription to the new master after a failover, on a
// deployment of the test's own: a primary, its replica and one sentinel,
// all run by the binary bin ("redis-server" or "valkey-server"), the
// master named "ctmaster". url makes the store's URL from the sentinel's
// address and the master name; open opens a store on it.
//
// The old master is kept a master (REPLICAOF denied to it by ACL, so the
// sentinel can neither demote it nor close its connections), as one cut
// off from the sentinels would stay: a subscription left on it is never
// lost and hears nothing, so only following the master the sentinel names
// passes. The admin connections use go-redis, which speaks to both servers.
func TrackingFollowsFailover(t *testing.T, bin string, url func(sentinel, master string) string, open func(t *testing.T, url, prefix string) TrackingStore) {
	t.Helper()
	path := RequireBinary(t, bin)
	server := func(extra ...string) *Server {
		addr, port := FreeAddr(t)
		return StartServer(t, addr, path,
			append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()}, extra...)...)
	}
	primary := server("--repl-diskless-sync-delay", "0")
	ph, pp, _ := net.SplitHostPort(primary.Addr)
	replica := server("--replicaof", ph, pp)
	rh, rp, _ := net.SplitHostPort(replica.Addr)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	saddr, sport := FreeAddr(t)
	text := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor ctmaster %s %s 1\n"+
		"sentinel down-after-milliseconds ctmaster 1000\nsentinel failover-timeout ctmaster 6000\n"+
		"sentinel known-replica ctmaster %s %s\n", sport, dir, ph, pp, rh, rp)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	sent := StartServer(t, saddr, path, conf, "--sentinel")
	admin := func(addr string) *goredis.Client {
		c := goredis.NewClient(&goredis.Options{Addr: addr})
		t.Cleanup(func() { c.Close() })
		return c
	}
	sc, pc := admin(sent.Addr), admin(primary.Addr)
	ctx := Ctx(t)
	eventually(t, "the sentinel sees the replica in sync", func() bool {
		reps, err := sc.Do(ctx, "SENTINEL", "REPLICAS", "ctmaster").Slice()
		return err == nil && len(reps) == 1 && strings.Contains(fmt.Sprint(reps[0]), "master-link-status:ok")
	})

	u := url(sent.Addr, "ctmaster")
	prefix := NewPrefix()
	a, b := open(t, u, prefix), open(t, u, prefix)
	keys := make(chan string, 1000)
	stop, err := a.SubscribeInvalidations(ctx, backends.InvalidationHandler{Keys: func(ks []string) {
		for _, k := range ks {
			select {
			case keys <- k:
			default:
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	if err := pc.Do(ctx, "ACL", "SETUSER", "default", "-replicaof", "-slaveof").Err(); err != nil {
		t.Fatal(err)
	}
	defer pc.Do(context.Background(), "ACL", "SETUSER", "default", "+@all")
	eventually(t, "SENTINEL FAILOVER accepted", func() bool {
		return sc.Do(ctx, "SENTINEL", "FAILOVER", "ctmaster").Err() == nil
	})
	eventually(t, "the sentinel names the replica", func() bool {
		m, err := sc.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "ctmaster").StringSlice()
		return err == nil && len(m) == 2 && m[0]+":"+m[1] == replica.Addr
	})
	if r, _ := pc.Do(ctx, "ROLE").Slice(); len(r) == 0 || r[0] != "master" {
		t.Fatalf("the old master is %v, want it kept a master", r)
	}
	// B writes until its writes land on the new master (its client
	// switches when the sentinel announces the failover; until then they
	// go to the old master, which still takes them).
	nc := admin(replica.Addr)
	i := 0
	eventually(t, "B writes on the new master", func() bool {
		i++
		want := fmt.Sprint(i)
		_ = b.Set(ctx, "k", []byte(want), time.Now().Add(time.Minute))
		v, err := nc.Get(ctx, prefix+":k").Result()
		return err == nil && strings.HasSuffix(v, want)
	})
	// From now on, only the new master hears of B's writes: A must too.
	deadline := time.Now().Add(30 * time.Second)
	for {
		for len(keys) > 0 {
			<-keys
		}
		i++
		if err := b.Set(ctx, "k", []byte(fmt.Sprint(i)), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		select {
		case k := <-keys:
			if k == "k" {
				return
			}
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("after 30s: no invalidation of a write on the new master")
		}
	}
}

// eventually polls cond for up to 30 s (a bound on a hang, not a timing
// assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
