package redis_test

import (
	"testing"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
)

func TestUsage(t *testing.T) {
	u := backendtest.ServerEnv(t, envURL)
	backendtest.RunUsage(t, func(t testing.TB, prefix string) backends.Backend { return open(t, u, prefix) })
}

func TestUsageCluster(t *testing.T) {
	u := clusterURL(t)
	backendtest.RunUsage(t, func(t testing.TB, prefix string) backends.Backend { return open(t, u, prefix) })
}
