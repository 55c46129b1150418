package valkey

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/internal/rediswire"
	valkeygo "github.com/valkey-io/valkey-go"
)

var _ backends.UsageReporter = (*Store)(nil)

// Usage counts the entries under the prefix (or under namespace+":") and
// the bytes of their values as stored: it walks the keys with SCAN, like
// Flush, and asks STRLEN of each, in batches. Locks are not counted.
func (s *Store) Usage(ctx context.Context, namespace string) (backends.Usage, error) {
	start := s.prefix + ":"
	if namespace != "" {
		start = backends.NamespacePrefix(s.prefix, namespace)
	}
	var entries, size atomic.Int64
	err := s.scan(ctx, rediswire.Pattern(start), func(ctx context.Context, keys []string) error {
		cmds := make(valkeygo.Commands, 0, len(keys))
		for _, k := range keys {
			if backends.IsUserKey(s.prefix, k) {
				cmds = append(cmds, s.client.B().Strlen().Key(k).Build())
			}
		}
		if len(cmds) == 0 {
			return nil
		}
		cctx, cancel := s.opCtx(ctx)
		defer cancel()
		for _, r := range s.client.DoMulti(cctx, cmds...) {
			n, err := r.AsInt64()
			if err != nil {
				return err
			}
			if n > 0 { // 0: gone meanwhile
				entries.Add(1)
				size.Add(n)
			}
		}
		return nil
	})
	if err != nil {
		return backends.Usage{}, fmt.Errorf("valkey: usage: %w", err)
	}
	return backends.Usage{Entries: entries.Load(), Bytes: size.Load()}, nil
}
