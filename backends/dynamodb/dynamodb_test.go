package dynamodb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/dynamodb"
)

const urlEnv = "CACHETTE_TEST_DYNAMODB_URL"

// testTable is the table the tests share; every test works under its own
// prefix and flushes it when done.
const testTable = "cachette-test"

// dynaliteEnv names dynalite, the second test server: the conformance suite
// runs on DynamoDB Local (urlEnv) and on dynalite.
const dynaliteEnv = "CACHETTE_TEST_DYNALITE_URL"

// testTimeout bounds each request of the tests' stores (timeout 0 in
// openAt): the test servers are one process each (DynamoDB Local, a JVM;
// dynalite, Node), and on a busy 2-core machine 100 concurrent writers
// (Concurrent) can queue for longer than the 5 s default without anything
// being wrong.
const testTimeout = 30 * time.Second

func openAt(t testing.TB, endpoint, table, prefix string, timeout time.Duration) *dynamodb.Store {
	t.Helper()
	if timeout == 0 {
		timeout = testTimeout
	}
	b, err := dynamodb.Open(backendtest.Ctx(t), backends.Settings{
		DynamoDBURL: endpoint,
		TableName:   table,
		Prefix:      prefix,
		Timeout:     timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openStore(t testing.TB, prefix string) *dynamodb.Store {
	t.Helper()
	return openStoreOn(t, urlEnv, prefix)
}

// openStoreOn opens a store on the shared table of the server named by the
// environment variable env.
func openStoreOn(t testing.TB, env, prefix string) *dynamodb.Store {
	t.Helper()
	s := openAt(t, backendtest.ServerEnv(t, env), testTable, prefix, 0)
	t.Cleanup(func() {
		// Leave the shared table as we found it.
		if err := s.Flush(context.Background()); err != nil {
			t.Errorf("cleanup flush: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// TestConformance runs the suite on DynamoDB Local, AWS's own emulator.
func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend {
		return openStore(t, prefix)
	})
}

// TestConformanceDynalite runs it on dynalite, which rejects
// UpdateTimeToLive: the store must work with TTL left off.
func TestConformanceDynalite(t *testing.T) {
	backendtest.Run(t, func(t testing.TB, prefix string) backends.Backend {
		return openStoreOn(t, dynaliteEnv, prefix)
	})
}

func TestRegistered(t *testing.T) {
	found := false
	for _, n := range backends.Registered() {
		found = found || n == "dynamodb"
	}
	if !found {
		t.Fatalf("dynamodb is not registered: %v", backends.Registered())
	}
}

// The account and region of accountClient.
const (
	testKeyID  = "cachettetestaccount"
	testSecret = "cachette-test-secret"
	testRegion = "eu-west-1"
)

// accountClient gives the test and the stores it opens one account and
// region, and returns a client of the test's own in them. AWS keeps one
// database per account and region, and DynamoDB Local (run without
// -sharedDb) one per access key id and region: a client that looks at what
// a store did must use the store's account and region, as another program
// of the same application would. The store takes its credentials and region
// from the AWS default chain, here the environment (so no t.Parallel).
func accountClient(t *testing.T, endpoint string) *awsdynamodb.Client {
	t.Helper()
	noAWSCredentials(t)
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	t.Setenv("AWS_REGION", testRegion)
	return awsdynamodb.New(awsdynamodb.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
	})
}

// newClient builds a client of the test's own for the endpoint, for stores
// made around it (NewFromClient).
func newClient(endpoint string) *awsdynamodb.Client {
	return awsdynamodb.New(awsdynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

func deleteTable(t testing.TB, c *awsdynamodb.Client, table string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.DeleteTable(ctx, &awsdynamodb.DeleteTableInput{TableName: &table}); err != nil {
			t.Logf("delete table %s: %v", table, err)
		}
	})
}

// scanKeys lists every key of the table that starts with p.
func scanKeys(t testing.TB, c *awsdynamodb.Client, table, p string) []string {
	t.Helper()
	var keys []string
	in := &awsdynamodb.ScanInput{
		TableName:                 &table,
		FilterExpression:          aws.String("begins_with(#k, :p)"),
		ExpressionAttributeNames:  map[string]string{"#k": "k"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: p}},
		ConsistentRead:            aws.Bool(true),
	}
	for {
		out, err := c.Scan(backendtest.Ctx(t), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			keys = append(keys, it["k"].(*types.AttributeValueMemberS).Value)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return keys
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func TestOpenCreatesTable(t *testing.T) {
	endpoint := backendtest.ServerEnv(t, urlEnv)
	c := accountClient(t, endpoint)
	table := "cachette-create-" + backends.NewToken()[:8]
	deleteTable(t, c, table)

	s := openAt(t, endpoint, table, "p", 0)
	defer s.Close()
	out, err := c.DescribeTable(backendtest.Ctx(t), &awsdynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatalf("the table was not created: %v", err)
	}
	d := out.Table
	if d.TableStatus != types.TableStatusActive {
		t.Errorf("status %s after Open, want ACTIVE", d.TableStatus)
	}
	if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode %+v, want PAY_PER_REQUEST", d.BillingModeSummary)
	}
	if len(d.KeySchema) != 1 || aws.ToString(d.KeySchema[0].AttributeName) != "k" || d.KeySchema[0].KeyType != types.KeyTypeHash {
		t.Errorf("key schema %+v, want the hash key k", d.KeySchema)
	}
	// The new table works, and opening it again finds it.
	ctx := backendtest.Ctx(t)
	if err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	s2 := openAt(t, endpoint, table, "p", 0)
	defer s2.Close()
	if got, _, err := s2.Get(ctx, "k"); err != nil || string(got) != "v" {
		t.Fatalf("Get through a second store = %q, %v", got, err)
	}
}

// TestOpenRejectsOtherKeySchema makes tables the store cannot use, in the
// store's account and region, and checks that Open refuses each, going by
// the server's DescribeTable.
func TestOpenRejectsOtherKeySchema(t *testing.T) {
	endpoint := backendtest.ServerEnv(t, urlEnv)
	c := accountClient(t, endpoint)
	attr := func(name string, typ types.ScalarAttributeType) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: typ}
	}
	key := func(name string, typ types.KeyType) types.KeySchemaElement {
		return types.KeySchemaElement{AttributeName: aws.String(name), KeyType: typ}
	}
	for _, tc := range []struct {
		name  string
		attrs []types.AttributeDefinition
		keys  []types.KeySchemaElement
		want  string
	}{
		{"keyed by id", []types.AttributeDefinition{attr("id", types.ScalarAttributeTypeS)},
			[]types.KeySchemaElement{key("id", types.KeyTypeHash)}, "key schema"},
		{"k a number", []types.AttributeDefinition{attr("k", types.ScalarAttributeTypeN)},
			[]types.KeySchemaElement{key("k", types.KeyTypeHash)}, "has type N"},
		{"k with a sort key", []types.AttributeDefinition{attr("k", types.ScalarAttributeTypeS), attr("s", types.ScalarAttributeTypeS)},
			[]types.KeySchemaElement{key("k", types.KeyTypeHash), key("s", types.KeyTypeRange)}, "key schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := "cachette-schema-" + backends.NewToken()[:8]
			_, err := c.CreateTable(backendtest.Ctx(t), &awsdynamodb.CreateTableInput{
				TableName:            &table,
				BillingMode:          types.BillingModePayPerRequest,
				AttributeDefinitions: tc.attrs,
				KeySchema:            tc.keys,
			})
			if err != nil {
				t.Fatal(err)
			}
			deleteTable(t, c, table)
			if out, err := c.DescribeTable(backendtest.Ctx(t), &awsdynamodb.DescribeTableInput{TableName: &table}); err == nil {
				t.Logf("DescribeTable: key schema %s, attributes %s", jsonOf(out.Table.KeySchema), jsonOf(out.Table.AttributeDefinitions))
			}
			_, err = dynamodb.Open(backendtest.Ctx(t), backends.Settings{DynamoDBURL: endpoint, TableName: table, Prefix: "p"})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), table) {
				t.Fatalf("Open on a table %s = %v; want an error containing %q", tc.name, err, tc.want)
			}
			t.Log(err)
		})
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestItemShape checks the documented layout of a stored entry.
func TestItemShape(t *testing.T) {
	s := openStore(t, backendtest.NewPrefix())
	ctx := backendtest.Ctx(t)
	exp := time.Now().Add(time.Minute).Truncate(time.Millisecond).Add(7 * time.Millisecond)
	if err := s.Set(ctx, "user:1", []byte{0, 1, 2, 255}, exp); err != nil {
		t.Fatal(err)
	}
	k := s.Prefix() + ":user:1"
	out, err := s.Client().GetItem(ctx, &awsdynamodb.GetItemInput{
		TableName: aws.String(s.Table()),
		Key:       map[string]types.AttributeValue{"k": &types.AttributeValueMemberS{Value: k}},
	})
	if err != nil || out.Item == nil {
		t.Fatalf("item under k=%q: %v", k, err)
	}
	if v, ok := out.Item["v"].(*types.AttributeValueMemberB); !ok || !bytes.Equal(v.Value, []byte{0, 1, 2, 255}) {
		t.Errorf("v = %#v, want binary 00 01 02 ff", out.Item["v"])
	}
	ms := exp.UnixMilli()
	want := map[string]string{"expms": fmt.Sprint(ms), "exp": fmt.Sprint((ms + 999) / 1000)}
	for name, w := range want {
		if n, ok := out.Item[name].(*types.AttributeValueMemberN); !ok || n.Value != w {
			t.Errorf("%s = %#v, want the number %s", name, out.Item[name], w)
		}
	}
}

func TestNewFromClient(t *testing.T) {
	endpoint := backendtest.ServerEnv(t, urlEnv)
	c := newClient(endpoint)
	ctx := backendtest.Ctx(t)
	s, err := dynamodb.NewFromClient(ctx, c, testTable, backendtest.NewPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Get(ctx, "k"); err != nil || string(got) != "v" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeTable(ctx, &awsdynamodb.DescribeTableInput{TableName: aws.String(testTable)}); err != nil {
		t.Fatalf("the caller's client stopped working after Close: %v", err)
	}
}

func TestNewFromClientBadArguments(t *testing.T) {
	c := newClient("http://127.0.0.1:1")
	tests := []struct {
		name          string
		client        *awsdynamodb.Client
		table, prefix string
		want          string
	}{
		{"nil client", nil, "t", "p", "nil client"},
		{"no table", c, "", "p", "table"},
		{"no prefix", c, "t", "", "prefix"},
		{"long prefix", c, "t", strings.Repeat("p", dynamodb.MaxPrefixSize+1), "prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dynamodb.NewFromClient(context.Background(), tt.client, tt.table, tt.prefix)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ seed ^ byte(i>>9)
	}
	return b
}

// TestChunkedValues writes values around the one-item limit and the chunk
// size, and checks that replacing, deleting and clearing a chunked value
// leaves no chunk behind.
func TestChunkedValues(t *testing.T) {
	s := openStore(t, backendtest.NewPrefix())
	ctx := backendtest.Ctx(t)
	exp := time.Now().Add(time.Minute)
	chunks := func() int { return len(scanKeys(t, s.Client(), s.Table(), s.Prefix()+":!chunk:")) }

	for _, n := range []int{
		dynamodb.MaxItemSize - 2048, // fits in one item
		dynamodb.MaxItemSize,        // does not
		dynamodb.ChunkSize,
		2 * dynamodb.ChunkSize,
		2*dynamodb.ChunkSize + 1,
	} {
		val := pattern(n, byte(n))
		if err := s.Set(ctx, "v", val, exp); err != nil {
			t.Fatalf("Set of %d bytes: %v", n, err)
		}
		got, _, err := s.Get(ctx, "v")
		if err != nil || !bytes.Equal(got, val) {
			t.Fatalf("Get of a %d-byte value = %d bytes, %v", n, len(got), err)
		}
		want := (n + dynamodb.ChunkSize - 1) / dynamodb.ChunkSize
		if n <= dynamodb.MaxItemSize-2048 {
			want = 0 // stored in the entry's own item
		}
		if got := chunks(); got != want {
			t.Fatalf("%d chunk items for a %d-byte value, want %d (old chunks left behind?)", got, n, want)
		}
	}
	// Replaced by a small value: no chunks left.
	if err := s.Set(ctx, "v", []byte("small"), exp); err != nil {
		t.Fatal(err)
	}
	if n := chunks(); n != 0 {
		t.Fatalf("%d chunk items left after replacing a chunked value with a small one", n)
	}
	// Deleted: its chunks go too.
	if err := s.Set(ctx, "v", pattern(dynamodb.MaxItemSize, 1), exp); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Delete(ctx, "v"); err != nil || !ok {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	if n := chunks(); n != 0 {
		t.Fatalf("%d chunk items left after Delete", n)
	}
	// Cleared with its namespace: its chunks go too, another namespace's stay.
	for _, k := range []string{"ns:a", "other:b"} {
		if err := s.Set(ctx, k, pattern(dynamodb.MaxItemSize, 2), exp); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.ClearNamespace(ctx, "ns"); err != nil || n != 1 {
		t.Fatalf("ClearNamespace = %d, %v; want 1", n, err)
	}
	if n := chunks(); n != 2 {
		t.Fatalf("%d chunk items after clearing one of two chunked values, want 2", n)
	}
	if got, _, err := s.Get(ctx, "other:b"); err != nil || !bytes.Equal(got, pattern(dynamodb.MaxItemSize, 2)) {
		t.Fatalf("Get(other:b) = %d bytes, %v", len(got), err)
	}
	// Expired: FlushExpired removes the entry and its chunks.
	short := time.Now().Add(200 * time.Millisecond)
	if err := s.Set(ctx, "other:b", pattern(dynamodb.MaxItemSize, 3), short); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(short) + time.Millisecond)
	if err := s.FlushExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if keys := scanKeys(t, s.Client(), s.Table(), s.Prefix()+":"); len(keys) != 0 {
		t.Fatalf("items left after FlushExpired: %q", keys)
	}
}

// answerLostOnce is a transport that, the first time a request's body holds
// want, lets the request reach the server and then answers 500 in place of
// the server's answer, as when an answer is lost: the SDK sends the request
// again.
type answerLostOnce struct {
	want string
	done atomic.Bool
}

func (a *answerLostOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !bytes.Contains(body, []byte(a.want)) || !a.done.CompareAndSwap(false, true) {
		return resp, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	msg := `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"answer lost by the test"}`
	return &http.Response{
		Status: "500 Internal Server Error", StatusCode: 500, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:          io.NopCloser(strings.NewReader(msg)),
		ContentLength: int64(len(msg)),
		Request:       req,
	}, nil
}

// TestChunkedSetRetried loses the answer to the PutItem of a chunked
// value's item: the SDK sends it again, and the service returns, as the old
// item, the one the first try wrote. Its chunks are the new value's and
// must stay. (DynamoDB Local made this happen: some of its answers to a
// PutItem that returns a chunked item fail the SDK's CRC32 check.)
func TestChunkedSetRetried(t *testing.T) {
	endpoint := backendtest.ServerEnv(t, urlEnv)
	lost := &answerLostOnce{want: `"ver":{"S":`}
	c := awsdynamodb.New(awsdynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Transport: lost},
	})
	ctx := backendtest.Ctx(t)
	s, err := dynamodb.NewFromClient(ctx, c, testTable, backendtest.NewPrefix())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Flush(context.Background()); err != nil {
			t.Errorf("cleanup flush: %v", err)
		}
	})
	val := pattern(dynamodb.MaxItemSize, 9)
	if err := s.Set(ctx, "v", val, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !lost.done.Load() {
		t.Fatal("the test lost no answer: the chunked item's PutItem was not seen")
	}
	if got, _, err := s.Get(ctx, "v"); err != nil || !bytes.Equal(got, val) {
		t.Fatalf("Get after a retried Set = %d bytes, %v; want the %d-byte value", len(got), err, len(val))
	}
}

// TestChunkedValueConcurrentReplace has readers and writers of one large
// key race: every read returns one of the written values whole.
func TestChunkedValueConcurrentReplace(t *testing.T) {
	s := openStore(t, backendtest.NewPrefix())
	ctx := backendtest.Ctx(t)
	exp := time.Now().Add(time.Minute)
	vals := [][]byte{pattern(dynamodb.ChunkSize+100, 'a'), pattern(2*dynamodb.ChunkSize+7, 'b'), []byte("small")}
	if err := s.Set(ctx, "k", vals[0], exp); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 4)
	for w := range 2 {
		go func() {
			for i := range 6 {
				if err := s.Set(ctx, "k", vals[(i+w)%len(vals)], exp); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		go func() {
			for range 10 {
				got, _, err := s.Get(ctx, "k")
				if errors.Is(err, backends.ErrNotFound) {
					continue // allowed: chunks removed under the reader three times in a row
				}
				if err != nil {
					done <- err
					return
				}
				whole := false
				for _, v := range vals {
					whole = whole || bytes.Equal(got, v)
				}
				if !whole {
					done <- fmt.Errorf("read a torn value of %d bytes", len(got))
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestTooLarge(t *testing.T) {
	s := openStore(t, backendtest.NewPrefix())
	err := s.Set(backendtest.Ctx(t), "big", make([]byte, dynamodb.MaxValueSize+1), time.Now().Add(time.Minute))
	if !errors.Is(err, backends.ErrTooLarge) {
		t.Fatalf("Set above MaxValueSize = %v, want ErrTooLarge", err)
	}
	t.Log(err)
}

// TestLongAndOddKeys checks keys beyond DynamoDB's 2048-byte key limit and
// keys that are not valid UTF-8: they stay distinct and keep their namespace.
func TestLongAndOddKeys(t *testing.T) {
	s := openStore(t, backendtest.NewPrefix())
	ctx := backendtest.Ctx(t)
	exp := time.Now().Add(time.Minute)
	long := strings.Repeat("x", 3000)
	keys := []string{
		"ns:" + long + "a", "ns:" + long + "b", "ns:" + strings.Repeat("é", 2000),
		"ns:\xff", "ns:\xfe", "ns:\uFFFDff", "\xff:1", "\uFFFDff:1", "other:" + long,
	}
	for i, k := range keys {
		if err := s.Set(ctx, k, []byte(fmt.Sprint(i)), exp); err != nil {
			t.Fatalf("Set(key %d): %v", i, err)
		}
	}
	for i, k := range keys {
		if got, _, err := s.Get(ctx, k); err != nil || string(got) != fmt.Sprint(i) {
			t.Fatalf("Get(key %d) = %q, %v; want %q", i, got, err, fmt.Sprint(i))
		}
	}
	if n, err := s.ClearNamespace(ctx, "ns"); err != nil || n != 6 {
		t.Fatalf("ClearNamespace(ns) = %d, %v; want 6", n, err)
	}
	if n, err := s.ClearNamespace(ctx, "\xff"); err != nil || n != 1 {
		t.Fatalf("ClearNamespace(\\xff) = %d, %v; want 1", n, err)
	}
	for _, k := range keys[7:] {
		if _, _, err := s.Get(ctx, k); err != nil {
			t.Fatalf("a key of another namespace is gone: %v", err)
		}
	}
	// Locks on long keys work too.
	tok, ok, err := s.Lock(ctx, long, time.Minute)
	if err != nil || !ok {
		t.Fatalf("Lock(long key) = %v, %v", ok, err)
	}
	if ok, err := s.Unlock(ctx, long, tok); err != nil || !ok {
		t.Fatalf("Unlock(long key) = %v, %v", ok, err)
	}
	if _, err := s.ClearNamespace(ctx, strings.Repeat("n", 3000)); err == nil {
		t.Fatal("ClearNamespace of a namespace longer than a key can hold succeeded")
	}
}

func TestLockBadTTL(t *testing.T) {
	s := openStore(t, backendtest.NewPrefix())
	if _, ok, err := s.Lock(backendtest.Ctx(t), "l", 0); err == nil || ok {
		t.Fatalf("Lock with ttl 0 = %v, %v; want an error", ok, err)
	}
}

// TestOpenUnreachable checks that opening a store on an endpoint nothing
// listens on fails within the timeout with a clear error that does not
// show a password of the URL.
func TestOpenUnreachable(t *testing.T) {
	addr, _ := backendtest.FreeAddr(t)
	timeout := 300 * time.Millisecond
	start := time.Now()
	_, err := dynamodb.Open(context.Background(), backends.Settings{
		DynamoDBURL: "http://alice:s3cr%40t@" + addr,
		Prefix:      "p",
		Timeout:     timeout,
	})
	took := time.Since(start)
	if err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
	t.Logf("Open: %v", err)
	if msg := err.Error(); strings.Contains(msg, "s3cr%40t") || strings.Contains(msg, "s3cr@t") {
		t.Fatalf("the password shows in the error: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "dynamodb: ") {
		t.Errorf("error %q should start with \"dynamodb: \"", err)
	}
	if took > 20*timeout {
		t.Errorf("Open took %v with a %v timeout", took, timeout)
	}
}

func TestOpenBadSettings(t *testing.T) {
	for _, s := range []backends.Settings{
		{},
		{DynamoDBURL: "ftp://bob:hunter2@127.0.0.1:1"},
		{DynamoDBURL: "http://bob:hunter2@"},
		{DynamoDBURL: "://bob:hunter2@x"},
		{DynamoDBURL: "bob:hunter2@127.0.0.1:1"},
		{DynamoDBURL: "bob:hunter2@localhost"},
		{DynamoDBURL: "hunter2@localhost:8000"},
	} {
		s.Timeout = 200 * time.Millisecond
		_, err := dynamodb.Open(context.Background(), s)
		if err == nil {
			t.Errorf("Open(%+v) succeeded", s)
			continue
		}
		t.Logf("Open(%q): %v", s.DynamoDBURL, err)
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q): the password shows in the error: %v", s.DynamoDBURL, err)
		}
		if !strings.HasPrefix(err.Error(), "dynamodb: ") {
			t.Errorf("Open(%q) = %v; want an error starting with \"dynamodb: \"", s.DynamoDBURL, err)
		}
	}
}

// dynaliteBinary finds the dynalite that scripts/services.sh installs; it
// skips (or fails when the servers are required) when there is none.
func dynaliteBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CACHETTE_TEST_DYNALITE_BIN"); p != "" {
		return p
	}
	if p := backendtest.ServicesBinary(t, "npm/node_modules/.bin/dynalite"); p != "" {
		return p
	}
	if p, err := exec.LookPath("dynalite"); err == nil {
		return p
	}
	backendtest.Missing(t, "dynalite is not installed (run `make services-up` to install the test servers)")
	return ""
}

// startPrivateServer starts a dynalite of the test's own, which it may stop
// and start again without disturbing the shared test servers. It keeps its
// data in a directory, so a restart finds the table again.
func startPrivateServer(t testing.TB, extra ...string) *backendtest.Server {
	t.Helper()
	bin := dynaliteBinary(t)
	addr, port := backendtest.FreeAddr(t)
	srv := backendtest.NewServer(t, addr, bin,
		append([]string{"--host", "127.0.0.1", "--port", port, "--path", t.TempDir(), "--createTableMs", "50"}, extra...)...)
	srv.StartTimeout = 30 * time.Second
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
	s := openAt(t, "http://"+srv.Addr, "restart", "p", timeout)
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	if err := s.Set(ctx, "k", []byte("before"), exp); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	calls := map[string]func() error{
		"Get":   func() error { _, _, err := s.Get(ctx, "k"); return err },
		"Set":   func() error { return s.Set(ctx, "k", []byte("x"), exp) },
		"Del":   func() error { _, err := s.Delete(ctx, "k"); return err },
		"Lock":  func() error { _, _, err := s.Lock(ctx, "l", time.Second); return err },
		"Flush": func() error { return s.Flush(ctx) },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if err == nil {
			t.Errorf("%s with the server stopped succeeded", name)
		} else if !strings.HasPrefix(err.Error(), "dynamodb: ") {
			t.Errorf("%s error %q is not marked as the dynamodb store's", name, err)
		}
		if took := time.Since(start); took > 10*timeout {
			t.Errorf("%s took %v to fail with a %v timeout", name, took, timeout)
		}
	}

	srv.Start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.Set(ctx, "k", []byte("after"), exp)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Set still fails 30s after the server came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	got, _, err := s.Get(ctx, "k")
	if err != nil || string(got) != "after" {
		t.Fatalf("Get after restart = %q, %v", got, err)
	}
}

// TestServiceItemLimit runs against a server with a smaller item limit, so
// that the service itself refuses an item: the error wraps ErrTooLarge.
func TestServiceItemLimit(t *testing.T) {
	srv := startPrivateServer(t, "--maxItemSizeKb", "64")
	s := openAt(t, "http://"+srv.Addr, "small-items", "p", 0)
	defer s.Close()
	err := s.Set(backendtest.Ctx(t), "k", make([]byte, 100<<10), time.Now().Add(time.Minute))
	if !errors.Is(err, backends.ErrTooLarge) {
		t.Fatalf("Set of an item over the server's limit = %v, want ErrTooLarge", err)
	}
	t.Log(err)
}

func benchStore(b *testing.B) *dynamodb.Store {
	backendtest.BenchEnv(b, urlEnv)
	return openStore(b, backendtest.NewPrefix())
}

func benchPut(b *testing.B, size int) {
	s := benchStore(b)
	ctx := context.Background()
	val := pattern(size, 1)
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for i := 0; b.Loop(); i++ {
		if err := s.Set(ctx, fmt.Sprint("k", i%1000), val, exp); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFetch(b *testing.B, size int) {
	s := benchStore(b)
	ctx := context.Background()
	if err := s.Set(ctx, "k", pattern(size, 1), time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		if _, _, err := s.Get(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBackend(b *testing.B) {
	backendtest.BenchEnv(b, urlEnv)
	backendtest.Bench(b, func(t testing.TB, prefix string) backends.Backend { return openStore(t, prefix) })
}

// The chunked path: a 1 MiB value is three chunk items and a manifest.
func BenchmarkPut1MiB(b *testing.B)   { benchPut(b, 1<<20) }
func BenchmarkFetch1MiB(b *testing.B) { benchFetch(b, 1<<20) }

// TestPrefixWithColonRejected checks that a prefix holding ":" is refused,
// since Flush of prefix "a" would otherwise remove the keys of prefix "a:b".
func TestPrefixWithColonRejected(t *testing.T) {
	_, err := dynamodb.NewFromClient(context.Background(), newClient("http://127.0.0.1:1"), "t", "a:b")
	if err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Fatalf("NewFromClient with prefix a:b = %v; want an error about the prefix", err)
	}
	_, err = dynamodb.Open(context.Background(), backends.Settings{
		DynamoDBURL: "http://127.0.0.1:1", Region: "us-east-1", Prefix: "a:b", Timeout: 200 * time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), "prefix") || !strings.HasPrefix(err.Error(), "dynamodb: ") {
		t.Fatalf("Open with prefix a:b = %v; want a dynamodb error about the prefix", err)
	}
}

// TestFlushExpiredSparesWhatChangedAfterTheScan takes over an expired lock
// and rewrites an expired entry between FlushExpired's scan and its
// deletes: both must survive, or the lock could be held twice.
func TestFlushExpiredSparesWhatChangedAfterTheScan(t *testing.T) {
	s := openStore(t, backendtest.NewPrefix())
	ctx := backendtest.Ctx(t)
	start := time.Now()
	if _, ok, err := s.Lock(ctx, "job", 100*time.Millisecond); err != nil || !ok {
		t.Fatalf("Lock = %v, %v", ok, err)
	}
	if err := s.Set(ctx, "k", []byte("old"), start.Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "gone", []byte("old"), start.Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(start.Add(100*time.Millisecond)) + 5*time.Millisecond)

	var token string
	ran := false
	restore := dynamodb.SetTestHookAfterScan(func() {
		if ran {
			return
		}
		ran = true
		tok, ok, err := s.Lock(ctx, "job", time.Minute)
		if err != nil || !ok {
			t.Errorf("taking over the expired lock = %v, %v", ok, err)
		}
		token = tok
		if err := s.Set(ctx, "k", []byte("new"), time.Now().Add(time.Minute)); err != nil {
			t.Error(err)
		}
	})
	defer restore()
	if err := s.FlushExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if !ran {
		t.Fatal("FlushExpired found nothing expired to scan")
	}
	if _, ok, err := s.Lock(ctx, "job", time.Minute); err != nil || ok {
		t.Fatalf("Lock after FlushExpired = %v, %v; want held: FlushExpired removed a lock taken over after its scan", ok, err)
	}
	if got, _, err := s.Get(ctx, "k"); err != nil || string(got) != "new" {
		t.Fatalf("Get(k) = %q, %v; want the entry rewritten after the scan", got, err)
	}
	if keys := scanKeys(t, s.Client(), s.Table(), s.Prefix()+":gone"); len(keys) != 0 {
		t.Fatalf("the expired entry is still stored: %q", keys)
	}
	if ok, err := s.Unlock(ctx, "job", token); err != nil || !ok {
		t.Fatalf("Unlock by the new holder = %v, %v; want true", ok, err)
	}
}

// noAWSCredentials empties the AWS default chain for the test, so that an
// endpoint override falls back to the store's dummy credentials (and logs
// that at level Debug) without waiting for an instance metadata service.
func noAWSCredentials(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// TestLogsHideURLUser opens a store, at debug level, on an endpoint whose
// URL carries an access key id as its user and a secret as its password:
// neither may show in the errors or in any log line, the SDK's included.
func TestLogsHideURLUser(t *testing.T) {
	noAWSCredentials(t)
	const keyID, secret = "AKIDEXAMPLE7", "wJalrXUtnFEMI-s3cr3t"
	check := func(what, text string) {
		t.Helper()
		for _, s := range []string{keyID, secret} {
			if strings.Contains(text, s) {
				t.Errorf("%s shows %q:\n%s", what, s, text)
			}
		}
	}
	// A closed port: Open fails after the credential lookup.
	addr, _ := backendtest.FreeAddr(t)
	logs, log := backendtest.NewLogs()
	_, err := dynamodb.Open(context.Background(), backends.Settings{
		DynamoDBURL: "http://" + keyID + ":" + secret + "@" + addr,
		Prefix:      "p",
		Timeout:     300 * time.Millisecond,
		Logger:      log,
	})
	if err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
	check("the error", err.Error())
	if !strings.Contains(logs.String(), "no AWS credentials found") {
		t.Errorf("the debug line about dummy credentials is missing:\n%s", logs)
	}
	check("the log", logs.String())

	// The test server: Open works, and its log shows neither.
	u := backendtest.ServerEnv(t, urlEnv)
	host := strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
	logs, log = backendtest.NewLogs()
	st, err := dynamodb.Open(backendtest.Ctx(t), backends.Settings{
		DynamoDBURL: "http://" + keyID + ":" + secret + "@" + host,
		TableName:   testTable,
		Prefix:      backendtest.NewPrefix(),
		Logger:      log,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	st.Close()
	check("the log", logs.String())
}

// TestErrorsHideChainCredentials gives the default chain static
// credentials and opens a store on a closed port: the access key id and
// the secret key must not show in the error or the log.
func TestErrorsHideChainCredentials(t *testing.T) {
	noAWSCredentials(t)
	const keyID, secret = "AKIDCHAINEXAMPLE", "chain-s3cr3t-key"
	t.Setenv("AWS_ACCESS_KEY_ID", keyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	addr, _ := backendtest.FreeAddr(t)
	logs, log := backendtest.NewLogs()
	_, err := dynamodb.Open(context.Background(), backends.Settings{
		DynamoDBURL: "http://" + addr,
		Prefix:      "p",
		Timeout:     300 * time.Millisecond,
		Logger:      log,
	})
	if err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
	for _, s := range []string{keyID, secret} {
		if strings.Contains(err.Error(), s) || strings.Contains(logs.String(), s) {
			t.Errorf("%q shows in the error or the log:\n%v\n%s", s, err, logs)
		}
	}
}
