package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// TestNodeFailure: the errors after which a cluster client reloads its
// slot map are those that say the node was not reached.
func TestNodeFailure(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{goredis.Nil, false},
		{context.Canceled, false},
		{fmt.Errorf("redis: get: %w", context.Canceled), false},
		{errors.New("plain"), false},
		{refused, true},
		{fmt.Errorf("redis: set: %w", refused), true},
		{context.DeadlineExceeded, true},
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
	} {
		if got := nodeFailure(c.err); got != c.want {
			t.Errorf("nodeFailure(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
