package gob_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/gob"
)

func open(t testing.TB, dir, prefix string) *gob.Store {
	t.Helper()
	s, err := gob.New(dir, gob.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend {
		return open(t, dir, prefix)
	})
}

func TestConformanceSync(t *testing.T) {
	if testing.Short() {
		t.Skip("fsync is slow")
	}
	dir := t.TempDir()
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend {
		s, err := gob.New(dir, gob.Options{Prefix: prefix, Sync: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestRegistered(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a", "b")
	b, err := backends.Open(ctx, "gob", backends.Settings{PicklePath: dir, Prefix: "app"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("PicklePath not created: %v", err)
	}

	if _, err := backends.Open(ctx, "gob", backends.Settings{Prefix: "app"}); !errors.Is(err, gob.ErrNoDir) {
		t.Fatalf("Open without PicklePath = %v, want ErrNoDir", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := gob.New(file, gob.Options{}); err == nil {
		t.Fatal("New on a regular file succeeded")
	}
}

func entryPath(s *gob.Store, key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(s.Dir(), hex.EncodeToString(h[:]))
}

func lockPath(s *gob.Store, key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(s.Dir(), "locks", hex.EncodeToString(h[:]))
}

func TestLayoutAndModes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "cache")
	s := open(t, root, "app")
	ctx := context.Background()
	if err := s.Set(ctx, "../../etc/passwd", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Lock(ctx, "job", time.Minute); err != nil || !ok {
		t.Fatalf("Lock = %v, %v", ok, err)
	}
	ph := sha256.Sum256([]byte("app"))
	if want := filepath.Join(root, hex.EncodeToString(ph[:8])); s.Dir() != want {
		t.Fatalf("Dir = %s, want %s", s.Dir(), want)
	}
	for _, c := range []struct {
		path string
		mode fs.FileMode
		dir  bool
	}{
		{root, 0o700, true},
		{s.Dir(), 0o700, true},
		{filepath.Join(s.Dir(), "locks"), 0o700, true},
		{entryPath(s, "../../etc/passwd"), 0o600, false},
		{lockPath(s, "job"), 0o600, false},
	} {
		fi, err := os.Lstat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.IsDir() != c.dir || fi.Mode().Perm() != c.mode {
			t.Errorf("%s: mode %v (dir %v), want %v (dir %v)", c.path, fi.Mode(), fi.IsDir(), c.mode, c.dir)
		}
	}
	// Nothing outside the store's directory was written.
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Fatalf("root holds %d entries, want only the prefix directory", len(ents))
	}
}

// entryFiles returns the names of the entry files and temporary files of a
// prefix directory.
func entryFiles(t testing.TB, dir string) (entries, temps []string) {
	t.Helper()
	for _, d := range []string{dir, filepath.Join(dir, "locks")} {
		des, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, de := range des {
			switch {
			case strings.HasPrefix(de.Name(), ".tmp-"):
				temps = append(temps, filepath.Join(d, de.Name()))
			case d == dir && de.Type().IsRegular():
				entries = append(entries, de.Name())
			}
		}
	}
	return entries, temps
}

func TestNoTempFilesLeft(t *testing.T) {
	s := open(t, t.TempDir(), "p")
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				key := fmt.Sprint("k", (g+i)%10)
				if err := s.Set(ctx, key, bytes.Repeat([]byte{byte(i)}, i*100), time.Now().Add(time.Minute)); err != nil {
					t.Error(err)
					return
				}
				if tok, ok, err := s.Lock(ctx, key, time.Minute); err != nil {
					t.Error(err)
				} else if ok {
					if _, err := s.Unlock(ctx, key, tok); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	entries, temps := entryFiles(t, s.Dir())
	if len(temps) != 0 {
		t.Errorf("temporary files left: %v", temps)
	}
	if len(entries) != 10 {
		t.Errorf("%d entry files, want 10", len(entries))
	}
}

func TestStaleTempFilesRemoved(t *testing.T) {
	s := open(t, t.TempDir(), "p")
	ctx := context.Background()
	stale := filepath.Join(s.Dir(), ".tmp-stale")
	staleLock := filepath.Join(s.Dir(), "locks", ".tmp-stale")
	fresh := filepath.Join(s.Dir(), ".tmp-fresh")
	old := time.Now().Add(-2 * gob.StaleTempAge)
	for _, p := range []string{stale, staleLock, fresh} {
		if err := os.WriteFile(p, []byte("half a wri"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{stale, staleLock} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.FlushExpired(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stale, staleLock} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stale %s survived FlushExpired: %v", p, err)
		}
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temporary file (a write in flight) was removed: %v", err)
	}
}

func TestMalformedFilesAreMisses(t *testing.T) {
	ctx := context.Background()
	var logs syncBuffer
	s, err := gob.New(t.TempDir(), gob.Options{Prefix: "p", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Minute)
	if err := s.Set(ctx, "good", []byte("a value of some length"), exp); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "ns:victim", []byte("the victim's value"), exp); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(entryPath(s, "ns:victim"))
	if err != nil {
		t.Fatal(err)
	}
	// A valid file of another key, copied under this key's name.
	if err := s.Set(ctx, "other", []byte("x"), exp); err != nil {
		t.Fatal(err)
	}
	foreign, err := os.ReadFile(entryPath(s, "other"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(whole)
	flipped[len(flipped)-8] ^= 1 // inside the value: the header still reads
	all := []string{"get", "delete", "clear", "flushexpired"}
	cases := []struct {
		name string
		data []byte
		ops  []string
	}{
		{"empty", []byte{}, all},
		{"truncated", whole[:len(whole)/2], all},
		{"truncated tail", whole[:len(whole)-1], all},
		{"one byte more", append(bytes.Clone(whole), 0), all},
		{"garbage", []byte("\x00\x01 not a cache file at all \xff\xfe"), all},
		{"zeros", make([]byte, len(whole)), all},
		{"huge lengths", append([]byte("CTGB\x01E\x7f\xff\xff\xff\xff\xff\xff\xff"), bytes.Repeat([]byte{0xff}, 20)...), all},
		// The sweeps read headers only (see ClearNamespace), so a value
		// damaged behind an intact header is caught by Get and Delete.
		{"flipped bit in value", flipped, []string{"get", "delete"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, op := range tc.ops {
				path := entryPath(s, "ns:victim")
				if err := os.WriteFile(path, tc.data, 0o600); err != nil {
					t.Fatal(err)
				}
				switch op {
				case "get":
					if _, _, err := s.Get(ctx, "ns:victim"); !errors.Is(err, backends.ErrNotFound) {
						t.Fatalf("Get = %v, want ErrNotFound", err)
					}
				case "delete":
					if ok, err := s.Delete(ctx, "ns:victim"); err != nil || ok {
						t.Fatalf("Delete = %v, %v; want false, nil", ok, err)
					}
				case "clear":
					if n, err := s.ClearNamespace(ctx, "ns"); err != nil || n != 0 {
						t.Fatalf("ClearNamespace = %d, %v; want 0, nil", n, err)
					}
				case "flushexpired":
					if err := s.FlushExpired(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("after %s the malformed file is still there: %v", op, err)
				}
				if !strings.Contains(logs.String(), "malformed") {
					t.Fatalf("%s removed a malformed file without logging it", op)
				}
				logs.Reset()
			}
		})
	}
	// A whole file of another key under this key's name is a miss but is
	// left alone (that is what a hash collision would look like).
	path := entryPath(s, "ns:victim")
	if err := os.WriteFile(path, foreign, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "ns:victim"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get of a file holding another key = %v, want ErrNotFound", err)
	}
	if ok, err := s.Delete(ctx, "ns:victim"); err != nil || ok {
		t.Fatalf("Delete of a file holding another key = %v, %v", ok, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a colliding key's file was removed: %v", err)
	}
	// The good entry never suffered.
	if v, _, err := s.Get(ctx, "good"); err != nil || string(v) != "a value of some length" {
		t.Fatalf("Get(good) = %q, %v", v, err)
	}
}

// syncBuffer is a bytes.Buffer for a logger shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func TestMalformedLockIsTakenOver(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), "p")
	if err := os.WriteFile(lockPath(s, "job"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Unlock(ctx, "job", "junk"); err != nil || ok {
		t.Fatalf("Unlock of a malformed lock = %v, %v; want false", ok, err)
	}
	if err := os.WriteFile(lockPath(s, "job"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, ok, err := s.Lock(ctx, "job", time.Minute)
	if err != nil || !ok {
		t.Fatalf("Lock over a malformed lock file = %v, %v; want taken", ok, err)
	}
	if ok, err := s.Unlock(ctx, "job", tok); err != nil || !ok {
		t.Fatalf("Unlock = %v, %v", ok, err)
	}
}

func TestExpiredEntryRemovedOnRead(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), "p")
	exp := time.Now().Add(50 * time.Millisecond)
	if err := s.Set(ctx, "k", []byte("v"), exp); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(exp) + time.Millisecond)
	if _, _, err := s.Get(ctx, "k"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get of an expired entry = %v", err)
	}
	if _, err := os.Stat(entryPath(s, "k")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("expired file still there after Get: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), "p")
	long := strings.Repeat("k", gob.MaxKeyLen+1)
	if err := s.Set(ctx, long, []byte("v"), time.Now().Add(time.Minute)); !errors.Is(err, backends.ErrInvalidKey) {
		t.Errorf("Set with a key over MaxKeyLen: %v, want ErrInvalidKey", err)
	}
	if _, _, err := s.Lock(ctx, long, time.Minute); !errors.Is(err, backends.ErrInvalidKey) {
		t.Errorf("Lock with a key over MaxKeyLen: %v, want ErrInvalidKey", err)
	}
	if _, _, err := s.Lock(ctx, "job", 0); err == nil {
		t.Error("Lock with ttl 0 succeeded")
	}
	if _, err := gob.New(t.TempDir(), gob.Options{Prefix: long}); err == nil {
		t.Error("New with a prefix over MaxKeyLen succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Set(cancelled, "k", nil, time.Now().Add(time.Minute)); !errors.Is(err, context.Canceled) {
		t.Errorf("Set with a cancelled context = %v", err)
	}
}

func TestCloseIsHarmless(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), "p")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Set after Close: %v", err)
	}
	if v, _, err := s.Get(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("Get after Close = %q, %v", v, err)
	}
}

// Two stores on one directory stand in for two processes.
func TestTwoStoresShareDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := open(t, dir, "shared"), open(t, dir, "shared")
	if err := a.Set(ctx, "k", []byte("from a"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if v, _, err := b.Get(ctx, "k"); err != nil || string(v) != "from a" {
		t.Fatalf("b.Get = %q, %v", v, err)
	}
	if ok, err := b.Delete(ctx, "k"); err != nil || !ok {
		t.Fatalf("b.Delete = %v, %v", ok, err)
	}
	if _, _, err := a.Get(ctx, "k"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("a.Get after b.Delete = %v", err)
	}

	tok, ok, err := b.Lock(ctx, "job", time.Minute)
	if err != nil || !ok {
		t.Fatalf("b.Lock = %v, %v", ok, err)
	}
	if _, ok, err := a.Lock(ctx, "job", time.Minute); err != nil || ok {
		t.Fatalf("a.Lock while b holds it = %v, %v", ok, err)
	}
	if ok, err := a.Unlock(ctx, "job", "wrong"); err != nil || ok {
		t.Fatalf("a.Unlock(wrong) = %v, %v", ok, err)
	}
	if ok, err := a.Unlock(ctx, "job", tok); err != nil || !ok {
		t.Fatalf("a.Unlock(b's token) = %v, %v", ok, err)
	}
	if _, ok, err := a.Lock(ctx, "job", time.Minute); err != nil || !ok {
		t.Fatalf("a.Lock after release = %v, %v", ok, err)
	}

	// Many callers on both stores race to take over an expired lock, with
	// the window between reading the expired lock and replacing it widened.
	gob.SetTakeoverHook(func() { time.Sleep(2 * time.Millisecond) })
	defer gob.SetTakeoverHook(nil)
	for round := range 10 {
		key := fmt.Sprint("expired-", round)
		if _, ok, err := a.Lock(ctx, key, time.Millisecond); err != nil || !ok {
			t.Fatalf("Lock = %v, %v", ok, err)
		}
		time.Sleep(3 * time.Millisecond)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			st := a
			if i%2 == 1 {
				st = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, ok, err := st.Lock(ctx, key, time.Minute); err != nil {
					t.Error(err)
				} else if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d callers took over one expired lock, want 1", round, n)
		}
	}

	// A flush through one store is seen by the other, and another prefix
	// on the same directory is untouched.
	other := open(t, dir, "other")
	for _, st := range []*gob.Store{a, other} {
		if err := st.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Get(ctx, "k"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("a.Get after b.Flush = %v", err)
	}
	if _, _, err := other.Get(ctx, "k"); err != nil {
		t.Fatalf("other prefix lost its entry to a flush: %v", err)
	}
}

// The multi-process test: this test binary runs itself as helperProcs
// children on one directory. Each writes and reads its own keys, writes one
// shared key, and for every round tries two locks: a fresh one and one the
// parent left expired. The parent then checks that every value is readable
// and whole, no temporary file is left, and each lock has exactly one winner.
const (
	helperEnv    = "CACHETTE_GOB_HELPER"
	helperProcs  = 4
	helperKeys   = 200
	helperRounds = 20
)

func helperValue(id, i int) []byte {
	head := fmt.Sprintf("v-%d-%d-", id, i)
	return append([]byte(head), bytes.Repeat([]byte{byte('a' + (id+i)%26)}, (i*37)%5000)...)
}

// checkHelperValue reports whether v is one of the values helperValue makes.
func checkHelperValue(v []byte) bool {
	var id, i int
	if _, err := fmt.Sscanf(string(v), "v-%d-%d-", &id, &i); err != nil {
		return false
	}
	return bytes.Equal(v, helperValue(id, i))
}

func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("run by TestMultiProcess")
	}
	dir, start := os.Getenv("GOB_HELPER_DIR"), os.Getenv("GOB_HELPER_START")
	id, err := strconv.Atoi(os.Getenv("GOB_HELPER_ID"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := gob.New(dir, gob.Options{Prefix: "mp"})
	if err != nil {
		t.Fatal(err)
	}
	// Widen the race between processes taking over one expired lock.
	gob.SetTakeoverHook(func() { time.Sleep(2 * time.Millisecond) })
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(start); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no start signal")
		}
		time.Sleep(time.Millisecond)
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for i := range helperKeys {
		key := fmt.Sprintf("c%d:k%d", id, i)
		val := helperValue(id, i)
		if err := s.Set(ctx, key, val, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _, err := s.Get(ctx, key); err != nil || !bytes.Equal(got, val) {
			t.Fatalf("Get(%s) = %d bytes, %v", key, len(got), err)
		}
		if err := s.Set(ctx, "shared", val, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _, err := s.Get(ctx, "shared"); err != nil || !checkHelperValue(got) {
			t.Fatalf("Get(shared) = %q, %v", got, err)
		}
		// Another process's key is either not written yet or whole.
		peer := fmt.Sprintf("c%d:k%d", (id+1)%helperProcs, i)
		if got, _, err := s.Get(ctx, peer); err == nil && !checkHelperValue(got) {
			t.Fatalf("Get(%s) = a torn value %q", peer, got)
		} else if err != nil && !errors.Is(err, backends.ErrNotFound) {
			t.Fatal(err)
		}
		if i%(helperKeys/helperRounds) == 0 {
			round := i / (helperKeys / helperRounds)
			for _, kind := range []string{"fresh", "takeover"} {
				_, ok, err := s.Lock(ctx, fmt.Sprintf("%s-%d", kind, round), time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(out, "lock %s %d %v\n", kind, round, ok)
			}
		}
	}
}

func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir, signals := t.TempDir(), t.TempDir()
	start := filepath.Join(signals, "start")
	ctx := context.Background()
	parent := open(t, dir, "mp")
	for round := range helperRounds {
		if _, ok, err := parent.Lock(ctx, fmt.Sprint("takeover-", round), time.Millisecond); err != nil || !ok {
			t.Fatalf("Lock = %v, %v", ok, err)
		}
	}
	time.Sleep(5 * time.Millisecond) // the takeover locks are now expired

	type child struct {
		cmd    *exec.Cmd
		stdout bytes.Buffer
		stderr bytes.Buffer
	}
	children := make([]*child, helperProcs)
	for id := range children {
		c := &child{cmd: exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")}
		c.cmd.Env = append(os.Environ(), helperEnv+"=1",
			"GOB_HELPER_DIR="+dir, "GOB_HELPER_START="+start, "GOB_HELPER_ID="+strconv.Itoa(id))
		c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		children[id] = c
	}
	if err := os.WriteFile(start, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wins := map[string]int{}
	for id, c := range children {
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\nstdout:\n%s\nstderr:\n%s", id, err, c.stdout.String(), c.stderr.String())
		}
		lines := 0
		for _, line := range strings.Split(c.stdout.String(), "\n") {
			var kind string
			var round int
			var ok bool
			if _, err := fmt.Sscanf(line, "lock %s %d %t", &kind, &round, &ok); err != nil {
				continue
			}
			lines++
			if ok {
				wins[fmt.Sprintf("%s-%d", kind, round)]++
			} else {
				wins[fmt.Sprintf("%s-%d", kind, round)] += 0
			}
		}
		if lines != 2*helperRounds {
			t.Fatalf("child %d reported %d lock attempts, want %d; stdout:\n%s", id, lines, 2*helperRounds, c.stdout.String())
		}
	}
	if len(wins) != 2*helperRounds {
		t.Errorf("%d locks tried, want %d", len(wins), 2*helperRounds)
	}
	for name, n := range wins {
		if n != 1 {
			t.Errorf("lock %s: %d winners across %d processes, want exactly 1", name, n, helperProcs)
		}
	}

	for id := range helperProcs {
		for i := range helperKeys {
			key := fmt.Sprintf("c%d:k%d", id, i)
			got, _, err := parent.Get(ctx, key)
			if err != nil || !bytes.Equal(got, helperValue(id, i)) {
				t.Fatalf("Get(%s) = %d bytes, %v", key, len(got), err)
			}
		}
	}
	if got, _, err := parent.Get(ctx, "shared"); err != nil || !checkHelperValue(got) {
		t.Fatalf("Get(shared) = %q, %v", got, err)
	}
	entries, temps := entryFiles(t, parent.Dir())
	if len(temps) != 0 {
		t.Errorf("temporary files left: %v", temps)
	}
	if want := helperProcs*helperKeys + 1; len(entries) != want {
		t.Errorf("%d entry files, want %d", len(entries), want)
	}
	// No file of the store is torn: sweeping them all removes nothing live.
	if n, err := parent.ClearNamespace(ctx, "none"); err != nil || n != 0 {
		t.Fatalf("ClearNamespace = %d, %v", n, err)
	}
	if entries2, _ := entryFiles(t, parent.Dir()); len(entries2) != len(entries) {
		t.Errorf("a sweep removed %d malformed files", len(entries)-len(entries2))
	}
}

func BenchmarkBackend(b *testing.B) {
	dir := b.TempDir()
	backendtest.Bench(b, func(t testing.TB, prefix string) backends.Backend { return open(t, dir, prefix) })
}

// Open reads the directory from the pickle_path key; Options override the
// generic settings.
func TestOpenFromSettings(t *testing.T) {
	dir := t.TempDir()
	s, err := gob.Open(context.Background(), backends.Settings{Prefix: "p", Values: backends.Values{"pickle_path": dir}}, gob.WithSync(true))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Dir(), dir) {
		t.Errorf("Dir = %q, want it inside %q", s.Dir(), dir)
	}
	if _, err := gob.Open(context.Background(), backends.Settings{Prefix: "p"}); !errors.Is(err, gob.ErrNoDir) {
		t.Errorf("Open without pickle_path = %v, want ErrNoDir", err)
	}
}
