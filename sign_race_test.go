//go:build race

package cachette

// raceBuild: sync.Pool drops items at random under the race detector,
// so allocation counts are not checked.
const raceBuild = true
