package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	_ "github.com/cachette-go/cachette/backends/dynamodb"
	_ "github.com/cachette-go/cachette/backends/memcached"
	_ "github.com/cachette-go/cachette/backends/mongodb"
	_ "github.com/cachette-go/cachette/backends/redis"
	_ "github.com/cachette-go/cachette/backends/valkey"

	"github.com/cachette-go/cachette/backends/backendtest"
)

// chaosEnv turns on TestChaos, which stops and pauses the shared servers of
// scripts/services.sh: never set it for a run other tests share.
const chaosEnv = "CACHETTE_CHAOS"

// The full run's timeline of each case.
const (
	warm    = 2 * time.Second
	hold    = 3 * time.Second // down or paused: six times storeTimeout
	observe = 4 * time.Second // at least, after the server is back
)

// services runs scripts/services.sh with args.
func services(t *testing.T, args ...string) {
	t.Helper()
	script := os.Getenv("CACHETTE_TEST_SERVICES_SCRIPT")
	if script == "" {
		t.Fatal("CACHETTE_TEST_SERVICES_SCRIPT is not set: source .services/env")
	}
	out, err := exec.Command("bash", append([]string{script}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("services.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func killFault(name string) fault {
	return fault{
		name:   name + ": kill -9, restart",
		inject: func(t *testing.T) { services(t, "kill", name) },
		heal:   func(t *testing.T) { services(t, "start", name) },
	}
}

func pauseFault(name string) fault {
	return fault{
		name:   name + ": SIGSTOP " + hold.String() + ", SIGCONT",
		inject: func(t *testing.T) { services(t, "pause", name) },
		heal:   func(t *testing.T) { services(t, "resume", name) },
	}
}

// TestChaos runs every fault case against the servers of scripts/services.sh
// and prints the table. Only with CACHETTE_CHAOS=1 (`make chaos`).
func TestChaos(t *testing.T) {
	if os.Getenv(chaosEnv) == "" {
		t.Skip("set " + chaosEnv + "=1 (make chaos) to stop and pause the test servers under load")
	}
	prefix := strings.ReplaceAll(backendtest.NewPrefix(), ":", "")
	var rows []row
	env := func(t *testing.T, name string) string { return backendtest.ServerEnv(t, name) }
	type backendCase struct {
		name   string
		server string // services.sh name of the server hurt
		cfg    func(t *testing.T) cachette.Config
		faults []func(string) fault
	}
	both := []func(string) fault{killFault, pauseFault}
	cases := []backendCase{
		{"redis", "redis", func(t *testing.T) cachette.Config {
			return cachette.Config{Backend: "redis", RedisURL: env(t, "CACHETTE_TEST_REDIS_URL")}
		}, both},
		{"valkey", "valkey", func(t *testing.T) cachette.Config {
			return cachette.Config{Backend: "valkey", ValkeyURL: env(t, "CACHETTE_TEST_VALKEY_URL")}
		}, both},
		{"memcached", "memcached", func(t *testing.T) cachette.Config {
			return cachette.Config{Backend: "memcached", MemcachedHost: env(t, "CACHETTE_TEST_MEMCACHED_HOST")}
		}, both},
		{"memcached pool", "memcached-2", func(t *testing.T) cachette.Config {
			return cachette.Config{Backend: "memcached", MemcachedHost: env(t, "CACHETTE_TEST_MEMCACHED_POOL")}
		}, []func(string) fault{killFault}},
		{"mongodb", "mongodb", func(t *testing.T) cachette.Config {
			return cachette.Config{Backend: "mongodb", MongoDBURL: env(t, "CACHETTE_TEST_MONGODB_URL")}
		}, both},
		{"dynamodb", "dynamodb", func(t *testing.T) cachette.Config {
			return cachette.Config{Backend: "dynamodb", DynamoDBURL: env(t, "CACHETTE_TEST_DYNAMODB_URL"), TableName: "cachette-chaos"}
		}, both},
	}
	// The reference: the same load on the in-memory store, no fault.
	t.Run("no fault", func(t *testing.T) {
		paths := allPaths(t, func() cachette.Config { return cachette.Config{Prefix: prefix} })
		none := fault{name: "inmemory: no fault (reference)", inject: func(*testing.T) {}, heal: func(*testing.T) {}}
		rows = append(rows, scenario(t, none, paths, warm, hold, observe)...)
	})
	for _, bc := range cases {
		for _, mk := range bc.faults {
			f := mk(bc.server)
			f.name = strings.Replace(f.name, bc.server, bc.name, 1)
			if bc.name == "memcached pool" {
				f.name = "memcached pool: kill -9 one member of two, restart"
			}
			t.Run(f.name, func(t *testing.T) {
				cfg := bc.cfg(t)
				cfg.Prefix = prefix
				paths := allPaths(t, func() cachette.Config { return cfg })
				got := scenario(t, f, paths, warm, hold, observe)
				rows = append(rows, got...)
				for _, r := range got {
					if r.wrong > 0 {
						t.Errorf("%s: %d wrong or foreign values", r.path, r.wrong)
					}
					if r.errs > 0 {
						t.Logf("%s: %d errors or non-2xx; first: %s", r.path, r.errs, r.firstErr)
					}
				}
			})
		}
	}
	fmt.Printf("\nchaos run of %s; store timeout %v, value TTL %v, %d workers per path, origin of the stale-if-error paths failing 1 load in %d\n\n%s\n",
		time.Now().UTC().Format(time.RFC3339), storeTimeout, valueTTL, workers, injectEvery, table(rows))
}
