package storekeys_test

import (
	"strings"
	"testing"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/internal/storekeys"
)

// tls_ca_file goes with a TLS URL only; memcacheds:// entries are all or
// none; no message quotes a value.
func TestTLSKeys(t *testing.T) {
	tests := []struct {
		spec storekeys.Spec
		v    backends.Values
		want string // "" when accepted
	}{
		{storekeys.Redis, backends.Values{"redis_url": "rediss://h:6380/0", "tls_ca_file": "/ca.pem"}, ""},
		{storekeys.Redis, backends.Values{"redis_url": "REDISS://h1:7001,h2:7002", "tls_ca_file": "/ca.pem"}, ""},
		{storekeys.Redis, backends.Values{"redis_url": "redis://:secret@h:6379", "tls_ca_file": "/ca.pem"}, `"tls_ca_file" is set`},
		{storekeys.Valkey, backends.Values{"valkey_url": "valkeys://h:6380", "tls_ca_file": "/ca.pem"}, ""},
		{storekeys.Valkey, backends.Values{"valkey_url": "rediss://h:6380", "tls_ca_file": "/ca.pem"}, ""},
		{storekeys.Valkey, backends.Values{"valkey_url": "valkey://:secret@h", "tls_ca_file": "/ca.pem"}, `"tls_ca_file" is set`},
		{storekeys.Memcached, backends.Values{"memcached_host": "memcacheds://h1,memcacheds://h2:11212"}, ""},
		{storekeys.Memcached, backends.Values{"memcached_host": "memcacheds://h1", "tls_ca_file": "/ca.pem"}, ""},
		{storekeys.Memcached, backends.Values{"memcached_host": "secret-h1:11211", "tls_ca_file": "/ca.pem"}, `"tls_ca_file" is set`},
		{storekeys.Memcached, backends.Values{"memcached_host": "memcacheds://h1,secret-h2"}, "mixes memcacheds://"},
		{storekeys.Memcached, backends.Values{"memcached_host": "secret-h1,memcacheds://h2"}, "mixes memcacheds://"},
		{storekeys.Memcached, backends.Values{"memcached_host": "memcacheds:///run/secret.sock"}, "not a Unix socket"},
		{storekeys.Memcached, backends.Values{"memcached_host": "memcached://secret-h1"}, "memcacheds://host[:port] for TLS"},
	}
	for _, tt := range tests {
		errs := tt.spec.Check("store", tt.v)
		if tt.want == "" {
			if len(errs) > 0 {
				t.Errorf("%v: %v", tt.v, errs)
			}
			continue
		}
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want) {
			t.Errorf("%v: %v, want one error with %q", tt.v, errs, tt.want)
			continue
		}
		if strings.Contains(errs[0].Error(), "secret") {
			t.Errorf("%v: the message quotes the value: %v", tt.v, errs[0])
		}
	}
}
