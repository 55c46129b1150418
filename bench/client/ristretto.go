package client

import "github.com/dgraph-io/ristretto/v2"

// Ristretto is github.com/dgraph-io/ristretto/v2 with a cost of 1 per entry.
// Its Set is asynchronous and may drop writes under contention; Preload
// waits for them (see Waiter).
type Ristretto struct {
	c *ristretto.Cache[string, []byte]
}

// NewRistretto builds a cache of twice capacity entries with the counters
// its documentation recommends (10x the entries).
func NewRistretto(capacity int) (InMemory, error) {
	c, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		NumCounters:        int64(20 * capacity),
		MaxCost:            int64(2 * capacity),
		IgnoreInternalCost: true,
		BufferItems:        64,
	})
	if err != nil {
		return nil, err
	}
	return &Ristretto{c: c}, nil
}

func (*Ristretto) Name() string                    { return NameRistretto }
func (a *Ristretto) Get(key string) ([]byte, bool) { return a.c.Get(key) }
func (a *Ristretto) Set(key string, value []byte)  { a.c.SetWithTTL(key, value, 1, TTL) }
func (a *Ristretto) Close()                        { a.c.Close() }

// Wait blocks until the buffered writes are applied.
func (a *Ristretto) Wait() { a.c.Wait() }

// Waiter is an adapter whose writes land asynchronously.
type Waiter interface{ Wait() }
