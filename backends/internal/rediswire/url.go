package rediswire

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// SplitURL reads the node list of a store URL, "scheme://h1:1,h2:2/0?opt=v",
// without connecting. Later nodes may omit the scheme (they take node 1's).
// Credentials, the database and the options may sit on any node (in
// "redis://a:1,b:2/0?opt=1" they end up on the last); where several nodes
// give them they must agree, and they are gathered on first. addrs holds
// every node's host:port, the port defaulting to 6379.
//
// checkScheme is called for each node as it is read, node 1 first (with u
// == first), so that the store can refuse a scheme it does not take. name
// (the store's name) starts every error of SplitURL's own; no error contains
// the URL or any part of its userinfo.
func SplitURL(name, raw string, checkScheme func(n int, first, u *url.URL) error) (first *url.URL, addrs []string, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil, fmt.Errorf("%s: the URL is empty", name)
	}
	parts := strings.Split(raw, ",")
	first, err = parseNode(name, parts[0], 1)
	if err != nil {
		return nil, nil, err
	}
	if err := checkScheme(1, first, first); err != nil {
		return nil, nil, err
	}
	addrs = []string{hostPort(first)}
	for i, p := range parts[1:] {
		n := i + 2
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, nil, fmt.Errorf("%s: node %d of the URL is empty", name, n)
		}
		if !strings.Contains(p, "://") {
			p = first.Scheme + "://" + p
		}
		u, err := parseNode(name, p, n)
		if err != nil {
			return nil, nil, err
		}
		if err := checkScheme(n, first, u); err != nil {
			return nil, nil, err
		}
		if u.User != nil {
			if first.User != nil && u.User.String() != first.User.String() {
				return nil, nil, fmt.Errorf("%s: node %d has other credentials than an earlier node; give them once", name, n)
			}
			first.User = u.User
		}
		if db := DBPath(u.Path); db != "" {
			if prev := DBPath(first.Path); prev != "" && prev != db {
				return nil, nil, fmt.Errorf("%s: node %d names another database than an earlier node", name, n)
			}
			first.Path = u.Path
		}
		if u.RawQuery != "" {
			if first.RawQuery != "" && u.RawQuery != first.RawQuery {
				return nil, nil, fmt.Errorf("%s: node %d has other options than an earlier node; give them once", name, n)
			}
			first.RawQuery = u.RawQuery
		}
		addrs = append(addrs, hostPort(u))
	}
	return first, addrs, nil
}

// parseNode parses one node's URL without letting the URL into an error.
func parseNode(name, s string, n int) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%s: node %d of the URL is not a valid URL", name, n)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%s: node %d of the URL has no host", name, n)
	}
	if p := u.Port(); p != "" {
		if v, err := strconv.Atoi(p); err != nil || v < 1 || v > 65535 {
			return nil, fmt.Errorf("%s: node %d of the URL has a port outside 1..65535", name, n)
		}
	}
	return u, nil
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "6379"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// DBPath is the database a URL path names ("/0" gives "0"), or "".
func DBPath(p string) string { return strings.Trim(p, "/") }

// URLError is the client library's reason for refusing a URL, without any
// URL it quotes. name is the store's name, which starts the error (and
// which the library's own message may start with too).
func URLError(name string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: the URL is not valid", name)
	}
	msg := strings.TrimPrefix(err.Error(), name+": ")
	return fmt.Errorf("%s: the URL is not valid: %s", name, msg)
}
