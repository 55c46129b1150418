package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/httpcache"
)

// The load's settings. storeTimeout is "the configured timeout" of the
// report: Config.Timeout of every cache and httpcache's StoreTimeout.
const (
	storeTimeout = 500 * time.Millisecond
	valueTTL     = time.Second // short, so that loads and writes go on all along
	staleWindow  = time.Hour
	keysPerPath  = 100
	workers      = 4
	pacing       = 2 * time.Millisecond // each worker's pause between requests
	injectEvery  = 10                   // a stale-if-error path's origin fails one load in this many
)

// errInjected is the failure of a stale-if-error path's origin.
var errInjected = errors.New("chaos: injected origin failure")

// quiet drops the caches' logs: a dead store logs every failed call.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// sample is one request.
type sample struct {
	start time.Time
	dur   time.Duration
	hit   bool // answered from the store (GetOrLoad: Observer.Lookup said hit or stale; HTTP: HIT or STALE)
	fail  bool // an error or a non-2xx status, but an injected origin failure
}

// path is one way of reading through the cache under load, with its counts.
type path struct {
	name string
	do   func(ctx context.Context, key string) (hit, stale bool, err error)

	requests, errs, injErrs, wrong, stale, originFails atomic.Int64

	mu       sync.Mutex
	samples  []sample
	firstErr error

	// storeFailed is when the last store call of the path's cache that
	// failed (not a miss) ended, in Unix nanoseconds; see pathObserver.
	storeFailed atomic.Int64
}

// errWrong marks a value that is not its key's.
var errWrong = errors.New("wrong or foreign value")

func (p *path) record(s sample, stale bool, err error) {
	p.requests.Add(1)
	switch {
	case errors.Is(err, errWrong):
		p.wrong.Add(1)
	case errors.Is(err, errInjected):
		p.injErrs.Add(1)
	case err != nil:
		p.errs.Add(1)
	}
	if stale {
		p.stale.Add(1)
	}
	p.mu.Lock()
	p.samples = append(p.samples, s)
	if err != nil && p.firstErr == nil && !errors.Is(err, errInjected) {
		p.firstErr = err
	}
	p.mu.Unlock()
}

// value is what the origin computes for key: the key and the time of the load.
func value(key string) string { return key + "|" + strconv.FormatInt(time.Now().UnixNano(), 10) }

// check returns the load time of v, or errWrong when v is not key's value.
func check(key, v string) (time.Time, error) {
	rest, ok := strings.CutPrefix(v, key+"|")
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %q for key %q", errWrong, v, key)
	}
	ns, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q for key %q", errWrong, v, key)
	}
	return time.Unix(0, ns), nil
}

// origin counts loads and fails one in injectEvery when fail is set.
type origin struct {
	fail  bool
	calls atomic.Int64
	fails *atomic.Int64
}

func (o *origin) load(key string) (string, error) {
	if o.fail && o.calls.Add(1)%injectEvery == 0 {
		o.fails.Add(1)
		return "", errInjected
	}
	return value(key), nil
}

// lookupKey is the context key of the *atomic.Int32 where lookups records
// the outcome of a GetOrLoad's read.
type lookupKey struct{}

// pathObserver is the Observer of a path's cache: it tells each
// GetOrLoad call whether the store answered it, and wraps the store to
// note when store calls fail (path.storeFailed).
type pathObserver struct {
	cachette.NopObserver
	p *path
}

func (pathObserver) Lookup(ctx context.Context, _ string, r cachette.LookupResult) {
	if p, ok := ctx.Value(lookupKey{}).(*atomic.Int32); ok {
		p.Store(int32(r))
	}
}

func (o pathObserver) WrapStore(_ string, s backends.Backend) backends.Backend {
	return failureNoter{s, o.p}
}

// failureNoter notes the end of every failed call of the store it wraps
// in p.storeFailed. It hides the store's optional interfaces (batches,
// GetTimed, invalidations), which the paths do not use, but not the
// store itself (Unwrap: httpcache treats the in-memory store apart).
type failureNoter struct {
	backends.Backend
	p *path
}

func (f failureNoter) Unwrap() backends.Backend { return f.Backend }

func (f failureNoter) note(err error) {
	if err != nil && !errors.Is(err, backends.ErrNotFound) {
		f.p.storeFailed.Store(time.Now().UnixNano())
	}
}

func (f failureNoter) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	v, exp, err := f.Backend.Get(ctx, key)
	f.note(err)
	return v, exp, err
}

func (f failureNoter) Set(ctx context.Context, key string, value []byte, exp time.Time) error {
	err := f.Backend.Set(ctx, key, value, exp)
	f.note(err)
	return err
}

