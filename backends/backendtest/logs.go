package backendtest

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Logs collects the lines of a logger, for tests that check what a store
// (or the driver under it) logs. It is safe for concurrent use.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// NewLogs returns a Logs and a logger, at level Debug, that writes to it.
func NewLogs() (*Logs, *slog.Logger) {
	l := &Logs{}
	return l, slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns every line written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

const childEnv = "CACHETTE_TEST_CHILD"

// InChild reports whether this process is the one RunChild started for
// the test name.
func InChild(name string) bool { return os.Getenv(childEnv) == name }

// RunChild runs the test name alone in a new process of the test binary
// (with -test.v, and env added to the environment) and returns what that
// process wrote to stdout and stderr, for tests that must see what reaches
// a process's stderr. The test checks InChild(name) first and, in the
// child, does its work. A child that fails fails t.
func RunChild(t testing.TB, name string, env ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+name+"$", "-test.v=true", "-test.count=1")
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("child %s: %v\nstdout:\n%s\nstderr:\n%s", name, err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}
