package main

import (
	"fmt"
	"math"
)

// A goal is one of the project's performance targets and how this run did.
type goal struct {
	Goal     string
	Measured string
	Met      bool
	Missing  bool // not measured in this run
}

func (g goal) verdict() string {
	switch {
	case g.Missing:
		return "not measured"
	case g.Met:
		return "met"
	}
	return "**MISSED**"
}

// goals evaluates the targets from the medians in d.
func goals(d *data) []goal {
	var out []goal
	for _, keys := range []string{"1k", "100k"} {
		scen := "InMemory/Fetch/parallel/" + keys
		out = append(out,
			timeGoal(d, scen, "otter", 2, fmt.Sprintf("in-memory parallel Fetch hit (%s keys) within 2x of otter", keys)),
			timeGoal(d, scen, "go-cache", 1, fmt.Sprintf("in-memory parallel Fetch hit (%s keys) faster than go-cache", keys)),
			timeGoal(d, scen, "gocache", 1, fmt.Sprintf("in-memory parallel Fetch hit (%s keys) faster than gocache", keys)),
		)
	}
	out = append(out,
		timeGoal(d, "Redis/Fetch/parallel", "go-redis", 1.10, "Redis parallel Fetch hit within 1.10x of raw go-redis"),
		timeGoal(d, "Redis/Fetch/parallel", "go-redis-cache", 1, "Redis parallel Fetch hit at least as fast as go-redis/cache"),
		timeGoal(d, "Redis/Fetch/parallel", "gocache", 1, "Redis parallel Fetch hit at least as fast as gocache"),
		rateGoal(d, "HTTP/hit", "bare", 0.8, "httpcache HIT at least 0.8x the req/s of the bare handler"),
		rateGoal(d, "HTTP/hit", "souin", 1, "httpcache HIT ahead of souin in req/s"),
	)
	for _, phase := range []string{"cold", "expired"} {
		g := goal{Goal: fmt.Sprintf("stampede (%s key, 500 concurrent requests): exactly 1 origin call", phase)}
		if v, ok := d.value("Stampede/"+phase, reference, "origin-calls"); ok {
			g.Measured = fmt.Sprintf("%.0f origin calls", v)
			if naive, ok := d.value("Stampede/"+phase, "naive", "origin-calls"); ok {
				g.Measured += fmt.Sprintf(" (naive: %.0f)", naive)
			}
			g.Met = v == 1
		} else {
			g.Missing = true
		}
		out = append(out, g)
	}
	g := goal{Goal: "stampede (sustained load across expiries): 1 origin call per refresh window"}
	calls, ok1 := d.value("Stampede/sustained", reference, "origin-calls")
	gap, ok2 := d.value("Stampede/sustained", reference, "min-gap-ms")
	ns, ok3 := d.value("Stampede/sustained", reference, "ns/op")
	windows, ok4 := d.value("Stampede/sustained", reference, "windows")
	if ok1 && ok2 && ok3 && ok4 && windows > 0 {
		ttlMs := ns / windows / 1e6
		g.Measured = fmt.Sprintf("%.0f calls in %.1f TTLs, closest two %.0f ms apart (TTL %.0f ms)", calls, windows, gap, ttlMs)
		// Early refresh starts a window a little before the TTL ends, so
		// there can be one more window than TTLs; two calls in one window
		// would be much closer than half a TTL.
		g.Met = gap >= ttlMs/2 && calls <= math.Ceil(windows)+1
	} else {
		g.Missing = true
	}
	return append(out, g)
}

// timeGoal: the reference's ns/op is at most factor times the peer's.
func timeGoal(d *data, scen, peer string, factor float64, title string) goal {
	g := goal{Goal: title}
	c, ok1 := d.value(scen, reference, "ns/op")
	p, ok2 := d.value(scen, peer, "ns/op")
	if !ok1 || !ok2 || p <= 0 {
		g.Missing = true
		return g
	}
	g.Measured = fmt.Sprintf("cachette %s, %s %s: %.2fx its time", duration(c), peer, duration(p), c/p)
	if factor == 1 {
		g.Met = c <= p
	} else {
		g.Met = c <= factor*p
	}
	return g
}

// rateGoal: the reference's req/s is at least factor times the peer's
// (strictly more when factor is 1 and the goal says "ahead").
func rateGoal(d *data, scen, peer string, factor float64, title string) goal {
	g := goal{Goal: title}
	c, ok1 := d.value(scen, reference, "req/s")
	p, ok2 := d.value(scen, peer, "req/s")
	if !ok1 || !ok2 || p <= 0 {
		g.Missing = true
		return g
	}
	g.Measured = fmt.Sprintf("cachette %s req/s, %s %s req/s: %.2fx", human(c), peer, human(p), c/p)
	if factor == 1 {
		g.Met = c > p
	} else {
		g.Met = c >= factor*p
	}
	return g
}
