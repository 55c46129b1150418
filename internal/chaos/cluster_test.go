package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/backendtest"
)

// A cluster failover case: the load of TestChaos (GetOrLoad and httpcache,
// with and without stale-if-error) on keys that all hash to one primary of
// a Redis or Valkey cluster of three primaries with a replica each; that
// primary is killed with SIGKILL, its replica takes over, and the killed
// node is started again (it comes back as a replica). Beside the load, a
// cache with a local tier (LocalEntries, LocalTTL an hour) must follow
// the promoted primary's invalidations: a value overwritten after the
// failover by another cache is not served from its local tier for long.

// clusterRig is a cluster of six nodes to hurt.
type clusterRig struct {
	name  string
	cfg   cachette.Config // Backend and URL
	addrs []string        // every node
	kill  func(t *testing.T, addr string)
	start func(t *testing.T, addr string) // starts the node again; returns once the cluster is whole
}

// clusterNode is a plain client of one node.
func clusterNode(addr string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: addr, DialTimeout: time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: -1})
}

// clusterOwner returns the primary that serves slot according to the first
// node of addrs but skip that answers.
func clusterOwner(ctx context.Context, addrs []string, skip string, slot int) (string, error) {
	for _, a := range addrs {
		if a == skip {
			continue
		}
		c := clusterNode(a)
		//lint:ignore SA1019 CLUSTER SLOTS answers on Redis 7 and Valkey 8 alike, and is what the clients read
		slots, err := c.ClusterSlots(ctx).Result()
		c.Close()
		if err != nil {
			continue
		}
		for _, s := range slots {
			if s.Start <= slot && slot <= s.End && len(s.Nodes) > 0 {
				return s.Nodes[0].Addr, nil
			}
		}
		return "", fmt.Errorf("slot %d is not served (node %s)", slot, a)
	}
	return "", errors.New("no node answers")
}

// clusterRole returns ROLE's first word on addr ("master" or "slave").
func clusterRole(ctx context.Context, addr string) string {
	c := clusterNode(addr)
	defer c.Close()
	v, err := c.Do(ctx, "ROLE").Slice()
	if err != nil || len(v) == 0 {
		return ""
	}
	s, _ := v[0].(string)
	return s
}

// clusterPromoted says whether, in the view of any node but victim, slot
// is served by a primary other than victim that answers as one. (Any node:
// a client may have read its slot map from any of them.)
func clusterPromoted(ctx context.Context, addrs []string, victim string, slot int) bool {
	for _, a := range addrs {
		if a == victim {
			continue
		}
		others := slices.DeleteFunc(slices.Clone(addrs), func(x string) bool { return x != a })
		if o, err := clusterOwner(ctx, others, victim, slot); err == nil && o != victim && clusterRole(ctx, o) == "master" {
			return true
		}
	}
	return false
}

// clusterSlotOf returns the hash slot of key.
func clusterSlotOf(t *testing.T, addrs []string, key string) int {
	t.Helper()
	for _, a := range addrs {
		c := clusterNode(a)
		n, err := c.ClusterKeySlot(context.Background(), key).Result()
		c.Close()
		if err == nil {
			return int(n)
		}
	}
	t.Fatal("no cluster node answers CLUSTER KEYSLOT")
	return 0
}

// clusterLookups is an Observer that remembers the last lookup's outcome.
type clusterLookups struct {
	cachette.NopObserver
	mu   sync.Mutex
	last cachette.LookupResult
}

func (o *clusterLookups) Lookup(_ context.Context, _ string, r cachette.LookupResult) {
	o.mu.Lock()
	o.last = r
	o.mu.Unlock()
}

// fetch reads key from c and tells where the answer came from.
func (o *clusterLookups) fetch(c *cachette.Cache, key string) (string, cachette.LookupResult, error) {
	var s string
	err := c.Fetch(context.Background(), key, &s)
	o.mu.Lock()
	defer o.mu.Unlock()
	return s, o.last, err
}

