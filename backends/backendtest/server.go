package backendtest

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Missing skips the test with msg (a server or program it needs is not
// there), or fails it when CACHETTE_TEST_SERVICES_REQUIRED is set.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(RequiredEnv) != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RequireBinary returns the path of the program name, looked up in PATH.
// When it is not installed the test is skipped, or fails under
// CACHETTE_TEST_SERVICES_REQUIRED.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed: install it (`make services-up` does) to run this test")
	}
	return path
}

// FreeAddr returns a loopback address, "127.0.0.1:port", that nothing
// listens on right now, and its port.
func FreeAddr(t testing.TB) (addr, port string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	_, port, _ = net.SplitHostPort(addr)
	return addr, port
}

// DefaultStartTimeout is how long Server.Start waits for the server to
// answer unless Server.StartTimeout says otherwise.
const DefaultStartTimeout = 10 * time.Second

// Server is a server process of a test's own, which the test may stop,
// pause and start again without disturbing the shared test servers.
type Server struct {
	// Addr is where the server listens, as its arguments tell it to.
	Addr string
	// Path and Args are the program and its arguments.
	Path string
	Args []string
	// StartTimeout bounds how long Start waits for Addr to accept a
	// connection; 0 means DefaultStartTimeout.
	StartTimeout time.Duration

	t       testing.TB
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	logs    bytes.Buffer
}

// NewServer prepares a server process, the program at path with args, that
// listens on addr; the test's cleanup stops it. Start runs it.
func NewServer(t testing.TB, addr, path string, args ...string) *Server {
	s := &Server{Addr: addr, Path: path, Args: args, t: t}
	t.Cleanup(s.Stop)
	return s
}

// StartServer is NewServer followed by Start.
func StartServer(t testing.TB, addr, path string, args ...string) *Server {
	t.Helper()
	s := NewServer(t, addr, path, args...)
	s.Start()
	return s
}

// Start runs the program and waits until Addr accepts a connection. The
// test fails when the program cannot start, exits first, or does not
// answer within StartTimeout; its output is then part of the message.
func (s *Server) Start() {
	s.t.Helper()
	s.logs.Reset()
	cmd := exec.Command(s.Path, s.Args...)
	cmd.Stdout = &s.logs
	cmd.Stderr = &s.logs
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", s.Path, err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func(exited chan struct{}) {
		s.waitErr = cmd.Wait()
		close(exited)
	}(s.exited)
	limit := s.StartTimeout
	if limit <= 0 {
		limit = DefaultStartTimeout
	}
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-s.exited:
			s.cmd = nil
			s.t.Fatalf("%s exited before it listened on %s: %v\n%s", s.Path, s.Addr, s.waitErr, s.logs.String())
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("%s did not listen on %s within %v: %v\n%s", s.Path, s.Addr, limit, err, s.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Signal sends sig to the running server (SIGSTOP pauses it, SIGCONT
// resumes it).
func (s *Server) Signal(sig os.Signal) {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatalf("%s is not running", s.Path)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

// Stop kills the server, paused or not, and waits until it has exited.
// Stopping a server that is not running does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill() // SIGKILL ends a paused process too
	<-s.exited
	s.cmd = nil
}

// ServicesBinary returns the program at rel (a slash-separated path) inside
// the state directory of scripts/services.sh: CACHETTE_TEST_SERVICES_DIR
// when set, then .services at the root of the module the test runs in. It
// returns "" when neither holds an executable file there.
func ServicesBinary(t testing.TB, rel string) string {
	t.Helper()
	dirs := []string{os.Getenv("CACHETTE_TEST_SERVICES_DIR")}
	if root, err := moduleRoot(); err == nil {
		dirs = append(dirs, filepath.Join(root, ".services"))
	}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// ModuleRoot returns the root directory of the module the test runs in
// (the nearest directory above the working directory with a go.mod).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
