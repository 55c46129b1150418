package httpcache

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidOptions is wrapped by OptionsFromEnv's errors.
var ErrInvalidOptions = errors.New("httpcache: invalid Options")

// envVars maps each variable OptionsFromEnv reads, after the prefix, to the
// Options field it sets. The kind of value is the field's type. A field
// that Options does not have is refused by name, so this table can name
// fields that are added later without breaking the build.
var envVars = []struct{ name, field string }{
	{"TTL", "TTL"},
	{"PREFIX", "Prefix"},
	{"BYPASS_HEADER", "BypassHeader"},
	{"BYPASS_VALUE", "BypassValue"},
	{"LOCK_TTL", "LockTTL"},
	{"TTL_LOCK_SECONDS", "LockTTL"}, // fastapi-cachemate's name
	{"BUFFER", "Buffer"},
	{"MAX_PLANNING_TIME", "MaxPlanningTime"},
	{"CACHE_STATUSES", "CacheStatuses"},
	{"ALLOW_AUTHORIZED", "AllowAuthorized"},
	{"ALLOW_COOKIES", "AllowCookies"},
	{"MAX_BODY_SIZE", "MaxBodySize"},
	{"REFRESH_TIMEOUT", "RefreshTimeout"},
	{"STORE_TIMEOUT", "StoreTimeout"},
	{"STALE_WHILE_REVALIDATE", "StaleWhileRevalidate"},
	{"STALE_IF_ERROR", "StaleIfError"},
	{"TAGS_HEADER", "TagsHeader"},
}

// OptionsFromEnv reads Options from environment variables named prefix +
// an upper-case name, as fastapi-cachemate's BaseCacheSettings does with its
// env_prefix. With the prefix "API_CACHE_":
//
//	variable                          field                 value
//	API_CACHE_TTL                     TTL                   duration
//	API_CACHE_PREFIX                  Prefix                string
//	API_CACHE_BYPASS_HEADER           BypassHeader          string
//	API_CACHE_BYPASS_VALUE            BypassValue           string
//	API_CACHE_LOCK_TTL                LockTTL               duration
//	API_CACHE_TTL_LOCK_SECONDS        LockTTL               duration (fastapi-cachemate's name)
//	API_CACHE_BUFFER                  Buffer                number
//	API_CACHE_MAX_PLANNING_TIME       MaxPlanningTime       duration
//	API_CACHE_CACHE_STATUSES          CacheStatuses         comma-separated statuses: 200,203,404
//	API_CACHE_ALLOW_AUTHORIZED        AllowAuthorized       true or false (also 1, 0, t, f)
//	API_CACHE_ALLOW_COOKIES           AllowCookies          true or false
//	API_CACHE_MAX_BODY_SIZE           MaxBodySize           whole bytes
//	API_CACHE_REFRESH_TIMEOUT         RefreshTimeout        duration
//	API_CACHE_STORE_TIMEOUT           StoreTimeout          duration
//	API_CACHE_STALE_WHILE_REVALIDATE  StaleWhileRevalidate  duration
//	API_CACHE_STALE_IF_ERROR          StaleIfError          duration
//	API_CACHE_TAGS_HEADER             TagsHeader            string
//
// A duration is whole seconds, as cachette's Config reads its ttl ("300",
// "-1"), or a Go duration ("300ms", "1m30s"). Values are trimmed of
// surrounding white space. A variable that is not set leaves its field
// zero, which Middleware reads as the default; a variable that is set but
// empty is an error, except for the string fields (an empty
// API_CACHE_BYPASS_VALUE disables the header bypass, as the zero value
// does). Filter, Logger and OnServe have no variable. TTL is not required here (a
// program may set it afterwards, per route), but Middleware still needs it.
//
// Any other variable whose name starts with prefix is an error naming it,
// so a misspelt variable is never ignored; give the middleware a prefix of
// its own, which neither starts nor is the start of the cache's
// (ConfigFromEnv's) prefix. With an empty prefix, only the exact names
// (TTL, PREFIX, ...) are read, and no other variable is refused.
//
// Each value is checked as Middleware checks Options (a negative
// StoreTimeout, a status that cannot be stored, ...), so that options read
// here never make Middleware panic, TTL aside. The error wraps
// ErrInvalidOptions and names every bad variable.
func OptionsFromEnv(prefix string) (Options, error) {
	var problems []string
	values := map[string]string{} // the variables found, by their names after the prefix
	if prefix == "" {
		for _, v := range envVars {
			if value, ok := os.LookupEnv(v.name); ok {
				values[v.name] = value
			}
		}
	} else {
		env := os.Environ()
		slices.Sort(env)
		for _, kv := range env {
			name, value, _ := strings.Cut(kv, "=")
			rest, ok := strings.CutPrefix(name, prefix)
			if !ok {
				continue
			}
			if !slices.ContainsFunc(envVars, func(v struct{ name, field string }) bool { return v.name == rest }) {
				problems = append(problems, fmt.Sprintf("%s names no option; the variables are %s followed by one of %s",
					name, prefix, strings.Join(envNames(), ", ")))
				continue
			}
			values[rest] = value
		}
	}

	var o Options
	ov := reflect.ValueOf(&o).Elem()
	setBy := map[string]string{} // field -> the variable that set it
	for _, v := range envVars {
		value, ok := values[v.name]
		if !ok {
			continue
		}
		name := prefix + v.name
		if other, dup := setBy[v.field]; dup {
			problems = append(problems, fmt.Sprintf("%s and %s both set %s; set one", other, name, v.field))
			continue
		}
		setBy[v.field] = name
		fv := ov.FieldByName(v.field)
		if !fv.IsValid() {
			problems = append(problems, fmt.Sprintf("%s: this version of httpcache has no Options.%s", name, v.field))
			continue
		}
		if err := setEnvField(fv, strings.TrimSpace(value)); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		// Check the field alone, on otherwise valid Options, so the
		// problem is the variable's.
		probe := Options{TTL: time.Minute}
		reflect.ValueOf(&probe).Elem().FieldByName(v.field).Set(fv)
		if err := checkOptions(probe); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
		}
	}
	if len(problems) > 0 {
		return Options{}, fmt.Errorf("%w: %s", ErrInvalidOptions, strings.Join(problems, "; "))
	}
	return o, nil
}

