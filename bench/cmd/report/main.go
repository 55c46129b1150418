// Command report turns the raw output of scripts/bench.sh (go test -bench
// lines, httpbench lines in the same format, and "key: value" lines about
// the machine) into a Markdown report with a table per scenario, the
// project's performance goals marked met or MISSED, and one PNG bar chart
// per group of scenarios.
//
//	report -in bench/results/raw.txt -out bench/results
//
// With -count above 1 each number is the median of the runs.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	in := flag.String("in", "results/raw.txt", "raw benchmark output")
	out := flag.String("out", "results", "directory for latest.md and the charts")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(d.Scenarios) == 0 {
		return fmt.Errorf("%s: no benchmark results", in)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var charts []string
	for _, sec := range sections {
		c, ok := sec.chart(d)
		if !ok {
			continue
		}
		if err := c.writePNG(filepath.Join(out, sec.File)); err != nil {
			return err
		}
		charts = append(charts, sec.File)
	}
	md := markdown(d)
	if err := os.WriteFile(filepath.Join(out, "latest.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Printf("report: wrote %s and %d charts\n", filepath.Join(out, "latest.md"), len(charts))
	return nil
}
