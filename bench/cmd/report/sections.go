package main

import (
	"fmt"
	"math"
	"strings"
)

// reference is the system every ratio is computed against when present.
const reference = "cachette"

// A section groups the scenarios whose names start with Prefix; its chart
// is written to File.
type section struct {
	Title  string
	Prefix string
	File   string
	Intro  string
	// Metric is the unit charted; "ops/s" is computed from ns/op.
	Metric     string
	HigherBest bool
}

var sections = []section{
	{"In-memory: Fetch (hit)", "InMemory/Fetch/", "inmemory-fetch.png",
		"A Zipf-distributed trace over 1k or 100k preloaded keys, 64-byte values; `parallel` is b.RunParallel (GOMAXPROCS goroutines). " +
			"`cachette` is the public API: `Fetch` into a `*[]byte` with the vanilla codec, which copies the value out; " +
			"`cachette-bytes` is `FetchBytes`, which hands out the stored bytes without a copy, as the peers do.",
		"ops/s", true},
	{"In-memory: Put", "InMemory/Put/", "inmemory-put.png",
		"The same trace, writing 64-byte values over the preloaded keys (mostly updates).",
		"ops/s", true},
	{"Redis", "Redis/", "redis.png",
		"A ~1 KiB struct (msgpack, ~985 bytes), 1k keys, b.RunParallel with 8 goroutines per core, against a local Redis. " +
			"`go-redis` is the baseline: GET/SET plus msgpack by hand. `go-redis-cache` has no local cache configured and s2-compresses values by design.",
		"ops/s", true},
	{"HTTP response cache (HIT path)", "HTTP/", "http.png",
		"Requests per second on one URL over loopback: 32 keep-alive clients for a fixed time after a warm-up, load generator in the same process. " +
			"The handler marshals ~2 KiB of JSON per call; `bare` is the handler alone. " +
			"`cachette` is httpcache with the default config (bodies of 1 KiB or more stored zstd-compressed, so each HIT decompresses); " +
			"`cachette-nozstd` sets Compression \"disabled\"; `souin` runs with its default in-memory storage.",
		"req/s", true},
	{"Stampede", "Stampede/", "stampede.png",
		"A slow origin (50 ms) counts its calls. `cold`: 500 concurrent requests on a key never seen. `expired`: 500 concurrent requests just after the entry's TTL (1 s) ran out. " +
			"`sustained`: 62 clients loop on one key for 3.5 TTLs; `min-gap-ms` is the shortest time between two origin calls. " +
			"`naive` is a map-and-mutex cache without coalescing (bench/naive).",
		"origin-calls", false},
	{"Codecs", "Codec/", "codecs.png",
		"One encode and one decode (with `zstd`: plus compress and decompress) of a ~1 KiB struct and a ~100 KiB list of records. " +
			"`stored-B` is the entry cachette keeps for the value (12-byte header included), read back from the store after a Put.",
		"ops/s", true},
}

func (s section) scenarios(d *data) []*scenario {
	var out []*scenario
	for _, sc := range d.Scenarios {
		if strings.HasPrefix(sc.Name, s.Prefix) {
			out = append(out, sc)
		}
	}
	return out
}

// metric returns the charted value of r.
func (s section) metric(r *result) (float64, bool) {
	if s.Metric == "ops/s" {
		ns, ok := r.Values["ns/op"]
		if !ok || ns <= 0 {
			return 0, false
		}
		return 1e9 / ns, true
	}
	v, ok := r.Values[s.Metric]
	return v, ok
}

func (s section) chart(d *data) (chart, bool) {
	scens := s.scenarios(d)
	if len(scens) == 0 {
		return chart{}, false
	}
	note := "longer bar = better"
	if !s.HigherBest {
		note = "shorter bar = better"
	}
	c := chart{Title: s.Title + " - " + s.Metric, Note: note + "; one run on one shared machine, noisy", Highlight: reference}
	for _, sc := range scens {
		p := panel{Title: strings.TrimPrefix(sc.Name, s.Prefix)}
		if p.Title == "" {
			p.Title = sc.Name
		}
		for _, r := range sc.Results {
			v, ok := s.metric(r)
			if !ok {
				continue
			}
			text := human(v) + " " + s.Metric
			if ns, ok := r.Values["ns/op"]; ok && s.Metric == "ops/s" {
				text += " (" + duration(ns) + ")"
			}
			p.Bars = append(p.Bars, bar{Label: r.System, Value: v, Text: text})
		}
		c.Panels = append(c.Panels, p)
	}
	return c, true
}

// human prints v with a k/M/G suffix and three significant digits.
func human(v float64) string {
	abs := math.Abs(v)
	switch {
	case abs >= 1e9:
		return sig(v/1e9) + "G"
	case abs >= 1e6:
		return sig(v/1e6) + "M"
	case abs >= 1e4:
		return sig(v/1e3) + "k"
	}
	return sig(v)
}

func sig(v float64) string {
	switch abs := math.Abs(v); {
	case abs >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case abs >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// duration prints nanoseconds in the unit that suits them.
func duration(ns float64) string {
	switch {
	case ns >= 1e9:
		return sig(ns/1e9) + " s"
	case ns >= 1e6:
		return sig(ns/1e6) + " ms"
	case ns >= 1e3:
		return sig(ns/1e3) + " us"
	}
	return sig(ns) + " ns"
}
