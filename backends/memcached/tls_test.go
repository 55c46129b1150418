package memcached

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/backendtest"
)

const tlsHostEnv = "CACHETTE_TEST_MEMCACHED_TLS_HOST"

func tlsOpener(hosts, caFile string) backendtest.Open {
	return func(t testing.TB, prefix string) backends.Backend {
		s, err := OpenHosts(hosts, Options{Prefix: prefix, TLSCAFile: caFile})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// The conformance suite over TLS, against the memcached of the tls group
// of scripts/services.sh (memcached -Z), trusting the test CA.
func TestConformanceTLS(t *testing.T) {
	host, ca := backendtest.TLSServerEnv(t, tlsHostEnv)
	backendtest.Run(t, tlsOpener(host, ca))
}

// The registered driver reads memcacheds:// and tls_ca_file from the
// configuration, as LoadConfig delivers them.
func TestTLSThroughConfig(t *testing.T) {
	host, ca := backendtest.TLSServerEnv(t, tlsHostEnv)
	cfg, err := cachette.LoadConfig([][2]string{
		{"backend", "memcached"}, {"memcached_host", host}, {"tls_ca_file", ca},
		{"prefix", backendtest.NewPrefix()},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := backendtest.Ctx(t)
	c, err := cachette.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Put(ctx, "greeting", "hello"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := c.Fetch(ctx, "greeting", &got); err != nil || got != "hello" {
		t.Fatalf("Fetch = %q, %v", got, err)
	}
}

// A server whose certificate is signed by a CA the client does not trust
// is refused, with the verification error reachable by errors.As; and a
// client given a TLSConfig of its own uses it.
func TestTLSWrongCA(t *testing.T) {
	host, ca := backendtest.TLSServerEnv(t, tlsHostEnv)
	ctx := backendtest.Ctx(t)
	check := func(t *testing.T, s *Store) {
		t.Helper()
		defer s.Close()
		err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute))
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("Set through a client that does not trust the server's CA: %v (%T), want x509.UnknownAuthorityError", err, err)
		}
		if !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Errorf("error %q does not say why", err)
		}
	}
	t.Run("other CA file", func(t *testing.T) {
		s, err := OpenHosts(host, Options{Prefix: backendtest.NewPrefix(), TLSCAFile: backendtest.OtherCA(t)})
		if err != nil {
			t.Fatal(err)
		}
		check(t, s)
	})
	t.Run("TLSConfig with other roots", func(t *testing.T) {
		pem, err := os.ReadFile(backendtest.OtherCA(t))
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		s, err := OpenHosts(host, Options{Prefix: backendtest.NewPrefix(), TLSConfig: &tls.Config{RootCAs: pool}})
		if err != nil {
			t.Fatal(err)
		}
		check(t, s)
	})
	t.Run("TLSConfig with the test CA", func(t *testing.T) {
		pem, err := os.ReadFile(ca)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		s, err := OpenHosts(host, Options{Prefix: backendtest.NewPrefix(), TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	})
}

// A plain client on the TLS port gets no answer it could take for one.
func TestPlainClientOnTLSPortFails(t *testing.T) {
	host, _ := backendtest.TLSServerEnv(t, tlsHostEnv)
	plain := strings.TrimPrefix(host, "memcacheds://")
	s, err := OpenHosts(plain, Options{Prefix: backendtest.NewPrefix(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Set(backendtest.Ctx(t), "k", []byte("v"), time.Now().Add(time.Minute)); err == nil {
		t.Fatal("a plain-text Set on the TLS port succeeded")
	}
}

// memcacheds:// entries: parsed without their scheme, all or none, never a
// Unix socket; a CA file with plain hosts, or one that cannot be used, is
// an error; no error quotes the entry.
func TestTLSHostForms(t *testing.T) {
	got, useTLS, err := parseHosts("memcacheds://10.0.0.1, MEMCACHEDS://cache.example:11311")
	if err != nil || !useTLS || strings.Join(got, ",") != "10.0.0.1:11211,cache.example:11311" {
		t.Fatalf("parseHosts = %v, %v, %v", got, useTLS, err)
	}
	if _, useTLS, err := parseHosts("10.0.0.1,10.0.0.2"); err != nil || useTLS {
		t.Fatalf("plain hosts: TLS %v, %v", useTLS, err)
	}
	for _, bad := range []string{
		"memcacheds://10.0.0.1,10.0.0.2",
		"10.0.0.1,memcacheds://10.0.0.2",
		"memcacheds:///run/secret-socket",
		"memcacheds://user:secret@10.0.0.1",
		"memcache://secret-host:11211",
		"memcacheds://",
	} {
		_, err := OpenHosts(bad, Options{})
		if err == nil {
			t.Errorf("OpenHosts(%q) succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("OpenHosts(%q): error quotes the entry: %v", bad, err)
		}
	}

	if _, err := OpenHosts("127.0.0.1:11211", Options{TLSCAFile: "/nonexistent/ca.pem"}); err == nil ||
		!strings.Contains(err.Error(), "tls_ca_file") || !strings.Contains(err.Error(), "memcacheds://") {
		t.Errorf("a CA file with plain hosts: %v", err)
	}
	if _, err := OpenHosts("memcacheds://127.0.0.1:11211", Options{TLSCAFile: filepath.Join(t.TempDir(), "missing.pem")}); err == nil ||
		!errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing CA file: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenHosts("memcacheds://127.0.0.1:11211", Options{TLSCAFile: notPEM}); err == nil ||
		!strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a CA file without a certificate: %v", err)
	}
}
