package backendtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends"
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

// TLSURLStore runs the TLS checks shared by the stores that take a URL
// (redis, valkey) against the server of the tls group named by env:
// the conformance suite over the TLS URL, trusting the test CA through
// tls_ca_file; Open refusing a server whose certificate a CA it does not
// trust signed (an x509.UnknownAuthorityError); and Open refusing a CA
// file with plainURL, a URL without TLS. open opens the store with the
// keys given ("<backend>_url" and tls_ca_file).
func TLSURLStore(t *testing.T, env, plainURL string, open func(t testing.TB, rawURL, caFile, prefix string) (backends.Backend, error)) {
	t.Run("Conformance", func(t *testing.T) {
		u, ca := TLSServerEnv(t, env)
		Run(t, func(t testing.TB, prefix string) backends.Backend {
			s, err := open(t, u, ca, prefix)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		})
	})
	t.Run("WrongCA", func(t *testing.T) {
		u, _ := TLSServerEnv(t, env)
		_, err := open(t, u, OtherCA(t), NewPrefix())
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("Open trusting another CA: %v (%T), want x509.UnknownAuthorityError", err, err)
		}
		_, err = open(t, plainURL, OtherCA(t), NewPrefix())
		if err == nil || !strings.Contains(err.Error(), `"tls_ca_file" is set`) {
			t.Fatalf("Open with a CA file and the URL %s: %v", plainURL, err)
		}
	})
}
