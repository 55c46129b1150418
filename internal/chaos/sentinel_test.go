package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/backendtest"
)

// sentinelMaster is the master name every Sentinel deployment of the tests
// monitors (scripts/services.sh uses the same).
const sentinelMaster = "cachette"

// sentinelSet is a Sentinel deployment: two data nodes (a primary and its
// replica) and the sentinels that watch them.
type sentinelSet struct {
	flavor    string   // "redis" or "valkey"
	nodes     []string // data nodes, host:port
	sentinels []string // host:port
	// pause and resume SIGSTOP and SIGCONT the data node at an address.
	pause, resume func(t *testing.T, addr string)
}

// privateSentinelSet starts a deployment of the test's own (never the
// shared one: other packages' tests run beside this one): a primary, a
// replica and three sentinels (quorum 2, down after 1 s), with
// redis-server or valkey-server (--sentinel for the sentinels).
func privateSentinelSet(t *testing.T, flavor string) *sentinelSet {
	t.Helper()
	bin := backendtest.RequireBinary(t, flavor+"-server")
	dir := t.TempDir()
	s := &sentinelSet{flavor: flavor}
	servers := map[string]*backendtest.Server{}
	var primary string
	for i := range 2 {
		addr, port := backendtest.FreeAddr(t)
		args := []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", t.TempDir(), "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}
		if i == 1 {
			h, p, _ := strings.Cut(primary, ":")
			args = append(args, "--replicaof", h, p)
		} else {
			primary = addr
		}
		servers[addr] = backendtest.StartServer(t, addr, bin, args...)
		s.nodes = append(s.nodes, addr)
	}
	h, p, _ := strings.Cut(primary, ":")
	for i := range 3 {
		addr, port := backendtest.FreeAddr(t)
		conf := filepath.Join(dir, fmt.Sprintf("sentinel-%d.conf", i))
		sdir := t.TempDir()
		text := fmt.Sprintf("port %[1]s\nbind 127.0.0.1\ndir %[2]s\nsentinel monitor %[3]s %[4]s %[5]s 2\n"+
			"sentinel down-after-milliseconds %[3]s 1000\nsentinel failover-timeout %[3]s 6000\n"+
			"sentinel known-replica %[3]s %[6]s\n", port, sdir, sentinelMaster, h, p, strings.Replace(s.nodes[1], ":", " ", 1))
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		backendtest.StartServer(t, addr, bin, conf, "--sentinel")
		s.sentinels = append(s.sentinels, addr)
	}
	s.pause = func(t *testing.T, addr string) { servers[addr].Signal(syscall.SIGSTOP) }
	s.resume = func(t *testing.T, addr string) { servers[addr].Signal(syscall.SIGCONT) }
	s.waitReady(t)
	return s
}

// sharedSentinelSet is the deployment of scripts/services.sh (group
// redis-sentinel or valkey-sentinel), from its env lines.
func sharedSentinelSet(t *testing.T, flavor string) *sentinelSet {
	t.Helper()
	env := strings.ToUpper(flavor)
	u := backendtest.ServerEnv(t, "CACHETTE_TEST_"+env+"_SENTINEL_URL")
	nodes := backendtest.ServerEnv(t, "CACHETTE_TEST_"+env+"_SENTINEL_NODES")
	s := &sentinelSet{flavor: flavor, nodes: strings.Split(nodes, ",")}
	hosts, _, _ := strings.Cut(u, "/0?")
	for _, a := range strings.Split(hosts, ",") {
		if _, rest, ok := strings.Cut(a, "://"); ok {
			a = rest
		}
		s.sentinels = append(s.sentinels, a)
	}
	name := func(addr string) string {
		for i, n := range s.nodes {
			if n == addr {
				return fmt.Sprintf("%s-sentinel-node-%d", flavor, i+1)
			}
		}
		t.Fatalf("%s is not a data node of %v", addr, s.nodes)
		return ""
	}
	s.pause = func(t *testing.T, addr string) { services(t, "pause", name(addr)) }
	s.resume = func(t *testing.T, addr string) { services(t, "resume", name(addr)) }
	s.waitReady(t)
	return s
}

// config is a cache's configuration on the deployment, in the URL form of
// the docs.
func (s *sentinelSet) config() cachette.Config {
	if s.flavor == "valkey" {
		return cachette.Config{Backend: "valkey", ValkeyURL: "valkey://" + strings.Join(s.sentinels, ",") + "/0?master_set=" + sentinelMaster}
	}
	return cachette.Config{Backend: "redis", RedisURL: "redis://" + strings.Join(s.sentinels, ",redis://") + "/0?master_name=" + sentinelMaster}
}

