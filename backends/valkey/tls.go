package valkey

import (
	valkeygo "github.com/valkey-io/valkey-go"

	"github.com/cachette-go/cachette/backends/internal/tlsca"
)

// applyCAFile makes the TLS configurations of opt (the servers', and the
// sentinels' when there are sentinels) trust caFile's certificates besides
// the system's roots. A CA file for a URL without TLS is an error.
func applyCAFile(opt *valkeygo.ClientOption, caFile string) error {
	if err := tlsca.Apply(opt.TLSConfig, caFile, "valkey_url", "valkeys"); err != nil {
		return err
	}
	if caFile != "" && opt.Sentinel.TLSConfig != nil {
		opt.Sentinel.TLSConfig.RootCAs = opt.TLSConfig.RootCAs
	}
	return nil
}
