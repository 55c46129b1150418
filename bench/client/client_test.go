package client_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/cachette-go/cachette/bench/client"
	goredis "github.com/redis/go-redis/v9"
)

func TestInMemoryAdapters(t *testing.T) {
	for _, f := range client.InMemoryFactories() {
		t.Run(f.Name, func(t *testing.T) {
			c, err := f.New(100)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.Name() != f.Name {
				t.Errorf("Name() = %q, want %q", c.Name(), f.Name)
			}
			if _, ok := c.Get("absent"); ok {
				t.Error("hit on a key never set")
			}
			c.Set("k", []byte("v1"))
			if w, ok := c.(client.Waiter); ok {
				w.Wait()
			}
			if v, ok := c.Get("k"); !ok || string(v) != "v1" {
				t.Errorf("Get = %q, %v; want v1", v, ok)
			}
		})
	}
}

func TestRemoteAdapters(t *testing.T) {
	url := os.Getenv("CACHETTE_TEST_REDIS_URL")
	if url == "" {
		t.Skip("CACHETTE_TEST_REDIS_URL is not set")
	}
	ctx := context.Background()
	want := client.NewItem(3)
	t.Cleanup(func() {
		opt, err := goredis.ParseURL(url)
		if err != nil {
			return
		}
		rdb := goredis.NewClient(opt)
		defer rdb.Close()
		keys, _ := rdb.Keys(ctx, "cachettebenchtest*").Result()
		if len(keys) > 0 {
			rdb.Unlink(ctx, keys...)
		}
	})
	for _, f := range client.RemoteFactories() {
		t.Run(f.Name, func(t *testing.T) {
			r, err := f.New(ctx, url, "cachettebenchtest"+f.Name)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var got client.Item
			if err := r.Get(ctx, "absent", &got); !errors.Is(err, client.ErrMiss) {
				t.Errorf("Get of an absent key: %v, want ErrMiss", err)
			}
			if err := r.Set(ctx, "item", want); err != nil {
				t.Fatal(err)
			}
			if err := r.Get(ctx, "item", &got); err != nil {
				t.Fatal(err)
			}
			if got.ID != want.ID || got.Bio != want.Bio || len(got.Attributes) != len(want.Attributes) || !got.CreatedAt.Equal(want.CreatedAt) {
				t.Errorf("round trip changed the item: got ID %d, %d attributes", got.ID, len(got.Attributes))
			}
		})
	}
}

func TestItemSizes(t *testing.T) {
	if a, b := client.NewItem(5), client.NewItem(5); a.Bio != b.Bio {
		t.Error("NewItem is not deterministic")
	}
	if p := client.NewPayload(512); len(p.Records) != 512 {
		t.Errorf("NewPayload(512) has %d records", len(p.Records))
	}
}
