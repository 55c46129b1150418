package cachette_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cachette-go/cachette"
)

// With a signing key, an entry written into the store by anyone without
// the key (here straight through the store, as a plain Redis client
// could) is a miss, logged and removed, not a value.
func Example_signingKey() {
	ctx := context.Background()
	c, err := cachette.New(ctx, cachette.Config{
		SigningKey: "xp1R7o0n2bJqV6mJr1a2ZlG8z8wN4C5sYt0e3QhK9dU=", // from a secret store; `openssl rand -base64 32`
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	if err := c.Put(ctx, "greeting", "hello"); err != nil {
		panic(err)
	}
	var s string
	err = c.Fetch(ctx, "greeting", &s)
	fmt.Println(s, err)

	// A well-formed entry (magic, version 1, the vanilla codec, no flags,
	// expiry, payload) with no tag, planted under the same key.
	exp := time.Now().Add(time.Hour)
	planted := binary.BigEndian.AppendUint64([]byte{0xCA, 1, 1, 0}, uint64(exp.UnixMilli()))
	planted = append(planted, "planted"...)
	if err := c.Backend().Set(ctx, "greeting", planted, exp); err != nil {
		panic(err)
	}
	err = c.Fetch(ctx, "greeting", &s)
	fmt.Println(errors.Is(err, cachette.ErrNotFound))
	// Output:
	// hello <nil>
	// true
}
