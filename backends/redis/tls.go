package redis

import "crypto/tls"

// tlsConfig returns the TLS configuration of the target's client options,
// nil when the URL does not ask for TLS.
func (t *Target) tlsConfig() *tls.Config {
	switch {
	case t.Cluster != nil:
		return t.Cluster.TLSConfig
	case t.Failover != nil:
		return t.Failover.TLSConfig
	case t.Options != nil:
		return t.Options.TLSConfig
	}
	return nil
}
