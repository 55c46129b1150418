// Package tlsca reads the tls_ca_file key of the stores that speak TLS
// (redis, valkey, memcached): a PEM bundle of CA certificates trusted
// besides the system's roots.
package tlsca

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Key is the configuration key.
const Key = "tls_ca_file"

// maxFileSize bounds what is read: a CA bundle is a few hundred KiB at most.
const maxFileSize = 16 << 20

// Pool returns the system's roots plus the certificates of the PEM file.
// Its errors name the key and the file (a path, not a secret).
func Pool(file string) (*x509.CertPool, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("the %q cannot be read: %w", Key, err)
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("the %q file %s is larger than %d bytes", Key, file, maxFileSize)
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("the %q cannot be read: %w", Key, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the %q file %s holds no PEM certificate", Key, file)
	}
	return pool, nil
}

// Apply makes cfg trust file's certificates besides the system's roots;
// an empty file leaves cfg alone. cfg nil (the URL does not ask for TLS)
// with a file is an error naming urlKey.
func Apply(cfg *tls.Config, file, urlKey, tlsScheme string) error {
	if file == "" {
		return nil
	}
	if cfg == nil {
		return fmt.Errorf("the %q is set but the %q does not use TLS (%s://)", Key, urlKey, tlsScheme)
	}
	pool, err := Pool(file)
	if err != nil {
		return err
	}
	cfg.RootCAs = pool
	return nil
}