// envNames lists the variable names after the prefix.
func envNames() []string {
	names := make([]string, len(envVars))
	for i, v := range envVars {
		names[i] = v.name
	}
	return names
}

var durationType = reflect.TypeFor[time.Duration]()

// setEnvField parses s into field v according to its type.
func setEnvField(v reflect.Value, s string) error {
	if v.Kind() == reflect.String {
		v.SetString(s)
		return nil
	}
	if s == "" {
		return errors.New("empty value")
	}
	switch {
	case v.Type() == durationType:
		d, err := parseEnvDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not a boolean (use true or false)", s)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(x)
	case v.Kind() == reflect.Int64 || v.Kind() == reflect.Int:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(n)
	case v.Type() == reflect.TypeFor[[]int]():
		var list []int
		for item := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(item))
			if err != nil {
				return fmt.Errorf("%q is not a comma-separated list of whole numbers", s)
			}
			list = append(list, n)
		}
		v.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("a field of type %v cannot be read from the environment", v.Type())
	}
	return nil
}

// parseEnvDuration reads whole seconds ("30", "-1") or a Go duration
// ("30s", "1m30s", "250ms").
func parseEnvDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > int64(maxEntryTTL/time.Second) || n < -int64(maxEntryTTL/time.Second) {
			return 0, fmt.Errorf("%q seconds is out of range", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (whole seconds, or a Go duration such as 90s or 1m30s)", s)
	}
	return d, nil
}

// checkOptions runs Middleware's checks on o and returns the problem they
// find as an error instead of a panic.
func checkOptions(o Options) (err error) {
	const panicPrefix = "httpcache: invalid Options: "
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		s, ok := v.(string)
		if !ok || !strings.HasPrefix(s, panicPrefix) {
			panic(v) // not one of newConfig's checks
		}
		err = errors.New(strings.TrimPrefix(s, panicPrefix))
	}()
	newConfig(o)
	return nil
}
