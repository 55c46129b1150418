// Command httpbench measures HTTP response caching over loopback, in the
// same process as its load generator, and prints results in the format of
// `go test -bench` so that cmd/report and benchstat read them like the rest.
//
//	httpbench -mode throughput -system cachette [-clients 32 -duration 3s]
//	httpbench -mode stampede -system naive [-requests 500 -origin 50ms -ttl 1s]
//
// Throughput: a fixed number of keep-alive clients request one URL whose
// handler marshals about 2 KiB of JSON, for a fixed duration after a warm-up;
// with a cache in front, every measured request is a hit. Systems: bare (the
// handler alone), cachette (httpcache on the in-memory store), cachette-redis
// (httpcache on the Redis store, when CACHETTE_TEST_REDIS_URL is set), souin
// (its net/http middleware with its default in-memory storage), naive (a
// map-and-mutex cache, the control of the stampede scenario).
//
// Stampede: a slow origin (it sleeps -origin) counts its calls while
// -requests concurrent requests hit a cold key ("cold"), then a key whose
// entry has just expired ("expired"); then -requests/8 clients loop on one
// key for 3.5 TTLs ("sustained", origin calls against TTL windows).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/redis"
	"github.com/cachette-go/cachette/bench/naive"
	"github.com/cachette-go/cachette/httpcache"
	"github.com/darkweak/souin/configurationtypes"
	souin "github.com/darkweak/souin/pkg/middleware"
	goredis "github.com/redis/go-redis/v9"
)

func main() {
	mode := flag.String("mode", "throughput", "throughput or stampede")
	system := flag.String("system", "cachette", "bare, cachette, cachette-nozstd, cachette-redis, souin or naive")
	clients := flag.Int("clients", 32, "throughput: concurrent keep-alive clients")
	duration := flag.Duration("duration", 3*time.Second, "throughput: measured time")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "throughput: unmeasured time first")
	requests := flag.Int("requests", 500, "stampede: concurrent requests")
	origin := flag.Duration("origin", 50*time.Millisecond, "stampede: time the origin takes")
	ttl := flag.Duration("ttl", time.Second, "stampede: TTL of the cached response")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "httpbench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "httpbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}

	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	var err error
	switch *mode {
	case "throughput":
		err = throughput(*system, *clients, *duration, *warmup)
	case "stampede":
		err = stampede(*system, *requests, *origin, *ttl)
	default:
		err = fmt.Errorf("unknown -mode %q (throughput or stampede)", *mode)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintf(os.Stderr, "httpbench %s %s: %v\n", *mode, *system, err)
		os.Exit(1)
	}
}

// cpuTime is the CPU time (user and system) the process has used: per
// request, it measures the work of a system independently of what else
// runs on the machine, which req/s on a shared machine does not. It counts
// the load generator too, the same for every system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// errSkip says a system cannot run here (no server); the reason is printed
// and the program succeeds.
var errSkip = errors.New("skipped")

// middleware returns the caching middleware of system with ttl, and a
// function that releases it.
func middleware(system string, ttl time.Duration) (func(http.Handler) http.Handler, func(), error) {
	nop := func() {}
	switch system {
	case "bare":
		return func(h http.Handler) http.Handler { return h }, nop, nil
	case "naive":
		return naive.Middleware(ttl), nop, nil
	case "cachette", "cachette-nozstd":
		cfg := cachette.Config{}
		if system == "cachette-nozstd" {
			cfg.Compression = "disabled"
		}
		c, err := cachette.New(context.Background(), cfg)
		if err != nil {
			return nil, nil, err
		}
		return httpcache.Middleware(c, httpcache.Options{TTL: ttl}), func() { c.Close() }, nil
	case "cachette-redis":
		url := os.Getenv("CACHETTE_TEST_REDIS_URL")
		if url == "" {
			return nil, nil, fmt.Errorf("%w: CACHETTE_TEST_REDIS_URL is not set", errSkip)
		}
		opt, err := goredis.ParseURL(url)
		if err != nil {
			return nil, nil, err
		}
		rdb := goredis.NewClient(opt)
		if err := rdb.Ping(context.Background()).Err(); err != nil {
			rdb.Close()
			return nil, nil, fmt.Errorf("%w: redis: %v", errSkip, err)
		}
		store, err := redis.NewFromClient(rdb, "cachettebenchhttp")
		if err != nil {
			rdb.Close()
			return nil, nil, err
		}
		c, err := cachette.NewWithBackend(store, cachette.Config{})
		if err != nil {
			rdb.Close()
			return nil, nil, err
		}
		done := func() {
			_ = c.Flush(context.Background())
			c.Close()
			rdb.Close()
		}
		_ = c.Flush(context.Background())
		return httpcache.Middleware(c, httpcache.Options{TTL: ttl}), done, nil
	case "souin":
		s := souin.NewHTTPCacheHandler(&souin.BaseConfiguration{
			DefaultCache: &configurationtypes.DefaultCache{
				TTL: configurationtypes.Duration{Duration: ttl},
			},
			LogLevel: "error",
		})
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = s.ServeHTTP(w, r, func(w http.ResponseWriter, r *http.Request) error {
					next.ServeHTTP(w, r)
					return nil
				})
			})
		}, nop, nil
	}
	return nil, nil, fmt.Errorf("unknown -system %q", system)
}