func (s *sentinelSet) do(addr string, args ...any) *goredis.Cmd {
	c := goredis.NewClient(&goredis.Options{Addr: addr, DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := c.Do(ctx, args...)
	_ = cmd.Err()
	return cmd
}

// master returns the master every sentinel names, or "" while they do not
// agree (or one does not answer).
func (s *sentinelSet) master() string {
	var m string
	for _, a := range s.sentinels {
		v, err := s.do(a, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentinelMaster).StringSlice()
		if err != nil || len(v) != 2 {
			return ""
		}
		if got := v[0] + ":" + v[1]; m == "" {
			m = got
		} else if got != m {
			return ""
		}
	}
	return m
}

// role returns the first word of ROLE at addr ("master", "slave"), or "".
func (s *sentinelSet) role(addr string) string {
	v, err := s.do(addr, "ROLE").Slice()
	if err != nil || len(v) == 0 {
		return ""
	}
	r, _ := v[0].(string)
	return r
}

// ready: every sentinel names the same master, which says it is one, and
// sees a replica whose link to it is up (so that a failover has a replica
// to promote) and the other sentinels.
func (s *sentinelSet) ready() bool {
	m := s.master()
	if m == "" || s.role(m) != "master" {
		return false
	}
	for _, a := range s.sentinels {
		reps, err := s.do(a, "SENTINEL", "REPLICAS", sentinelMaster).Slice()
		if err != nil {
			return false
		}
		ok := false
		for _, r := range reps {
			if f := fields(r); f["master-link-status"] == "ok" && !strings.Contains(f["flags"], "down") && !strings.Contains(f["flags"], "disconnected") {
				ok = true
			}
		}
		info, err := s.do(a, "SENTINEL", "MASTER", sentinelMaster).Result()
		if err != nil || !ok || fields(info)["num-other-sentinels"] != fmt.Sprint(len(s.sentinels)-1) {
			return false
		}
	}
	return true
}

// fields turns a sentinel's flat key/value reply (RESP2) or map (RESP3)
// into a map.
func fields(v any) map[string]string {
	out := map[string]string{}
	switch v := v.(type) {
	case []any:
		for i := 0; i+1 < len(v); i += 2 {
			out[fmt.Sprint(v[i])] = fmt.Sprint(v[i+1])
		}
	case map[any]any:
		for k, x := range v {
			out[fmt.Sprint(k)] = fmt.Sprint(x)
		}
	}
	return out
}

func (s *sentinelSet) waitReady(t *testing.T) {
	t.Helper()
	waitUntil(t, "the sentinels see the master, a synced replica and each other", s.ready)
}

// waitFor polls cond until it holds, for at most waitLong (a bound on a
// hang, not a timing assertion).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", waitLong, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// failover forces a failover (SENTINEL FAILOVER) and returns the master it
// leaves. A sentinel that is not ready for it yet (INPROG, NOGOODSLAVE) is
// asked again.
func (s *sentinelSet) failover(t *testing.T) string {
	t.Helper()
	var old string
	waitUntil(t, "SENTINEL FAILOVER accepted", func() bool {
		old = s.master()
		if old == "" {
			return false
		}
		return s.do(s.sentinels[0], "SENTINEL", "FAILOVER", sentinelMaster).Err() == nil
	})
	return old
}

// waitSwitched waits until every sentinel names a master other than old
// and that node says it is the master.
func (s *sentinelSet) waitSwitched(t *testing.T, old string) string {
	t.Helper()
	var m string
	waitUntil(t, "the sentinels name a new master", func() bool {
		m = s.master()
		return m != "" && m != old && s.role(m) == "master"
	})
	return m
}

// failoverMode is how a sentinel case fails the master over.
type failoverMode int

const (
	// forced: SENTINEL FAILOVER. The sentinels turn the old master into a
	// replica (closing its clients' connections) several seconds after
	// they name the new one.
	forced failoverMode = iota
	// kept: SENTINEL FAILOVER with REPLICAOF and SLAVEOF denied to the old
	// master's default user (ACL), so that the sentinels cannot turn it
	// into a replica, nor close its connections, until the case is over:
	// it stays a master that answers, as a master cut off from the
	// sentinels would. A tracking connection left on it hears nothing of
	// the writes on the new master, and is never lost.
	kept
	// paused: the master paused with SIGSTOP until the sentinels elect
	// its replica, then resumed (it comes back as a replica).
	paused
)

func (m failoverMode) String() string {
	switch m {
	case kept:
		return "SENTINEL FAILOVER, old master kept a master"
	case paused:
		return "primary SIGSTOP, automatic failover"
	default:
		return "SENTINEL FAILOVER"
	}
}

// sentinelFault is a failover under the load of scenario. Healed means
// that the sentinels name the new master. Meanwhile, local checks that a
// cache's local tier follows the new master (localCheck.run).
func sentinelFault(s *sentinelSet, mode failoverMode, local *localCheck) fault {
	var old string
	f := fault{name: s.flavor + " sentinel: " + mode.String()}
	f.inject = func(t *testing.T) {
		switch mode {
		case paused:
			old = s.master()
			s.pause(t, old)
		case kept:
			old = s.master()
			if err := s.do(old, "ACL", "SETUSER", "default", "-replicaof", "-slaveof").Err(); err != nil {
				t.Fatal(err)
			}
			local.restore = func() { s.do(old, "ACL", "SETUSER", "default", "+@all") }
			if got := s.failover(t); got != old {
				t.Fatalf("the master changed from %s to %s before the failover", old, got)
			}
		default:
			old = s.failover(t)
		}
		go local.run(s, old)
	}
	f.heal = func(t *testing.T) {
		s.waitSwitched(t, old)
		if mode == paused {
			s.resume(t, old)
		}
	}
	return f
}

// localCheck: a cache A with a local tier (LocalTTL an hour) and a cache B
// without one, on one prefix. Once the sentinels name the new master, B
// overwrites a key A serves from its local tier; A must serve the new
// value: with an hour's LocalTTL, only its tracking, opened again on the
// new master, can tell it.
type localCheck struct {
	a, b *cachette.Cache
	o    *localLookups
	done chan struct{}
	// took is how long A served the old value after B's overwrite was
	// acknowledged; err is set when it did not stop within waitLong.
	took time.Duration
	err  error
	// restore, when set, lets the sentinels turn the old master into a
	// replica again (the kept mode).
	restore func()
}

// localLookups remembers the outcome of the last lookup.
type localLookups struct {
	cachette.NopObserver
	last chan cachette.LookupResult
}

func (o *localLookups) Lookup(_ context.Context, _ string, r cachette.LookupResult) {
	select {
	case <-o.last:
	default:
	}
	o.last <- r
}

func newLocalCheck(t *testing.T, cfg cachette.Config) *localCheck {
	t.Helper()
	ctx := context.Background()
	cfg.Prefix = strings.ReplaceAll(backendtest.NewPrefix(), ":", "") + "local"
	cfg.Logger = quiet
	lc := &localCheck{o: &localLookups{last: make(chan cachette.LookupResult, 1)}, done: make(chan struct{})}
	ca := cfg
	ca.LocalEntries, ca.LocalTTL, ca.Observer = 100, time.Hour, lc.o
	lc.a = open(t, ca)
	lc.b = open(t, cfg)
	if err := lc.b.Put(ctx, "lk", "before"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "A's local tier serves the value", func() bool {
		v, r, err := lc.fetch()
		return err == nil && v == "before" && r == cachette.LookupLocalHit
	})
	return lc
}

func (lc *localCheck) fetch() (string, cachette.LookupResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var v string
	err := lc.a.Fetch(ctx, "lk", &v)
	r := cachette.LookupMiss
	select {
	case r = <-lc.o.last:
	default:
	}
	return v, r, err
}

// run waits until the sentinels name a master other than old, has B
// overwrite the key there, and waits until A serves the new value.
func (lc *localCheck) run(s *sentinelSet, old string) {
	defer close(lc.done)
	deadline := time.Now().Add(waitLong)
	for {
		if m := s.master(); m != "" && m != old && s.role(m) == "master" {
			break
		}
		if time.Now().After(deadline) {
			lc.err = errors.New("the sentinels named no new master")
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := lc.b.Put(ctx, "lk", "after")
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			lc.err = fmt.Errorf("B's write on the new master: %w", err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	acked := time.Now()
	for {
		v, _, err := lc.fetch()
		if err == nil && v == "after" {
			lc.took = time.Since(acked)
			return
		}
		if err == nil && v != "before" {
			lc.err = fmt.Errorf("A served %q", v)
			return
		}
		if time.Since(acked) > waitLong {
			lc.err = fmt.Errorf("A still served %q (%v) %v after B's overwrite on the new master", v, err, waitLong)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (lc *localCheck) wait(t *testing.T) {
	t.Helper()
	select {
	case <-lc.done:
	case <-time.After(2 * waitLong):
		t.Fatal("the local-tier check did not end")
	}
}

// sentinelCase runs one failover under load on s: the four paths of
// TestChaos, plus the local-tier check. It returns the rows and how long
// A served the overwritten value.
func sentinelCase(t *testing.T, s *sentinelSet, mode failoverMode, warm, hold, observe time.Duration) ([]row, time.Duration) {
	t.Helper()
	cfg := s.config()
	cfg.Prefix = strings.ReplaceAll(backendtest.NewPrefix(), ":", "")
	lc := newLocalCheck(t, s.config())
	paths := allPaths(t, func() cachette.Config { return cfg })
	f := sentinelFault(s, mode, lc)
	rows := scenario(t, f, paths, warm, hold, observe)
	lc.wait(t)
	if lc.restore != nil {
		lc.restore()
	}
	if lc.err != nil {
		t.Errorf("local tier after the failover: %v", lc.err)
	}
	for _, r := range rows {
		if r.wrong > 0 {
			t.Errorf("%s: %d wrong or foreign values", r.path, r.wrong)
		}
		if r.recover < 0 {
			t.Errorf("%s: no answer from the store within %v of the switch", r.path, waitLong)
		}
	}
	return rows, lc.took
}

// TestSentinelFailover is the short Sentinel case for `make test`, on
// private deployments (redis and valkey): under the load of TestChaos, a
// forced failover (SENTINEL FAILOVER), then another with the old master
// kept a master (see kept). Its goals: no wrong value, no error or non-2xx
// but the injected origin failures, every path answered from the store
// after the switch, and a cache's local tier that stops serving a value
// once it is overwritten on the new master (LocalTTL is an hour: with the
// old master kept, tracking left on it would leave the value stale for
// the hour; it must move to the new master). Latencies are only logged.
func TestSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("fault case: several seconds")
	}
	if os.Getenv(backendtest.RequiredEnv) == "" && os.Getenv(chaosEnv) == "" {
		t.Skip("runs under make test (" + backendtest.RequiredEnv + "=1) or " + chaosEnv + "=1")
	}
	for _, flavor := range []string{"redis", "valkey"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			s := privateSentinelSet(t, flavor)
			var rows []row
			for i, mode := range []failoverMode{forced, kept} {
				if i > 0 {
					s.waitReady(t) // the old master is a replica again, in sync
				}
				got, took := sentinelCase(t, s, mode, time.Second, 500*time.Millisecond, time.Second)
				for _, r := range got {
					if r.errs > 0 {
						t.Errorf("%s: %s: %d errors or non-2xx responses; first: %s", r.fault, r.path, r.errs, r.firstErr)
					}
				}
				if took > 0 {
					t.Logf("%s: the local tier served the overwritten value for %v after the write on the new master", got[0].fault, took.Round(time.Millisecond))
				}
				rows = append(rows, got...)
			}
			t.Logf("store timeout %v:\n%s", storeTimeout, table(rows))
		})
	}
}

// TestChaosSentinel is the full Sentinel case of `make chaos`
// (CACHETTE_CHAOS=1), on the redis-sentinel and valkey-sentinel groups of
// scripts/services.sh: the same two failovers with TestChaos's timeline,
// printed as its table, with the local tier's figure below it. Errors are
// logged, not failed: the table reports them.
func TestChaosSentinel(t *testing.T) {
	if os.Getenv(chaosEnv) == "" {
		t.Skip("set " + chaosEnv + "=1 (make chaos) to fail the shared Sentinel deployments over under load")
	}
	var rows []row
	var notes []string
	for _, flavor := range []string{"redis", "valkey"} {
		for _, mode := range []failoverMode{forced, kept, paused} {
			t.Run(flavor+"/"+mode.String(), func(t *testing.T) {
				s := sharedSentinelSet(t, flavor) // waits until the last case's old master is a replica again
				got, took := sentinelCase(t, s, mode, warm, hold, observe)
				for _, r := range got {
					if r.errs > 0 {
						t.Logf("%s: %d errors or non-2xx; first: %s", r.path, r.errs, r.firstErr)
					}
				}
				rows = append(rows, got...)
				notes = append(notes, fmt.Sprintf("- %s: a local tier served the overwritten value for %v after the write on the new master was acknowledged",
					got[0].fault, took.Round(time.Millisecond)))
			})
		}
	}
	fmt.Printf("\nsentinel chaos run of %s; store timeout %v, value TTL %v, %d workers per path, origin of the stale-if-error paths failing 1 load in %d; recovery is counted from the moment the sentinels name the new master\n\n%s\n%s\n",
		time.Now().UTC().Format(time.RFC3339), storeTimeout, valueTTL, workers, injectEvery, table(rows), strings.Join(notes, "\n"))
}
