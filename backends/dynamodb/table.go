package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cachette-go/cachette/backends"
)

// recreateEvery is the least time between two attempts to re-create a
// lost table after one failed.
const recreateEvery = time.Second

// tableKeeper re-creates the store's table when it disappears under an open
// store: a DynamoDB Local or dynalite restarted (both keep tables in
// memory), or a table deleted by hand. The store creates a missing table
// when it opens, so it creates it again the same way then.
type tableKeeper struct {
	mu      sync.Mutex
	current *recreation   // in flight, or the last one that failed
	created atomic.Uint64 // how many attempts succeeded
	stop    context.CancelFunc
	ctx     context.Context // ended by Close
}

// recreation is one attempt: done is closed when it ends, then err is set.
type recreation struct {
	done  chan struct{}
	err   error
	ended time.Time
}

func (k *tableKeeper) init() {
	k.ctx, k.stop = context.WithCancel(context.Background())
}

// tableMissing reports whether err says the table does not exist.
func tableMissing(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

// recreateTable creates the table again, waits until it is ACTIVE and
// enables TTL, as Open does, and reports whether it is there. seen is
// keeper.created read before the call that found the table missing: when
// an attempt succeeded since, the table is there and nothing is done.
// Concurrent callers share one attempt; after a failed attempt, the next
// starts recreateEvery later at the earliest (until then callers get its
// error). The attempt runs on its own, bounded by TableWait and Close; a
// caller waits for it for at most wait, what is left of the store's
// timeout since its call began (or until ctx ends), and otherwise fails
// as its call did.
func (s *Store) recreateTable(ctx context.Context, seen uint64, wait time.Duration) error {
	k := &s.keeper
	k.mu.Lock()
	if k.created.Load() != seen {
		k.mu.Unlock()
		return nil
	}
	r := k.current
	if r == nil || (isClosed(r.done) && time.Since(r.ended) >= recreateEvery) {
		r = &recreation{done: make(chan struct{})}
		k.current = r
		s.log.Warn("dynamodb: the table is gone; creating it again", "table", s.table)
		go func() {
			err := s.createAgain(k.ctx)
			k.mu.Lock()
			r.err, r.ended = err, time.Now()
			if err == nil {
				k.created.Add(1)
				k.current = nil
			}
			close(r.done)
			k.mu.Unlock()
			if err != nil {
				s.log.Warn("dynamodb: could not create the lost table again", "table", s.table, "err", backends.Redact(err, s.secrets))
			}
		}()
	}
	k.mu.Unlock()
	if isClosed(r.done) {
		return r.err
	}
	timer := time.NewTimer(max(wait, 0))
	defer timer.Stop()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return errors.New("the table is being created again")
	}
}

// createAgain creates the lost table and waits until it is ACTIVE, for at
// most TableWait, then checks its schema and enables TTL as Open does. A
// table still DELETING (dynalite keeps a dropped table so for a while) is
// waited out and then created.
func (s *Store) createAgain(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, TableWait)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if err := s.createTable(ctx); err != nil { // nil too when it exists
			return err
		}
		desc, err := s.describe(ctx)
		switch {
		case tableMissing(err): // it was DELETING and is gone now: create it
		case err != nil:
			return err
		case desc.TableStatus == types.TableStatusActive:
			if err := checkSchema(desc); err != nil {
				return err
			}
			s.enableTTL(ctx)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the table did not become active: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// retry runs op; when it fails because the table is missing, it has the
// table created again and runs op once more. While the table is being
// created, calls fail as op failed (or when ctx ends).
func retry[T any](s *Store, ctx context.Context, op func() (T, error)) (T, error) {
	seen := s.keeper.created.Load()
	start := time.Now()
	v, err := op()
	if err == nil || !tableMissing(err) {
		return v, err
	}
	if rerr := s.recreateTable(ctx, seen, s.timeout-time.Since(start)); rerr != nil {
		return v, err
	}
	return op()
}

// Get returns the value under key, or backends.ErrNotFound when it is
// absent or expired.
func (s *Store) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	type got struct {
		v   []byte
		exp time.Time
	}
	g, err := retry(s, ctx, func() (got, error) {
		v, exp, err := s.get(ctx, key)
		return got{v, exp}, err
	})
	return g.v, g.exp, err
}

// Set stores value under key until expiresAt.
func (s *Store) Set(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	_, err := retry(s, ctx, func() (struct{}, error) { return struct{}{}, s.set(ctx, key, value, expiresAt) })
	return err
}

// Delete removes key and reports whether a live entry was removed.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	return retry(s, ctx, func() (bool, error) { return s.del(ctx, key) })
}

// ClearNamespace removes every key under namespace+":" and returns how many
// live entries it removed. It scans the whole table (see the package
// documentation); entries written while it runs may or may not be removed.
func (s *Store) ClearNamespace(ctx context.Context, namespace string) (int, error) {
	return retry(s, ctx, func() (int, error) { return s.clearNamespace(ctx, namespace) })
}

// Flush removes every item of this store's prefix (entries, chunks and
// locks) and nothing else. It scans the whole table.
func (s *Store) Flush(ctx context.Context) error {
	_, err := retry(s, ctx, func() (struct{}, error) { return struct{}{}, s.flush(ctx) })
	return err
}

// FlushExpired removes the expired items of this store's prefix, which
// DynamoDB's TTL would delete later, if at all. It scans the whole table,
// then deletes each expired item with its own DeleteItem conditioned on the
// item still being expired (expms <= now), so an entry rewritten or a lock
// taken over between the scan and the delete is left alone; the chunks of a
// removed entry go with it. That costs one request per expired item (the
// same write capacity as a batch delete, but up to 25 times the requests).
func (s *Store) FlushExpired(ctx context.Context) error {
	_, err := retry(s, ctx, func() (struct{}, error) { return struct{}{}, s.flushExpired(ctx) })
	return err
}

// Lock takes the lock named key for ttl with a conditional put that
// succeeds when no lock item exists or the existing one has expired.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (string, bool, error) {
	type took struct {
		token string
		ok    bool
	}
	t, err := retry(s, ctx, func() (took, error) {
		token, ok, err := s.lock(ctx, key, ttl)
		return took{token, ok}, err
	})
	return t.token, t.ok, err
}

// Unlock releases the lock named key if token is its holder's, and reports
// whether the lock was still held (not expired) by that token.
func (s *Store) Unlock(ctx context.Context, key, token string) (bool, error) {
	return retry(s, ctx, func() (bool, error) { return s.unlock(ctx, key, token) })
}

// GetMany reads keys with one BatchGetItem per 100 keys (consistent reads),
// retrying the keys DynamoDB leaves unprocessed with backoff. A chunked
// value's chunks are then read as Get reads them.
func (s *Store) GetMany(ctx context.Context, keys []string) (map[string]backends.Item, error) {
	return retry(s, ctx, func() (map[string]backends.Item, error) { return s.getMany(ctx, keys) })
}

// SetMany writes entries with one BatchWriteItem per 25 (retrying the
// items DynamoDB leaves unprocessed), after one BatchGetItem per 100 that
// reads which of the keys hold a chunked value, whose chunks are deleted
// once it is replaced (a chunked value written by another process between
// that read and the write keeps its chunks until they expire). A value too
// big for one item is written by Set, chunks and all.
func (s *Store) SetMany(ctx context.Context, entries []backends.Entry) error {
	_, err := retry(s, ctx, func() (struct{}, error) { return struct{}{}, s.setMany(ctx, entries) })
	return err
}
