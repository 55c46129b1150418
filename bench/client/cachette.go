package client

import (
	"context"

	"github.com/cachette-go/cachette"
)

// Cachette is cachette's default in-memory store through the public Cache
// API with the vanilla codec: Put stores the []byte as is, Fetch copies it
// into the caller's *[]byte (the codec never hands out the stored slice).
type Cachette struct {
	c   *cachette.Cache
	ctx context.Context
}

// NewCachette opens cachette.New with its defaults (inmemory backend, 256 MiB
// budget, vanilla codec); capacity is not needed to hold it.
func NewCachette(int) (InMemory, error) {
	c, err := cachette.New(context.Background(), cachette.Config{TTL: TTL})
	if err != nil {
		return nil, err
	}
	return &Cachette{c: c, ctx: context.Background()}, nil
}

func (*Cachette) Name() string { return NameCachette }

func (a *Cachette) Get(key string) ([]byte, bool) {
	var v []byte
	err := a.c.Fetch(a.ctx, key, &v)
	return v, err == nil
}

func (a *Cachette) Set(key string, value []byte) { _ = a.c.Put(a.ctx, key, value) }

func (a *Cachette) Close() { _ = a.c.Close() }

// CachetteBytes is the same cache through PutBytes and FetchBytes, the raw
// path httpcache uses: no codec, and Fetch returns the stored bytes without
// a copy, as otter, ristretto and go-cache do.
type CachetteBytes struct{ Cachette }

// NewCachetteBytes opens the same cache as NewCachette.
func NewCachetteBytes(capacity int) (InMemory, error) {
	a, err := NewCachette(capacity)
	if err != nil {
		return nil, err
	}
	return &CachetteBytes{*a.(*Cachette)}, nil
}

func (*CachetteBytes) Name() string { return NameCachetteBytes }

func (a *CachetteBytes) Get(key string) ([]byte, bool) {
	v, _, err := a.c.FetchBytes(a.ctx, key)
	return v, err == nil
}

func (a *CachetteBytes) Set(key string, value []byte) { _ = a.c.PutBytes(a.ctx, key, value) }
