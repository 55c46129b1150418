// Package storekeys holds the configuration keys of the stores cachette
// ships, and their checks: what each store package registers with its
// Driver (backends.RegisterDriver).
//
// They live here, apart from the stores, so that reading them links none of
// a store's client library: cachette.LoadConfig checks the keys of a shipped
// store that the program does not import (a configuration naming "mongodb"
// is checked the same way whether the mongodb package is linked or not),
// and New then says which import is missing.
//
// Checks never connect to anything, and never quote a URL or host list,
// which may hold a password: a message names the key and what is wrong.
package storekeys

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cachette-go/cachette/backends"
)

// Defaults of the keys that have one.
const (
	DefaultDatabaseName = "cachette-db"
	DefaultTableName    = "cachette"
)

// Spec is a shipped store's part of its Driver: its keys and their check.
type Spec struct {
	Keys  []backends.ConfigKey
	Check func(name string, v backends.Values) []error
}

// Driver returns the store's Driver with open.
func (s Spec) Driver(open backends.Opener) backends.Driver {
	return backends.Driver{Open: open, Keys: s.Keys, Check: s.Check}
}

// Shipped lists the specs of the stores cachette ships by name, in the
// order their keys are documented (aliases excluded; inmemory has no keys).
var Shipped = []struct {
	Name string
	Spec Spec
}{
	{"inmemory", Spec{}},
	{"redis", Redis},
	{"valkey", Valkey},
	{"memcached", Memcached},
	{"mongodb", MongoDB},
	{"gob", Gob},
	{"dynamodb", DynamoDB},
}

// Lookup returns the spec of the shipped store name (lower-case, no alias).
func Lookup(name string) (Spec, bool) {
	for _, s := range Shipped {
		if s.Name == name {
			return s.Spec, true
		}
	}
	return Spec{}, false
}

func keyErr(format string, args ...any) error { return fmt.Errorf(format, args...) }

func emptyErr(key, backend string) error {
	return keyErr("The %q cannot be empty when using %s as backend", key, backend)
}

// Redis is the redis store's spec.
var Redis = Spec{
	Keys: []backends.ConfigKey{
		{Name: "redis_url", Doc: "redis://[user:pass@]host[:port][/db] or rediss://; comma-separated for a cluster"},
		TLSCAFileKey,
	},
	Check: func(name string, v backends.Values) []error {
		if errs := nodeURLs(name, "redis_url", v["redis_url"], "redis", "rediss"); errs != nil {
			return errs
		}
		return tlsCAFile(v, "redis_url", "rediss")
	},
}

// Valkey is the valkey store's spec.
var Valkey = Spec{
	Keys: []backends.ConfigKey{
		{Name: "valkey_url", Doc: "valkey:// or valkeys:// (redis:// and rediss:// too); comma-separated for a cluster"},
		TLSCAFileKey,
	},
	Check: func(name string, v backends.Values) []error {
		if errs := nodeURLs(name, "valkey_url", v["valkey_url"], "valkey", "valkeys", "redis", "rediss"); errs != nil {
			return errs
		}
		return tlsCAFile(v, "valkey_url", "valkeys", "rediss")
	},
}

// TLSCAFileKey is the key, shared by redis, valkey and memcached, that
// names a PEM bundle of CA certificates trusted besides the system's roots
// when the store's URL asks for TLS. The file is read when the store
// opens, not by the checks.
var TLSCAFileKey = backends.ConfigKey{
	Name: "tls_ca_file",
	Doc:  "PEM file of CA certificates trusted besides the system's, for rediss://, valkeys:// or memcacheds://",
}

// tlsCAFile refuses a tls_ca_file when the URL key's first entry does not
// use one of the TLS schemes (a CA file that would be ignored).
func tlsCAFile(v backends.Values, urlKey string, tlsSchemes ...string) []error {
	if v["tls_ca_file"] == "" {
		return nil
	}
	first, _, _ := strings.Cut(strings.TrimSpace(v[urlKey]), ",")
	scheme, _, ok := strings.Cut(strings.TrimSpace(first), "://")
	if ok && slices.Contains(tlsSchemes, strings.ToLower(scheme)) {
		return nil
	}
	return []error{keyErr("The %q is set but the %q does not use TLS (%s)", "tls_ca_file", urlKey, schemeList(tlsSchemes))}
}

func nodeURLs(backend, key, raw string, schemes ...string) []error {
	if raw == "" {
		return []error{emptyErr(key, backend)}
	}
	if msg := CheckNodeURLs(key, raw, schemes...); msg != "" {
		return []error{keyErr("%s", msg)}
	}
	return nil
}

