package dynamodb_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
	"github.com/cachette-go/cachette/backends/dynamodb"
)

// TestTableLostAndRecreated drops the table under an open store, as a
// restart of DynamoDB Local or dynalite (both in memory) does: calls made
// at once afterwards create it again, once, and work; so do later ones.
func TestTableLostAndRecreated(t *testing.T) {
	for _, env := range []string{urlEnv, dynaliteEnv} {
		t.Run(env, func(t *testing.T) {
			ctx := backendtest.Ctx(t)
			logs, logger := backendtest.NewLogs()
			table := "cachette-lost-" + backendtest.NewPrefix()
			s, err := dynamodb.Open(ctx, backends.Settings{
				DynamoDBURL: backendtest.ServerEnv(t, env),
				TableName:   table,
				Prefix:      "lost",
				Timeout:     testTimeout,
			}, dynamodb.WithLogger(logger))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			drop := func() {
				t.Helper()
				if _, err := s.Client().DeleteTable(ctx, &awsdynamodb.DeleteTableInput{TableName: &table}); err != nil {
					t.Fatal(err)
				}
			}
			defer func() {
				_, _ = s.Client().DeleteTable(context.Background(), &awsdynamodb.DeleteTableInput{TableName: &table})
			}()
			exp := time.Now().Add(time.Minute)
			if err := s.Set(ctx, "k", []byte("v"), exp); err != nil {
				t.Fatal(err)
			}

			drop()
			// Calls at once on the lost table: one re-creation for all.
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Go(func() {
					k := "k" + strconv.Itoa(i)
					if err := s.Set(ctx, k, []byte(k), exp); err != nil {
						t.Errorf("Set %s after the table was dropped: %v", k, err)
						return
					}
					if v, _, err := s.Get(ctx, k); err != nil || string(v) != k {
						t.Errorf("Get %s after the table was dropped = %q, %v", k, v, err)
					}
				})
			}
			wg.Wait()
			if n := strings.Count(logs.String(), "creating it again"); n != 1 {
				t.Errorf("the table was created again %d times, want once:\n%s", n, logs)
			}
			// The old entry went with the table: a miss, not an error.
			if _, _, err := s.Get(ctx, "k"); err != backends.ErrNotFound {
				t.Errorf("Get of an entry of the dropped table = %v, want ErrNotFound", err)
			}

			// Lost again: the next call (a read this time) brings it back too.
			drop()
			if _, _, err := s.Get(ctx, "k0"); err != backends.ErrNotFound {
				t.Errorf("Get after the second drop = %v, want ErrNotFound", err)
			}
			if err := s.Set(ctx, "k", []byte("again"), exp); err != nil {
				t.Fatal(err)
			}
			if v, _, err := s.Get(ctx, "k"); err != nil || string(v) != "again" {
				t.Errorf("Get after the second drop = %q, %v", v, err)
			}
			if n := strings.Count(logs.String(), "creating it again"); n != 2 {
				t.Errorf("the table was created again %d times, want twice", n)
			}
		})
	}
}
