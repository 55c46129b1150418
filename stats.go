package cachette

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Stats counts what a Cache did since it was made; Cache.Stats returns
// them. Every Fetch, FetchWithTTL and GetOrLoad, and every key of a
// FetchMany or GetOrLoadMany, counts once in Hits,
// LocalHits (served by the local tier), Misses or StaleServed, unless the store failed (then StoreErrors counts
// the failed call) or the call failed before reading (ErrClosed, a type
// the codec cannot hold). FetchBytes (httpcache's raw read) is not
// counted, as Config.Observer is not told of it.
type Stats struct {
	// Hits: live entries found in the store, and GetOrLoad calls
	// answered by a negative marker (WithNegativeTTL) without a load.
	Hits uint64
	// LocalHits: values served by the process-local tier without a store
	// call (0 while there is no local tier).
	LocalHits uint64
	// Misses: no entry, an expired one, one that could not be decoded, or
	// one whose tags were invalidated.
	Misses uint64
	// Loads: calls of a GetOrLoad load (one per coalesced flight), those
	// of background refreshes (WithStaleWhileRevalidate) included.
	Loads uint64
	// LoadErrors: loads that returned an error (one wrapping ErrNotFound
	// included) or panicked.
	LoadErrors uint64
	// StaleServed: expired values GetOrLoad returned, inside a
	// WithStaleWhileRevalidate or WithStaleIfError window.
	StaleServed uint64
	// StoreErrors: store calls that failed (reads, writes, deletes, locks,
	// tag versions), not-found excluded.
	StoreErrors uint64
}

// Stats returns the cache's counters. They are read one by one while
// other goroutines may count: a Stats taken during traffic is a close
// snapshot, not an atomic one.
func (c *Cache) Stats() Stats {
	return c.stats.snapshot()
}

// The counters of a stripe.
const (
	statHits = iota
	statLocalHits
	statMisses
	statLoads
	statLoadErrors
	statStaleServed
	statStoreErrors
	numStats
)

// maxStatStripes bounds the stripes of one Cache (128 bytes each).
const maxStatStripes = 256

// statStripe is one set of counters, alone on its cache lines (two lines,
// against the adjacent-line prefetcher).
type statStripe struct {
	n [numStats]atomic.Uint64
	_ [128 - numStats*8]byte
}

// stats is striped counters: a count goes to the stripe of the calling
// goroutine (stripeHint), so that goroutines on different CPUs rarely
// write the same cache line, and a read sums the stripes. Its zero value
// is ready; the stripes (64 per P, at most maxStatStripes) are allocated
// on first use.
type stats struct {
	stripes atomic.Pointer[[]statStripe]
}

func (s *stats) stripe() *statStripe {
	p := s.stripes.Load()
	if p == nil {
		n := 1
		for n < min(64*runtime.GOMAXPROCS(0), maxStatStripes) {
			n <<= 1
		}
		fresh := make([]statStripe, n)
		if !s.stripes.CompareAndSwap(nil, &fresh) {
			p = s.stripes.Load()
		} else {
			p = &fresh
		}
	}
	st := *p
	return &st[stripeHint()&uint32(len(st)-1)]
}

// stripeHint picks a goroutine's stripe from the address of a variable on
// its stack: goroutines' stacks do not overlap, so two goroutines (two
// CPUs) mostly get different stripes, and one goroutine keeps its stripe
// from one count to the next (until its stack moves), where a random
// stripe (as before) was last written by another CPU half of the time with
// two CPUs. The address is only hashed (murmur3's 64-bit finalizer: stack
// addresses differ in a few middle bits, which a multiplication alone
// spread badly), never turned back into a pointer. Two busy goroutines
// share a stripe with probability 1/len(stripes) (64 per P: 1/128 with
// two CPUs), which costs speed, not correctness.
func stripeHint() uint32 {
	var anchor byte
	x := uint64(uintptr(unsafe.Pointer(&anchor)) >> 10)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return uint32(x)
}

func (s *stats) add(which int) { s.stripe().n[which].Add(1) }

func (s *stats) snapshot() Stats {
	var sum [numStats]uint64
	if p := s.stripes.Load(); p != nil {
		for i := range *p {
			for j := range sum {
				sum[j] += (*p)[i].n[j].Load()
			}
		}
	}
	return Stats{
		Hits: sum[statHits], LocalHits: sum[statLocalHits], Misses: sum[statMisses],
		Loads: sum[statLoads], LoadErrors: sum[statLoadErrors],
		StaleServed: sum[statStaleServed], StoreErrors: sum[statStoreErrors],
	}
}

// localHit counts a value served by the local tier (for the local tier;
// it reports LookupLocalHit to the observer itself).
func (s *stats) localHit() { s.add(statLocalHits) }

// storeError counts a failed store call.
func (s *stats) storeError() { s.add(statStoreErrors) }

// countLookup counts the outcome err of a lookup, as observeLookup
// reports it: a store error was counted where it happened (Cache.wrap),
// and ErrClosed or codecs.ErrType are not lookups.
func (s *stats) countLookup(err error) {
	switch {
	case err == nil:
		s.add(statHits)
	case errors.Is(err, ErrNotFound):
		s.add(statMisses)
	}
}

// callLoad runs a GetOrLoad load, counting it (and its error or panic),
// and telling the observer if there is one.
func callLoad[T any](ctx context.Context, c *Cache, key string, load func(context.Context) (T, error)) (v T, err error) {
	c.stats.add(statLoads)
	failed := true
	defer func() {
		if failed {
			c.stats.add(statLoadErrors) // an error, or a panic going on to the flight
		}
	}()
	if o := c.cfg.Observer; o != nil {
		v, err = runLoad(ctx, o, key, load)
	} else {
		v, err = load(ctx)
	}
	failed = err != nil
	return v, err
}
