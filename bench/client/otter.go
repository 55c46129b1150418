package client

import "github.com/maypok86/otter/v2"

// Otter is github.com/maypok86/otter/v2, bounded by entry count, with a
// write expiry like the other systems.
type Otter struct{ c *otter.Cache[string, []byte] }

// NewOtter builds an otter cache of twice capacity entries.
func NewOtter(capacity int) (InMemory, error) {
	c, err := otter.New(&otter.Options[string, []byte]{
		MaximumSize:      2 * capacity,
		ExpiryCalculator: otter.ExpiryWriting[string, []byte](TTL),
	})
	if err != nil {
		return nil, err
	}
	return &Otter{c: c}, nil
}

func (*Otter) Name() string                    { return NameOtter }
func (a *Otter) Get(key string) ([]byte, bool) { return a.c.GetIfPresent(key) }
func (a *Otter) Set(key string, value []byte)  { a.c.Set(key, value) }
func (a *Otter) Close()                        { a.c.InvalidateAll(); a.c.StopAllGoroutines() }
