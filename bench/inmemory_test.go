package bench_test

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/cachette-go/cachette/bench"
	"github.com/cachette-go/cachette/bench/client"
)

const traceLen = 1 << 20

var sizes = []struct {
	name string
	n    int
}{{"1k", 1_000}, {"100k", 100_000}}

// value is what every in-memory Set stores: 64 bytes.
var value = []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")

// preload stores every key and checks that each can be read back. Systems
// whose writes land asynchronously and may be dropped (ristretto) get the
// missing keys again, a few rounds at most.
func preload(b *testing.B, c client.InMemory, keys []string) {
	b.Helper()
	missing := keys
	for round := 0; round < 10 && len(missing) > 0; round++ {
		for _, k := range missing {
			c.Set(k, value)
		}
		if w, ok := c.(client.Waiter); ok {
			w.Wait()
		}
		var still []string
		for _, k := range missing {
			if _, ok := c.Get(k); !ok {
				still = append(still, k)
			}
		}
		missing = still
	}
	if len(missing) > len(keys)/100 {
		b.Fatalf("%s: %d of %d keys missing after preload", c.Name(), len(missing), len(keys))
	}
}

// BenchmarkInMemory measures Fetch hits and Put over a Zipf trace, one
// goroutine (serial) and b.RunParallel (parallel), for each system and key
// count. Names: InMemory/<Fetch|Put>/<serial|parallel>/<keys>/<system>.
func BenchmarkInMemory(b *testing.B) {
	for _, sz := range sizes {
		// Built on first use, so that a -bench filter that selects one
		// system does not pay for preloading the others.
		var keys, trace []string
		for _, f := range client.InMemoryFactories() {
			var c client.InMemory
			get := func(b *testing.B) (client.InMemory, []string) {
				b.Helper()
				if trace == nil {
					keys = bench.Keys(sz.n)
					trace = bench.Trace(keys, traceLen)
				}
				if c == nil {
					var err error
					if c, err = f.New(sz.n); err != nil {
						b.Fatalf("%s: %v", f.Name, err)
					}
					preload(b, c, keys)
				}
				return c, trace
			}
			b.Run(fmt.Sprintf("Fetch/serial/%s/%s", sz.name, f.Name), func(b *testing.B) { fetchSerial(b, get) })
			b.Run(fmt.Sprintf("Fetch/parallel/%s/%s", sz.name, f.Name), func(b *testing.B) { fetchParallel(b, get) })
			b.Run(fmt.Sprintf("Put/serial/%s/%s", sz.name, f.Name), func(b *testing.B) { putSerial(b, get) })
			b.Run(fmt.Sprintf("Put/parallel/%s/%s", sz.name, f.Name), func(b *testing.B) { putParallel(b, get) })
			if c != nil {
				c.Close()
			}
		}
	}
}

// getter returns the scenario's cache, preloaded, and its trace.
type getter func(*testing.B) (client.InMemory, []string)

var sink atomic.Pointer[[]byte]

func fetchSerial(b *testing.B, get getter) {
	c, trace := get(b)
	b.ReportAllocs()
	var hits, n int
	var last []byte
	for b.Loop() {
		v, ok := c.Get(trace[n&(traceLen-1)])
		if ok {
			hits++
			last = v
		}
		n++
	}
	sink.Store(&last)
	b.ReportMetric(100*float64(hits)/float64(max(n, 1)), "hit%")
}

func fetchParallel(b *testing.B, get getter) {
	c, trace := get(b)
	b.ReportAllocs()
	var hits, total atomic.Int64
	cpu := cpuStart()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(traceLen) // each goroutine starts at its own place in the trace
		var h, n int64
		var last []byte
		for pb.Next() {
			v, ok := c.Get(trace[i&(traceLen-1)])
			if ok {
				h++
				last = v
			}
			i++
			n++
		}
		sink.Store(&last)
		hits.Add(h)
		total.Add(n)
	})
	reportCPU(b, cpu)
	b.ReportMetric(100*float64(hits.Load())/float64(max(total.Load(), 1)), "hit%")
}

func putSerial(b *testing.B, get getter) {
	c, trace := get(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Set(trace[i&(traceLen-1)], value)
		i++
	}
}

func putParallel(b *testing.B, get getter) {
	c, trace := get(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(traceLen)
		for pb.Next() {
			c.Set(trace[i&(traceLen-1)], value)
			i++
		}
	})
}
