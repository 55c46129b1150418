package cachette_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/backends/inmemory"
)

// A store registered by another package, the way a third-party store would
// be: it declares its own keys, checks them, and gets them in
// Settings.Values.

const thirdParty = "thirdpartystore"

var (
	thirdPartyMu   sync.Mutex
	thirdPartySeen []backends.Settings
)

func init() {
	backends.RegisterDriver(thirdParty, backends.Driver{
		Keys: []backends.ConfigKey{
			{Name: "thirdparty_dsn", Doc: "tp://host"},
			{Name: "thirdparty_shards", Default: "4", Doc: "number of shards"},
		},
		Check: func(name string, v backends.Values) []error {
			var errs []error
			switch dsn := v["thirdparty_dsn"]; {
			case dsn == "":
				errs = append(errs, fmt.Errorf(`The "thirdparty_dsn" cannot be empty when using %s as backend`, name))
			case !strings.HasPrefix(dsn, "tp://"):
				errs = append(errs, errors.New(`The "thirdparty_dsn" must start with tp://`))
			}
			if s := v["thirdparty_shards"]; s != "1" && s != "4" && s != "16" {
				errs = append(errs, errors.New(`The "thirdparty_shards" value must be 1, 4 or 16`))
			}
			return errs
		},
		Open: func(_ context.Context, s backends.Settings) (backends.Backend, error) {
			thirdPartyMu.Lock()
			thirdPartySeen = append(thirdPartySeen, s)
			thirdPartyMu.Unlock()
			return inmemory.New(inmemory.Options{}), nil
		},
	})
}

// lastThirdPartySettings returns what the store was last opened with.
func lastThirdPartySettings(t *testing.T) backends.Settings {
	t.Helper()
	thirdPartyMu.Lock()
	defer thirdPartyMu.Unlock()
	if len(thirdPartySeen) == 0 {
		t.Fatal("the third-party store was never opened")
	}
	return thirdPartySeen[len(thirdPartySeen)-1]
}

func TestThirdPartyStoreKeysThroughLoadConfig(t *testing.T) {
	ctx := context.Background()
	cfg, err := cachette.LoadConfig([][2]string{
		{"backend", "ThirdPartyStore"}, {"Thirdparty_DSN", " tp://db-1 "}, {"prefix", "app"},
	})
	if err != nil {
		t.Fatalf("LoadConfig = %v", err)
	}
	if got := cfg.BackendValues["thirdparty_dsn"]; got != "tp://db-1" {
		t.Errorf("BackendValues[thirdparty_dsn] = %q, want the trimmed value", got)
	}
	c, err := cachette.New(ctx, cfg)
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	defer c.Close()
	s := lastThirdPartySettings(t)
	if s.Prefix != "app" || s.Value("thirdparty_dsn") != "tp://db-1" || s.Value("thirdparty_shards") != "4" {
		t.Errorf("the store got Prefix %q and Values %v; want app, its dsn, and the default of 4 shards", s.Prefix, s.Values)
	}
	if _, ok := s.Values["redis_url"]; ok || len(s.Values) != 2 {
		t.Errorf("Values = %v, want only the store's own keys", s.Values)
	}

	// Its checks run, with the generic ones, in one error.
	for _, tc := range []struct {
		pairs [][2]string
		want  []string
	}{
		{[][2]string{{"backend", thirdParty}}, []string{`The "thirdparty_dsn" cannot be empty when using thirdpartystore as backend`}},
		{[][2]string{{"backend", thirdParty}, {"thirdparty_dsn", "http://x"}, {"thirdparty_shards", "3"}, {"ttl", "0"}},
			[]string{`The "thirdparty_dsn" must start with tp://`, `The "thirdparty_shards" value must be 1, 4 or 16`, `The "ttl" value must be between 1 and 3600 seconds`}},
		// Given empty counts as given: no default then.
		{[][2]string{{"backend", thirdParty}, {"thirdparty_dsn", "tp://x"}, {"thirdparty_shards", ""}}, []string{`The "thirdparty_shards" value must be 1, 4 or 16`}},
		// A misspelt key is still unknown; the list names the store's keys.
		{[][2]string{{"backend", thirdParty}, {"thirdparty_dns", "tp://x"}}, []string{`The key "thirdparty_dns" is unknown`, "thirdparty_dsn, thirdparty_shards"}},
	} {
		_, err := cachette.LoadConfig(tc.pairs)
		if !errors.Is(err, cachette.ErrInvalidConfig) {
			t.Errorf("LoadConfig(%q) = %v, want ErrInvalidConfig", tc.pairs, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("LoadConfig(%q) error\n  %v\nlacks\n  %s", tc.pairs, err, w)
			}
		}
	}

	// Like every store's keys, they are neither checked nor used when
	// another backend is configured.
	if _, err := cachette.LoadConfig([][2]string{{"backend", "inmemory"}, {"thirdparty_dsn", "nope"}}); err != nil {
		t.Errorf("a third-party key with backend=inmemory: %v", err)
	}

	// A Config literal reaches the store through BackendValues, and
	// Validate (so New) runs the store's check.
	if err := (cachette.Config{Backend: thirdParty}).Validate(); err == nil || !strings.Contains(err.Error(), `"thirdparty_dsn" cannot be empty`) {
		t.Errorf("Validate without the dsn = %v", err)
	}
	c2, err := cachette.New(ctx, cachette.Config{Backend: thirdParty, BackendValues: map[string]string{"thirdparty_dsn": "tp://db-2", "thirdparty_shards": "16"}})
	if err != nil {
		t.Fatalf("New from a literal = %v", err)
	}
	defer c2.Close()
	if s := lastThirdPartySettings(t); s.Value("thirdparty_dsn") != "tp://db-2" || s.Value("thirdparty_shards") != "16" {
		t.Errorf("the store got Values %v", s.Values)
	}
}

func TestThirdPartyStoreKeysThroughConfigFromEnv(t *testing.T) {
	t.Setenv("MYAPP_CACHE_BACKEND", thirdParty)
	t.Setenv("MYAPP_CACHE_THIRDPARTY_DSN", "tp://env-host")
	cfg, err := cachette.ConfigFromEnv("MYAPP_CACHE_")
	if err != nil {
		t.Fatalf("ConfigFromEnv = %v", err)
	}
	c, err := cachette.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	defer c.Close()
	if s := lastThirdPartySettings(t); s.Value("thirdparty_dsn") != "tp://env-host" || s.Value("thirdparty_shards") != "4" {
		t.Errorf("the store got Values %v", s.Values)
	}

	t.Setenv("MYAPP_CACHE_THIRDPARTY_DSN", "mysql://env-host")
	if _, err := cachette.ConfigFromEnv("MYAPP_CACHE_"); err == nil || !strings.Contains(err.Error(), `The "thirdparty_dsn" must start with tp://`) {
		t.Errorf("ConfigFromEnv with a bad dsn = %v", err)
	}
	t.Setenv("MYAPP_CACHE_THIRDPARTY_DNS", "tp://x")
	if _, err := cachette.ConfigFromEnv("MYAPP_CACHE_"); err == nil || !strings.Contains(err.Error(), `"MYAPP_CACHE_THIRDPARTY_DNS" names no key`) {
		t.Errorf("ConfigFromEnv with a misspelt variable = %v", err)
	}
}
