package redis_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/redis"
)

const (
	envURL     = "CACHETTE_TEST_REDIS_URL"
	envCluster = "CACHETTE_TEST_REDIS_CLUSTER"
)

// quietHandler drops go-redis's own log lines (dial retries while a test
// server is down, sentinel notices), which Open sends to slog.Default()
// for stores opened without a logger, unless the tests run with -v.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "redis: go-redis: ") {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		// Not around slog.Default().Handler(): once SetDefault is given
		// another handler, that one writes back into slog through the log
		// package and would deadlock.
		slog.SetDefault(slog.New(quietHandler{slog.NewTextHandler(os.Stderr, nil)}))
	}
	os.Exit(m.Run())
}

// clusterURL reads the cluster variable; a bare "host:port,host:port" list
// gets the redis:// scheme.
func clusterURL(t testing.TB) string {
	v := backendtest.ServerEnv(t, envCluster)
	if !strings.Contains(v, "://") {
		v = "redis://" + v
	}
	return v
}

func open(t testing.TB, rawURL, prefix string, opts ...redis.Option) *redis.Store {
	t.Helper()
	s, err := redis.Open(backendtest.Ctx(t), backends.Settings{Prefix: prefix, RedisURL: rawURL}, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	u := backendtest.ServerEnv(t, envURL)
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend { return open(t, u, prefix) })
}

