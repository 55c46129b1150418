package gob_test

import (
	"testing"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
)

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	backendtest.RunUsage(t, func(t testing.TB, prefix string) backends.Backend { return open(t, dir, prefix) })
}
