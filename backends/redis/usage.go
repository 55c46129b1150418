package redis

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/internal/rediswire"
	goredis "github.com/redis/go-redis/v9"
)

var _ backends.UsageReporter = (*Store)(nil)

// Usage counts the entries under the prefix (or under namespace+":") and
// the bytes of their values as stored: it walks the keys with SCAN, like
// Flush, and asks STRLEN of each, in pipelines. Locks are not counted.
func (s *Store) Usage(ctx context.Context, namespace string) (backends.Usage, error) {
	start := s.prefix + ":"
	if namespace != "" {
		start = backends.NamespacePrefix(s.prefix, namespace)
	}
	var entries, size atomic.Int64
	err := s.scan(ctx, rediswire.Pattern(start), func(ctx context.Context, keys []string) error {
		ctx, cancel := s.opCtx(ctx)
		defer cancel()
		pipe := s.client.Pipeline()
		cmds := make([]*goredis.IntCmd, 0, len(keys))
		for _, k := range keys {
			if backends.IsUserKey(s.prefix, k) {
				cmds = append(cmds, pipe.StrLen(ctx, k))
			}
		}
		if len(cmds) == 0 {
			return nil
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		for _, c := range cmds {
			if n := c.Val(); n > 0 { // 0: gone meanwhile
				entries.Add(1)
				size.Add(n)
			}
		}
		return nil
	})
	if err != nil {
		return backends.Usage{}, fmt.Errorf("redis: usage: %w", err)
	}
	return backends.Usage{Entries: entries.Load(), Bytes: size.Load()}, nil
}