// TestThroughCache opens the backend by name through cachette.New, on one
// server and on the cluster, with the URL forms the test servers use.
func TestThroughCache(t *testing.T) {
	for name, env := range map[string]string{"server": envURL, "cluster": envCluster} {
		t.Run(name, func(t *testing.T) {
			u := backendtest.ServerEnv(t, env)
			ctx := backendtest.Ctx(t)
			c, err := cachette.New(ctx, cachette.Config{Backend: "redis", RedisURL: u, Prefix: backendtest.NewPrefix()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Put(ctx, "greeting", "hello"); err != nil {
				t.Fatal(err)
			}
			var got string
			if err := c.Fetch(ctx, "greeting", &got); err != nil || got != "hello" {
				t.Fatalf("Fetch = %q, %v", got, err)
			}
			if err := c.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConformanceCluster(t *testing.T) {
	u := clusterURL(t)
	s := open(t, u, backendtest.NewPrefix())
	if _, ok := s.Client().(*goredis.ClusterClient); !ok {
		t.Fatalf("%s gave a %T, want a cluster client", envCluster, s.Client())
	}
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend { return open(t, u, prefix) })
}

// TestClusterSeedNodeDetected opens a cluster through one node's URL.
func TestClusterSeedNodeDetected(t *testing.T) {
	first, _, _ := strings.Cut(clusterURL(t), ",")
	s := open(t, first, backendtest.NewPrefix())
	if _, ok := s.Client().(*goredis.ClusterClient); !ok {
		t.Fatalf("one cluster node's URL gave a %T, want a cluster client", s.Client())
	}
	ctx := backendtest.Ctx(t)
	for i := range 50 { // keys on every slot range, so MOVED would show
		k := fmt.Sprint("k", i)
		if err := s.Set(ctx, k, []byte(k), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if v, _, err := s.Get(ctx, k); err != nil || string(v) != k {
			t.Fatalf("Get(%s) = %q, %v", k, v, err)
		}
	}
}

func TestConformanceFromClient(t *testing.T) {
	u := backendtest.ServerEnv(t, envURL)
	o, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	client := goredis.NewClient(o)
	t.Cleanup(func() { client.Close() })
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend {
		s, err := redis.NewFromClient(client, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
	// The stores were closed by their cleanups; the caller's client is not.
	s, _ := redis.NewFromClient(client, "ct-owned")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := client.Ping(backendtest.Ctx(t)).Err(); err != nil {
		t.Fatalf("client closed by the store's Close: %v", err)
	}
}

func TestNewFromClientRejectsBadInput(t *testing.T) {
	if _, err := redis.NewFromClient(nil, "p"); err == nil {
		t.Error("nil client accepted")
	}
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	for _, p := range []string{"", "a:b"} {
		if _, err := redis.NewFromClient(c, p); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}

// mastersOf lists the master nodes of the store's cluster.
func mastersOf(t *testing.T, s *redis.Store) (*goredis.ClusterClient, []*goredis.Client) {
	t.Helper()
	cc, ok := s.Client().(*goredis.ClusterClient)
	if !ok {
		t.Fatalf("not a cluster client: %T", s.Client())
	}
	var mu sync.Mutex
	var nodes []*goredis.Client
	err := cc.ForEachMaster(backendtest.Ctx(t), func(_ context.Context, c *goredis.Client) error {
		mu.Lock()
		nodes = append(nodes, c)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) < 3 {
		t.Fatalf("cluster has %d masters, want at least 3", len(nodes))
	}
	return cc, nodes
}

// countOn counts the keys under prefix+":" on one node.
func countOn(t *testing.T, node *goredis.Client, prefix string) int {
	t.Helper()
	ctx := backendtest.Ctx(t)
	n := 0
	iter := node.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// fillEveryMaster writes keys under namespace ns (or none) until every
// master holds at least perNode of them, and returns the keys.
func fillEveryMaster(t *testing.T, s *redis.Store, ns string, perNode int) []string {
	t.Helper()
	cc, _ := mastersOf(t, s)
	ctx := backendtest.Ctx(t)
	per := map[string]int{}
	var keys []string
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatalf("keys did not reach every master: %v", per)
		}
		k := fmt.Sprintf("k%d", i)
		if ns != "" {
			k = ns + ":" + k
		}
		node, err := cc.MasterForKey(ctx, backends.Key(s.Prefix(), k))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, k, []byte(k), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		per[node.Options().Addr]++
		if len(per) >= 3 {
			done := true
			for _, n := range per {
				done = done && n >= perNode
			}
			if done {
				return keys
			}
		}
	}
}

func TestClusterFlushEveryNode(t *testing.T) {
	u := clusterURL(t)
	mine := open(t, u, backendtest.NewPrefix())
	other := open(t, u, backendtest.NewPrefix())
	fillEveryMaster(t, mine, "", 5)
	otherKeys := fillEveryMaster(t, other, "", 5)
	if _, ok, err := mine.Lock(backendtest.Ctx(t), "l", time.Minute); err != nil || !ok {
		t.Fatalf("Lock = %v, %v", ok, err)
	}
	_, nodes := mastersOf(t, mine)
	before := map[*goredis.Client]int{}
	for _, n := range nodes {
		if countOn(t, n, mine.Prefix()) == 0 || countOn(t, n, other.Prefix()) == 0 {
			t.Fatalf("node %s lacks keys of one prefix before the flush", n.Options().Addr)
		}
		before[n] = countOn(t, n, other.Prefix())
	}
	if err := mine.Flush(backendtest.Ctx(t)); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if c := countOn(t, n, mine.Prefix()); c != 0 {
			t.Errorf("node %s still holds %d keys of the flushed prefix", n.Options().Addr, c)
		}
		if c := countOn(t, n, other.Prefix()); c != before[n] {
			t.Errorf("node %s holds %d keys of the other prefix, had %d", n.Options().Addr, c, before[n])
		}
	}
	for _, k := range otherKeys {
		if v, _, err := other.Get(backendtest.Ctx(t), k); err != nil || string(v) != k {
			t.Fatalf("other prefix lost %s: %q, %v", k, v, err)
		}
	}
}

func TestClusterClearNamespaceEveryNode(t *testing.T) {
	s := open(t, clusterURL(t), backendtest.NewPrefix())
	users := fillEveryMaster(t, s, "users", 5)
	kept := fillEveryMaster(t, s, "usersx", 2)
	n, err := s.ClearNamespace(backendtest.Ctx(t), "users")
	if err != nil {
		t.Fatal(err)
	}
	if n != len(users) {
		t.Errorf("ClearNamespace = %d, want %d", n, len(users))
	}
	for _, k := range users {
		if _, _, err := s.Get(backendtest.Ctx(t), k); !errors.Is(err, backends.ErrNotFound) {
			t.Fatalf("Get(%s) after ClearNamespace = %v", k, err)
		}
	}
	for _, k := range kept {
		if _, _, err := s.Get(backendtest.Ctx(t), k); err != nil {
			t.Fatalf("Get(%s) of another namespace = %v", k, err)
		}
	}
}

// TestGlobCharactersInPrefix: a prefix with glob characters flushes only
// itself, and a namespace with them clears only itself.
func TestGlobCharactersInPrefix(t *testing.T) {
	urls := map[string]string{}
	if v := os.Getenv(envURL); v != "" {
		urls["standalone"] = v
	}
	if os.Getenv(envCluster) != "" {
		urls["cluster"] = clusterURL(t)
	}
	if len(urls) == 0 {
		backendtest.ServerEnv(t, envURL)
	}
	cases := []struct{ mine, victim string }{
		{"*", "x"},     // "P*:*" would match "Px:..."
		{"?", "q"},     // "P?:*" would match "Pq:..."
		{"[xy]", "x"},  // "P[xy]:*" would match "Px:..."
		{`\x`, "x"},    // "P\x:*" would match "Px:..."
		{"[", "["},     // an unbalanced bracket
		{"]*", "]abc"}, // mixed
	}
	for name, u := range urls {
		t.Run(name, func(t *testing.T) {
			ctx := backendtest.Ctx(t)
			for _, c := range cases {
				base := backendtest.NewPrefix()
				mine := open(t, u, base+c.mine)
				victim := open(t, u, base+c.victim)
				if c.mine == c.victim {
					victim = open(t, u, base+"a")
				}
				exp := time.Now().Add(time.Minute)
				for i := range 10 {
					k := fmt.Sprint("k", i)
					if err := mine.Set(ctx, k, []byte("m"), exp); err != nil {
						t.Fatal(err)
					}
					if err := victim.Set(ctx, k, []byte("v"), exp); err != nil {
						t.Fatal(err)
					}
				}
				if err := mine.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				for i := range 10 {
					k := fmt.Sprint("k", i)
					if _, _, err := mine.Get(ctx, k); !errors.Is(err, backends.ErrNotFound) {
						t.Errorf("prefix %q: %s survived Flush: %v", mine.Prefix(), k, err)
					}
					if _, _, err := victim.Get(ctx, k); err != nil {
						t.Errorf("Flush of prefix %q removed %s of prefix %q: %v", mine.Prefix(), k, victim.Prefix(), err)
					}
				}

				// Namespaces with glob characters.
				for _, k := range []string{"ns" + c.mine + ":1", "ns" + c.victim + ":1"} {
					if err := victim.Set(ctx, k, []byte("v"), exp); err != nil {
						t.Fatal(err)
					}
				}
				n, err := victim.ClearNamespace(ctx, "ns"+c.mine)
				if err != nil || n != 1 {
					t.Errorf("ClearNamespace(%q) = %d, %v; want 1", "ns"+c.mine, n, err)
				}
				if c.mine != c.victim {
					if _, _, err := victim.Get(ctx, "ns"+c.victim+":1"); err != nil {
						t.Errorf("ClearNamespace(%q) removed namespace %q: %v", "ns"+c.mine, "ns"+c.victim, err)
					}
				}
			}
		})
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url  string
		mode redis.Mode
		addr []string
		db   int
		user string
		pass string
		tls  bool
	}{
		{"redis://127.0.0.1:6379/0", redis.Standalone, []string{"127.0.0.1:6379"}, 0, "", "", false},
		{"redis://h", redis.Standalone, []string{"h:6379"}, 0, "", "", false},
		{"redis://u:p%40ss@h:1/2", redis.Standalone, []string{"h:1"}, 2, "u", "p@ss", false},
		{"REDIS://:pw@h:1", redis.Standalone, []string{"h:1"}, 0, "", "pw", false},
		{"rediss://h:1/3", redis.Standalone, []string{"h:1"}, 3, "", "", true},
		{"redis://[::1]:7000", redis.Standalone, []string{"[::1]:7000"}, 0, "", "", false},
		{"redis://a:7001,redis://b:7002,redis://c:7003", redis.Cluster, []string{"a:7001", "b:7002", "c:7003"}, 0, "", "", false},
		{"redis://u:p@a:7001, b:7002 ,c", redis.Cluster, []string{"a:7001", "b:7002", "c:6379"}, 0, "u", "p", false},
		{"redis://u:p@a:7001/0,redis://u:p@b:7002/0", redis.Cluster, []string{"a:7001", "b:7002"}, 0, "u", "p", false},
		{"rediss://a:1,b:2", redis.Cluster, []string{"a:1", "b:2"}, 0, "", "", true},
		{"redis://a:1?dial_timeout=3s,b:2", redis.Cluster, []string{"a:1", "b:2"}, 0, "", "", false},
		{"redis://u:p@s1:26379,s2:26379/4?master_name=mymaster", redis.Sentinel, []string{"s1:26379", "s2:26379"}, 4, "u", "p", false},
		{"redis://s1:26379?master_set=m", redis.Sentinel, []string{"s1:26379"}, 0, "", "", false},
	}
	for _, tt := range tests {
		tg, err := redis.ParseURL(tt.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.url, err)
			continue
		}
		if tg.Mode != tt.mode {
			t.Errorf("ParseURL(%q).Mode = %v, want %v", tt.url, tg.Mode, tt.mode)
			continue
		}
		var addr []string
		var db int
		var user, pass string
		var tls bool
		switch tg.Mode {
		case redis.Standalone:
			addr, db, user, pass, tls = []string{tg.Options.Addr}, tg.Options.DB, tg.Options.Username, tg.Options.Password, tg.Options.TLSConfig != nil
		case redis.Cluster:
			addr, user, pass, tls = tg.Cluster.Addrs, tg.Cluster.Username, tg.Cluster.Password, tg.Cluster.TLSConfig != nil
		case redis.Sentinel:
			addr, db, user, pass, tls = tg.Failover.SentinelAddrs, tg.Failover.DB, tg.Failover.Username, tg.Failover.Password, tg.Failover.TLSConfig != nil
			if tg.Failover.MasterName == "" || tg.Failover.SentinelPassword != "" {
				t.Errorf("ParseURL(%q): master %q, sentinel password set %v", tt.url, tg.Failover.MasterName, tg.Failover.SentinelPassword != "")
			}
		}
		if fmt.Sprint(addr) != fmt.Sprint(tt.addr) || db != tt.db || user != tt.user || pass != tt.pass || tls != tt.tls {
			t.Errorf("ParseURL(%q) = %v db %d user %q pass %q tls %v; want %v db %d user %q pass %q tls %v",
				tt.url, addr, db, user, pass, tls, tt.addr, tt.db, tt.user, tt.pass, tt.tls)
		}
	}
	sent, err := redis.ParseURL("redis://u:p@s1:26379?master_name=m&sentinel_username=su&sentinel_password=sp")
	if err != nil {
		t.Fatal(err)
	}
	if f := sent.Failover; f.SentinelUsername != "su" || f.SentinelPassword != "sp" || f.Username != "u" || f.Password != "p" {
		t.Errorf("sentinel credentials: %q/%q, master %q/%q", f.SentinelUsername, f.SentinelPassword, f.Username, f.Password)
	}
}

func TestParseURLErrors(t *testing.T) {
	const secret = "Sup3rS3cret"
	bad := []string{
		"",
		"http://h:1",
		"127.0.0.1:6379",
		"redis://",
		"redis://u:" + secret + "@h:99999",
		"redis://u:" + secret + "@h:abc",
		"redis://u:" + secret + "@h:1/notanumber",
		"redis://u:" + secret + "@h:1/1/2",
		"redis://u:" + secret + "@h:1?bogus_option=1",
		"redis://u:" + secret + "@h%zz:1",
		"redis://u:" + secret + "@a:1,",
		"redis://u:" + secret + "@a:1,http://b:2",
		"redis://u:" + secret + "@a:1,redis://v:other@b:2",
		"redis://u:" + secret + "@a:1/2,redis://b:2",
		"redis://u:" + secret + "@a:1?db=2,redis://b:2",
		"redis://u:" + secret + "@a:1,redis://b:2/5",
		"redis://u:" + secret + "@a:1?dial_timeout=2s,redis://b:2?dial_timeout=1s",
		"redis://u:" + secret + "@a:1,redis://b:2/0?master_name=m&password=" + secret,
		"redis://u:" + secret + "@s:1?sentinel_password=" + secret,
		"redis://u:" + secret + "@s:1?master_name=",
	}
	for _, u := range bad {
		tg, err := redis.ParseURL(u)
		if err == nil {
			t.Errorf("ParseURL(%q) = mode %v, want an error", u, tg.Mode)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("ParseURL error shows the password: %v", err)
		}
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	const secret = "Sup3rS3cret"
	_, port := backendtest.FreeAddr(t)
	for _, u := range []string{
		"redis://user:" + secret + "@127.0.0.1:" + port + "/0",
		"redis://:" + secret + "@127.0.0.1:" + port,
		"redis://user:" + secret + "@127.0.0.1:" + port + ",127.0.0.1:" + port,
		"redis://user:" + secret + "@127.0.0.1:" + port + "?master_name=m",
	} {
		s, err := redis.Open(backendtest.Ctx(t), backends.Settings{Prefix: "p", RedisURL: u, Timeout: 500 * time.Millisecond})
		if err == nil {
			s.Close()
			t.Errorf("Open of a closed port succeeded")
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
	if s, err := redis.Open(backendtest.Ctx(t), backends.Settings{Prefix: "a:b", RedisURL: "redis://127.0.0.1:" + port}); err == nil {
		s.Close()
		t.Error(`prefix "a:b" accepted`)
	}
}

// TestACLUserAndDatabase creates a user on the test server, connects as it
// to database 2 and checks that the entry landed there; a wrong password is
// refused without showing up in the error.
func TestACLUserAndDatabase(t *testing.T) {
	u := backendtest.ServerEnv(t, envURL)
	ctx := backendtest.Ctx(t)
	o, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	admin := goredis.NewClient(o)
	defer admin.Close()
	user := "ct-" + backends.NewToken()[:8]
	pass := "pw-" + backends.NewToken()[:12]
	if err := admin.Do(ctx, "ACL", "SETUSER", user, "on", ">"+pass, "~*", "&*", "+@all").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", user) })

	host := o.Addr
	prefix := backendtest.NewPrefix()
	s := open(t, fmt.Sprintf("redis://%s:%s@%s/2", user, pass, host), prefix)
	if err := s.Set(ctx, "k", []byte("in db 2"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	db2 := goredis.NewClient(&goredis.Options{Addr: host, Username: o.Username, Password: o.Password, DB: 2})
	defer db2.Close()
	if n, err := db2.Exists(ctx, prefix+":k").Result(); err != nil || n != 1 {
		t.Fatalf("key in database 2: %d, %v", n, err)
	}
	if n, err := admin.Exists(ctx, prefix+":k").Result(); err != nil || (n != 0 && o.DB != 2) {
		t.Fatalf("key in database %d too: %d, %v", o.DB, n, err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	wrong := "Wr0ngPassw0rd"
	_, err = redis.Open(ctx, backends.Settings{Prefix: prefix, RedisURL: fmt.Sprintf("redis://%s:%s@%s/2", user, wrong, host)})
	if err == nil {
		t.Fatal("Open with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), pass) {
		t.Fatalf("error shows a password: %v", err)
	}
}

func TestTooLargeClientSide(t *testing.T) {
	u := backendtest.ServerEnv(t, envURL)
	s := open(t, u, backendtest.NewPrefix(), redis.WithMaxValueSize(1000))
	err := s.Set(backendtest.Ctx(t), "k", make([]byte, 1001), time.Now().Add(time.Minute))
	if !errors.Is(err, backends.ErrTooLarge) {
		t.Fatalf("Set over the limit = %v, want ErrTooLarge", err)
	}
	if err := s.Set(backendtest.Ctx(t), "k", make([]byte, 1000), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptValueIsAMiss(t *testing.T) {
	u := backendtest.ServerEnv(t, envURL)
	s := open(t, u, backendtest.NewPrefix())
	ctx := backendtest.Ctx(t)
	if err := s.Client().Set(ctx, s.Prefix()+":short", "abc", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "short"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get of a 3-byte foreign value = %v, want ErrNotFound", err)
	}
}

func TestLockRejectsBadTTL(t *testing.T) {
	u := backendtest.ServerEnv(t, envURL)
	s := open(t, u, backendtest.NewPrefix())
	if _, ok, err := s.Lock(backendtest.Ctx(t), "l", 0); err == nil || ok {
		t.Fatalf("Lock with ttl 0 = %v, %v; want an error", ok, err)
	}
}

// --- private servers for fault tests ---

// startServer starts the named binary on a free loopback port, or skips
// (fails under CACHETTE_TEST_SERVICES_REQUIRED) when it is not installed.
func startServer(t testing.TB, bin string, extra ...string) *backendtest.Server {
	t.Helper()
	path := backendtest.RequireBinary(t, bin)
	addr, port := backendtest.FreeAddr(t)
	return backendtest.StartServer(t, addr, path,
		append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()}, extra...)...)
}

func TestServerDownAndBack(t *testing.T) {
	srv := startServer(t, "redis-server")
	const timeout = 300 * time.Millisecond
	s, err := redis.Open(backendtest.Ctx(t), backends.Settings{Prefix: "fault", RedisURL: "redis://" + srv.Addr, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	backendtest.DownAndBack(t, s, srv, "redis", 20*timeout, backendtest.Hang{Stop: syscall.SIGSTOP, Resume: syscall.SIGCONT})
}

// TestServerLimitLearned runs a server with a 1 MiB bulk limit: Open
// learns it, so a bigger value gives ErrTooLarge rather than a broken
// connection, and one that fits exactly still goes through.
func TestServerLimitLearned(t *testing.T) {
	srv := startServer(t, "redis-server", "--proto-max-bulk-len", "1mb")
	s, err := redis.Open(backendtest.Ctx(t), backends.Settings{Prefix: "big", RedisURL: "redis://" + srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := backendtest.Ctx(t)
	err = s.Set(ctx, "big", make([]byte, 2<<20), time.Now().Add(time.Minute))
	if !errors.Is(err, backends.ErrTooLarge) {
		t.Fatalf("Set of 2 MiB past proto-max-bulk-len 1mb = %v, want ErrTooLarge", err)
	}
	fits := make([]byte, 1<<20-8)
	fits[len(fits)-1] = 7
	if err := s.Set(ctx, "fits", fits, time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Set of a value that fits exactly: %v", err)
	}
	if v, _, err := s.Get(ctx, "fits"); err != nil || len(v) != len(fits) || v[len(v)-1] != 7 {
		t.Fatalf("Get = %d bytes, %v", len(v), err)
	}
}

// TestSentinel runs the suite through a sentinel of the test's own that
// watches a master of the test's own.
func TestSentinel(t *testing.T) {
	master := startServer(t, "redis-server")
	host, port, _ := net.SplitHostPort(master.Addr)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	saddr, sport := backendtest.FreeAddr(t)
	text := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor ctmaster %s %s 1\n", sport, dir, host, port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	sent := backendtest.StartServer(t, saddr, backendtest.RequireBinary(t, "redis-server"), conf, "--sentinel")

	u := "redis://" + sent.Addr + ",redis://" + sent.Addr + "/0?master_name=ctmaster"
	s := open(t, u, backendtest.NewPrefix())
	if err := s.Set(backendtest.Ctx(t), "via-sentinel", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	direct := goredis.NewClient(&goredis.Options{Addr: master.Addr})
	defer direct.Close()
	if n, err := direct.Exists(backendtest.Ctx(t), s.Prefix()+":via-sentinel").Result(); err != nil || n != 1 {
		t.Fatalf("entry written through the sentinel is not on the master: %d, %v", n, err)
	}
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend { return open(t, u, prefix) })
}

// --- benchmarks ---

func BenchmarkBackend(b *testing.B) {
	u := backendtest.BenchEnv(b, envURL)
	backendtest.Bench(b, func(t testing.TB, prefix string) backends.Backend { return open(t, u, prefix) })
}

// TestGoRedisLogsReachTheStoreLogger runs, in a child process, an Open on a
// closed port: go-redis's own report of the failed dial must reach the
// logger of the settings (written to stdout there) and not stderr, where
// go-redis's default logger writes.
func TestGoRedisLogsReachTheStoreLogger(t *testing.T) {
	const name = "TestGoRedisLogsReachTheStoreLogger"
	const line = "failed to dial"
	if backendtest.InChild(name) {
		_, port := backendtest.FreeAddr(t)
		log := slog.New(slog.NewTextHandler(os.Stdout, nil))
		s, err := redis.Open(backendtest.Ctx(t), backends.Settings{Prefix: "p", RedisURL: "redis://127.0.0.1:" + port, Timeout: time.Second, Logger: log})
		if err == nil {
			s.Close()
			t.Fatal("Open of a closed port succeeded")
		}
		return
	}
	stdout, stderr := backendtest.RunChild(t, name)
	if !strings.Contains(stdout, "redis: go-redis: connection pool: "+line) {
		t.Errorf("go-redis's %q line did not reach the store's logger; stdout:\n%s", line, stdout)
	}
	if strings.Contains(stderr, line) {
		t.Errorf("go-redis's %q line went to stderr:\n%s", line, stderr)
	}
}

// TestGoRedisLogsFollowOpenStores checks that go-redis's lines go to the
// logger of the most recently opened store still open, and to
// slog.Default() once every store is closed.
func TestGoRedisLogsFollowOpenStores(t *testing.T) {
	u := backendtest.ServerEnv(t, envURL)
	ctx := backendtest.Ctx(t)
	logsA, logA := backendtest.NewLogs()
	logsB, logB := backendtest.NewLogs()
	a, err := redis.Open(ctx, backends.Settings{Prefix: backendtest.NewPrefix(), RedisURL: u, Logger: logA})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := redis.Open(ctx, backends.Settings{Prefix: backendtest.NewPrefix(), RedisURL: u, Logger: logB})
	if err != nil {
		t.Fatal(err)
	}
	// A go-redis client of the test's own on a closed port: its pool logs
	// the failed dial through go-redis's process-wide logger.
	_, port := backendtest.FreeAddr(t)
	failDial := func() {
		c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:" + port, DialerRetries: 1, MaxRetries: -1})
		defer c.Close()
		if err := c.Ping(ctx).Err(); err == nil {
			t.Fatal("PING of a closed port succeeded")
		}
	}
	const line = "redis: go-redis: connection pool: failed to dial"
	failDial()
	if !strings.Contains(logsB.String(), line) || strings.Contains(logsA.String(), line) {
		t.Fatalf("with A then B open, the line should reach B only\nA:\n%s\nB:\n%s", logsA, logsB)
	}
	b.Close()
	failDial()
	if !strings.Contains(logsA.String(), line) {
		t.Fatalf("with B closed, the line should reach A\nA:\n%s", logsA)
	}
	if n := strings.Count(logsB.String(), line); n != 1 {
		t.Errorf("B got %d lines after its Close, want the 1 from before", n)
	}
}

// TestSecretsStayOutOfErrorsAndLogs opens stores with URLs whose password
// (percent-encoded, so it has a raw and a decoded form) is wrong or whose
// server is down, with a logger that sees go-redis's lines too: neither
// form may show in an error or a log line.
func TestSecretsStayOutOfErrorsAndLogs(t *testing.T) {
	const raw, decoded = "p%40ss-Sup3rS3cret", "p@ss-Sup3rS3cret"
	_, port := backendtest.FreeAddr(t)
	urls := []string{
		"redis://user:" + raw + "@127.0.0.1:" + port + "/0",
		"redis://127.0.0.1:" + port + "?master_name=m&sentinel_password=" + raw,
	}
	if u := os.Getenv(envURL); u != "" {
		urls = append(urls, strings.Replace(u, "://", "://ct-nobody:"+raw+"@", 1))
	}
	for _, u := range urls {
		logs, log := backendtest.NewLogs()
		s, err := redis.Open(backendtest.Ctx(t), backends.Settings{Prefix: "p", RedisURL: u, Timeout: 500 * time.Millisecond, Logger: log})
		if err == nil {
			s.Close()
			t.Errorf("Open with a wrong password or a closed port succeeded")
			continue
		}
		for _, secret := range []string{raw, decoded} {
			if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
				t.Errorf("the password shows:\nerror: %v\nlog:\n%s", err, logs)
			}
		}
	}
}

// TestHungCallsBounded: on a paused server, Settings.Timeout bounds each
// call as a whole, even with more calls at once than the pool has
// connections (go-redis alone applies it to each dial, read and write, and
// retries).
func TestHungCallsBounded(t *testing.T) {
	srv := startServer(t, "redis-server")
	const timeout = 200 * time.Millisecond
	s, err := redis.Open(backendtest.Ctx(t), backends.Settings{Prefix: "hung", RedisURL: "redis://" + srv.Addr, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	backendtest.HungCallsBounded(t, s, srv, timeout, backendtest.Hang{Stop: syscall.SIGSTOP, Resume: syscall.SIGCONT})
}
