// Package backendtest is the conformance suite every cachette backend runs
// against a real store: put/fetch, misses, expiry to the millisecond,
// deletes of live and expired keys, namespaces, prefix-scoped flush that
// leaves another prefix alone, flush-expired, locks, concurrency, large
// values, odd keys and batches (backends.Batcher).
//
// A backend's test calls Run with a function that opens the store under a
// given prefix; every call gets a fresh random prefix, so runs on a shared
// server never see each other's keys.
package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
)

// Open opens the store under test with the given prefix. It should register
// t.Cleanup to close the store.
type Open func(t testing.TB, prefix string) backends.Backend

// RequiredEnv is the variable that makes a missing server a failure rather
// than a skip; `make test` and CI set it.
const RequiredEnv = "CACHETTE_TEST_SERVICES_REQUIRED"

// ServerEnv returns the value of the environment variable that points the
// tests at a server. When it is unset the test is skipped with a message
// saying how to start the servers, unless CACHETTE_TEST_SERVICES_REQUIRED
// is set, in which case the test fails.
func ServerEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	Missing(t, fmt.Sprintf("%s is not set: start the test servers with `make services-up` and `source .services/env` (or run `make test`)", name))
	return ""
}

// NewPrefix returns a fresh random prefix for one test.
func NewPrefix() string { return "ct-" + backends.NewToken()[:12] }

// CtxBudget bounds the context of Ctx. It is there to turn a hang into a
// failure, not to time anything: a test on it may make thousands of calls
// (Concurrent makes 4000) to a test server shared with every other test, on
// a small machine busy with other builds.
const CtxBudget = 2 * time.Minute

// Ctx returns a context for one test or one step of it, bounded (CtxBudget)
// so that a stuck server fails the test instead of hanging it.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), CtxBudget)
	t.Cleanup(cancel)
	return ctx
}

// Run runs the whole suite.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(*testing.T, Open)
	}{
		{"PutGet", testPutGet},
		{"Miss", testMiss},
		{"Overwrite", testOverwrite},
		{"ExpiryBoundary", testExpiryBoundary},
		{"ExpiryNeverEarly", testExpiryNeverEarly},
		{"PerKeyExpiry", testPerKeyExpiry},
		{"DeleteLiveAndExpired", testDelete},
		{"ClearNamespace", testClearNamespace},
		{"FlushScopedToPrefix", testFlush},
		{"FlushExpired", testFlushExpired},
		{"LockExclusive", testLockExclusive},
		{"LockExpires", testLockExpires},
		{"LocksApartFromEntries", testLocksApart},
		{"LockNamespaceReserved", testLockNamespaceReserved},
		{"Concurrent", testConcurrent},
		{"ValueSizes", testValueSizes},
		{"OddKeys", testOddKeys},
		{"Batch", testBatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every case works under its own prefixes, so they can share a server.
			t.Parallel()
			tt.fn(t, open)
		})
	}
}

func mustSet(t testing.TB, b backends.Backend, key string, val []byte, exp time.Time) {
	t.Helper()
	if err := b.Set(Ctx(t), key, val, exp); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func mustGet(t testing.TB, b backends.Backend, key string, want []byte) {
	t.Helper()
	got, _, err := b.Get(Ctx(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %d bytes %q, want %d bytes %q", key, len(got), trunc(got), len(want), trunc(want))
	}
}

func mustMiss(t testing.TB, b backends.Backend, key string) {
	t.Helper()
	got, exp, err := b.Get(Ctx(t), key)
	if !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get(%q) = %q (expires %v), %v; want ErrNotFound", key, trunc(got), exp, err)
	}
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

func later(d time.Duration) time.Time { return time.Now().Add(d) }

// sleepUntil sleeps until t has passed.
func sleepUntil(t time.Time) {
	time.Sleep(time.Until(t) + time.Millisecond)
}

func testPutGet(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	exp := time.Now().Add(90 * time.Second).Truncate(time.Millisecond).Add(123 * time.Millisecond)
	mustSet(t, b, "greeting", []byte("hello"), exp)
	got, gotExp, err := b.Get(Ctx(t), "greeting")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello" {
		t.Fatalf("got %q", got)
	}
	if d := gotExp.Sub(exp); d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("expiry = %v, want %v (to the millisecond)", gotExp, exp)
	}
}

func testMiss(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	mustMiss(t, b, "never-set")
}

func testOverwrite(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	mustSet(t, b, "k", []byte("one"), later(time.Minute))
	mustSet(t, b, "k", []byte("two"), later(time.Minute))
	mustGet(t, b, "k", []byte("two"))
	// Overwriting with a short expiry shortens it.
	exp := later(300 * time.Millisecond)
	mustSet(t, b, "k", []byte("three"), exp)
	sleepUntil(exp)
	mustMiss(t, b, "k")
}

