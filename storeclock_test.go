package cachette

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends/inmemory"
)

// lateStore is the in-memory store whose GetTimed reports its reading as
// some time later than it is.
type lateStore struct {
	*inmemory.Store
	late time.Duration
}

func (s lateStore) GetTimed(ctx context.Context, key string) ([]byte, time.Time, time.Time, error) {
	v, exp, now, err := s.Store.GetTimed(ctx, key)
	return v, exp, now.Add(s.late), err
}

// FetchBytes and FetchWithTTL take the time left from the store's clock
// reading (backends.TimedGetter) when it reports one.
func TestFetchUsesStoreClock(t *testing.T) {
	ctx := context.Background()
	store := lateStore{Store: inmemory.New(inmemory.Options{}), late: 10 * time.Minute}
	c, err := NewWithBackend(store, Config{TTL: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.PutBytes(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	_, left, err := c.FetchBytes(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if left > 50*time.Minute || left <= 40*time.Minute {
		t.Errorf("FetchBytes left = %v; want about 50m, from the store's reading", left)
	}
	// An entry whose expiry is behind the store's reading is a miss.
	if err := c.PutBytes(ctx, "short", []byte("v"), WithTTL(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.FetchBytes(ctx, "short"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FetchBytes of an entry expired by the store's clock = %v, want ErrNotFound", err)
	}
}

// Through the plain in-memory store, the time left is the TTL less the
// time since the Put.
func TestFetchBytesTTLInMemory(t *testing.T) {
	ctx := context.Background()
	c, err := NewWithBackend(inmemory.New(inmemory.Options{}), Config{TTL: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if err := c.PutBytes(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	_, left, err := c.FetchBytes(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if left > time.Hour || left < time.Hour-time.Since(start)-2*time.Millisecond {
		t.Errorf("FetchBytes left = %v after %v; want about 1h", left, time.Since(start))
	}
}
