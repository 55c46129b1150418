package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A result is one system in one scenario: the median of each unit over
// the runs (-count) that reported it.
type result struct {
	System string
	Values map[string]float64 // unit -> median
	Runs   int
}

// A scenario is one benchmark name without its last element, which names
// the system: "InMemory/Fetch/parallel/1k" with systems "cachette", "otter"...
type scenario struct {
	Name    string
	Results []*result // in order of first appearance
}

// data is everything read from the raw output.
type data struct {
	Config    map[string]string // "key: value" lines (goos, cpu, date, ...)
	Notes     []string          // "note: ..." lines, in order
	Scenarios []*scenario       // in order of first appearance
	byName    map[string]*scenario
}

func (d *data) scenario(name string) *scenario {
	return d.byName[name]
}

func (s *scenario) result(system string) *result {
	if s == nil {
		return nil
	}
	for _, r := range s.Results {
		if r.System == system {
			return r
		}
	}
	return nil
}

// value returns the median of unit for system in scenario, and whether
// it was measured.
func (d *data) value(scen, system, unit string) (float64, bool) {
	r := d.scenario(scen).result(system)
	if r == nil {
		return 0, false
	}
	v, ok := r.Values[unit]
	return v, ok
}

var (
	procsSuffix = regexp.MustCompile(`-\d+$`)
	configLine  = regexp.MustCompile(`^([a-z][a-zA-Z0-9_-]*):\s*(.*)$`)
)

// parse reads `go test -bench` output (and lines in the same format) and
// returns the medians per scenario and system. Lines it does not know are
// ignored, like benchstat does.
func parse(r io.Reader) (*data, error) {
	d := &data{Config: map[string]string{}, byName: map[string]*scenario{}}
	samples := map[string]map[string][]float64{} // scenario/system -> unit -> values
	runs := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSpace(sc.Text())
		if m := configLine.FindStringSubmatch(line); m != nil && !strings.HasPrefix(line, "Benchmark") {
			if m[1] == "note" {
				d.Notes = append(d.Notes, m[2])
			} else {
				d.Config[m[1]] = m[2]
			}
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue // a benchmark name printed alone, before its result
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		name := procsSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		i := strings.LastIndexByte(name, '/')
		if i <= 0 || i == len(name)-1 {
			return nil, fmt.Errorf("line %d: benchmark %q has no scenario/system form", lineNo, f[0])
		}
		scen, system := name[:i], name[i+1:]
		s := d.byName[scen]
		if s == nil {
			s = &scenario{Name: scen}
			d.byName[scen] = s
			d.Scenarios = append(d.Scenarios, s)
		}
		if s.result(system) == nil {
			s.Results = append(s.Results, &result{System: system, Values: map[string]float64{}})
		}
		key := scen + "\x00" + system
		if samples[key] == nil {
			samples[key] = map[string][]float64{}
		}
		runs[key]++
		for j := 2; j+1 < len(f); j += 2 {
			v, err := strconv.ParseFloat(f[j], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: value %q of %s: %v", lineNo, f[j], f[j+1], err)
			}
			samples[key][f[j+1]] = append(samples[key][f[j+1]], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, s := range d.Scenarios {
		for _, r := range s.Results {
			key := s.Name + "\x00" + r.System
			r.Runs = runs[key]
			for unit, vs := range samples[key] {
				r.Values[unit] = median(vs)
			}
		}
	}
	return d, nil
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
