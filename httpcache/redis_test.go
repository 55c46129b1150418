package httpcache

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/backendtest"
)

// startRedis starts a private redis-server on a free loopback port, for a
// test that kills it, and returns its URL and the process.
func startRedis(t *testing.T) (string, *exec.Cmd) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed (apt-get install -y redis-server)"
		if os.Getenv(backendtest.RequiredEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("redis-server did not listen on %s", addr)
		}
	}
	return "redis://" + addr + "/0", cmd
}

// TestFailOpenRedisStops kills the store in the middle of a load: every
// request is still answered by the handler, none with a 5xx.
func TestFailOpenRedisStops(t *testing.T) {
	url, cmd := startRedis(t)
	c, err := cachette.New(ctxT(t), cachette.Config{
		Backend: "redis", RedisURL: url, Prefix: backendtest.NewPrefix(),
		Timeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	var logs logSink
	h := &counter{delay: 2 * time.Millisecond}
	mw := Middleware(c, Options{TTL: time.Minute, Logger: logs.logger()})(h)

	var mu sync.Mutex
	counts := map[string]int{} // "phase code status" -> n
	var killed time.Time       // set once the server is gone
	// The kill comes after the first HIT and each client then makes a few
	// requests more, however slow the machine is.
	firstHit := make(chan struct{})
	var hitOnce sync.Once
	const afterKill = 5
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j, after := 0, 0; after < afterKill; j++ {
				start := time.Now()
				w := request(mw, "GET", fmt.Sprintf("/p/%d", (i+j)%5))
				mu.Lock()
				phase := "before"
				if !killed.IsZero() && start.After(killed) {
					phase = "after"
					after++
				}
				counts[fmt.Sprintf("%s %d %s", phase, w.Code, w.Header().Get(StatusHeader))]++
				mu.Unlock()
				if phase == "before" && w.Header().Get(StatusHeader) == StatusHit {
					hitOnce.Do(func() { close(firstHit) })
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	select {
	case <-firstHit:
	case <-time.After(backendtest.CtxBudget):
		t.Errorf("no HIT within %v of load on a live store", backendtest.CtxBudget)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	mu.Lock()
	killed = time.Now()
	mu.Unlock()
	wg.Wait()

	t.Logf("answers: %v", counts)
	for k := range counts {
		if !strings.Contains(k, " 200 ") {
			t.Errorf("answer %q: the store going away must not fail requests", k)
		}
	}
	if counts["before 200 HIT"] == 0 || counts["after 200 MISS"] == 0 || counts["after 200 HIT"] != 0 {
		t.Errorf("want HITs before the kill and only MISSes after: %v", counts)
	}
	if !strings.Contains(logs.String(), "store error") {
		t.Errorf("store errors were not logged:\n%s", logs.String())
	}
}

// TestRedisEntriesVisibleAcrossCaches checks that an entry stored through
// one Cache is a HIT through another on the same Redis and prefix.
func TestRedisEntriesVisibleAcrossCaches(t *testing.T) {
	caches := redisKind.shared(t, 2)
	h := &counter{}
	a := testMiddleware(caches[0], Options{TTL: time.Minute})(h)
	b := testMiddleware(caches[1], Options{TTL: time.Minute})(h)
	wantStatus(t, request(a, "GET", "/shared"), http.StatusOK, StatusMiss)
	wantStatus(t, request(b, "GET", "/shared"), http.StatusOK, StatusHit)
}
