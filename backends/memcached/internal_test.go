package memcached

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cachette-go/cachette/backends"
)

func TestParseHosts(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "localhost", want: []string{"localhost:11211"}},
		{in: "127.0.0.1:11311", want: []string{"127.0.0.1:11311"}},
		{in: "a:1, b ,c:65535", want: []string{"a:1", "b:11211", "c:65535"}},
		{in: "[::1]", want: []string{"[::1]:11211"}},
		{in: "[::1]:11311", want: []string{"[::1]:11311"}},
		{in: "::1", want: []string{"[::1]:11211"}},
		{in: "/var/run/memcached.sock", want: []string{"/var/run/memcached.sock"}},
		{in: "", bad: true},
		{in: "  ", bad: true},
		{in: "a,,b", bad: true},
		{in: "a,", bad: true},
		{in: "memcached://a:11211", bad: true},
		{in: "a:0", bad: true},
		{in: "a:65536", bad: true},
		{in: "a:port", bad: true},
		{in: "a:+1", bad: true},
		{in: ":11211", bad: true},
		{in: "[::1", bad: true},
		{in: "[::1]x", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseHosts(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseHosts(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("ParseHosts(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestServerExpiry(t *testing.T) {
	now := time.Unix(1_700_000_000, 250e6) // a quarter past a whole second
	tests := []struct {
		name string
		exp  time.Time
		want int32
	}{
		{"past", now.Add(-time.Millisecond), -1},
		{"now", now, -1},
		{"1ms", now.Add(time.Millisecond), 2},
		{"1s", now.Add(time.Second), 2},
		{"1.001s", now.Add(time.Second + time.Millisecond), 3},
		{"30 days", now.Add(30 * 24 * time.Hour), int32(now.Unix() + 30*24*3600 + 2)},
		// 30 days minus a little: still relative.
		{"30 days - 1s", now.Add(30*24*time.Hour - time.Second), 30 * 24 * 3600},
		// Beyond 30 days: an absolute Unix time, rounded up, plus one.
		{"40 days", now.Add(40 * 24 * time.Hour), int32(now.Unix() + 40*24*3600 + 1 + 1)},
		{"far future", now.Add(200 * 365 * 24 * time.Hour), math.MaxInt32},
	}
	for _, tt := range tests {
		if got := serverExpiry(tt.exp, now); got != tt.want {
			t.Errorf("%s: serverExpiry = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	exp := time.UnixMilli(1_700_000_000_123)
	for _, v := range [][]byte{nil, {}, []byte("hello"), bytes.Repeat([]byte{0, 255}, 1000)} {
		got, gotExp, err := decodeEnvelope(encodeEnvelope(exp, v))
		if err != nil || !bytes.Equal(got, v) || !gotExp.Equal(exp) {
			t.Fatalf("round trip of %d bytes = %d bytes, %v, %v", len(v), len(got), gotExp, err)
		}
	}
	for _, b := range [][]byte{nil, {}, {1}, {1, 0, 0, 0, 0, 0, 0, 0}, {2, 0, 0, 0, 0, 0, 0, 0, 0}, []byte("12345678901")} {
		if _, _, err := decodeEnvelope(b); err == nil {
			t.Errorf("decodeEnvelope(%q) accepted malformed bytes", b)
		}
	}
}

// FuzzDecodeEnvelope feeds arbitrary bytes, as a foreign writer or a
// corrupted item would leave on the server: the decoder must reject or
// accept them without panicking, and what it accepts must re-encode to the
// same bytes.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	f.Add(encodeEnvelope(time.UnixMilli(1_700_000_000_123), []byte("value")))
	f.Add(encodeEnvelope(time.UnixMilli(-1), nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, exp, err := decodeEnvelope(b)
		if err != nil {
			return
		}
		if again := encodeEnvelope(exp, v); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding %q gives %q", b, again)
		}
	})
}

func TestServerKeys(t *testing.T) {
	s := newStore(memcache.New("127.0.0.1:1"), "app", nil)
	const gen = 12345678901234567890
	long := strings.Repeat("k", 1024)
	keys := []string{
		"plain", "", "with space", "tab\tnl\n", long, long + "x", strings.Repeat("é", 600),
		"#" + hashHex("with space"), "!gen", "!lock:job", "job", "#job", "ключ", "del\x7f",
	}
	seen := map[string]string{}
	for _, k := range keys {
		for _, sk := range []string{s.itemKey(gen, k), s.lockKey(gen, k)} {
			if !legalKey(sk) {
				t.Errorf("server key %q for %q is not legal", sk, k)
			}
			if !strings.HasPrefix(sk, "app:12345678901234567890:") {
				t.Errorf("server key %q for %q lacks the prefix and generation", sk, k)
			}
			if prev, dup := seen[sk]; dup {
				t.Errorf("keys %q and %q share the server key %q", prev, k, sk)
			}
			seen[sk] = k
		}
	}
	if got := s.itemKey(7, "plain"); got != "app:7:plain" {
		t.Errorf("itemKey(plain) = %q, want app:7:plain", got)
	}
	if got := s.lockKey(7, "job"); got != "app:7:!lock:job" {
		t.Errorf("lockKey(job) = %q", got)
	}
	if got := s.itemKey(7, "with space"); got != "app:7:#"+hashHex("with space") {
		t.Errorf("itemKey(with space) = %q", got)
	}
	if s.genKey != "app:!gen" {
		t.Errorf("genKey = %q", s.genKey)
	}
}

func TestPrefixHashing(t *testing.T) {
	c := memcache.New("127.0.0.1:1")
	for _, p := range []string{strings.Repeat("p", 300), "with space", "a:b", "#x"} {
		s := newStore(c, p, nil)
		if !strings.HasPrefix(s.ns, "#") || len(s.ns) != 65 {
			t.Errorf("prefix %q: ns = %q, want a hash", p, s.ns)
		}
		if k := s.itemKey(math.MaxUint64, strings.Repeat("x", 1000)); !legalKey(k) {
			t.Errorf("prefix %q: key %q is not legal", p, k)
		}
	}
	if s := newStore(c, "", nil); s.ns != DefaultPrefix {
		t.Errorf("empty prefix: ns = %q", s.ns)
	}
	// Two prefixes, one a prefix of the other, never share keys.
	a, b := newStore(c, "a", nil), newStore(c, "a:1", nil)
	if a.itemKey(1, "2:k") == b.itemKey(2, "k") {
		t.Error("prefix a and a:1 share a key")
	}
}

// TestOpenErrorHidesSecrets opens stores on memcached_host values that hold
// a password: the error must name the key and the entry's position, say
// what is wrong, and never show the secret.
func TestOpenErrorHidesSecrets(t *testing.T) {
	const secret = "hunter2-s3cr3t"
	for _, tt := range []struct{ hosts, want string }{
		{"user:" + secret + "@host:1", `entry 1 of the "memcached_host": it holds a user or password`},
		{"user:" + secret + "@host", `entry 1 of the "memcached_host": it holds a user or password`},
		{"a:1," + secret + "@host:1", `entry 2 of the "memcached_host": it holds a user or password`},
		{"host:" + secret, `entry 1 of the "memcached_host": the port must be`},
		{"host:1:" + secret, `entry 1 of the "memcached_host": not host[:port]`},
		{"[::1]:" + secret, `entry 1 of the "memcached_host": not [address]:port`},
		{"[" + secret + "]", `entry 1 of the "memcached_host": not an IPv6 address`},
		{"ho%st" + secret, `entry 1 of the "memcached_host": the host is not a name`},
	} {
		s, err := OpenHosts(tt.hosts, Options{})
		if err == nil {
			s.Close()
			t.Errorf("OpenHosts(%q) succeeded", tt.hosts)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("OpenHosts(%q): the secret shows in the error: %v", tt.hosts, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("OpenHosts(%q) = %v; want an error containing %q", tt.hosts, err, tt.want)
		}
	}
}

// Open reads its servers from the memcached_host key and the generic
// settings, and Options override them; NewFromClient takes a logger.
func TestOpenFromSettingsWithOptions(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	set := backends.Settings{Prefix: "p", Timeout: 3 * time.Second, Logger: slog.Default(),
		Values: backends.Values{"memcached_host": "127.0.0.1:1"}}
	s, err := Open(context.Background(), set, WithMaxIdleConns(7))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.prefix != "p" || s.client.Timeout != 3*time.Second || s.client.MaxIdleConns != 7 || !s.owned {
		t.Errorf("Open from settings: prefix %q, timeout %v, idle %d, owned %v", s.prefix, s.client.Timeout, s.client.MaxIdleConns, s.owned)
	}
	s2, err := Open(context.Background(), set, WithTimeout(time.Second), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.client.Timeout != time.Second || s2.client.MaxIdleConns != DefaultMaxIdleConns || s2.log != log {
		t.Errorf("Open with options: timeout %v, idle %d, logger replaced %v", s2.client.Timeout, s2.client.MaxIdleConns, s2.log == log)
	}
	if _, err := Open(context.Background(), backends.Settings{Prefix: "p"}); err == nil {
		t.Error("Open without memcached_host succeeded")
	}
	s3, err := NewFromClient(memcache.New("127.0.0.1:1"), "p", WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	if s3.log != log || s3.owned {
		t.Errorf("NewFromClient: logger replaced %v, owned %v", s3.log == log, s3.owned)
	}
}