func (f failureNoter) Delete(ctx context.Context, key string) (bool, error) {
	ok, err := f.Backend.Delete(ctx, key)
	f.note(err)
	return ok, err
}

func (f failureNoter) Lock(ctx context.Context, key string, ttl time.Duration) (string, bool, error) {
	tok, ok, err := f.Backend.Lock(ctx, key, ttl)
	f.note(err)
	return tok, ok, err
}

func (f failureNoter) Unlock(ctx context.Context, key, token string) (bool, error) {
	ok, err := f.Backend.Unlock(ctx, key, token)
	f.note(err)
	return ok, err
}

// open opens a cache on cfg, trying again for up to waitLong: a server
// just restarted by the case before (dynalite creating its table) may
// miss the short store timeout of the first calls.
func open(t *testing.T, cfg cachette.Config) *cachette.Cache {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		c, err := cachette.New(context.Background(), cfg)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("open %s: %v", cfg.Backend, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// golPath reads through cachette.GetOrLoad on a cache opened with cfg.
func golPath(t *testing.T, cfg cachette.Config, sie bool) *path {
	t.Helper()
	p := &path{name: "GetOrLoad"}
	cfg.Observer = pathObserver{p: p}
	c := open(t, cfg)
	opts := []cachette.Option{cachette.WithTTL(valueTTL)}
	if sie {
		p.name += "+stale-if-error"
		opts = append(opts, cachette.WithStaleIfError(staleWindow))
	}
	o := &origin{fail: sie, fails: &p.originFails}
	p.do = func(ctx context.Context, key string) (hit, stale bool, err error) {
		var lookup atomic.Int32
		ctx = context.WithValue(ctx, lookupKey{}, &lookup)
		v, err := cachette.GetOrLoad(ctx, c, key, func(context.Context) (string, error) { return o.load(key) }, opts...)
		if err != nil {
			return false, false, err
		}
		if _, err := check(key, v); err != nil {
			return false, false, err
		}
		r := cachette.LookupResult(lookup.Load())
		return r == cachette.LookupHit || r == cachette.LookupStale, r == cachette.LookupStale, nil
	}
	return p
}

// httpPath reads through an httpcache handler on a cache opened with cfg,
// served by an httptest server.
func httpPath(t *testing.T, cfg cachette.Config, sie bool) *path {
	t.Helper()
	p := &path{name: "httpcache"}
	cfg.Observer = pathObserver{p: p}
	c := open(t, cfg)
	opts := httpcache.Options{TTL: valueTTL, StoreTimeout: storeTimeout, Logger: quiet}
	if sie {
		p.name += "+StaleIfError"
		opts.StaleIfError = staleWindow
	}
	o := &origin{fail: sie, fails: &p.originFails}
	h := httpcache.Middleware(c, opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := o.load(strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, v)
	}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * workers}}
	t.Cleanup(client.CloseIdleConnections)
	p.do = func(ctx context.Context, key string) (hit, stale bool, err error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/"+key, nil)
		if err != nil {
			return false, false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, false, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return false, false, err
		}
		if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), errInjected.Error()) {
			return false, false, errInjected
		}
		if resp.StatusCode/100 != 2 {
			return false, false, fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
		}
		if _, err := check(key, string(body)); err != nil {
			return false, false, err
		}
		st := resp.Header.Get(httpcache.StatusHeader)
		return st == httpcache.StatusHit || st == httpcache.StatusStale, st == httpcache.StatusStale, nil
	}
	return p
}

// run drives workers goroutines per path until stop is closed.
func run(paths []*path, prefix string, stop <-chan struct{}) (wait func()) {
	var wg sync.WaitGroup
	for _, p := range paths {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), uint64(len(p.name))))
				for {
					select {
					case <-stop:
						return
					default:
					}
					key := prefix + "k" + strconv.Itoa(rng.IntN(keysPerPath))
					ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
					start := time.Now()
					hit, stale, err := p.do(ctx, key)
					cancel()
					p.record(sample{start: start, dur: time.Since(start), hit: hit, fail: err != nil && !errors.Is(err, errInjected)}, stale, err)
					time.Sleep(pacing)
				}
			}()
		}
	}
	return wg.Wait
}