// testExpiryBoundary checks that an entry is alive while now < expiresAt and
// gone from the first millisecond after, whatever the store's own TTL
// granularity. The expiry is deliberately not on a whole second.
func testExpiryBoundary(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	exp := later(1234 * time.Millisecond)
	mustSet(t, b, "edge", []byte("v"), exp)
	// Read repeatedly until shortly before expiry. A read that finished
	// before exp must hit; one that straddles exp may go either way.
	for time.Until(exp) > 150*time.Millisecond {
		_, _, err := b.Get(Ctx(t), "edge")
		done := time.Now()
		if err != nil && done.Before(exp) {
			t.Fatalf("Get before expiry (%v left) = %v", exp.Sub(done), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	sleepUntil(exp)
	mustMiss(t, b, "edge")
}

// testExpiryNeverEarly checks that a store that keeps expiries to the
// millisecond rounds a finer one up: the expiry Get reports is never before
// the one Set was given, so the entry never dies early.
func testExpiryNeverEarly(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	base := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	for i, frac := range []time.Duration{time.Nanosecond, 500 * time.Microsecond, 999_999} {
		k := fmt.Sprintf("k%d", i)
		exp := base.Add(frac)
		mustSet(t, b, k, []byte("v"), exp)
		_, got, err := b.Get(Ctx(t), k)
		if err != nil {
			t.Fatalf("Get(%q): %v", k, err)
		}
		if got.Before(exp) {
			t.Errorf("Set(%q) until %v; Get reports %v, %v early", k, exp.Format(time.StampNano), got.Format(time.StampNano), exp.Sub(got))
		}
		if got.Sub(exp) > time.Millisecond {
			t.Errorf("Set(%q) until %v; Get reports %v, more than a millisecond later", k, exp.Format(time.StampNano), got.Format(time.StampNano))
		}
	}
}

func testPerKeyExpiry(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	short := later(250 * time.Millisecond)
	mustSet(t, b, "short", []byte("s"), short)
	mustSet(t, b, "long", []byte("l"), later(time.Minute))
	sleepUntil(short)
	mustMiss(t, b, "short")
	mustGet(t, b, "long", []byte("l"))
}

func testDelete(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	ctx := Ctx(t)
	mustSet(t, b, "live", []byte("v"), later(time.Minute))
	exp := later(200 * time.Millisecond)
	mustSet(t, b, "expired", []byte("v"), exp)
	sleepUntil(exp)

	if ok, err := b.Delete(ctx, "live"); err != nil || !ok {
		t.Fatalf("Delete(live) = %v, %v; want true", ok, err)
	}
	mustMiss(t, b, "live")
	if ok, err := b.Delete(ctx, "live"); err != nil || ok {
		t.Fatalf("second Delete(live) = %v, %v; want false", ok, err)
	}
	if ok, err := b.Delete(ctx, "expired"); err != nil || ok {
		t.Fatalf("Delete(expired) = %v, %v; want false", ok, err)
	}
	if ok, err := b.Delete(ctx, "never-set"); err != nil || ok {
		t.Fatalf("Delete(never-set) = %v, %v; want false", ok, err)
	}
}

func testClearNamespace(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	ctx := Ctx(t)
	for _, k := range []string{"users:1", "users:2", "users:3:avatar", "usersx:1", "other", "users"} {
		mustSet(t, b, k, []byte(k), later(time.Minute))
	}
	exp := later(200 * time.Millisecond)
	mustSet(t, b, "users:old", []byte("old"), exp)
	sleepUntil(exp)

	n, err := b.ClearNamespace(ctx, "users")
	if errors.Is(err, backends.ErrNotSupported) {
		// Allowed for stores that cannot enumerate keys (SPEC: memcached),
		// but then nothing may have been claimed: every key is still there.
		for _, k := range []string{"users:1", "users:2", "users:3:avatar", "usersx:1", "other", "users"} {
			mustGet(t, b, k, []byte(k))
		}
		if n != 0 {
			t.Fatalf("ClearNamespace reported %d removed along with ErrNotSupported", n)
		}
		t.Logf("ClearNamespace not supported, as documented: %v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("ClearNamespace(users) = %d, want 3 (live keys under users:)", n)
	}
	for _, k := range []string{"users:1", "users:2", "users:3:avatar", "users:old"} {
		mustMiss(t, b, k)
	}
	for _, k := range []string{"usersx:1", "other", "users"} {
		mustGet(t, b, k, []byte(k))
	}
	if n, err := b.ClearNamespace(ctx, "users"); err != nil || n != 0 {
		t.Errorf("second ClearNamespace = %d, %v; want 0", n, err)
	}
}

func testFlush(t *testing.T, open Open) {
	mine := open(t, NewPrefix())
	other := open(t, NewPrefix())
	ctx := Ctx(t)
	for i := range 20 {
		k := fmt.Sprintf("k%d", i)
		mustSet(t, mine, k, []byte("mine"), later(time.Minute))
		mustSet(t, other, k, []byte("other"), later(time.Minute))
	}
	tok, ok, err := mine.Lock(ctx, "l", time.Minute)
	if err != nil || !ok {
		t.Fatalf("Lock = %v, %v", ok, err)
	}
	_ = tok
	if err := mine.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		k := fmt.Sprintf("k%d", i)
		mustMiss(t, mine, k)
		mustGet(t, other, k, []byte("other"))
	}
	// Usable after a flush.
	mustSet(t, mine, "k0", []byte("again"), later(time.Minute))
	mustGet(t, mine, "k0", []byte("again"))
}

func testFlushExpired(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	ctx := Ctx(t)
	exp := later(200 * time.Millisecond)
	for i := range 5 {
		mustSet(t, b, fmt.Sprintf("old%d", i), []byte("x"), exp)
		mustSet(t, b, fmt.Sprintf("new%d", i), []byte("y"), later(time.Minute))
	}
	sleepUntil(exp)
	if err := b.FlushExpired(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		mustMiss(t, b, fmt.Sprintf("old%d", i))
		mustGet(t, b, fmt.Sprintf("new%d", i), []byte("y"))
	}
}

func testLockExclusive(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	ctx := Ctx(t)
	tok, ok, err := b.Lock(ctx, "job", time.Minute)
	if err != nil || !ok || tok == "" {
		t.Fatalf("Lock = %q, %v, %v; want a token", tok, ok, err)
	}
	if tok2, ok, err := b.Lock(ctx, "job", time.Minute); err != nil || ok {
		t.Fatalf("second Lock = %q, %v, %v; want held", tok2, ok, err)
	}
	if ok, err := b.Unlock(ctx, "job", "not-the-token"); err != nil || ok {
		t.Fatalf("Unlock(wrong token) = %v, %v; want false", ok, err)
	}
	if _, ok, _ := b.Lock(ctx, "job", time.Minute); ok {
		t.Fatal("a wrong-token Unlock released the lock")
	}
	if ok, err := b.Unlock(ctx, "job", tok); err != nil || !ok {
		t.Fatalf("Unlock(token) = %v, %v; want true", ok, err)
	}
	if ok, err := b.Unlock(ctx, "job", tok); err != nil || ok {
		t.Fatalf("second Unlock = %v, %v; want false", ok, err)
	}
	tok3, ok, err := b.Lock(ctx, "job", time.Minute)
	if err != nil || !ok || tok3 == tok {
		t.Fatalf("Lock after Unlock = %q, %v, %v; want a fresh token", tok3, ok, err)
	}
	// Only one of many concurrent lockers wins.
	var wins int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := b.Lock(ctx, "race", time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d of 20 concurrent Lock calls won, want 1", wins)
	}
}

func testLockExpires(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	ctx := Ctx(t)
	start := time.Now()
	tok, ok, err := b.Lock(ctx, "job", 700*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("Lock = %v, %v", ok, err)
	}
	sleepUntil(start.Add(700 * time.Millisecond))
	tok2, ok, err := b.Lock(ctx, "job", time.Minute)
	if err != nil || !ok {
		t.Fatalf("Lock after the first expired = %v, %v; want taken", ok, err)
	}
	if tok2 == tok {
		t.Fatal("same token twice")
	}
	if ok, err := b.Unlock(ctx, "job", tok); err != nil || ok {
		t.Fatalf("Unlock with the expired holder's token = %v, %v; want false", ok, err)
	}
	if _, ok, _ := b.Lock(ctx, "job", time.Minute); ok {
		t.Fatal("the expired holder's Unlock released the new holder's lock")
	}
}

func testLocksApart(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	ctx := Ctx(t)
	mustSet(t, b, "k", []byte("data"), later(time.Minute))
	tok, ok, err := b.Lock(ctx, "k", time.Minute)
	if err != nil || !ok {
		t.Fatalf("Lock(k) next to an entry k = %v, %v", ok, err)
	}
	mustGet(t, b, "k", []byte("data"))
	if ok, err := b.Delete(ctx, "k"); err != nil || !ok {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	if _, ok, _ := b.Lock(ctx, "k", time.Minute); ok {
		t.Fatal("deleting the entry released the lock")
	}
	if ok, err := b.Unlock(ctx, "k", tok); err != nil || !ok {
		t.Fatalf("Unlock = %v, %v", ok, err)
	}
}

// testLockNamespaceReserved checks that user keys that look like the
// stores' lock names ("!lock:job") are keys like any other: they neither
// read, overwrite, delete nor count a lock.
func testLockNamespaceReserved(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	ctx := Ctx(t)
	tok, ok, err := b.Lock(ctx, "job", time.Minute)
	if err != nil || !ok {
		t.Fatalf("Lock(job) = %v, %v", ok, err)
	}
	held := func(when string) {
		t.Helper()
		if _, ok, err := b.Lock(ctx, "job", time.Minute); err != nil || ok {
			t.Fatalf("%s: Lock(job) = %v, %v; want held", when, ok, err)
		}
	}
	const k = "!lock:job"
	mustMiss(t, b, k)
	if ok, err := b.Delete(ctx, k); err != nil || ok {
		t.Fatalf("Delete(%q) before any Set = %v, %v; want false", k, ok, err)
	}
	held("after Get and Delete of " + k)
	if n, err := b.ClearNamespace(ctx, "!lock"); errors.Is(err, backends.ErrNotSupported) {
		t.Logf("ClearNamespace not supported: %v", err)
	} else if err != nil || n != 0 {
		t.Fatalf("ClearNamespace(!lock) with only a lock stored = %d, %v; want 0", n, err)
	}
	held("after ClearNamespace(!lock)")
	mustSet(t, b, k, []byte("user data"), later(time.Minute))
	held("after Set of " + k)
	mustGet(t, b, k, []byte("user data"))
	if ok, err := b.Delete(ctx, k); err != nil || !ok {
		t.Fatalf("Delete(%q) = %v, %v; want true", k, ok, err)
	}
	held("after Delete of " + k)
	mustMiss(t, b, k)
	if ok, err := b.Unlock(ctx, "job", tok); err != nil || !ok {
		t.Fatalf("Unlock(job) = %v, %v; want true", ok, err)
	}
}

func testConcurrent(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	ctx := Ctx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				key := fmt.Sprintf("g%d:%d", g, i)
				val := []byte(fmt.Sprintf("value-%d-%d", g, i))
				if err := b.Set(ctx, key, val, later(time.Minute)); err != nil {
					errs <- err
					return
				}
				got, _, err := b.Get(ctx, key)
				if err != nil || !bytes.Equal(got, val) {
					errs <- fmt.Errorf("Get(%q) = %q, %v; want %q", key, got, err, val)
					return
				}
				// Everyone also hammers one shared key.
				if err := b.Set(ctx, "shared", val, later(time.Minute)); err != nil {
					errs <- err
					return
				}
				if got, _, err := b.Get(ctx, "shared"); err != nil || !bytes.HasPrefix(got, []byte("value-")) {
					errs <- fmt.Errorf("Get(shared) = %q, %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testValueSizes(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	mustSet(t, b, "empty", []byte{}, later(time.Minute))
	got, _, err := b.Get(Ctx(t), "empty")
	if err != nil || len(got) != 0 {
		t.Fatalf("Get(empty) = %q, %v; want 0 bytes", got, err)
	}
	big := make([]byte, 2<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>11)
	}
	mustSet(t, b, "big", big, later(time.Minute))
	mustGet(t, b, "big", big)
	// All 256 byte values survive.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	mustSet(t, b, "binary", all, later(time.Minute))
	mustGet(t, b, "binary", all)
}

func testOddKeys(t *testing.T, open Open) {
	b := open(t, NewPrefix())
	keys := []string{
		"with spaces in it",
		"ключ-ユニコード-🔑",
		strings.Repeat("k", 1024),
		strings.Repeat("é", 600),
		"../../etc/passwd",
		"tab\tand\nnewline",
		"",
	}
	for i, k := range keys {
		mustSet(t, b, k, []byte(fmt.Sprint(i)), later(time.Minute))
	}
	for i, k := range keys {
		mustGet(t, b, k, []byte(fmt.Sprint(i)))
	}
	// Long keys that share a long prefix stay distinct.
	a, c := strings.Repeat("x", 1024)+"a", strings.Repeat("x", 1024)+"c"
	mustSet(t, b, a, []byte("a"), later(time.Minute))
	mustSet(t, b, c, []byte("c"), later(time.Minute))
	mustGet(t, b, a, []byte("a"))
	mustGet(t, b, c, []byte("c"))
}