// clusterEventually polls cond for up to waitLong (a bound, not a timing
// assertion).
func clusterEventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > waitLong {
			t.Fatalf("after %v: %s", waitLong, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// clusterTags returns a random hash tag, the primary victim that serves
// its slot, and a tag whose slot another primary serves.
func clusterTags(t *testing.T, addrs []string) (tag, victim, other string) {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	tag = hex.EncodeToString(b)
	slot := clusterSlotOf(t, addrs, "{"+tag+"}")
	victim, err := clusterOwner(ctx, addrs, "", slot)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		o := tag + strconv.Itoa(i)
		if w, err := clusterOwner(ctx, addrs, "", clusterSlotOf(t, addrs, "{"+o+"}")); err == nil && w != victim {
			return tag, victim, o
		}
	}
}

// clusterFailover runs the case on rig and returns its rows.
func clusterFailover(t *testing.T, rig clusterRig, warm, observe time.Duration) []row {
	ctx := context.Background()
	tag, victim, otherTag := clusterTags(t, rig.addrs)
	slot := clusterSlotOf(t, rig.addrs, "{"+tag+"}")
	// Every key of every path and cache below has the hash tag in its prefix.
	cfg := rig.cfg
	cfg.Prefix = "cl{" + tag + "}"
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			rig.start(t, victim)
		}
	})

	// The local tier: A (local tier) and B (none) share a prefix on the
	// victim's slots; W has a local tier on another primary's slots.
	local := func(prefix string, o *clusterLookups) *cachette.Cache {
		c := rig.cfg
		c.Prefix, c.Timeout, c.Logger = prefix, storeTimeout, quiet
		if o != nil {
			c.LocalEntries, c.LocalTTL, c.Observer = 1000, time.Hour, o
		}
		return open(t, c)
	}
	oa, ow := &clusterLookups{}, &clusterLookups{}
	a, b := local(cfg.Prefix+"loc", oa), local(cfg.Prefix+"loc", nil)
	w := local("clw{"+otherTag+"}", ow)
	t.Cleanup(func() { _ = b.Flush(ctx) })
	waitLocal := func(c *cachette.Cache, o *clusterLookups, key, want string) {
		t.Helper()
		clusterEventually(t, "the local tier serves "+key+" = "+want, func() bool {
			s, r, err := o.fetch(c, key)
			if err != nil && !errors.Is(err, cachette.ErrNotFound) && !errors.Is(err, context.DeadlineExceeded) {
				t.Logf("fetch %s: %v", key, err)
			}
			return s == want && r == cachette.LookupLocalHit
		})
	}
	mustPut := func(c *cachette.Cache, key, v string) {
		t.Helper()
		clusterEventually(t, "Put "+key, func() bool { return c.Put(ctx, key, v) == nil })
	}
	mustPut(a, "k", "v1")
	waitLocal(a, oa, "k", "v1")
	mustPut(w, "w", "x")
	waitLocal(w, ow, "w", "x")

	var promotedAfter time.Duration
	f := fault{
		name:   fmt.Sprintf("%s: kill -9 a primary, replica promoted", rig.name),
		inject: func(t *testing.T) { rig.kill(t, victim) },
		heal: func(t *testing.T) {
			// Until the replica is promoted, no local tier may serve: its
			// tracking does not cover the dead primary's slots.
			start := time.Now()
			reported := false
			// First W drops its local copies (its tracking connection to
			// the killed primary is lost).
			clusterEventually(t, "W's local tier dropped after the kill", func() bool {
				_, r, _ := ow.fetch(w, "w")
				return r != cachette.LookupLocalHit
			})
			for !clusterPromoted(ctx, rig.addrs, victim, slot) {
				if time.Since(start) > 2*waitLong {
					t.Fatalf("no replica took over the slots of %s within %v", victim, 2*waitLong)
				}
				if s, r, _ := ow.fetch(w, "w"); !reported && r == cachette.LookupLocalHit && s == "x" &&
					!clusterPromoted(ctx, rig.addrs, victim, slot) {
					reported = true
					t.Errorf("the local tier served a value while no tracking connection followed the killed primary's slots (tracking ready without every primary)")
				}
				time.Sleep(20 * time.Millisecond)
			}
			promotedAfter = time.Since(start)
		},
	}
	rows := scenario(t, f, allPaths(t, func() cachette.Config { return cfg }), warm, 0, observe)
	for i := range rows {
		rows[i].fault = fmt.Sprintf("%s: kill -9 a primary (replica promoted %v after)", rig.name, promotedAfter.Round(100*time.Millisecond))
	}
	newPrimary, _ := clusterOwner(ctx, rig.addrs, victim, slot)
	t.Logf("%s: primary %s killed; %s promoted %v after the kill", rig.name, victim, newPrimary, promotedAfter.Round(time.Millisecond))

	// Reads and writes on the killed primary's slots work again.
	clusterEventually(t, "a write and a read on the promoted primary", func() bool {
		var s string
		return b.Put(ctx, "after", "w1") == nil && b.Fetch(ctx, "after", &s) == nil && s == "w1"
	})
	// The local tier follows the promoted primary: B overwrites a value A
	// holds locally (for up to an hour), and A drops it.
	mustPut(b, "k", "v2")
	waitLocal(a, oa, "k", "v2")
	mustPut(b, "k", "v3")
	d := clusterEventually(t, "A's local tier drops the value B overwrote after the failover", func() bool {
		s, _, _ := oa.fetch(a, "k")
		return s == "v3"
	})
	t.Logf("%s: an overwrite on the promoted primary reached the local tier in %v", rig.name, d.Round(time.Microsecond))

	// The killed node comes back as a replica; everything still works.
	rig.start(t, victim)
	restarted = true
	if r := clusterRole(ctx, victim); r != "slave" {
		t.Errorf("the restarted node is a %q, want a replica", r)
	}
	waitLocal(a, oa, "k", "v3")
	mustPut(b, "k", "v4")
	clusterEventually(t, "A sees B's write after the restart", func() bool {
		s, _, _ := oa.fetch(a, "k")
		return s == "v4"
	})
	for _, r := range rows {
		if r.wrong > 0 {
			t.Errorf("%s: %d wrong or foreign values", r.path, r.wrong)
		}
		if r.recover < 0 {
			t.Errorf("%s: no answer from the store within %v of the promotion", r.path, waitLong)
		}
		if r.errs > 0 {
			t.Logf("%s: %d errors or non-2xx; first: %s", r.path, r.errs, r.firstErr)
		}
	}
	return rows
}

