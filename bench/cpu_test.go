package bench_test

import (
	"testing"
	"time"
)

// cpuStart notes the process's CPU time before a measured loop;
// reportCPU, after it, reports the CPU time per op as cpu-ns/op.
//
// ns/op is wall time: on a machine running more work than it has cores
// it grows with the time spent waiting for a CPU, which varies from one
// run to the next by a factor of two or more (bench/results/*.md). The CPU
// time the process used per op (every goroutine of the process, the
// garbage collector's included; not a server's) varies much less and is
// the steadier figure for comparing code paths in such runs. Compare
// ratios of one column, not ns/op with cpu-ns/op: with b.RunParallel on
// two CPUs, cpu-ns/op is up to twice ns/op.
func cpuStart() time.Duration { return processCPU() }

func reportCPU(b *testing.B, start time.Duration) {
	if start == 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}
