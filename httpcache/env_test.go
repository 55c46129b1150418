package httpcache

import (
	"errors"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// setEnv sets the variables of env (name/value pairs) for one test, and
// unsets every other variable that starts with prefix.
func setEnv(t *testing.T, prefix string, env ...string) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if prefix != "" && strings.HasPrefix(name, prefix) {
			t.Setenv(name, "") // restored after the test
			os.Unsetenv(name)
		}
	}
	for i := 0; i+1 < len(env); i += 2 {
		t.Setenv(env[i], env[i+1])
	}
}

// hasField reports whether Options has the named field (fields another
// change adds may not be there yet).
func hasField(name string) bool {
	_, ok := reflect.TypeFor[Options]().FieldByName(name)
	return ok
}

func TestOptionsFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		want map[string]any // field -> value; the others stay zero
	}{
		{"nothing", nil, map[string]any{}},
		{"cachemate settings", []string{
			"API_CACHE_TTL", "300",
			"API_CACHE_BYPASS_HEADER", "X-CACHE-BYPASS",
			"API_CACHE_BYPASS_VALUE", " test ",
			"API_CACHE_TTL_LOCK_SECONDS", "5",
			"API_CACHE_BUFFER", "0.2",
		}, map[string]any{
			"TTL": 300 * time.Second, "BypassHeader": "X-CACHE-BYPASS", "BypassValue": "test",
			"LockTTL": 5 * time.Second, "Buffer": 0.2,
		}},
		{"every plain field", []string{
			"API_CACHE_TTL", "1m30s",
			"API_CACHE_PREFIX", "blogs",
			"API_CACHE_LOCK_TTL", "2500ms",
			"API_CACHE_MAX_PLANNING_TIME", "-1",
			"API_CACHE_CACHE_STATUSES", "200, 203,404",
			"API_CACHE_ALLOW_AUTHORIZED", "true",
			"API_CACHE_ALLOW_COOKIES", "1",
			"API_CACHE_MAX_BODY_SIZE", "1048576",
			"API_CACHE_REFRESH_TIMEOUT", "45",
			"API_CACHE_STORE_TIMEOUT", "250ms",
			"API_CACHE_BUFFER", "-1",
		}, map[string]any{
			"TTL": 90 * time.Second, "Prefix": "blogs", "LockTTL": 2500 * time.Millisecond,
			"MaxPlanningTime": -time.Second, "CacheStatuses": []int{200, 203, 404},
			"AllowAuthorized": true, "AllowCookies": true, "MaxBodySize": int64(1 << 20),
			"RefreshTimeout": 45 * time.Second, "StoreTimeout": 250 * time.Millisecond, "Buffer": -1.0,
		}},
		{"empty strings are the defaults", []string{
			"API_CACHE_PREFIX", "", "API_CACHE_BYPASS_VALUE", "", "API_CACHE_TTL", "1",
		}, map[string]any{"TTL": time.Second}},
		{"false", []string{"API_CACHE_ALLOW_COOKIES", "false"}, map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, "API_CACHE_", tc.env...)
			got, err := OptionsFromEnv("API_CACHE_")
			if err != nil {
				t.Fatal(err)
			}
			gv := reflect.ValueOf(got)
			for i := range gv.NumField() {
				name := gv.Type().Field(i).Name
				w, ok := tc.want[name]
				if !ok {
					if !gv.Field(i).IsZero() {
						t.Errorf("%s = %v, want zero", name, gv.Field(i))
					}
					continue
				}
				if g := gv.Field(i).Interface(); !reflect.DeepEqual(g, w) {
					t.Errorf("%s = %#v, want %#v", name, g, w)
				}
			}
			if got.TTL > 0 {
				newConfig(got) // valid for Middleware
			}
		})
	}
}

// TestOptionsFromEnvLaterFields covers the variables of fields that
// another change adds to Options: read when the field is there, refused
// by name when it is not.
func TestOptionsFromEnvLaterFields(t *testing.T) {
	for _, tc := range []struct {
		variable, field, value string
		want                   any
	}{
		{"STALE_WHILE_REVALIDATE", "StaleWhileRevalidate", "30", 30 * time.Second},
		{"STALE_IF_ERROR", "StaleIfError", "1h", time.Hour},
		{"TAGS_HEADER", "TagsHeader", "Cache-Tag", "Cache-Tag"},
	} {
		t.Run(tc.variable, func(t *testing.T) {
			setEnv(t, "API_CACHE_", "API_CACHE_"+tc.variable, tc.value)
			got, err := OptionsFromEnv("API_CACHE_")
			if !hasField(tc.field) {
				if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), "API_CACHE_"+tc.variable) {
					t.Errorf("without Options.%s: %v, want an error naming the variable", tc.field, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := reflect.ValueOf(got).FieldByName(tc.field).Interface(); !reflect.DeepEqual(g, tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.field, g, tc.want)
			}
		})
	}
}

func TestOptionsFromEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		want []string // each in the error
	}{
		{"unknown variable", []string{"API_CACHE_TTL", "60", "API_CACHE_HOST", "127.0.0.1"},
			[]string{"API_CACHE_HOST names no option", "TTL_LOCK_SECONDS"}},
		{"misspelt variable", []string{"API_CACHE_BYPAS_HEADER", "x"}, []string{"API_CACHE_BYPAS_HEADER"}},
		{"lower case", []string{"API_CACHE_ttl", "60"}, []string{"API_CACHE_ttl"}},
		{"bad duration", []string{"API_CACHE_TTL", "5 minutes"}, []string{"API_CACHE_TTL", `"5 minutes" is not a duration`}},
		{"fraction of seconds", []string{"API_CACHE_TTL_LOCK_SECONDS", "1.5"}, []string{"API_CACHE_TTL_LOCK_SECONDS", "not a duration"}},
		{"too many seconds", []string{"API_CACHE_TTL", "99999999999999"}, []string{"API_CACHE_TTL", "out of range"}},
		{"empty duration", []string{"API_CACHE_TTL", ""}, []string{"API_CACHE_TTL: empty value"}},
		{"zero TTL", []string{"API_CACHE_TTL", "0"}, []string{"API_CACHE_TTL: TTL must be > 0"}},
		{"TTL too long", []string{"API_CACHE_TTL", "1000000h"}, []string{"API_CACHE_TTL: TTL must be at most"}},
		{"negative", []string{"API_CACHE_STORE_TIMEOUT", "-1"}, []string{"API_CACHE_STORE_TIMEOUT: StoreTimeout must not be negative"}},
		{"negative lock", []string{"API_CACHE_TTL_LOCK_SECONDS", "-5"}, []string{"API_CACHE_TTL_LOCK_SECONDS: LockTTL must not be negative"}},
		{"bad bool", []string{"API_CACHE_ALLOW_COOKIES", "yes"}, []string{"API_CACHE_ALLOW_COOKIES", "not a boolean"}},
		{"bad number", []string{"API_CACHE_BUFFER", "20%"}, []string{"API_CACHE_BUFFER", "not a number"}},
		{"NaN buffer", []string{"API_CACHE_BUFFER", "NaN"}, []string{"API_CACHE_BUFFER: Buffer must be a finite number"}},
		{"bad size", []string{"API_CACHE_MAX_BODY_SIZE", "8MiB"}, []string{"API_CACHE_MAX_BODY_SIZE", "not a whole number"}},
		{"bad status list", []string{"API_CACHE_CACHE_STATUSES", "200,,404"}, []string{"API_CACHE_CACHE_STATUSES", "comma-separated"}},
		{"status not storable", []string{"API_CACHE_CACHE_STATUSES", "200,206"}, []string{"API_CACHE_CACHE_STATUSES: CacheStatuses: 206 cannot be stored"}},
		{"both lock names", []string{"API_CACHE_LOCK_TTL", "5", "API_CACHE_TTL_LOCK_SECONDS", "5"},
			[]string{"API_CACHE_LOCK_TTL and API_CACHE_TTL_LOCK_SECONDS both set LockTTL"}},
		{"every problem", []string{"API_CACHE_TTL", "x", "API_CACHE_BUFFER", "y", "API_CACHE_NOPE", "1"},
			[]string{"API_CACHE_TTL:", "API_CACHE_BUFFER:", "API_CACHE_NOPE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, "API_CACHE_", tc.env...)
			got, err := OptionsFromEnv("API_CACHE_")
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("got %+v, %v; want an error wrapping ErrInvalidOptions", got, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestOptionsFromEnvSecretNotEchoed(t *testing.T) {
	setEnv(t, "API_CACHE_", "API_CACHE_BYPASS_VALUE", "s3cret", "API_CACHE_TTL", "bad")
	_, err := OptionsFromEnv("API_CACHE_")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v", err)
	}
}

func TestOptionsFromEnvNoPrefix(t *testing.T) {
	setEnv(t, "", "TTL", "60", "BUFFER", "0.5", "HOME_OF_SOMETHING", "x")
	got, err := OptionsFromEnv("")
	if err != nil || got.TTL != time.Minute || got.Buffer != 0.5 {
		t.Errorf("got %+v, %v", got, err)
	}
}

// TestEnvVarsCoverOptions: every Options field with a plain value has a
// variable, so a field added later is not forgotten here.
func TestEnvVarsCoverOptions(t *testing.T) {
	covered := map[string]bool{}
	for _, v := range envVars {
		covered[v.field] = true
		if v.name != strings.ToUpper(v.name) || strings.ContainsAny(v.name, " -") {
			t.Errorf("variable %q is not upper snake case", v.name)
		}
	}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Options]()) {
		switch f.Type {
		case reflect.TypeFor[any](), reflect.TypeFor[*slog.Logger]():
			continue // Filter, Logger: no plain value
		}
		if f.Type.Kind() == reflect.Func {
			continue // OnServe: code, not a value
		}
		if !covered[f.Name] {
			t.Errorf("Options.%s (%v) has no variable in envVars", f.Name, f.Type)
		}
		if err := setEnvField(reflect.New(f.Type).Elem(), "1"); err != nil && f.Type.Kind() != reflect.String {
			t.Errorf("Options.%s: %v", f.Name, err)
		}
	}
}
