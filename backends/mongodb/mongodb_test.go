package mongodb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/mongodb"
)

const urlEnv = "CACHETTE_TEST_MONGODB_URL"

// testDatabase keeps the tests' documents apart from anything else on the server.
const testDatabase = "cachette-test"

// testTimeout bounds each call of the conformance stores, more loosely than
// the default: a call may wait for a pooled connection behind dozens of
// others (Concurrent runs 100 writers), on a test server that shares two
// cores with the tests and other builds.
const testTimeout = 20 * time.Second

// testPoolSize is the connection pool of the test stores unless the URL sets
// one. A few connections keep the test server (FerretDB, each connection
// served by one PostgreSQL process) busy; a hundred would only make a
// two-core machine switch between them.
const testPoolSize = "8"

// testURL is the test server's URL, with the pool size of testPoolSize
// unless it sets one itself.
func testURL(t testing.TB) string {
	t.Helper()
	u := backendtest.ServerEnv(t, urlEnv)
	if strings.Contains(strings.ToLower(u), "maxpoolsize=") {
		return u
	}
	_, hosts, _ := strings.Cut(u, "://")
	switch {
	case strings.Contains(hosts, "?"):
		return u + "&maxPoolSize=" + testPoolSize
	case strings.Contains(hosts, "/"):
		return u + "?maxPoolSize=" + testPoolSize
	default:
		return u + "/?maxPoolSize=" + testPoolSize
	}
}

