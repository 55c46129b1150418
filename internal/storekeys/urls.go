package storekeys

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// schemeList formats schemes as "a://, b:// or c://".
func schemeList(schemes []string) string {
	s := make([]string, len(schemes))
	for i, sc := range schemes {
		s[i] = sc + "://"
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// CheckNodeURLs checks a comma-separated list of server URLs. Messages never
// quote the URL, which may hold a password.
func CheckNodeURLs(key, raw string, schemes ...string) string {
	first := ""
	for node := range strings.SplitSeq(raw, ",") {
		node = strings.TrimSpace(node)
		if node == "" {
			return fmt.Sprintf("The %q has an empty entry in its comma-separated list", key)
		}
		if first == "" {
			first, _, _ = strings.Cut(node, "://")
		} else if !strings.Contains(node, "://") {
			// Short cluster form: "redis://h1:7001,h2:7002" — later nodes take the first one's scheme.
			node = first + "://" + node
		}
		if msg := CheckURL(key, node, schemes...); msg != "" {
			return msg
		}
		u, _ := url.Parse(node) // checkURL parsed it
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				return fmt.Sprintf("The %q database must be a number, as in %s://host:6379/0", key, schemes[0])
			}
		}
	}
	return ""
}

// CheckURL checks one server URL: its scheme, that it parses and has a host,
// and its port. Messages never quote the URL.
func CheckURL(key, raw string, schemes ...string) string {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok || !slices.Contains(schemes, strings.ToLower(scheme)) {
		return fmt.Sprintf("The %q must be a URL starting with %s", key, schemeList(schemes))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("The %q is not a valid URL", key)
	}
	if u.Hostname() == "" {
		return fmt.Sprintf("The %q has no host", key)
	}
	if p := u.Port(); p != "" && !validPort(p) {
		return fmt.Sprintf("The %q port must be between 1 and 65535", key)
	}
	return ""
}

// CheckMongoURL checks a MongoDB connection string, which may list several
// hosts: mongodb://[user:pass@]host[:port][,host[:port]...][/db][?options].
func CheckMongoURL(raw string) string {
	const key = "mongodb_url"
	scheme, rest, ok := strings.Cut(raw, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "mongodb" && scheme != "mongodb+srv") {
		return fmt.Sprintf("The %q must be a URL starting with mongodb:// or mongodb+srv://", key)
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	if hosts == "" {
		return fmt.Sprintf("The %q has no host", key)
	}
	list := strings.Split(hosts, ",")
	if scheme == "mongodb+srv" && (len(list) != 1 || strings.Contains(hosts, ":")) {
		return fmt.Sprintf("The %q with mongodb+srv:// takes one host name without a port", key)
	}
	for _, h := range list {
		if !validHostPort(h) {
			return fmt.Sprintf("The %q has an invalid host or port (ports are 1 to 65535)", key)
		}
	}
	// The rest must be URL syntax; check it with a single placeholder host.
	if _, err := url.Parse(scheme + "://" + userinfo + "host" + tail); err != nil {
		return fmt.Sprintf("The %q is not a valid URL", key)
	}
	return ""
}

// MemcachedTLSScheme is the scheme of a memcached_host entry reached over
// TLS: "memcacheds://host[:port]".
const MemcachedTLSScheme = "memcacheds://"

// CutMemcachedTLS removes a leading "memcacheds://" (any case) from one
// memcached_host entry and reports whether it was there.
func CutMemcachedTLS(h string) (string, bool) {
	if len(h) >= len(MemcachedTLSScheme) && strings.EqualFold(h[:len(MemcachedTLSScheme)], MemcachedTLSScheme) {
		return h[len(MemcachedTLSScheme):], true
	}
	return h, false
}

// CheckMemcachedHosts checks "host[:port][,host[:port]...]"; an entry that
// starts with "/" is a Unix socket path; "memcacheds://host[:port]" entries
// are reached over TLS, and then every entry must be one. Messages name an
// entry by its position, never quote it: a mistyped one may hold a password.
func CheckMemcachedHosts(raw string) string {
	const key = "memcached_host"
	n, tlsEntries := 0, 0
	for h := range strings.SplitSeq(raw, ",") {
		h = strings.TrimSpace(h)
		n++
		h, isTLS := CutMemcachedTLS(h)
		if isTLS {
			tlsEntries++
		}
		switch {
		case h == "":
			return fmt.Sprintf("The %q has an empty entry in its comma-separated list", key)
		case strings.Contains(h, "://"):
			return fmt.Sprintf("The %q takes host[:port] entries without a scheme, or memcacheds://host[:port] for TLS", key)
		case isTLS && strings.HasPrefix(h, "/"):
			return fmt.Sprintf("The %q entry %d: memcacheds:// takes host[:port], not a Unix socket", key, n)
		case strings.Contains(h, "@"):
			return fmt.Sprintf(`The %q entry %d holds a user or password ("@"); memcached takes host[:port] only`, key, n)
		case strings.HasPrefix(h, "/"):
			// A Unix socket.
		case !validHostPort(h):
			return fmt.Sprintf("The %q entry %d is not host[:port] with a port between 1 and 65535", key, n)
		}
	}
	if tlsEntries > 0 && tlsEntries < n {
		return fmt.Sprintf("The %q mixes memcacheds:// entries with plain ones; give every server the same form", key)
	}
	return ""
}

// validHostPort reports whether s is host, host:port, [ipv6], [ipv6]:port
// or a bare IPv6 address, with a port of 1 to 65535.
func validHostPort(s string) bool {
	host, port, hasPort := s, "", false
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return false
		}
		addr, err := netip.ParseAddr(s[1:end])
		if err != nil || !addr.Is6() {
			return false
		}
		rest := s[end+1:]
		if rest == "" {
			return true
		}
		p, ok := strings.CutPrefix(rest, ":")
		return ok && validPort(p)
	case strings.Count(s, ":") > 1:
		addr, err := netip.ParseAddr(s)
		return err == nil && addr.Is6()
	default:
		host, port, hasPort = strings.Cut(s, ":")
	}
	if hasPort && !validPort(port) {
		return false
	}
	return validHostName(host)
}

// validHostName reports whether h is a plausible DNS name or IPv4 address.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return true
}

// validPort reports whether p is a decimal port number from 1 to 65535.
func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
	}
	n, _ := strconv.Atoi(p)
	return n >= 1 && n <= 65535
}