// privateCluster starts a cluster of the test's own: six kind-server
// processes (kind is redis or valkey; three primaries, three replicas),
// with the settings of scripts/services.sh.
func privateCluster(t *testing.T, kind string) clusterRig {
	t.Helper()
	server := backendtest.RequireBinary(t, kind+"-server")
	cli := backendtest.RequireBinary(t, kind+"-cli")
	var addrs []string
	srvs := map[string]*backendtest.Server{}
	for i := range 6 {
		addr, port := backendtest.FreeAddr(t)
		_, bus := backendtest.FreeAddr(t)
		dir := filepath.Join(t.TempDir(), strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := backendtest.NewServer(t, addr, server, "--port", port, "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir,
			"--cluster-enabled", "yes", "--cluster-port", bus, "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "2000", "--cluster-replica-validity-factor", "0",
			"--cluster-require-full-coverage", "no")
		s.StartTimeout = 30 * time.Second
		s.Start()
		addrs = append(addrs, addr)
		srvs[addr] = s
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s --cluster create: %v\n%s", cli, err, out)
	}
	waitClusterWhole(t, addrs)
	urls := make([]string, len(addrs))
	for i, a := range addrs {
		urls[i] = kind + "://" + a
	}
	cfg := cachette.Config{Backend: "redis", RedisURL: strings.Join(urls, ",")}
	if kind == "valkey" {
		cfg = cachette.Config{Backend: "valkey", ValkeyURL: strings.Join(urls, ",")}
	}
	return clusterRig{
		name:  "private " + kind + " cluster",
		cfg:   cfg,
		addrs: addrs,
		kill:  func(_ *testing.T, addr string) { srvs[addr].Stop() },
		start: func(t *testing.T, addr string) {
			srvs[addr].Start()
			waitClusterWhole(t, addrs)
		},
	}
}

// waitClusterWhole waits until every node sees the whole cluster: state
// ok, every slot served, half the nodes primaries and half replicas with
// their link up, no node flagged fail.
func waitClusterWhole(t *testing.T, addrs []string) {
	t.Helper()
	ctx := context.Background()
	whole := func(addr string) bool {
		c := clusterNode(addr)
		defer c.Close()
		info, err := c.ClusterInfo(ctx).Result()
		if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
			return false
		}
		nodes, err := c.ClusterNodes(ctx).Result()
		if err != nil {
			return false
		}
		lines := strings.Split(strings.TrimSpace(nodes), "\n")
		replicas := 0
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) < 8 || strings.Contains(f[2], "fail") || f[7] != "connected" {
				return false
			}
			if strings.Contains(f[2], "slave") {
				replicas++
				if strings.Contains(f[2], "myself") {
					repl, err := c.Info(ctx, "replication").Result()
					if err != nil || !strings.Contains(repl, "master_link_status:up") {
						return false
					}
				}
			}
		}
		return len(lines) == len(addrs) && 2*replicas == len(addrs)
	}
	start := time.Now()
	for _, a := range addrs {
		for !whole(a) {
			if time.Since(start) > 2*waitLong {
				t.Fatalf("cluster node %s does not see the whole cluster within %v", a, 2*waitLong)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// servicesCluster is a cluster group of scripts/services.sh; its nodes are
// named group-1 to group-6 in the order of the _ADDRS variable.
func servicesCluster(t *testing.T, name, group, urlEnv, addrsEnv string, cfg func(url string) cachette.Config) clusterRig {
	t.Helper()
	url := backendtest.ServerEnv(t, urlEnv)
	addrs := strings.Split(backendtest.ServerEnv(t, addrsEnv), ",")
	node := func(t *testing.T, addr string) string {
		i := slices.Index(addrs, addr)
		if i < 0 {
			t.Fatalf("%s is not a node of %s", addr, group)
		}
		return group + "-" + strconv.Itoa(i+1)
	}
	return clusterRig{
		name:  name,
		cfg:   cfg(url),
		addrs: addrs,
		kill:  func(t *testing.T, addr string) { services(t, "kill", node(t, addr)) },
		start: func(t *testing.T, addr string) { services(t, "start", node(t, addr)) },
	}
}

// TestClusterFailoverShort is the short case for `make test`, on a private
// Redis cluster and a private Valkey cluster (the shared clusters serve
// other packages' tests at the same time): kill -9 of the primary of the load's keys, promotion of its
// replica, restart of the node. Assertions: no wrong value, every path
// answered from the store again, reads and writes on the promoted
// primary, and the local tier following it.
func TestClusterFailoverShort(t *testing.T) {
	if testing.Short() {
		t.Skip("fault case: about twenty seconds")
	}
	if os.Getenv(backendtest.RequiredEnv) == "" && os.Getenv(chaosEnv) == "" {
		t.Skip("runs under make test (" + backendtest.RequiredEnv + "=1) or " + chaosEnv + "=1")
	}
	var rows []row
	for _, kind := range []string{"redis", "valkey"} {
		t.Run(kind, func(t *testing.T) {
			rows = append(rows, clusterFailover(t, privateCluster(t, kind), time.Second, time.Second)...)
		})
	}
	t.Logf("store timeout %v:\n%s", storeTimeout, table(rows))
}

// TestChaosCluster is the full case on the redis-cluster and
// valkey-cluster groups of scripts/services.sh (`make chaos`), with the
// table of TestChaos. The recovery column counts from the promotion.
func TestChaosCluster(t *testing.T) {
	if os.Getenv(chaosEnv) == "" {
		t.Skip("set " + chaosEnv + "=1 (make chaos) to kill a primary of the test clusters under load")
	}
	var rows []row
	t.Run("redis-cluster", func(t *testing.T) {
		rig := servicesCluster(t, "redis cluster", "redis-cluster", "CACHETTE_TEST_REDIS_CLUSTER", "CACHETTE_TEST_REDIS_CLUSTER_ADDRS",
			func(u string) cachette.Config { return cachette.Config{Backend: "redis", RedisURL: u} })
		rows = append(rows, clusterFailover(t, rig, warm, observe)...)
	})
	t.Run("valkey-cluster", func(t *testing.T) {
		rig := servicesCluster(t, "valkey cluster", "valkey-cluster", "CACHETTE_TEST_VALKEY_CLUSTER", "CACHETTE_TEST_VALKEY_CLUSTER_ADDRS",
			func(u string) cachette.Config { return cachette.Config{Backend: "valkey", ValkeyURL: u} })
		rows = append(rows, clusterFailover(t, rig, warm, observe)...)
	})
	fmt.Printf("\ncluster failover run of %s; 3 primaries + 3 replicas, cluster-node-timeout 2s; store timeout %v, value TTL %v, %d workers per path, every key on the killed primary; recovery counted from the promotion\n\n%s\n",
		time.Now().UTC().Format(time.RFC3339), storeTimeout, valueTTL, workers, table(rows))
}
