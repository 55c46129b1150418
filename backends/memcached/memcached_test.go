package memcached

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
)

const (
	hostEnv = "CACHETTE_TEST_MEMCACHED_HOST"
	poolEnv = "CACHETTE_TEST_MEMCACHED_POOL"
)

func opener(hosts string) backendtest.Open {
	return func(t testing.TB, prefix string) backends.Backend {
		s, err := OpenHosts(hosts, Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func openStore(t testing.TB, hosts, prefix string) *Store {
	t.Helper()
	return opener(hosts)(t, prefix).(*Store)
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, opener(backendtest.ServerEnv(t, hostEnv)))
}

func TestConformancePool(t *testing.T) {
	backendtest.Run(t, opener(backendtest.ServerEnv(t, poolEnv)))
}

func TestRegistered(t *testing.T) {
	host := backendtest.ServerEnv(t, hostEnv)
	ctx := backendtest.Ctx(t)
	b, err := backends.Open(ctx, "Memcached", backends.Settings{Prefix: backendtest.NewPrefix(), MemcachedHost: host})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if v, _, err := b.Get(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if _, err := backends.Open(ctx, "memcached", backends.Settings{Prefix: "p"}); err == nil {
		t.Fatal("Open with no memcached host succeeded")
	}
}

// TestPoolSpreadsKeysAndFlush checks, with a raw client per server, that
// keys land on every server of the pool, and that Flush makes all of this
// prefix's keys unreachable on every server while another prefix's stay.
func TestPoolSpreadsKeysAndFlush(t *testing.T) {
	pool := backendtest.ServerEnv(t, poolEnv)
	servers, err := ParseHosts(pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) < 2 {
		t.Fatalf("%s = %q names %d server(s), want at least 2", poolEnv, pool, len(servers))
	}
	ctx := backendtest.Ctx(t)
	mine := openStore(t, pool, backendtest.NewPrefix())
	other := openStore(t, pool, backendtest.NewPrefix())
	const n = 200
	exp := time.Now().Add(time.Minute)
	for i := range n {
		k := fmt.Sprint("key-", i)
		if err := mine.Set(ctx, k, []byte("mine"), exp); err != nil {
			t.Fatal(err)
		}
		if err := other.Set(ctx, k, []byte("other"), exp); err != nil {
			t.Fatal(err)
		}
	}
	gen, err := mine.generation(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]*memcache.Client, len(servers))
	for i, addr := range servers {
		raw[i] = memcache.New(addr)
		defer raw[i].Close()
	}
	// countPerServer counts, per server, the items of mine under gen.
	countPerServer := func(gen uint64) []int {
		counts := make([]int, len(raw))
		for i := range n {
			k := mine.itemKey(gen, fmt.Sprint("key-", i))
			for j, c := range raw {
				if _, err := c.Get(k); err == nil {
					counts[j]++
				} else if !errors.Is(err, memcache.ErrCacheMiss) {
					t.Fatal(err)
				}
			}
		}
		return counts
	}
	counts := countPerServer(gen)
	total := 0
	for j, c := range counts {
		if c == 0 {
			t.Errorf("server %s holds none of %d keys (per server: %v)", servers[j], n, counts)
		}
		total += c
	}
	if total != n {
		t.Errorf("servers hold %d items in all, want %d (per server: %v)", total, n, counts)
	}

	if err := mine.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	newGen, err := mine.generation(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if newGen == gen {
		t.Fatalf("generation still %d after Flush", gen)
	}
	for i := range n {
		k := fmt.Sprint("key-", i)
		if v, _, err := mine.Get(ctx, k); !errors.Is(err, backends.ErrNotFound) {
			t.Fatalf("Get(%q) after Flush = %q, %v; want ErrNotFound", k, v, err)
		}
		if v, _, err := other.Get(ctx, k); err != nil || string(v) != "other" {
			t.Fatalf("other prefix: Get(%q) after Flush = %q, %v", k, v, err)
		}
	}
	if c := countPerServer(newGen); c[0]+c[1] != 0 {
		t.Fatalf("after Flush, the new generation already holds items: %v", c)
	}
	// A second store on the same prefix (another process) sees the flush.
	again := openStore(t, pool, mine.Prefix())
	if _, _, err := again.Get(ctx, "key-0"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("another store on the flushed prefix: Get = %v; want ErrNotFound", err)
	}
}

// metaTTL asks the server for the seconds left on a raw key with the meta
// command "mg <key> t"; -1 means no expiry.
func metaTTL(t *testing.T, addr, key string) int64 {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "mg %s t\r\n", key); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "HD" || !strings.HasPrefix(f[1], "t") {
		t.Fatalf("mg %s t: %q", key, line)
	}
	n, err := strconv.ParseInt(f[1][1:], 10, 64)
	if err != nil {
		t.Fatalf("mg %s t: %q", key, line)
	}
	return n
}

func TestLongTTL(t *testing.T) {
	host := backendtest.ServerEnv(t, hostEnv)
	servers, _ := ParseHosts(host)
	ctx := backendtest.Ctx(t)
	s := openStore(t, servers[0], backendtest.NewPrefix())
	for _, d := range []time.Duration{40 * 24 * time.Hour, 29 * 24 * time.Hour, 90 * time.Second} {
		key := "long-" + d.String()
		exp := time.Now().Add(d)
		if err := s.Set(ctx, key, []byte("v"), exp); err != nil {
			t.Fatal(err)
		}
		v, gotExp, err := s.Get(ctx, key)
		if err != nil || string(v) != "v" {
			t.Fatalf("%v: Get = %q, %v", d, v, err)
		}
		if gotExp.Sub(exp).Abs() > time.Millisecond {
			t.Fatalf("%v: expiry %v, want %v", d, gotExp, exp)
		}
		gen, err := s.generation(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		ttl := metaTTL(t, servers[0], s.itemKey(gen, key))
		// The server keeps the item at least as long as asked, and not
		// for ever.
		if min := int64(d / time.Second); ttl < min-5 || ttl > min+5 {
			t.Errorf("%v: server TTL %d s, want about %d s", d, ttl, min)
		}
	}
}

func TestTooLarge(t *testing.T) {
	host := backendtest.ServerEnv(t, hostEnv)
	ctx := backendtest.Ctx(t)
	s := openStore(t, host, backendtest.NewPrefix())
	err := s.Set(ctx, "huge", make([]byte, 5<<20), time.Now().Add(time.Minute))
	if !errors.Is(err, backends.ErrTooLarge) {
		t.Fatalf("Set of 5 MiB = %v, want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), "-I") || !strings.HasPrefix(err.Error(), "memcached: ") {
		t.Errorf("error %q should name the backend and the -I option", err)
	}
	// The store still works.
	if err := s.Set(ctx, "small", []byte("ok"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if v, _, err := s.Get(ctx, "small"); err != nil || string(v) != "ok" {
		t.Fatalf("Get after a too-large Set = %q, %v", v, err)
	}
}

func TestIllegalKeys(t *testing.T) {
	host := backendtest.ServerEnv(t, hostEnv)
	ctx := backendtest.Ctx(t)
	// A prefix memcached would reject works too.
	for _, prefix := range []string{backendtest.NewPrefix(), backendtest.NewPrefix() + " with space " + strings.Repeat("p", 300)} {
		s := openStore(t, host, prefix)
		long := strings.Repeat("k", 1024)
		keys := []string{
			"with spaces", "ctrl\x01\x02", "nl\r\nstats", long + "a", long + "b",
			"#" + hashHex(long+"a"), "!lock:job", "#", "!",
		}
		exp := time.Now().Add(time.Minute)
		for i, k := range keys {
			if err := s.Set(ctx, k, []byte(strconv.Itoa(i)), exp); err != nil {
				t.Fatalf("Set(%q): %v", k, err)
			}
		}
		for i, k := range keys {
			v, _, err := s.Get(ctx, k)
			if err != nil || string(v) != strconv.Itoa(i) {
				t.Fatalf("prefix %.20q: Get(%.40q) = %q, %v; want %d", prefix, k, v, err, i)
			}
		}
		// A data key named like a lock does not hold the lock "job".
		tok, ok, err := s.Lock(ctx, "job", time.Minute)
		if err != nil || !ok {
			t.Fatalf("Lock(job) next to a key \"!lock:job\" = %v, %v", ok, err)
		}
		if v, _, err := s.Get(ctx, "!lock:job"); err != nil || string(v) != "6" {
			t.Fatalf("Get(!lock:job) after Lock(job) = %q, %v", v, err)
		}
		if ok, err := s.Unlock(ctx, "job", tok); err != nil || !ok {
			t.Fatalf("Unlock = %v, %v", ok, err)
		}
		if ok, err := s.Delete(ctx, long+"a"); err != nil || !ok {
			t.Fatalf("Delete(long a) = %v, %v", ok, err)
		}
		if v, _, err := s.Get(ctx, long+"b"); err != nil || string(v) != "4" {
			t.Fatalf("Get(long b) after deleting long a = %q, %v", v, err)
		}
	}
}

func TestClearNamespaceNotSupported(t *testing.T) {
	host := backendtest.ServerEnv(t, hostEnv)
	ctx := backendtest.Ctx(t)
	s := openStore(t, host, backendtest.NewPrefix())
	if err := s.Set(ctx, "users:1", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	n, err := s.ClearNamespace(ctx, "users")
	if !errors.Is(err, backends.ErrNotSupported) || n != 0 {
		t.Fatalf("ClearNamespace = %d, %v; want ErrNotSupported", n, err)
	}
	if _, _, err := s.Get(ctx, "users:1"); err != nil {
		t.Fatalf("key gone after an unsupported ClearNamespace: %v", err)
	}
}

func TestMalformedValueIsMiss(t *testing.T) {
	host := backendtest.ServerEnv(t, hostEnv)
	ctx := backendtest.Ctx(t)
	s := openStore(t, host, backendtest.NewPrefix())
	gen, err := s.generation(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	raw := memcache.New(host)
	defer raw.Close()
	for _, v := range []string{"", "x", "not an envelope of ours"} {
		if err := raw.Set(&memcache.Item{Key: s.itemKey(gen, "k"), Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Get(ctx, "k"); !errors.Is(err, backends.ErrNotFound) {
			t.Fatalf("Get of foreign bytes %q = %v; want ErrNotFound", v, err)
		}
		if ok, err := s.Delete(ctx, "k"); err != nil || ok {
			t.Fatalf("Delete of foreign bytes = %v, %v; want false", ok, err)
		}
	}
	// A generation key holding garbage is replaced, not a failure.
	if err := raw.Set(&memcache.Item{Key: s.genKey, Value: []byte("garbage")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush over a garbage generation: %v", err)
	}
	if err := raw.Set(&memcache.Item{Key: s.genKey, Value: []byte("garbage")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if v, _, err := s.Get(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
}

func TestLostGenerationActsAsFlush(t *testing.T) {
	host := backendtest.ServerEnv(t, hostEnv)
	ctx := backendtest.Ctx(t)
	s := openStore(t, host, backendtest.NewPrefix())
	if err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	raw := memcache.New(host)
	defer raw.Close()
	if err := raw.Delete(s.genKey); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "k"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get after the generation key was lost = %v; want ErrNotFound", err)
	}
	if err := raw.Delete(s.genKey); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil { // no generation: nothing to do
		t.Fatal(err)
	}
}

func TestNewFromClient(t *testing.T) {
	host := backendtest.ServerEnv(t, hostEnv)
	ctx := backendtest.Ctx(t)
	if _, err := NewFromClient(nil, "p"); err == nil {
		t.Fatal("NewFromClient(nil) succeeded")
	}
	client := memcache.New(host)
	defer client.Close()
	prefix := backendtest.NewPrefix()
	s, err := NewFromClient(client, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "k"); err == nil {
		t.Fatal("Get after Close succeeded")
	}
	// The caller's client still works, and sees the store's keys.
	if _, err := client.Get(prefix + genSuffix); err != nil {
		t.Fatalf("caller's client after the store's Close: %v", err)
	}
}

func TestCanceledContext(t *testing.T) {
	host := backendtest.ServerEnv(t, hostEnv)
	s := openStore(t, host, backendtest.NewPrefix())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Set with a canceled context = %v", err)
	}
	if _, _, err := s.Lock(backendtest.Ctx(t), "l", 0); err == nil {
		t.Fatal("Lock with ttl 0 succeeded")
	}
}

// startMemcached starts a private memcached on a free port and waits until
// it accepts connections; the test's cleanup kills it.
func startMemcached(t *testing.T) *backendtest.Server {
	t.Helper()
	bin := backendtest.RequireBinary(t, "memcached")
	addr, port := backendtest.FreeAddr(t)
	args := []string{"-p", port, "-U", "0", "-l", "127.0.0.1", "-m", "16"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	}
	return backendtest.StartServer(t, addr, bin, args...)
}

// TestServerDown stops a private server mid-use: calls fail within a bound
// (no hang, no panic) and work again with the same store once the server is
// back. The restarted server has lost the generation key, which acts as a
// flush.
func TestServerDown(t *testing.T) {
	srv := startMemcached(t)
	const timeout = 300 * time.Millisecond
	s, err := OpenHosts(srv.Addr, Options{Prefix: backendtest.NewPrefix(), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := backendtest.Ctx(t)
	exp := time.Now().Add(time.Minute)
	if err := s.Set(ctx, "k", []byte("v"), exp); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	bound := 10 * timeout
	calls := map[string]func() error{
		"Get":    func() error { _, _, err := s.Get(ctx, "k"); return err },
		"Set":    func() error { return s.Set(ctx, "k", []byte("v"), exp) },
		"Delete": func() error { _, err := s.Delete(ctx, "k"); return err },
		"Lock":   func() error { _, _, err := s.Lock(ctx, "l", time.Second); return err },
		"Unlock": func() error { _, err := s.Unlock(ctx, "l", "t"); return err },
		"Flush":  func() error { return s.Flush(ctx) },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if took := time.Since(start); took > bound {
			t.Errorf("%s with the server down took %v (bound %v)", name, took, bound)
		}
		if err == nil || errors.Is(err, backends.ErrNotFound) {
			t.Errorf("%s with the server down = %v; want an error", name, err)
		} else if !strings.HasPrefix(err.Error(), "memcached: ") {
			t.Errorf("%s error %q does not name the backend", name, err)
		}
	}

	srv.Start()
	if _, _, err := s.Get(ctx, "k"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get on the restarted (empty) server = %v; want ErrNotFound", err)
	}
	if err := s.Set(ctx, "k", []byte("again"), time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Set after restart: %v", err)
	}
	if v, _, err := s.Get(ctx, "k"); err != nil || string(v) != "again" {
		t.Fatalf("Get after restart = %q, %v", v, err)
	}
}

func BenchmarkBackend(b *testing.B) {
	backendtest.Bench(b, opener(backendtest.BenchEnv(b, hostEnv)))
}

// TestDeleteAfterLostRoundsIsHonest rewrites the entry before each of
// Delete's compare-and-swaps, live twice and then expired: Delete falls
// back to a plain delete and must not report the expired entry as live.
func TestDeleteAfterLostRoundsIsHonest(t *testing.T) {
	s := openStore(t, backendtest.ServerEnv(t, hostEnv), backendtest.NewPrefix())
	ctx := backendtest.Ctx(t)
	if err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	gen, err := s.generation(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	target := s.itemKey(gen, "k")
	rounds := 0
	testHookBeforeCAS = func(key string) {
		if key != target {
			return
		}
		rounds++
		exp := time.Now().Add(time.Minute)
		if rounds >= takeoverAttempts {
			exp = time.Now().Add(-time.Second) // expired by its header, still on the server
		}
		if err := s.client.Set(&memcache.Item{Key: key, Value: encodeEnvelope(exp, []byte("other")), Expiration: 60}); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() { testHookBeforeCAS = nil })
	live, err := s.Delete(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if rounds != takeoverAttempts {
		t.Fatalf("the hook ran %d times, want %d (the test no longer reaches the fallback)", rounds, takeoverAttempts)
	}
	if live {
		t.Fatal("Delete reported a live entry removed, but the entry it removed had expired")
	}
	if _, err := s.client.Get(target); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("the entry is still on the server after Delete: %v", err)
	}
}

// TestHungCallsBounded: on a paused server, each call returns within a
// small multiple of the timeout, with many calls at once.
func TestHungCallsBounded(t *testing.T) {
	srv := startMemcached(t)
	const timeout = 200 * time.Millisecond
	s, err := OpenHosts(srv.Addr, Options{Prefix: backendtest.NewPrefix(), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	backendtest.HungCallsBounded(t, s, srv, timeout, backendtest.Hang{Stop: syscall.SIGSTOP, Resume: syscall.SIGCONT})
}

// TestSetManyBoundedOnHungMember: with one member of a pool of two paused,
// not the one holding the generation key, SetMany's Sets to the paused
// member time out; the whole call still ends within a small multiple of
// the timeout, not one timeout per wave of setManyParallel Sets.
func TestSetManyBoundedOnHungMember(t *testing.T) {
	a, b := startMemcached(t), startMemcached(t)
	const timeout = 200 * time.Millisecond
	s, err := OpenHosts(a.Addr+","+b.Addr, Options{Prefix: backendtest.NewPrefix(), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background() // no deadline: the store must bound the call
	if err := s.Set(ctx, "warm", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err) // creates the generation key
	}
	var list memcache.ServerList
	if err := list.SetServers(a.Addr, b.Addr); err != nil {
		t.Fatal(err)
	}
	genAt, err := list.PickServer(s.genKey)
	if err != nil {
		t.Fatal(err)
	}
	hung := a
	if genAt.String() == a.Addr {
		hung = b
	}
	entries := make([]backends.Entry, 4000) // about 2000 on the paused member: 125 waves
	for i := range entries {
		entries[i] = backends.Entry{Key: "k" + strconv.Itoa(i), Value: []byte("v"), ExpiresAt: time.Now().Add(time.Minute)}
	}
	hung.Signal(syscall.SIGSTOP)
	defer hung.Signal(syscall.SIGCONT)
	start := time.Now()
	err = backendtest.Within(t, time.Minute, "SetMany", func() error { return s.SetMany(ctx, entries) })
	took := time.Since(start)
	t.Logf("SetMany of %d entries, one member of two paused, timeout %v: %v", len(entries), timeout, took)
	if err == nil {
		t.Error("SetMany with a paused member succeeded")
	}
	if took >= 25*timeout { // one timeout per wave would be 125
		t.Errorf("SetMany took %v, want under 25 × the timeout %v", took, timeout)
	}
}
