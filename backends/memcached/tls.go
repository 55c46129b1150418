package memcached

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/cachette-go/cachette/backends/internal/tlsca"
)

// tlsDialer returns the DialContext of a client whose servers speak TLS.
// gomemcache dials the address it resolved (an IP address), so the name
// each certificate is checked against is taken from the entry as written:
// the host name of servers[i] for the address it resolves to.
func tlsDialer(servers []string, base *tls.Config, caFile string, timeout time.Duration) (func(context.Context, string, string) (net.Conn, error), error) {
	if base == nil {
		base = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		base = base.Clone()
	}
	if caFile != "" {
		pool, err := tlsca.Pool(caFile)
		if err != nil {
			return nil, err
		}
		base.RootCAs = pool
	}
	names := make(map[string]string, len(servers))
	for _, s := range servers {
		host, _, err := net.SplitHostPort(s)
		if err != nil {
			continue
		}
		// The same resolution gomemcache's ServerList.SetServers made.
		if a, err := net.ResolveTCPAddr("tcp", s); err == nil {
			names[a.String()] = host
		}
	}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		cfg := base.Clone()
		if cfg.ServerName == "" {
			name, ok := names[address]
			if !ok {
				name, _, _ = net.SplitHostPort(address)
			}
			cfg.ServerName = name
		}
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: cfg}
		return d.DialContext(ctx, network, address)
	}, nil
}
