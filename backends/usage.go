package backends

import (
	"context"
	"strings"
)

// Usage is what a store holds under its prefix, as far as it can tell.
type Usage struct {
	Entries int64 // entries (user keys, not locks or other records of the store's own)
	Bytes   int64 // bytes those entries take as stored, the store's own framing included
}

// UsageReporter is implemented by the stores that can enumerate their keys
// (redis, valkey, gob). It is optional: memcached cannot enumerate, and the
// other stores do not offer it yet. Usage walks every key of the prefix, as
// Flush does, so its cost grows with the number of keys.
type UsageReporter interface {
	// Usage counts the entries under the store's prefix, or under
	// namespace+":" when namespace is not empty (the keys ClearNamespace
	// would remove). Entries that expired but are still kept by the store
	// may be counted.
	Usage(ctx context.Context, namespace string) (Usage, error)
}

// IsUserKey reports whether storeKey, a key of the store under prefix,
// names a user entry rather than a record of the store's own (a lock, see
// InternalKey): it starts with "prefix:" and, when followed by "!", by "!!".
func IsUserKey(prefix, storeKey string) bool {
	rest, ok := strings.CutPrefix(storeKey, prefix+":")
	if !ok {
		return false
	}
	return !strings.HasPrefix(rest, "!") || strings.HasPrefix(rest, "!!")
}