// isHit tells from a response's headers whether a cache served it.
func isHit(h http.Header) bool {
	if h.Get(httpcache.StatusHeader) == httpcache.StatusHit {
		return true
	}
	return strings.Contains(strings.ToLower(h.Get("Cache-Status")), "; hit")
}

// document is the JSON the handlers return: about 2 KiB.
type document struct {
	Page  int       `json:"page"`
	Total int       `json:"total"`
	Items []docItem `json:"items"`
}

type docItem struct {
	ID          int      `json:"id"`
	Name        string   `json:"name"`
	Price       float64  `json:"price"`
	Tags        []string `json:"tags"`
	Description string   `json:"description"`
}

var doc = func() document {
	d := document{Page: 1, Total: 14}
	for i := range d.Total {
		d.Items = append(d.Items, docItem{
			ID: i, Name: fmt.Sprintf("item number %d", i), Price: float64(i)*1.25 + 0.99,
			Tags:        []string{"cache", "bench"},
			Description: "a cached JSON document for the benchmark",
		})
	}
	return d
}()

// originLog records when the origin was called.
type originLog struct {
	mu    sync.Mutex
	times []time.Time
}

func (l *originLog) add() {
	l.mu.Lock()
	l.times = append(l.times, time.Now())
	l.mu.Unlock()
}

// reset forgets the calls so far.
func (l *originLog) reset() {
	l.mu.Lock()
	l.times = nil
	l.mu.Unlock()
}

// stats returns the number of calls and the shortest time between two
// consecutive ones (0 with fewer than two calls).
func (l *originLog) stats() (n int, minGap time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 1; i < len(l.times); i++ {
		if g := l.times[i].Sub(l.times[i-1]); i == 1 || g < minGap {
			minGap = g
		}
	}
	return len(l.times), minGap
}

// jsonHandler marshals doc on every request, as an API handler would.
func jsonHandler(calls *originLog, delay time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls != nil {
			calls.add()
		}
		if delay > 0 {
			time.Sleep(delay)
		}
		b, err := json.Marshal(doc)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
}

// serve starts an HTTP server for h on a loopback port.
func serve(h http.Handler) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			DisableCompression:  true,
		},
	}
}

// get makes one request, reads the whole body and reports whether it was a hit.
func get(c *http.Client, url string) (hit bool, err error) {
	resp, err := c.Get(url)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK || n < 1024 {
		return false, fmt.Errorf("status %d, %d bytes", resp.StatusCode, n)
	}
	return isHit(resp.Header), nil
}

