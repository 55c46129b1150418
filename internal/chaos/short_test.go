package chaos

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/backendtest"
)

// TestShortFaults is the short version of TestChaos for `make test`: the
// same load on a redis-server of the test's own (never the shared test
// server: other packages' tests run beside it), killed with SIGKILL and
// started again, then paused with SIGSTOP and resumed. Its goals are
// assertions: no error or non-2xx (but the injected origin failures), no
// wrong or foreign value, and every path answered from the store again
// once the server is back. Latencies are only logged: the machine is
// shared.
func TestShortFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault case: several seconds")
	}
	if os.Getenv(backendtest.RequiredEnv) == "" && os.Getenv(chaosEnv) == "" {
		t.Skip("runs under make test (" + backendtest.RequiredEnv + "=1) or " + chaosEnv + "=1")
	}
	addr, port := backendtest.FreeAddr(t)
	srv := backendtest.StartServer(t, addr, backendtest.RequireBinary(t, "redis-server"),
		"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	faults := []fault{
		{name: "private redis: kill -9, restart", inject: func(*testing.T) { srv.Stop() }, heal: func(*testing.T) { srv.Start() }},
		{name: "private redis: SIGSTOP, SIGCONT",
			inject: func(*testing.T) { srv.Signal(syscall.SIGSTOP) }, heal: func(*testing.T) { srv.Signal(syscall.SIGCONT) }},
	}
	var rows []row
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			paths := allPaths(t, func() cachette.Config {
				return cachette.Config{Backend: "redis", RedisURL: "redis://" + addr + "/0", Prefix: "short"}
			})
			// Down or paused for 4 timeouts.
			got := scenario(t, f, paths, time.Second, 4*storeTimeout, time.Second)
			rows = append(rows, got...)
			for _, r := range got {
				if r.wrong > 0 {
					t.Errorf("%s: %d wrong or foreign values", r.path, r.wrong)
				}
				if r.errs > 0 {
					t.Errorf("%s: %d errors or non-2xx responses; first: %s", r.path, r.errs, r.firstErr)
				}
				if r.recover < 0 {
					t.Errorf("%s: no answer from the store within %v of the server's return", r.path, waitLong)
				}
			}
		})
	}
	t.Logf("store timeout %v:\n%s", storeTimeout, table(rows))
}
