package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/gob"
)

// bin is the command, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cachette-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "cachette")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the command:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// cli runs the command with env added to an environment without CACHETTE_
// configuration variables, and standard input from /dev/null (not a
// terminal) unless stdin is given.
func cli(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CACHETTE_") && !strings.HasPrefix(kv, "CACHETTE_TEST_") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("cachette %s: %v", strings.Join(args, " "), err)
	}
	return result{out.String(), errOut.String(), code}
}

func (r result) want(t *testing.T, what string, code int, stdout string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", what, r.code, code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, stdout) {
		t.Fatalf("%s: stdout %q does not contain %q\nstderr: %s", what, r.stdout, stdout, r.stderr)
	}
}

func (r result) wantErr(t *testing.T, what string, code int, stderr ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", what, r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Fatalf("%s: stderr %q does not contain %q", what, r.stderr, s)
		}
	}
}

// stores are the configurations the session test runs against: gob needs
// no server; redis and memcached need the test servers.
func stores(t *testing.T) map[string]func(t *testing.T) []string {
	return map[string]func(t *testing.T) []string{
		"gob": func(t *testing.T) []string {
			return []string{"CACHETTE_BACKEND=gob", "CACHETTE_PICKLE_PATH=" + t.TempDir()}
		},
		"redis": func(t *testing.T) []string {
			return []string{"CACHETTE_BACKEND=redis", "CACHETTE_REDIS_URL=" + backendtest.ServerEnv(t, "CACHETTE_TEST_REDIS_URL")}
		},
		"memcached": func(t *testing.T) []string {
			return []string{"CACHETTE_BACKEND=memcached", "CACHETTE_MEMCACHED_HOST=" + backendtest.ServerEnv(t, "CACHETTE_TEST_MEMCACHED_HOST")}
		},
	}
}

// TestSession runs what the person on call would, against each store.
func TestSession(t *testing.T) {
	for name, config := range stores(t) {
		t.Run(name, func(t *testing.T) {
			env := append(config(t), "CACHETTE_PREFIX="+backendtest.NewPrefix())
			run := func(args ...string) result { t.Helper(); return cli(t, env, "", args...) }

			run("put", "user:1", "hello", "--ttl", "90s").want(t, "put", 0, `stored "user:1" for 1m30s`)
			run("get", "user:1").want(t, "get", 0, "hello\n")
			if r := run("get", "--raw", "user:1"); r.code != 0 || r.stdout != "hello" {
				t.Fatalf("get --raw = %q, exit %d, want %q", r.stdout, r.code, "hello")
			}
			r := run("ttl", "user:1")
			r.want(t, "ttl", 0, "s")
			if d, err := time.ParseDuration(strings.TrimSpace(r.stdout)); err != nil || d <= 0 || d > 90*time.Second {
				t.Fatalf("ttl printed %q (%v), want a duration in (0, 90s]", r.stdout, err)
			}
			r = run("inspect", "user:1")
			for _, s := range []string{"format       version 1", "codec        vanilla (ID 1)", "compression  none",
				"5 bytes of payload", "tags         none", "signature    none", "expires "} {
				r.want(t, "inspect", 0, s)
			}

			// Flags win over the variables, before or after the command.
			run("--codec", "json", "put", "doc", `{"a": [1, 2]}`).want(t, "put json", 0, "stored")
			run("get", "doc", "--codec", "json").want(t, "get json", 0, `{"a":[1,2]}`+"\n")
			run("get", "doc").wantErr(t, "get json as vanilla", 3, "written with json", "--codec json")
			run("put", "big", strings.Repeat("abc", 1000)).want(t, "put big", 0, "stored")
			run("inspect", "big").want(t, "inspect big", 0, "compression  zstd")
			run("get", "big").want(t, "get big", 0, strings.Repeat("abc", 1000)+"\n")

			run("del", "user:1").want(t, "del", 0, `deleted "user:1"`)
			run("del", "user:1").want(t, "del again", 0, "nothing deleted")
			run("get", "user:1").wantErr(t, "get after del", 1, `"user:1" not found`)
			run("ttl", "user:1").wantErr(t, "ttl after del", 1, "not found")
			run("inspect", "user:1").wantErr(t, "inspect after del", 1, "not found")

			run("put", "ns:a", "1").want(t, "put ns:a", 0, "stored")
			run("put", "ns:b", "2").want(t, "put ns:b", 0, "stored")
			run("put", "other:c", "3").want(t, "put other:c", 0, "stored")
			run("flush", "--namespace", "ns").wantErr(t, "flush without --yes", 2, "refusing", "--yes", "not a terminal")
			run("get", "ns:a").want(t, "get after refused flush", 0, "1")

			if name == "memcached" {
				run("flush", "--namespace", "ns", "--yes").wantErr(t, "flush namespace on memcached", 3, "not supported")
				r := run("stats")
				r.want(t, "stats", 0, "entries    not supported: memcached cannot enumerate its keys")
			} else {
				run("flush", "--namespace", "ns", "--yes").want(t, "flush namespace", 0, `removed 2 entries of namespace "ns"`)
				run("get", "ns:a").wantErr(t, "get after flush", 1, "not found")
				run("stats").want(t, "stats", 0, "entries    3\n") // doc, big, other:c
				run("stats", "--namespace", "other").want(t, "stats namespace", 0, "entries    1\n")
			}
			run("get", "other:c").want(t, "other namespace kept", 0, "3")
			run("flush", "--yes").want(t, "flush", 0, "flushed prefix")
			run("get", "other:c").wantErr(t, "get after flush", 1, "not found")
		})
	}
}

