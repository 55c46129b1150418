//go:build !race

package cachette

const raceBuild = false