func throughput(system string, clients int, duration, warmup time.Duration) error {
	mw, done, err := middleware(system, time.Hour)
	if errors.Is(err, errSkip) {
		fmt.Fprintf(os.Stderr, "httpbench throughput %s: %v\n", system, err)
		return nil
	}
	if err != nil {
		return err
	}
	defer done()
	base, stop, err := serve(mw(jsonHandler(nil, 0)))
	if err != nil {
		return err
	}
	defer stop()
	url := base + "/api/items?page=1"
	c := newClient(clients)
	if _, err := get(c, url); err != nil { // fills the cache
		return err
	}

	var measuring, stopping atomic.Bool
	var wg sync.WaitGroup
	lat := make([][]time.Duration, clients)
	hits := make([]int, clients)
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopping.Load() {
				t0 := time.Now()
				hit, err := get(c, url)
				if err != nil {
					errs <- err
					return
				}
				if measuring.Load() {
					lat[i] = append(lat[i], time.Since(t0))
					if hit {
						hits[i]++
					}
				}
			}
		}()
	}
	time.Sleep(warmup)
	measuring.Store(true)
	start, cpu0 := time.Now(), cpuTime()
	time.Sleep(duration)
	measuring.Store(false)
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	stopping.Store(true)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	var all []time.Duration
	nhits := 0
	for i := range lat {
		all = append(all, lat[i]...)
		nhits += hits[i]
	}
	n := len(all)
	if n == 0 {
		return errors.New("no request completed")
	}
	slices.Sort(all)
	fmt.Printf("BenchmarkHTTP/hit/%s\t%d\t%.1f ns/op\t%.0f req/s\t%.1f hit%%\t%.1f p50-µs\t%.1f p99-µs\t%.2f cpu-µs/req\n",
		system, n, float64(elapsed.Nanoseconds())/float64(n), float64(n)/elapsed.Seconds(),
		100*float64(nhits)/float64(n),
		float64(all[n/2].Nanoseconds())/1e3, float64(all[n*99/100].Nanoseconds())/1e3,
		float64(cpu.Nanoseconds())/1e3/float64(n))
	return nil
}

func stampede(system string, requests int, origin, ttl time.Duration) error {
	mw, done, err := middleware(system, ttl)
	if errors.Is(err, errSkip) {
		fmt.Fprintf(os.Stderr, "httpbench stampede %s: %v\n", system, err)
		return nil
	}
	if err != nil {
		return err
	}
	defer done()
	var calls originLog
	base, stop, err := serve(mw(jsonHandler(&calls, origin)))
	if err != nil {
		return err
	}
	defer stop()
	c := newClient(requests)

	// burst sends n requests at once and waits for them all.
	burst := func(url string, n int) error {
		var wg sync.WaitGroup
		gate := make(chan struct{})
		errs := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				if _, err := get(c, url); err != nil {
					errs <- err
				}
			}()
		}
		close(gate)
		wg.Wait()
		close(errs)
		return <-errs
	}
	report := func(phase string, took time.Duration, extra string) {
		n, gap := calls.stats()
		fmt.Printf("BenchmarkStampede/%s/%s\t1\t%d ns/op\t%d origin-calls\t%.1f min-gap-ms%s\n",
			phase, system, took.Nanoseconds(), n, float64(gap.Microseconds())/1e3, extra)
	}

	// cold: nothing cached.
	calls.reset()
	t0 := time.Now()
	if err := burst(base+"/stampede?phase=cold", requests); err != nil {
		return err
	}
	report("cold", time.Since(t0), fmt.Sprintf("\t%d requests", requests))

	// expired: fill, let the entry expire, then the burst.
	url := base + "/stampede?phase=expired"
	if _, err := get(c, url); err != nil {
		return err
	}
	time.Sleep(ttl + ttl/4)
	calls.reset()
	t0 = time.Now()
	if err := burst(url, requests); err != nil {
		return err
	}
	report("expired", time.Since(t0), fmt.Sprintf("\t%d requests", requests))

	// sustained: clients loop on one key across several expiries.
	url = base + "/stampede?phase=sustained"
	loopers := max(1, requests/8)
	span := ttl*3 + ttl/2
	calls.reset()
	var stopping atomic.Bool
	var served atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, loopers)
	t0 = time.Now()
	for range loopers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopping.Load() {
				if _, err := get(c, url); err != nil {
					errs <- err
					return
				}
				served.Add(1)
			}
		}()
	}
	time.Sleep(span)
	stopping.Store(true)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	took := time.Since(t0)
	windows := float64(took) / float64(ttl)
	report("sustained", took, fmt.Sprintf("\t%d requests\t%.2f windows", served.Load(), windows))
	return nil
}