// Memcached is the memcached store's spec.
var Memcached = Spec{
	Keys: []backends.ConfigKey{
		{Name: "memcached_host", Doc: "host[:port][,host[:port]...], port 11211 by default; memcacheds://host[:port][,...] for TLS"},
		TLSCAFileKey,
	},
	Check: func(name string, v backends.Values) []error {
		raw := v["memcached_host"]
		if raw == "" {
			return []error{emptyErr("memcached_host", name)}
		}
		if msg := CheckMemcachedHosts(raw); msg != "" {
			return []error{keyErr("%s", msg)}
		}
		return tlsCAFile(v, "memcached_host", "memcacheds")
	},
}

// MongoDB is the mongodb store's spec.
var MongoDB = Spec{
	Keys: []backends.ConfigKey{
		{Name: "mongodb_url", Doc: "mongodb://[user:pass@]host[:port][,host[:port]...] or mongodb+srv://host"},
		{Name: "database_name", Default: DefaultDatabaseName, Doc: "MongoDB database"},
		{Name: "table_name", Default: DefaultTableName, Doc: "MongoDB collection or DynamoDB table"},
	},
	Check: func(name string, v backends.Values) []error {
		var errs []error
		if raw := v["mongodb_url"]; raw == "" {
			errs = append(errs, emptyErr("mongodb_url", name))
		} else if msg := CheckMongoURL(raw); msg != "" {
			errs = append(errs, keyErr("%s", msg))
		}
		db, coll := v["database_name"], v["table_name"]
		switch {
		case db == "":
			errs = append(errs, emptyErr("database_name", name))
		case strings.ContainsAny(db, "/\\. \"$\x00"):
			errs = append(errs, keyErr(`The "database_name" value %q contains a character MongoDB rejects (/\. "$ or NUL)`, db))
		case len(db) > 63:
			errs = append(errs, keyErr(`The "database_name" value must be at most 63 bytes long`))
		}
		switch {
		case coll == "":
			errs = append(errs, emptyErr("table_name", name))
		case strings.ContainsAny(coll, "$\x00"):
			errs = append(errs, keyErr(`The "table_name" value %q contains a character MongoDB rejects ($ or NUL)`, coll))
		case strings.HasPrefix(coll, "system."):
			errs = append(errs, keyErr(`The "table_name" value %q cannot start with "system." on MongoDB`, coll))
		case db != "" && len(db)+1+len(coll) > 255:
			errs = append(errs, keyErr(`The "table_name" value is too long: "database_name.table_name" must be at most 255 bytes on MongoDB`))
		}
		return errs
	},
}

// Gob is the gob file store's spec.
var Gob = Spec{
	Keys: []backends.ConfigKey{
		{Name: "pickle_path", Doc: "directory of the gob file store"},
	},
	Check: func(name string, v backends.Values) []error {
		if v["pickle_path"] == "" {
			return []error{emptyErr("pickle_path", name)}
		}
		return nil
	},
}

// DynamoDB is the dynamodb store's spec.
var DynamoDB = Spec{
	Keys: []backends.ConfigKey{
		{Name: "dynamodb_url", Doc: "http:// or https:// endpoint (local DynamoDB); else the AWS default"},
		{Name: "region", Doc: "AWS region of DynamoDB"},
		{Name: "table_name", Default: DefaultTableName, Doc: "MongoDB collection or DynamoDB table"},
	},
	Check: func(name string, v backends.Values) []error {
		var errs []error
		endpoint, region := v["dynamodb_url"], v["region"]
		if endpoint == "" && region == "" {
			errs = append(errs, keyErr(`The "dynamodb_url" cannot be empty when using %s as backend and no "region" is given`, name))
		}
		if endpoint != "" {
			if msg := CheckURL("dynamodb_url", endpoint, "http", "https"); msg != "" {
				errs = append(errs, keyErr("%s", msg))
			}
		} else if region != "" && !awsRegion.MatchString(region) {
			errs = append(errs, keyErr(`The "region" value %q is not an AWS region name such as "us-east-1"`, region))
		}
		switch table := v["table_name"]; {
		case table == "":
			errs = append(errs, emptyErr("table_name", name))
		case !dynamoTable.MatchString(table):
			errs = append(errs, keyErr(`The "table_name" value %q must be 3 to 255 characters among a-z, A-Z, 0-9, "_", "-" and "." on DynamoDB`, table))
		}
		return errs
	},
}

var (
	awsRegion   = regexp.MustCompile(`^[a-z]+(-[a-z]+)+-[0-9]+$`)
	dynamoTable = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)
)
