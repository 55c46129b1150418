package valkey_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	valkeygo "github.com/valkey-io/valkey-go"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/valkey"
)

const (
	envURL     = "CACHETTE_TEST_VALKEY_URL"
	envCluster = "CACHETTE_TEST_VALKEY_CLUSTER"
)

// clusterURL reads the cluster variable; a bare "host:port,host:port" list
// gets the valkey:// scheme.
func clusterURL(t testing.TB) string {
	v := backendtest.ServerEnv(t, envCluster)
	if !strings.Contains(v, "://") {
		v = "valkey://" + v
	}
	return v
}

func open(t testing.TB, rawURL, prefix string, opts ...valkey.Option) *valkey.Store {
	t.Helper()
	s, err := valkey.Open(backendtest.Ctx(t), backends.Settings{Prefix: prefix, ValkeyURL: rawURL}, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// admin is a plain client on the server behind rawURL, for checks behind
// the store's back.
func admin(t testing.TB, rawURL string) valkeygo.Client {
	t.Helper()
	opt, err := valkey.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := valkeygo.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
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
			c, err := cachette.New(ctx, cachette.Config{Backend: "valkey", ValkeyURL: u, Prefix: backendtest.NewPrefix()})
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
	if m := s.Client().Mode(); m != valkeygo.ClientModeCluster {
		t.Fatalf("%s gave a %s client, want cluster", envCluster, m)
	}
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend { return open(t, u, prefix) })
}

// TestClusterSeedNodeDetected opens a cluster through one node's URL.
func TestClusterSeedNodeDetected(t *testing.T) {
	first, _, _ := strings.Cut(clusterURL(t), ",")
	s := open(t, first, backendtest.NewPrefix())
	if m := s.Client().Mode(); m != valkeygo.ClientModeCluster {
		t.Fatalf("one cluster node's URL gave a %s client, want cluster", m)
	}
	ctx := backendtest.Ctx(t)
	for i := range 50 {
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
	client := admin(t, backendtest.ServerEnv(t, envURL))
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend {
		s, err := valkey.NewFromClient(client, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
	s, _ := valkey.NewFromClient(client, "ct-owned")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := backendtest.Ctx(t)
	if err := client.Do(ctx, client.B().Ping().Build()).Error(); err != nil {
		t.Fatalf("client closed by the store's Close: %v", err)
	}
}

func TestNewFromClientRejectsBadInput(t *testing.T) {
	if _, err := valkey.NewFromClient(nil, "p"); err == nil {
		t.Error("nil client accepted")
	}
	client := admin(t, backendtest.ServerEnv(t, envURL))
	for _, p := range []string{"", "a:b"} {
		if _, err := valkey.NewFromClient(client, p); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}

// primaries lists the cluster's primary nodes.
func primaries(t *testing.T, c valkeygo.Client) map[string]valkeygo.Client {
	t.Helper()
	ctx := backendtest.Ctx(t)
	out := map[string]valkeygo.Client{}
	for addr, n := range c.Nodes() {
		role, err := n.Do(ctx, n.B().Role().Build()).ToArray()
		if err != nil {
			t.Fatal(err)
		}
		if name, _ := role[0].ToString(); name == "master" {
			out[addr] = n
		}
	}
	if len(out) < 3 {
		t.Fatalf("cluster has %d primaries, want at least 3", len(out))
	}
	return out
}

// countOn counts the keys matching pattern on one node.
func countOn(t *testing.T, n valkeygo.Client, pattern string) int {
	t.Helper()
	ctx := backendtest.Ctx(t)
	count := 0
	var cursor uint64
	for {
		e, err := n.Do(ctx, n.B().Scan().Cursor(cursor).Match(pattern).Count(1000).Build()).AsScanEntry()
		if err != nil {
			t.Fatal(err)
		}
		count += len(e.Elements)
		if e.Cursor == 0 {
			return count
		}
		cursor = e.Cursor
	}
}

// fillEveryPrimary writes keys under namespace ns (or none) until every
// primary holds at least perNode of them, and returns the keys.
func fillEveryPrimary(t *testing.T, s *valkey.Store, ns string, perNode int) []string {
	t.Helper()
	nodes := primaries(t, s.Client())
	ctx := backendtest.Ctx(t)
	pattern := s.Prefix() + ":*"
	if ns != "" {
		pattern = s.Prefix() + ":" + ns + ":*"
	}
	var keys []string
	for round := 0; ; round++ {
		if round > 100 {
			t.Fatal("keys did not reach every primary")
		}
		for range 10 {
			k := fmt.Sprintf("k%d", len(keys))
			if ns != "" {
				k = ns + ":" + k
			}
			if err := s.Set(ctx, k, []byte(k), time.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		done := true
		for _, n := range nodes {
			done = done && countOn(t, n, pattern) >= perNode
		}
		if done {
			return keys
		}
	}
}

func TestClusterFlushEveryNode(t *testing.T) {
	u := clusterURL(t)
	mine := open(t, u, backendtest.NewPrefix())
	other := open(t, u, backendtest.NewPrefix())
	fillEveryPrimary(t, mine, "", 5)
	otherKeys := fillEveryPrimary(t, other, "", 5)
	if _, ok, err := mine.Lock(backendtest.Ctx(t), "l", time.Minute); err != nil || !ok {
		t.Fatalf("Lock = %v, %v", ok, err)
	}
	nodes := primaries(t, mine.Client())
	before := map[string]int{}
	for addr, n := range nodes {
		if countOn(t, n, mine.Prefix()+":*") == 0 || countOn(t, n, other.Prefix()+":*") == 0 {
			t.Fatalf("node %s lacks keys of one prefix before the flush", addr)
		}
		before[addr] = countOn(t, n, other.Prefix()+":*")
	}
	if err := mine.Flush(backendtest.Ctx(t)); err != nil {
		t.Fatal(err)
	}
	for addr, n := range nodes {
		if c := countOn(t, n, mine.Prefix()+":*"); c != 0 {
			t.Errorf("node %s still holds %d keys of the flushed prefix", addr, c)
		}
		if c := countOn(t, n, other.Prefix()+":*"); c != before[addr] {
			t.Errorf("node %s holds %d keys of the other prefix, had %d", addr, c, before[addr])
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
	users := fillEveryPrimary(t, s, "users", 5)
	kept := fillEveryPrimary(t, s, "usersx", 2)
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
		{"]*", "]abc"}, // mixed
	}
	for name, u := range urls {
		t.Run(name, func(t *testing.T) {
			ctx := backendtest.Ctx(t)
			for _, c := range cases {
				base := backendtest.NewPrefix()
				mine := open(t, u, base+c.mine)
				victim := open(t, u, base+c.victim)
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
				for _, k := range []string{"ns" + c.mine + ":1", "ns" + c.victim + ":1"} {
					if err := victim.Set(ctx, k, []byte("v"), exp); err != nil {
						t.Fatal(err)
					}
				}
				n, err := victim.ClearNamespace(ctx, "ns"+c.mine)
				if err != nil || n != 1 {
					t.Errorf("ClearNamespace(%q) = %d, %v; want 1", "ns"+c.mine, n, err)
				}
				if _, _, err := victim.Get(ctx, "ns"+c.victim+":1"); err != nil {
					t.Errorf("ClearNamespace(%q) removed namespace %q: %v", "ns"+c.mine, "ns"+c.victim, err)
				}
			}
		})
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url      string
		addrs    []string
		db       int
		user     string
		pass     string
		tls      bool
		master   string
		sentUser string
		sentPass string
	}{
		{url: "valkey://127.0.0.1:6380", addrs: []string{"127.0.0.1:6380"}},
		{url: "valkey://h", addrs: []string{"h:6379"}},
		{url: "valkey://u:p%40ss@h:1/2", addrs: []string{"h:1"}, db: 2, user: "u", pass: "p@ss"},
		{url: "VALKEYS://:pw@h:1", addrs: []string{"h:1"}, pass: "pw", tls: true},
		{url: "redis://h:1/3", addrs: []string{"h:1"}, db: 3},
		{url: "rediss://h:1", addrs: []string{"h:1"}, tls: true},
		{url: "valkey://[::1]:7000", addrs: []string{"[::1]:7000"}},
		{url: "valkey://a:7001,valkey://b:7002,valkey://c:7003", addrs: []string{"a:7001", "b:7002", "c:7003"}},
		{url: "valkey://u:p@a:7001, b:7002 ,c", addrs: []string{"a:7001", "b:7002", "c:6379"}, user: "u", pass: "p"},
		{url: "valkey://a:1,b:2/0?dial_timeout=3s", addrs: []string{"a:1", "b:2"}},
		{url: "valkey://a:1,redis://b:2", addrs: []string{"a:1", "b:2"}},
		{url: "valkey://u:p@s1:26379,s2:26379/4?master_set=mymaster", addrs: []string{"s1:26379", "s2:26379"}, db: 4, user: "u", pass: "p", master: "mymaster"},
		{url: "valkey://s1?master_name=m&sentinel_username=su&sentinel_password=sp", addrs: []string{"s1:6379"}, master: "m", sentUser: "su", sentPass: "sp"},
	}
	for _, tt := range tests {
		o, err := valkey.ParseURL(tt.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.url, err)
			continue
		}
		got := fmt.Sprint(o.InitAddress, o.SelectDB, o.Username, o.Password, o.TLSConfig != nil, o.Sentinel.MasterSet, o.Sentinel.Username, o.Sentinel.Password)
		want := fmt.Sprint(tt.addrs, tt.db, tt.user, tt.pass, tt.tls, tt.master, tt.sentUser, tt.sentPass)
		if got != want {
			t.Errorf("ParseURL(%q) = %s, want %s", tt.url, got, want)
		}
		if !o.DisableCache {
			t.Errorf("ParseURL(%q) left client-side caching on", tt.url)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	const secret = "Sup3rS3cret"
	bad := []string{
		"",
		"http://h:1",
		"127.0.0.1:6379",
		"valkey://",
		"valkey://u:" + secret + "@h:99999",
		"valkey://u:" + secret + "@h:abc",
		"valkey://u:" + secret + "@h:1/notanumber",
		"valkey://u:" + secret + "@h:1/1/2",
		"valkey://u:" + secret + "@h:1?bogus_option=1",
		"valkey://u:" + secret + "@h:1?client_cache=1",
		"valkey://u:" + secret + "@h:1?dial_timeout=soon",
		"valkey://u:" + secret + "@h:1?max_retries=3",
		"valkey://u:" + secret + "@h:1?protocol=4",
		"valkey://u:" + secret + "@h%zz:1",
		"valkey://u:" + secret + "@a:1,",
		"valkey://u:" + secret + "@a:1,http://b:2",
		"valkeys://u:" + secret + "@a:1,valkey://b:2",
		"valkey://u:" + secret + "@a:1,valkey://v:other@b:2",
		"valkey://u:" + secret + "@a:1/2,valkey://b:2",
		"valkey://u:" + secret + "@a:1?dial_timeout=2s,valkey://b:2?dial_timeout=1s",
		"valkey://u:" + secret + "@s:1?sentinel_password=" + secret,
		"valkey://u:" + secret + "@s:1?master_set=",
	}
	for _, u := range bad {
		o, err := valkey.ParseURL(u)
		if err == nil {
			t.Errorf("ParseURL(%q) = %v, want an error", u, o.InitAddress)
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
		"valkey://user:" + secret + "@127.0.0.1:" + port + "/0",
		"valkey://:" + secret + "@127.0.0.1:" + port,
		"valkey://user:" + secret + "@127.0.0.1:" + port + ",127.0.0.1:" + port,
		"valkey://user:" + secret + "@127.0.0.1:" + port + "?master_set=m",
	} {
		s, err := valkey.Open(backendtest.Ctx(t), backends.Settings{Prefix: "p", ValkeyURL: u, Timeout: 500 * time.Millisecond})
		if err == nil {
			s.Close()
			t.Errorf("Open of a closed port succeeded")
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
	if s, err := valkey.Open(backendtest.Ctx(t), backends.Settings{Prefix: "a:b", ValkeyURL: "valkey://127.0.0.1:" + port}); err == nil {
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
	adm := admin(t, u)
	o, _ := valkey.ParseURL(u)
	host := o.InitAddress[0]
	user := "ct-" + backends.NewToken()[:8]
	pass := "pw-" + backends.NewToken()[:12]
	if err := adm.Do(ctx, adm.B().AclSetuser().Username(user).Rule("on", ">"+pass, "~*", "&*", "+@all").Build()).Error(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	t.Cleanup(func() { adm.Do(context.Background(), adm.B().AclDeluser().Username(user).Build()) })

	prefix := backendtest.NewPrefix()
	s := open(t, fmt.Sprintf("valkey://%s:%s@%s/2", user, pass, host), prefix)
	if err := s.Set(ctx, "k", []byte("in db 2"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	db2 := admin(t, fmt.Sprintf("valkey://%s/2", host))
	if n, err := db2.Do(ctx, db2.B().Exists().Key(prefix+":k").Build()).AsInt64(); err != nil || n != 1 {
		t.Fatalf("key in database 2: %d, %v", n, err)
	}
	if n, err := adm.Do(ctx, adm.B().Exists().Key(prefix+":k").Build()).AsInt64(); err != nil || (n != 0 && o.SelectDB != 2) {
		t.Fatalf("key in database %d too: %d, %v", o.SelectDB, n, err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	wrong := "Wr0ngPassw0rd"
	_, err := valkey.Open(ctx, backends.Settings{Prefix: prefix, ValkeyURL: fmt.Sprintf("valkey://%s:%s@%s/2", user, wrong, host)})
	if err == nil {
		t.Fatal("Open with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), pass) {
		t.Fatalf("error shows a password: %v", err)
	}
}

func TestTooLargeClientSide(t *testing.T) {
	s := open(t, backendtest.ServerEnv(t, envURL), backendtest.NewPrefix(), valkey.WithMaxValueSize(1000))
	err := s.Set(backendtest.Ctx(t), "k", make([]byte, 1001), time.Now().Add(time.Minute))
	if !errors.Is(err, backends.ErrTooLarge) {
		t.Fatalf("Set over the limit = %v, want ErrTooLarge", err)
	}
	if err := s.Set(backendtest.Ctx(t), "k", make([]byte, 1000), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptValueIsAMiss(t *testing.T) {
	s := open(t, backendtest.ServerEnv(t, envURL), backendtest.NewPrefix())
	ctx := backendtest.Ctx(t)
	c := s.Client()
	if err := c.Do(ctx, c.B().Set().Key(s.Prefix()+":short").Value("abc").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Flush(context.Background()) })
	if _, _, err := s.Get(ctx, "short"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get of a 3-byte foreign value = %v, want ErrNotFound", err)
	}
}

func TestLockRejectsBadTTL(t *testing.T) {
	s := open(t, backendtest.ServerEnv(t, envURL), backendtest.NewPrefix())
	if _, ok, err := s.Lock(backendtest.Ctx(t), "l", 0); err == nil || ok {
		t.Fatalf("Lock with ttl 0 = %v, %v; want an error", ok, err)
	}
}

// --- private servers for fault tests ---

// startServer starts valkey-server on a free loopback port, or skips
// (fails under CACHETTE_TEST_SERVICES_REQUIRED) when it is not installed.
func startServer(t testing.TB, extra ...string) *backendtest.Server {
	t.Helper()
	path := backendtest.RequireBinary(t, "valkey-server")
	addr, port := backendtest.FreeAddr(t)
	return backendtest.StartServer(t, addr, path,
		append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()}, extra...)...)
}

func TestServerDownAndBack(t *testing.T) {
	srv := startServer(t)
	const timeout = 300 * time.Millisecond
	s, err := valkey.Open(backendtest.Ctx(t), backends.Settings{Prefix: "fault", ValkeyURL: "valkey://" + srv.Addr, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	backendtest.DownAndBack(t, s, srv, "valkey", 20*timeout, backendtest.Hang{Stop: syscall.SIGSTOP, Resume: syscall.SIGCONT})
}

// TestServerLimitLearned runs a server with a 1 MiB bulk limit: Open
// learns it, so a bigger value gives ErrTooLarge rather than a broken
// connection, and one that fits exactly still goes through.
func TestServerLimitLearned(t *testing.T) {
	srv := startServer(t, "--proto-max-bulk-len", "1mb")
	s := open(t, "valkey://"+srv.Addr, "big")
	ctx := backendtest.Ctx(t)
	err := s.Set(ctx, "big", make([]byte, 2<<20), time.Now().Add(time.Minute))
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
	master := startServer(t)
	host, port, _ := net.SplitHostPort(master.Addr)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	saddr, sport := backendtest.FreeAddr(t)
	text := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor ctmaster %s %s 1\n", sport, dir, host, port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	sent := backendtest.StartServer(t, saddr, backendtest.RequireBinary(t, "valkey-server"), conf, "--sentinel")

	u := "valkey://" + sent.Addr + "/0?master_set=ctmaster"
	s := open(t, u, backendtest.NewPrefix())
	if m := s.Client().Mode(); m != valkeygo.ClientModeSentinel {
		t.Fatalf("client mode %s, want sentinel", m)
	}
	if err := s.Set(backendtest.Ctx(t), "via-sentinel", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	direct := admin(t, "valkey://"+master.Addr)
	ctx := backendtest.Ctx(t)
	if n, err := direct.Do(ctx, direct.B().Exists().Key(s.Prefix()+":via-sentinel").Build()).AsInt64(); err != nil || n != 1 {
		t.Fatalf("entry written through the sentinel is not on the master: %d, %v", n, err)
	}
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend { return open(t, u, prefix) })
}

// --- benchmarks ---

func BenchmarkBackend(b *testing.B) {
	u := backendtest.BenchEnv(b, envURL)
	backendtest.Bench(b, func(t testing.TB, prefix string) backends.Backend { return open(t, u, prefix) })
}

// TestScanWithoutRole runs Flush and ClearNamespace on a single server that
// does not offer ROLE (renamed away, as some managed services and ACLs do):
// outside a cluster there is no replica to tell apart, so the store must
// not need it.
func TestScanWithoutRole(t *testing.T) {
	srv := startServer(t, "--rename-command", "ROLE", "")
	s, err := valkey.Open(backendtest.Ctx(t), backends.Settings{Prefix: "norole", ValkeyURL: "valkey://" + srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := backendtest.Ctx(t)
	exp := time.Now().Add(time.Minute)
	for _, k := range []string{"ns:1", "ns:2", "other"} {
		if err := s.Set(ctx, k, []byte("v"), exp); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.ClearNamespace(ctx, "ns"); err != nil || n != 2 {
		t.Fatalf("ClearNamespace(ns) = %d, %v; want 2", n, err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if _, _, err := s.Get(ctx, "other"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get(other) after Flush = %v; want ErrNotFound", err)
	}
}

// TestSecretsStayOutOfErrors opens stores with URLs whose password
// (percent-encoded, so it has a raw and a decoded form) is wrong or whose
// server is down: neither form may show in the error or the store's log.
// (valkey-go writes no log lines of its own.)
func TestSecretsStayOutOfErrors(t *testing.T) {
	const raw, decoded = "p%40ss-Sup3rS3cret", "p@ss-Sup3rS3cret"
	_, port := backendtest.FreeAddr(t)
	urls := []string{
		"valkey://user:" + raw + "@127.0.0.1:" + port + "/0",
		"valkey://127.0.0.1:" + port + "?master_set=m&sentinel_password=" + raw,
	}
	if u := os.Getenv(envURL); u != "" {
		urls = append(urls, strings.Replace(u, "://", "://ct-nobody:"+raw+"@", 1))
	}
	for _, u := range urls {
		logs, log := backendtest.NewLogs()
		s, err := valkey.Open(backendtest.Ctx(t), backends.Settings{Prefix: "p", ValkeyURL: u, Timeout: 500 * time.Millisecond, Logger: log})
		if err == nil {
			s.Close()
			t.Errorf("Open with a wrong password or a closed port succeeded")
			continue
		}
		t.Logf("Open: %v", err)
		for _, secret := range []string{raw, decoded} {
			if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
				t.Errorf("the password shows:\nerror: %v\nlog:\n%s", err, logs)
			}
		}
	}
}

// TestHungCallsBounded: on a paused server, Settings.Timeout bounds each
// call as a whole, even with more calls at once than there are connections.
func TestHungCallsBounded(t *testing.T) {
	srv := startServer(t)
	const timeout = 200 * time.Millisecond
	s, err := valkey.Open(backendtest.Ctx(t), backends.Settings{Prefix: "hung", ValkeyURL: "valkey://" + srv.Addr, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	backendtest.HungCallsBounded(t, s, srv, timeout, backendtest.Hang{Stop: syscall.SIGSTOP, Resume: syscall.SIGCONT})
}