// recovered returns when p recovered from a fault healed at back: the
// later of the first request started after back that was answered from
// the store, the end of the last request that failed, and the end of the
// last store call that failed (a timeout, a refused connection: not a
// miss); false if no request was answered from the store.
//
// A request that merely took long does not count: an httpcache MISS makes
// up to five store calls in a row (read, lock, read again, write, unlock),
// so on a store that answers every call, but slowly (mongotest on its
// PostgreSQL, busy right after a SIGCONT), it can take more than a
// timeout without anything failing; p99 and max report such latencies.
// (Counting every request of storeTimeout or more, as the first version
// did, put recovery at 2 s where no call failed after 0.5 s.)
func (p *path) recovered(back time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var first, lastBad time.Time
	if ns := p.storeFailed.Load(); ns != 0 {
		lastBad = time.Unix(0, ns)
	}
	for _, s := range p.samples {
		if s.start.After(back) && s.hit && (first.IsZero() || s.start.Before(first)) {
			first = s.start
		}
		if end := s.start.Add(s.dur); s.fail && end.After(lastBad) {
			lastBad = end
		}
	}
	if first.IsZero() {
		return first, false
	}
	if lastBad.After(first) {
		return lastBad, true
	}
	return first, true
}

// row is one line of the report.
type row struct {
	fault, path                           string
	requests, errs, injErrs, wrong, stale int64
	originFails                           int64
	p99, max                              time.Duration // of requests started between the fault and recovery
	recover                               time.Duration // from the server back to recovery (path.recovered); -1: none
	firstErr                              string
}

// report computes p's row for a fault injected at faultAt, healed at back.
func (p *path) report(fault string, faultAt, back time.Time) row {
	r := row{fault: fault, path: p.name, requests: p.requests.Load(), errs: p.errs.Load(),
		injErrs: p.injErrs.Load(), wrong: p.wrong.Load(), stale: p.stale.Load(), originFails: p.originFails.Load(), recover: -1}
	end, ok := p.recovered(back)
	if ok {
		r.recover = max(end.Sub(back), 0)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.firstErr != nil {
		r.firstErr = p.firstErr.Error()
	}
	var durs []time.Duration
	for _, s := range p.samples {
		if !s.start.Before(faultAt) && (!ok || !s.start.After(end)) {
			durs = append(durs, s.dur)
		}
	}
	if len(durs) > 0 {
		slices.Sort(durs)
		r.p99 = durs[(len(durs)*99)/100]
		r.max = durs[len(durs)-1]
	}
	return r
}

// fault is a server to hurt: inject starts the fault, heal ends it and
// returns once the server answers again.
type fault struct {
	name   string
	inject func(t *testing.T)
	heal   func(t *testing.T)
}

// scenario runs the load on paths, injects f after warm, heals it after
// hold, then waits for every path to recover (for at least observe, at
// most waitLong) and returns the rows.
func scenario(t *testing.T, f fault, paths []*path, warm, hold, observe time.Duration) []row {
	t.Helper()
	stop := make(chan struct{})
	wait := run(paths, "", stop)
	stopped := false
	finish := func() {
		if !stopped {
			stopped = true
			close(stop)
			wait()
		}
	}
	defer finish()
	time.Sleep(warm)
	faultAt := time.Now()
	f.inject(t)
	time.Sleep(hold)
	f.heal(t)
	back := time.Now()
	deadline := back.Add(waitLong)
	for {
		time.Sleep(100 * time.Millisecond)
		all := true
		for _, p := range paths {
			if _, ok := p.recovered(back); !ok {
				all = false
			}
		}
		if (all && time.Since(back) >= observe) || time.Now().After(deadline) {
			break
		}
	}
	finish()
	rows := make([]row, 0, len(paths))
	for _, p := range paths {
		rows = append(rows, p.report(f.name, faultAt, back))
	}
	return rows
}

// waitLong bounds the wait for recovery: far longer than anything takes
// on a loaded machine, there so that a store that never recovers ends the
// case instead of hanging it.
const waitLong = 30 * time.Second

// table formats rows.
func table(rows []row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| case | path | requests | errors/non-2xx | wrong | origin fails | answered with an origin failure | stale served | p99 in fault | max in fault | recovery |\n")
	fmt.Fprintf(&b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		rec := "never"
		if r.recover >= 0 {
			rec = r.recover.Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d | %v | %v | %s |\n", r.fault, r.path, r.requests, r.errs, r.wrong,
			r.originFails, r.injErrs, r.stale, r.p99.Round(time.Millisecond), r.max.Round(time.Millisecond), rec)
	}
	return b.String()
}

// allPaths opens the four paths on cfg (each with a prefix of its own).
func allPaths(t *testing.T, cfg func() cachette.Config) []*path {
	t.Helper()
	prefixed := func(p string) cachette.Config {
		c := cfg()
		c.Prefix += p
		c.Timeout = storeTimeout
		c.Logger = quiet
		return c
	}
	return []*path{
		golPath(t, prefixed("gol"), false),
		golPath(t, prefixed("golsie"), true),
		httpPath(t, prefixed("http"), false),
		httpPath(t, prefixed("httpsie"), true),
	}
}
