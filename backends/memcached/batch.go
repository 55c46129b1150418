package memcached

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cachette-go/cachette/backends"
)

var _ backends.Batcher = (*Store)(nil)

// setManyParallel bounds the Sets SetMany runs at once.
const setManyParallel = 16

// GetMany reads keys with one multi-key get per server (gomemcache's
// GetMulti, the servers in parallel), after reading the namespace
// generation.
func (s *Store) GetMany(ctx context.Context, keys []string) (map[string]backends.Item, error) {
	keys = backends.Distinct(keys)
	out := make(map[string]backends.Item, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	gen, err := s.generation(ctx, "get many")
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, "get many"); err != nil {
		return nil, err
	}
	byServerKey := make(map[string]string, len(keys))
	skeys := make([]string, len(keys))
	for i, k := range keys {
		skeys[i] = s.itemKey(gen, k)
		byServerKey[skeys[i]] = k
	}
	items, err := s.client.GetMulti(skeys)
	if err != nil {
		return nil, wrap("get many", err)
	}
	now := time.Now()
	for sk, it := range items {
		k, ok := byServerKey[sk]
		if !ok {
			continue
		}
		value, exp, err := decodeEnvelope(it.Value)
		if err != nil {
			s.log.Debug("cachette memcached: ignoring a malformed stored value", "key", sk)
			continue
		}
		if backends.Alive(exp, now) {
			out[k] = backends.Item{Value: value, ExpiresAt: exp}
		}
	}
	return out, nil
}

// SetMany reads the namespace generation once and then sets the entries
// in parallel, at most 16 at a time: the memcached text protocol has no
// multi-key set that gomemcache speaks, so this is as close to one round
// trip as the client gets. The whole call is bounded by the timeout: no
// Set starts after it, so a batch on a hung server fails within about two
// timeouts (the last Sets started run their own), not one per wave of 16.
func (s *Store) SetMany(ctx context.Context, entries []backends.Entry) error {
	entries = backends.LastEntries(entries)
	if len(entries) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	gen, err := s.generation(ctx, "set many")
	if err != nil {
		return err
	}
	errs := make([]error, len(entries))
	sem := make(chan struct{}, setManyParallel)
	var wg sync.WaitGroup
	for i, e := range entries {
		sem <- struct{}{}
		if err := s.check(ctx, "set many"); err != nil {
			<-sem
			errs[i] = backends.EntryError(e.Key, err)
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := s.client.Set(&memcache.Item{
				Key:        s.itemKey(gen, e.Key),
				Value:      encodeEnvelope(e.ExpiresAt, e.Value),
				Expiration: serverExpiry(e.ExpiresAt, time.Now()),
			})
			if err != nil && strings.Contains(err.Error(), "object too large") {
				err = fmt.Errorf("memcached: set: value of %d bytes: %w: over the server's item size limit", len(e.Value), backends.ErrTooLarge)
			} else if err != nil {
				err = wrap("set", err)
			}
			errs[i] = backends.EntryError(e.Key, err)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
