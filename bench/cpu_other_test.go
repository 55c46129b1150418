//go:build !unix

package bench_test

import "time"

// processCPU is not measured here: cpu-ns/op is left out.
func processCPU() time.Duration { return 0 }
