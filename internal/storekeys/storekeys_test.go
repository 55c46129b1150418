package storekeys_test

import (
	"reflect"
	"testing"

	"github.com/cachette-go/cachette/backends"
	_ "github.com/cachette-go/cachette/backends/dynamodb"
	_ "github.com/cachette-go/cachette/backends/gob"
	_ "github.com/cachette-go/cachette/backends/inmemory"
	_ "github.com/cachette-go/cachette/backends/memcached"
	_ "github.com/cachette-go/cachette/backends/mongodb"
	_ "github.com/cachette-go/cachette/backends/redis"
	_ "github.com/cachette-go/cachette/backends/valkey"
	"github.com/cachette-go/cachette/internal/storekeys"
)

// A shipped store, once linked, declares and checks its keys exactly as
// the configuration does when it is not linked.
func TestShippedStoresRegisterTheirSpec(t *testing.T) {
	for _, s := range storekeys.Shipped {
		d, ok := backends.Lookup(s.Name)
		if !ok {
			t.Errorf("%s is not registered", s.Name)
			continue
		}
		if !reflect.DeepEqual(d.Keys, s.Spec.Keys) && (len(d.Keys) > 0 || len(s.Spec.Keys) > 0) {
			t.Errorf("%s registers the keys %v, want %v", s.Name, d.Keys, s.Spec.Keys)
		}
		if (d.Check == nil) != (s.Spec.Check == nil) {
			t.Errorf("%s: registered Check is nil: %v; spec's: %v", s.Name, d.Check == nil, s.Spec.Check == nil)
		}
	}
}