// TestUndecodableEntryIsShownNotRemoved: get, ttl and inspect report bytes
// that are not a cachette entry and leave them where they are.
func TestUndecodableEntryIsShownNotRemoved(t *testing.T) {
	dir, prefix := t.TempDir(), backendtest.NewPrefix()
	s, err := gob.New(dir, gob.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(backendtest.Ctx(t), "junk", []byte("not an entry at all"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	env := []string{"CACHETTE_BACKEND=gob", "CACHETTE_PICKLE_PATH=" + dir, "CACHETTE_PREFIX=" + prefix}
	r := cli(t, env, "", "inspect", "junk")
	r.wantErr(t, "inspect junk", 3, "not a cachette entry", "bad magic")
	r.want(t, "inspect junk", 3, "19 bytes")
	cli(t, env, "", "get", "junk").wantErr(t, "get junk", 3, "not readable")
	cli(t, env, "", "ttl", "junk").wantErr(t, "ttl junk", 3, "not readable")
	if _, _, err := s.Get(backendtest.Ctx(t), "junk"); err != nil {
		t.Fatalf("the entry is gone after get, ttl and inspect: %v", err)
	}
}

// TestUsageAndConfigErrors: exit 2, naming the key or flag at fault.
func TestUsageAndConfigErrors(t *testing.T) {
	gobEnv := []string{"CACHETTE_BACKEND=gob", "CACHETTE_PICKLE_PATH=" + t.TempDir()}
	cases := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"no command", nil, nil, []string{"no command"}},
		{"unknown command", gobEnv, []string{"fetch", "k"}, []string{`unknown command "fetch"`}},
		{"missing argument", gobEnv, []string{"get"}, []string{"get takes 1 argument"}},
		{"unknown flag", gobEnv, []string{"get", "k", "--bogus"}, []string{"-bogus"}},
		{"default inmemory", nil, []string{"get", "k"}, []string{"inmemory", "CACHETTE_BACKEND"}},
		{"bad ttl variable", append(gobEnv, "CACHETTE_TTL=0"), []string{"get", "k"}, []string{`"ttl"`}},
		{"misspelt variable", append(gobEnv, "CACHETTE_REDIS_ULR=x"), []string{"get", "k"}, []string{"CACHETTE_REDIS_ULR"}},
		{"redis without url", nil, []string{"--backend", "redis", "get", "k"}, []string{`"redis_url"`}},
		{"bad codec flag", gobEnv, []string{"get", "k", "--codec", "yaml"}, []string{`"codec"`, "yaml"}},
		{"bad put ttl", gobEnv, []string{"put", "k", "v", "--ttl", "soon"}, []string{"--ttl"}},
		{"json value", gobEnv, []string{"--codec", "json", "put", "k", "not json"}, []string{"not JSON"}},
		{"feather put", gobEnv, []string{"--codec", "feather", "put", "k", "v"}, []string{"Arrow"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cli(t, tc.env, "", tc.args...).wantErr(t, tc.name, 2, tc.want...)
		})
	}
}

// TestSecretsNotEchoed: a password in a URL appears in no message, whether
// the URL is refused by the configuration checks or the server is down.
func TestSecretsNotEchoed(t *testing.T) {
	const pw = "hunter2-s3cret"
	addr, _ := backendtest.FreeAddr(t)
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"bad scheme", []string{"--backend", "redis", "--redis-url", "http://admin:" + pw + "@" + addr + "/0"}, 2},
		{"bad port", []string{"--backend", "redis", "--redis-url", "redis://admin:" + pw + "@127.0.0.1:99999/0"}, 2},
		{"server down", []string{"--backend", "redis", "--redis-url", "redis://admin:" + pw + "@" + addr + "/0", "--timeout", "2s"}, 3},
		{"valkey down", []string{"--backend", "valkey", "--valkey-url", "valkey://admin:" + pw + "@" + addr, "--timeout", "2s"}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, nil, "", append(tc.args, "get", "k")...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", r.code, tc.code, r.stderr)
			}
			if strings.Contains(r.stderr+r.stdout, pw) {
				t.Fatalf("the password is in the output:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}

// TestFlushConfirmation answers the prompt, as a person at a terminal would
// (in process: a test has no terminal to give the command).
func TestFlushConfirmation(t *testing.T) {
	dir, prefix := t.TempDir(), backendtest.NewPrefix()
	t.Setenv("CACHETTE_BACKEND", "gob")
	t.Setenv("CACHETTE_PICKLE_PATH", dir)
	t.Setenv("CACHETTE_PREFIX", prefix)
	s, err := gob.New(dir, gob.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	put := func() {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"put", "k", "v"}, &console{stdout: &out, stderr: &errOut}); code != 0 {
			t.Fatalf("put: exit %d: %s", code, errOut.String())
		}
	}
	flush := func(answer string) (int, string, string) {
		var out, errOut bytes.Buffer
		con := &console{stdin: strings.NewReader(answer), stdout: &out, stderr: &errOut, stdinTTY: true}
		code := run(context.Background(), []string{"flush"}, con)
		return code, out.String(), errOut.String()
	}
	present := func() bool {
		_, _, err := s.Get(backendtest.Ctx(t), "k")
		if err != nil && !errors.Is(err, backends.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	put()
	for _, answer := range []string{"n\n", "\n", ""} {
		code, _, stderr := flush(answer)
		if code != exitFailed || !strings.Contains(stderr, "1 entry,") || !strings.Contains(stderr, "[y/N]") || !strings.Contains(stderr, "cancelled") {
			t.Fatalf("flush answered %q: exit %d, stderr %q; want the question with the count, then cancelled (exit 3)", answer, code, stderr)
		}
		if !present() {
			t.Fatalf("flush answered %q removed the entry", answer)
		}
	}
	code, stdout, stderr := flush("y\n")
	if code != exitOK || !strings.Contains(stdout, "flushed prefix") || present() {
		t.Fatalf("flush answered y: exit %d, stdout %q, stderr %q; entry present: %v", code, stdout, stderr, present())
	}
}

// TestCodecs: put encodes VALUE with the configured codec, get prints it.
func TestCodecs(t *testing.T) {
	env := []string{"CACHETTE_BACKEND=gob", "CACHETTE_PICKLE_PATH=" + t.TempDir(), "CACHETTE_PREFIX=" + backendtest.NewPrefix()}
	cases := []struct{ codec, value, printed string }{
		{"vanilla", "plain text", "plain text\n"},
		{"json", `{"n": 1, "s": ["x"]}`, `{"n":1,"s":["x"]}` + "\n"},
		{"msgpack", `{"n": 1, "f": 2.5, "s": ["x"]}`, `{"f":2.5,"n":1,"s":["x"]}` + "\n"},
		{"gob", "a gob string", `"a gob string"` + "\n"},
		{"pickle", "alias of gob", `"alias of gob"` + "\n"},
	}
	for _, tc := range cases {
		cli(t, env, "", "--codec", tc.codec, "put", "k-"+tc.codec, tc.value).want(t, "put "+tc.codec, 0, "stored")
		cli(t, env, "", "--codec", tc.codec, "get", "k-"+tc.codec).want(t, "get "+tc.codec, 0, tc.printed)
		cli(t, env, "", "--codec", tc.codec, "inspect", "k-"+tc.codec).want(t, "inspect "+tc.codec, 0, "codec ")
	}
	// VALUE "-" is read from standard input; "--" lets a VALUE start with "-".
	cli(t, env, "from stdin\n", "put", "in", "-").want(t, "put -", 0, "stored")
	cli(t, env, "", "get", "--raw", "in").want(t, "get stdin value", 0, "from stdin\n")
	cli(t, env, "", "put", "--", "neg", "-5").want(t, "put --", 0, "stored")
	cli(t, env, "", "get", "neg").want(t, "get -5", 0, "-5\n")
}
