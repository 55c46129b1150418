package backends

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Item is a live entry read by Batcher.GetMany.
type Item struct {
	Value     []byte
	ExpiresAt time.Time
}

// Entry is one write of Batcher.SetMany.
type Entry struct {
	Key       string
	Value     []byte
	ExpiresAt time.Time
}

// Batcher is implemented by stores that read and write many keys in one
// round trip (or a few: one per node of a cluster, one per 100 keys of
// DynamoDB). Every shipped store implements it; cachette uses it for
// FetchMany, PutMany and GetOrLoadMany, and falls back to GetManyParallel
// and SetManyParallel for a store without it.
type Batcher interface {
	// GetMany returns the live entries among keys, by key. A key that is
	// absent, expired or not an entry of the store is left out, as Get
	// would report it ErrNotFound. An error is the failure of the whole
	// batch (the store is unreachable, say); keys may repeat.
	GetMany(ctx context.Context, keys []string) (map[string]Item, error)
	// SetMany stores every entry as Set would. An entry the store refuses
	// (too large, a key it cannot hold) does not stop the others: the
	// error joins one error per refused entry, each naming its key and
	// wrapping ErrTooLarge or ErrInvalidKey like Set's. When a key
	// repeats, the last entry wins.
	SetMany(ctx context.Context, entries []Entry) error
}

// DefaultParallel bounds the calls GetManyParallel and SetManyParallel run
// at once.
const DefaultParallel = 16

// GetManyParallel is GetMany for a store without Batcher: one Get per
// distinct key, at most parallel (DefaultParallel when <= 0) at a time. It
// stops at the first error other than ErrNotFound and returns it.
func GetManyParallel(ctx context.Context, b Backend, keys []string, parallel int) (map[string]Item, error) {
	keys = Distinct(keys)
	out := make(map[string]Item, len(keys))
	var mu sync.Mutex
	err := forEach(ctx, len(keys), parallel, func(ctx context.Context, i int) error {
		v, exp, err := b.Get(ctx, keys[i])
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		out[keys[i]] = Item{Value: v, ExpiresAt: exp}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetManyParallel is SetMany for a store without Batcher: one Set per
// entry (the last of a repeated key), at most parallel (DefaultParallel
// when <= 0) at a time. Its error joins the error of every Set that
// failed, each naming its key.
func SetManyParallel(ctx context.Context, b Backend, entries []Entry, parallel int) error {
	entries = LastEntries(entries)
	errs := make([]error, len(entries), len(entries)+1)
	err := forEach(ctx, len(entries), parallel, func(ctx context.Context, i int) error {
		e := entries[i]
		if err := b.Set(ctx, e.Key, e.Value, e.ExpiresAt); err != nil {
			errs[i] = EntryError(e.Key, err)
		}
		return nil
	})
	// Entries skipped because ctx ended.
	return errors.Join(append(errs, err)...)
}

// EntryError names key in the error of one entry of a batch.
func EntryError(key string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("key %q: %w", key, err)
}

// Distinct returns keys without repeats, in their first order. It returns
// keys itself when nothing repeats.
func Distinct(keys []string) []string {
	seen := make(map[string]struct{}, len(keys))
	out := keys[:0:0]
	dup := false
	for _, k := range keys {
		if _, ok := seen[k]; ok {
			dup = true
			continue
		}
		seen[k] = struct{}{}
		out = append(out, k)
	}
	if !dup {
		return keys
	}
	return out
}

// LastEntries returns entries with only the last entry of each key, in the
// order of those last entries. It returns entries itself when no key repeats.
func LastEntries(entries []Entry) []Entry {
	last := make(map[string]int, len(entries))
	for i, e := range entries {
		last[e.Key] = i
	}
	if len(last) == len(entries) {
		return entries
	}
	out := make([]Entry, 0, len(last))
	for i, e := range entries {
		if last[e.Key] == i {
			out = append(out, e)
		}
	}
	return out
}

// forEach calls fn(ctx, i) for i in [0, n), at most parallel at a time, and
// returns the first error; after one, the calls not yet started are skipped
// and ctx passed to the others is cancelled.
func forEach(ctx context.Context, n, parallel int, fn func(context.Context, int) error) error {
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	if n == 1 {
		return fn(ctx, 0)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel(err) })
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return context.Cause(ctx)
}
