package backendtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSCAEnv names the variable with the PEM file of the CA that signed the
// certificates of the tls group of scripts/services.sh.
const TLSCAEnv = "CACHETTE_TEST_TLS_CA"

// TLSServerEnv returns the value of the variable name (a rediss://,
// valkeys:// or memcacheds:// address of the tls group) and the test CA's
// file; it skips or fails the test as ServerEnv does when either is unset.
func TLSServerEnv(t testing.TB, name string) (addr, caFile string) {
	t.Helper()
	return ServerEnv(t, name), ServerEnv(t, TLSCAEnv)
}

// OtherCA writes the certificate of a fresh CA, which signed nothing, to a
// PEM file in a temporary directory and returns its path: a server of the
// tls group must be refused when a client trusts only this one.
func OtherCA(t testing.TB) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cachette unrelated test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