func openStore(t testing.TB, prefix string) *mongodb.Store {
	t.Helper()
	u := testURL(t)
	b, err := mongodb.Open(backendtest.Ctx(t), backends.Settings{
		MongoDBURL:   u,
		DatabaseName: testDatabase,
		Prefix:       prefix,
		Timeout:      testTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := b
	t.Cleanup(func() {
		// Leave the shared server as we found it.
		if err := s.Flush(context.Background()); err != nil {
			t.Errorf("cleanup flush: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend {
		return openStore(t, prefix)
	})
}

func TestRegistered(t *testing.T) {
	found := false
	for _, n := range backends.Registered() {
		found = found || n == "mongodb"
	}
	if !found {
		t.Fatalf("mongodb is not registered: %v", backends.Registered())
	}
}

func newClient(t testing.TB) *mongo.Client {
	t.Helper()
	u := testURL(t)
	c, err := mongo.Connect(options.Client().ApplyURI(u).SetServerSelectionTimeout(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

// TestOpenCreatesCollection opens a store on a database and collection that
// do not exist yet and checks that both appear, with the TTL index where the
// server implements TTL indexes.
func TestOpenCreatesCollection(t *testing.T) {
	ctx := backendtest.Ctx(t)
	client := newClient(t)
	dbName := "cachette-create-" + backends.NewToken()[:8]
	db := client.Database(dbName)
	t.Cleanup(func() { _ = db.Drop(context.Background()) })

	s, err := mongodb.NewFromClient(ctx, client, dbName, "entries", "p")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "entries" {
		t.Fatalf("collections after open = %q, want [entries]", names)
	}

	// Does this server implement TTL indexes at all? Ask it directly on a scratch collection.
	_, ttlErr := db.Collection("scratch").Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "x", Value: 1}},
		Options: options.Index().SetExpireAfterSeconds(0),
	})
	specs, err := s.Collection().Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ttl *mongo.IndexSpecification
	for _, sp := range specs {
		if sp.Name == mongodb.TTLIndexName {
			ttl = &sp
		}
	}
	switch {
	case ttlErr == nil && ttl == nil:
		t.Fatalf("the server takes TTL indexes but the store created none; indexes: %+v", specs)
	case ttlErr == nil && (ttl.ExpireAfterSeconds == nil || *ttl.ExpireAfterSeconds != 0):
		t.Fatalf("TTL index %+v, want expireAfterSeconds 0", ttl)
	case ttlErr != nil:
		t.Logf("the server has no TTL indexes (%v); the store opened without one", ttlErr)
	}

	// Opening again on the existing collection works.
	s2, err := mongodb.NewFromClient(ctx, client, dbName, "entries", "p")
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	s2.Close()
}

// TestDocumentShape checks the documented layout of a stored entry, which
// other programs reading the collection rely on.
func TestDocumentShape(t *testing.T) {
	s := openStore(t, backendtest.NewPrefix())
	ctx := backendtest.Ctx(t)
	exp := time.Now().Add(time.Minute).Truncate(time.Millisecond).Add(7 * time.Millisecond)
	if err := s.Set(ctx, "user:1", []byte{0, 1, 2, 255}, exp); err != nil {
		t.Fatal(err)
	}
	var raw bson.M
	if err := s.Collection().FindOne(ctx, bson.D{{Key: "_id", Value: s.Prefix() + ":user:1"}}).Decode(&raw); err != nil {
		t.Fatalf("document under _id %q: %v", s.Prefix()+":user:1", err)
	}
	v, ok := raw["v"].(bson.Binary)
	if !ok || !bytes.Equal(v.Data, []byte{0, 1, 2, 255}) {
		t.Errorf("v = %#v, want binary 00 01 02 ff", raw["v"])
	}
	d, ok := raw["exp"].(bson.DateTime)
	if !ok || !d.Time().Equal(exp) {
		t.Errorf("exp = %#v, want the date %v", raw["exp"], exp)
	}
}

func TestNewFromClientLeavesClientOpen(t *testing.T) {
	ctx := backendtest.Ctx(t)
	client := newClient(t)
	s, err := mongodb.NewFromClient(ctx, client, testDatabase, mongodb.DefaultCollection, backendtest.NewPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := client.Ping(ctx, nil); err != nil {
		t.Fatalf("the caller's client stopped working after Close: %v", err)
	}
}

func TestNewFromClientBadArguments(t *testing.T) {
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	tests := []struct {
		name             string
		client           *mongo.Client
		db, coll, prefix string
		wantErrSubstring string
	}{
		{"nil client", nil, "d", "c", "p", "nil client"},
		{"no database", client, "", "c", "p", "database"},
		{"no collection", client, "d", "", "p", "collection"},
		{"no prefix", client, "d", "c", "", "prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mongodb.NewFromClient(ctx, tt.client, tt.db, tt.coll, tt.prefix)
			if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstring) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErrSubstring)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	s := openStore(t, backendtest.NewPrefix())
	err := s.Set(backendtest.Ctx(t), "big", make([]byte, mongodb.MaxDocumentSize), time.Now().Add(time.Minute))
	if !errors.Is(err, backends.ErrTooLarge) {
		t.Fatalf("Set of a 16 MiB value = %v, want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), "16 MiB") {
		t.Errorf("error %q does not say what the limit is", err)
	}
}

// TestKeysNotUTF8 checks keys that are not valid UTF-8, which BSON strings
// cannot hold as they are: they stay distinct and keep their namespace.
func TestKeysNotUTF8(t *testing.T) {
	s := openStore(t, backendtest.NewPrefix())
	ctx := backendtest.Ctx(t)
	exp := time.Now().Add(time.Minute)
	keys := []string{"ns:\xff", "ns:\xfe", "ns:\xff\xfe", "ns:\uFFFDff", "other:\xff", "\xff:1", "\uFFFDff:1"}
	for i, k := range keys {
		if err := s.Set(ctx, k, []byte(fmt.Sprint(i)), exp); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
	}
	for i, k := range keys {
		got, _, err := s.Get(ctx, k)
		if err != nil || string(got) != fmt.Sprint(i) {
			t.Fatalf("Get(%q) = %q, %v; want %q", k, got, err, fmt.Sprint(i))
		}
	}
	n, err := s.ClearNamespace(ctx, "ns")
	if err != nil || n != 4 {
		t.Fatalf("ClearNamespace(ns) = %d, %v; want 4", n, err)
	}
	n, err = s.ClearNamespace(ctx, "\xff")
	if err != nil || n != 1 {
		t.Fatalf("ClearNamespace(\\xff) = %d, %v; want 1", n, err)
	}
	for _, k := range []string{"other:\xff", "\uFFFDff:1"} {
		if _, _, err := s.Get(ctx, k); err != nil {
			t.Fatalf("Get(%q) after clearing other namespaces: %v", k, err)
		}
	}
}

// TestNamespaceSpecialCharacters checks that ClearNamespace treats the
// namespace literally: regular expression characters and NUL bytes match
// only themselves.
//
// MongoDB keeps NUL bytes in strings, but PostgreSQL, under the shared test
// server, cannot (FerretDB stores documents as jsonb), so this test runs on
// a private mongotest on SQLite.
func TestNamespaceSpecialCharacters(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server of its own")
	}
	srv := startPrivateServer(t)
	b, err := mongodb.Open(backendtest.Ctx(t), backends.Settings{
		MongoDBURL:   "mongodb://" + srv.Addr,
		DatabaseName: testDatabase,
		Prefix:       backendtest.NewPrefix(),
		Timeout:      testTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := b
	ctx := backendtest.Ctx(t)
	exp := time.Now().Add(time.Minute)
	for _, ns := range []string{"a.b", "a\x00b", "(x|y)*"} {
		t.Run(fmt.Sprintf("%q", ns), func(t *testing.T) {
			// Keys a regular expression built carelessly from ns would match too.
			look := map[string]bool{ns + ":1": true, ns + ":2": true, "axb:1": false, "a\x00c:1": false, "x:1": false, "(x|y)*x:1": false, "y:1": false}
			for k := range look {
				if err := s.Set(ctx, k, []byte("v"), exp); err != nil {
					t.Fatalf("Set(%q): %v", k, err)
				}
			}
			n, err := s.ClearNamespace(ctx, ns)
			if err != nil || n != 2 {
				t.Fatalf("ClearNamespace(%q) = %d, %v; want 2", ns, n, err)
			}
			for k, gone := range look {
				_, _, err := s.Get(ctx, k)
				if gone != errors.Is(err, backends.ErrNotFound) {
					t.Errorf("after ClearNamespace(%q), Get(%q) = %v; want removed: %v", ns, k, err, gone)
				}
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLockBadTTL(t *testing.T) {
	s := openStore(t, backendtest.NewPrefix())
	if _, ok, err := s.Lock(backendtest.Ctx(t), "l", 0); err == nil || ok {
		t.Fatalf("Lock with ttl 0 = %v, %v; want an error", ok, err)
	}
}

// TestOpenUnreachable checks that opening a store on a server that is not
// there fails within the timeout with a clear error that does not show the
// password of the URL.
func TestOpenUnreachable(t *testing.T) {
	const secret = "s3cr%40t-pw"
	addr, _ := backendtest.FreeAddr(t)
	timeout := 300 * time.Millisecond
	start := time.Now()
	_, err := mongodb.Open(context.Background(), backends.Settings{
		MongoDBURL: "mongodb://alice:" + secret + "@" + addr + "/?authSource=admin",
		Prefix:     "p",
		Timeout:    timeout,
	})
	took := time.Since(start)
	if err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
	t.Logf("Open: %v", err)
	msg := err.Error()
	if strings.Contains(msg, secret) || strings.Contains(msg, "s3cr@t-pw") {
		t.Fatalf("the password shows in the error: %v", err)
	}
	if !strings.HasPrefix(msg, "mongodb: ") || !strings.Contains(msg, "alice:xxxxx@") {
		t.Errorf("error %q should start with \"mongodb: \" and name the server with its password hidden", msg)
	}
	if took > 20*timeout {
		t.Errorf("Open took %v with a %v timeout", took, timeout)
	}
}

func TestOpenBadURL(t *testing.T) {
	for _, u := range []string{
		"mongodb://bob:hunter2@127.0.0.1:notaport",
		"mongodb://bob:hunter2@",
		"http://bob:hunter2@127.0.0.1:27017",
		"",
	} {
		_, err := mongodb.Open(context.Background(), backends.Settings{MongoDBURL: u, Prefix: "p", Timeout: 200 * time.Millisecond})
		if err == nil {
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		t.Logf("Open(%q): %v", u, err)
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q): the password shows in the error: %v", u, err)
		}
		if !strings.HasPrefix(err.Error(), "mongodb: ") {
			t.Errorf("Open(%q) = %v; want an error starting with \"mongodb: \"", u, err)
		}
	}
}

// mongotestBinary finds the mongotest program that scripts/services.sh
// builds, or builds it; it skips (or fails when the servers are required)
// when neither works.
func mongotestBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CACHETTE_TEST_MONGOTEST_BIN"); p != "" {
		return p
	}
	if p := backendtest.ServicesBinary(t, "bin/mongotest"); p != "" {
		return p
	}
	bin := filepath.Join(t.TempDir(), "mongotest")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(backendtest.ModuleRoot(t), "scripts", "mongotest")
	if out, err := cmd.CombinedOutput(); err != nil {
		backendtest.Missing(t, fmt.Sprintf("no mongotest binary and building it failed: %v\n%s (run `make services-up` to install the test servers)", err, out))
	}
	return bin
}

// startPrivateServer starts a mongotest of the test's own, which it may
// stop and start again without disturbing the shared test servers.
func startPrivateServer(t testing.TB) *backendtest.Server {
	t.Helper()
	bin := mongotestBinary(t)
	addr, _ := backendtest.FreeAddr(t)
	srv := backendtest.NewServer(t, addr, bin, "-listen", addr, "-data", t.TempDir())
	srv.StartTimeout = 60 * time.Second
	srv.Start()
	return srv
}

// TestServerRestart stops the store's server mid-use: calls fail within
// the timeout (no hang, no panic), and once the server is back on the same
// port the same store works again.
func TestServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server of its own")
	}
	srv := startPrivateServer(t)
	timeout := 500 * time.Millisecond
	b, err := mongodb.Open(backendtest.Ctx(t), backends.Settings{
		MongoDBURL: "mongodb://" + srv.Addr,
		Prefix:     "restart",
		Timeout:    timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	if err := b.Set(ctx, "k", []byte("before"), exp); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	calls := map[string]func() error{
		"Get":   func() error { _, _, err := b.Get(ctx, "k"); return err },
		"Set":   func() error { return b.Set(ctx, "k", []byte("x"), exp) },
		"Del":   func() error { _, err := b.Delete(ctx, "k"); return err },
		"Lock":  func() error { _, _, err := b.Lock(ctx, "l", time.Second); return err },
		"Flush": func() error { return b.Flush(ctx) },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if err == nil {
			t.Errorf("%s with the server stopped succeeded", name)
		} else if !strings.HasPrefix(err.Error(), "mongodb: ") {
			t.Errorf("%s error %q is not marked as the mongodb store's", name, err)
		}
		if took := time.Since(start); took > 10*mongodb.BulkTimeoutFactor*timeout {
			t.Errorf("%s took %v to fail with a %v timeout", name, took, timeout)
		}
	}

	srv.Start()
	deadline := time.Now().Add(backendtest.CtxBudget)
	for {
		err := b.Set(ctx, "k", []byte("after"), exp)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Set still fails %v after the server came back: %v", backendtest.CtxBudget, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	got, _, err := b.Get(ctx, "k")
	if err != nil || string(got) != "after" {
		t.Fatalf("Get after restart = %q, %v", got, err)
	}
}

func BenchmarkBackend(b *testing.B) {
	backendtest.BenchEnv(b, urlEnv)
	backendtest.Bench(b, func(t testing.TB, prefix string) backends.Backend { return openStore(t, prefix) })
}

// TestPrefixWithColonRejected checks that a prefix holding ":" is refused,
// since Flush of prefix "a" would otherwise remove the keys of prefix "a:b".
func TestPrefixWithColonRejected(t *testing.T) {
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	_, err = mongodb.NewFromClient(ctx, client, "d", "c", "a:b")
	if err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Fatalf("NewFromClient with prefix a:b = %v; want an error about the prefix", err)
	}
	_, err = mongodb.Open(ctx, backends.Settings{MongoDBURL: "mongodb://127.0.0.1:1", Prefix: "a:b", Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "prefix") || !strings.HasPrefix(err.Error(), "mongodb: ") {
		t.Fatalf("Open with prefix a:b = %v; want a mongodb error about the prefix", err)
	}
}

// TestOpenErrorsHideSecrets opens stores on a closed port with URLs that
// carry secrets outside the password (TLS key passwords, AWS session
// tokens) or passwords that a naive parser splits wrongly (a raw "/" or
// "?"): none of them may show in the error.
func TestOpenErrorsHideSecrets(t *testing.T) {
	addr, _ := backendtest.FreeAddr(t)
	tests := []struct{ url, secret string }{
		{"mongodb://alice:pw@" + addr + "/?tls=true&tlsCertificateKeyFilePassword=KEYPW-s3cret", "KEYPW-s3cret"},
		{"mongodb://AKIDEXAMPLE:awsKEY-s3cret@" + addr + "/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:TOKEN-s3cret", "TOKEN-s3cret"},
		{"mongodb://AKIDEXAMPLE:awsKEY-s3cret@" + addr + "/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:TOKEN-s3cret", "awsKEY-s3cret"},
		{"mongodb://alice:slash/PW-s3cret@" + addr + "/", "PW-s3cret"},
		{"mongodb://alice:quest?PW-s3cret@" + addr + "/", "PW-s3cret"},
		{"mongodb://alice:at@PW-s3cret@" + addr + "/", "PW-s3cret"},
	}
	for _, tt := range tests {
		_, err := mongodb.Open(context.Background(), backends.Settings{MongoDBURL: tt.url, Prefix: "p", Timeout: 300 * time.Millisecond})
		if err == nil {
			t.Errorf("Open(%q) on a closed port succeeded", tt.url)
			continue
		}
		if strings.Contains(err.Error(), tt.secret) {
			t.Errorf("Open(%q): the secret %q shows in the error: %v", tt.url, tt.secret, err)
		}
		if strings.Contains(tt.url, "MONGODB-AWS") && strings.Contains(err.Error(), "AKIDEXAMPLE") {
			t.Errorf("Open(%q): the access key id shows in the error: %v", tt.url, err)
		}
		if !strings.HasPrefix(err.Error(), "mongodb: ") {
			t.Errorf("Open(%q) = %v; want an error starting with \"mongodb: \"", tt.url, err)
		}
	}
}

// TestForeignDocumentIsAMiss checks that a document under the prefix that
// this store did not write (v is not binary) reads as a miss, reported to
// the logger, and that Set replaces it.
func TestForeignDocumentIsAMiss(t *testing.T) {
	var logs syncBuffer
	b, err := mongodb.Open(backendtest.Ctx(t), backends.Settings{
		MongoDBURL:   testURL(t),
		DatabaseName: testDatabase,
		Prefix:       backendtest.NewPrefix(),
		Timeout:      testTimeout,
		Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	s := b
	t.Cleanup(func() {
		_ = s.Flush(context.Background())
		_ = s.Close()
	})
	ctx := backendtest.Ctx(t)
	exp := time.Now().Add(time.Minute)
	for _, v := range []any{"a string", int32(7), bson.D{{Key: "x", Value: 1}}} {
		if _, err := s.Collection().ReplaceOne(ctx, bson.D{{Key: "_id", Value: s.Prefix() + ":foreign"}},
			bson.D{{Key: "_id", Value: s.Prefix() + ":foreign"}, {Key: "v", Value: v}, {Key: "exp", Value: exp}},
			options.Replace().SetUpsert(true)); err != nil {
			t.Fatal(err)
		}
		if got, _, err := s.Get(ctx, "foreign"); !errors.Is(err, backends.ErrNotFound) {
			t.Fatalf("Get of a document with v = %#v: %q, %v; want ErrNotFound", v, got, err)
		}
	}
	if !strings.Contains(logs.String(), "not a cache entry") {
		t.Errorf("the foreign document was not reported to the logger; logs: %q", logs.String())
	}
	if err := s.Set(ctx, "foreign", []byte("mine"), exp); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Get(ctx, "foreign"); err != nil || string(got) != "mine" {
		t.Fatalf("Get after Set = %q, %v; want mine", got, err)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestDriverLogsReachTheStoreLogger turns the driver's logging on
// (MONGODB_LOG_ALL=debug) in a child process that opens a store and writes
// through it: the driver's lines must reach the store's logger (written to
// stdout there), not stderr, where the driver writes by default.
func TestDriverLogsReachTheStoreLogger(t *testing.T) {
	const name = "TestDriverLogsReachTheStoreLogger"
	const line = "Command started"
	if backendtest.InChild(name) {
		log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug}))
		b, err := mongodb.Open(backendtest.Ctx(t), backends.Settings{
			MongoDBURL: testURL(t), DatabaseName: testDatabase, Prefix: backendtest.NewPrefix(), Timeout: testTimeout, Logger: log,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if err := b.Set(backendtest.Ctx(t), "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := b.Flush(backendtest.Ctx(t)); err != nil {
			t.Fatal(err)
		}
		return
	}
	backendtest.ServerEnv(t, urlEnv) // skip, or fail, here rather than in the child
	stdout, stderr := backendtest.RunChild(t, name, "MONGODB_LOG_ALL=debug", "MONGODB_LOG_PATH=stderr")
	if !strings.Contains(stdout, "mongodb: driver: "+line) {
		t.Errorf("the driver's %q lines did not reach the store's logger; stdout:\n%s", line, stdout)
	}
	if strings.Contains(stderr, line) {
		t.Errorf("the driver's %q lines went to stderr:\n%s", line, stderr)
	}
}

// TestHungCallsBounded: on a paused server, each call, batches included,
// returns within a small multiple of the timeout.
func TestHungCallsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server of its own")
	}
	srv := startPrivateServer(t)
	const timeout = 300 * time.Millisecond
	b, err := mongodb.Open(backendtest.Ctx(t), backends.Settings{
		MongoDBURL: "mongodb://" + srv.Addr,
		Prefix:     "hung",
		Timeout:    timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	backendtest.HungCallsBounded(t, b, srv, timeout, backendtest.Hang{Stop: syscall.SIGSTOP, Resume: syscall.SIGCONT})
}
