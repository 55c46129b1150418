package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
)

// readEntry reads the entry under key as stored, without the side effects
// of Cache.Fetch: an entry that does not decode is reported, not removed.
// What Fetch would miss is a notFound error: a missing or expired entry, a
// negative marker (GetOrLoad with WithNegativeTTL) and an entry whose tags
// were invalidated since it was stored (both say so).
func readEntry(ctx context.Context, c *cachette.Cache, cmd, key string) (cachette.EntryInfo, error) {
	raw, _, err := c.Backend().Get(ctx, key)
	if errors.Is(err, backends.ErrNotFound) {
		return cachette.EntryInfo{}, notFound(cmd, key)
	}
	if err != nil {
		return cachette.EntryInfo{}, failed("%s %q: %v", cmd, key, err)
	}
	if err := c.VerifyEntry(key, raw); err != nil { // signing_key set: what Fetch would refuse
		return cachette.EntryInfo{}, failed("%s %q: the stored entry is refused: %v", cmd, key, err)
	}
	info, err := cachette.InspectEntry(raw, c.Config().MaxValueSize)
	if err != nil {
		return info, failed("%s %q: the stored entry is not readable: %v", cmd, key, err)
	}
	left := time.Until(info.ExpiresAt)
	if left <= 0 {
		return info, notFound(cmd, key)
	}
	if info.Negative {
		return info, &exitError{exitNotFound, fmt.Sprintf("%s: key %q not found: a negative entry (GetOrLoad with WithNegativeTTL "+
			"recorded that the key does not exist; it expires in %v)", cmd, key, left.Round(time.Millisecond))}
	}
	current, err := c.EntryTagsCurrent(ctx, raw)
	if err != nil {
		return info, failed("%s %q: reading the versions of its tags: %v", cmd, key, err)
	}
	if !current {
		return info, &exitError{exitNotFound, fmt.Sprintf("%s: key %q not found: invalidated by one of its tags (%s); "+
			"the store keeps the entry until it expires, but no read returns it", cmd, key, quoteTags(info.Tags))}
	}
	return info, nil
}

// quoteTags lists tags quoted, separated by commas; a tag longer than 255
// bytes is recorded by its hash, shown as such.
func quoteTags(tags []string) string {
	q := make([]string, len(tags))
	for i, t := range tags {
		if h, ok := strings.CutPrefix(t, "\x00"); ok {
			q[i] = h + " (a tag longer than 255 bytes, by its hash)"
			continue
		}
		q[i] = strconv.Quote(t)
	}
	return strings.Join(q, ", ")
}

func cmdGet(ctx context.Context, c *cachette.Cache, o *options, args []string, con *console) error {
	key := args[0]
	info, err := readEntry(ctx, c, "get", key)
	if err != nil {
		return err
	}
	if o.raw || info.Codec == cachette.CodecRaw {
		_, err := con.stdout.Write(info.Payload)
		return err
	}
	return printValue(con.stdout, c.Config(), key, info)
}

func cmdPut(ctx context.Context, c *cachette.Cache, o *options, args []string, con *console) error {
	key, value := args[0], args[1]
	ttl := c.Config().TTL
	if o.ttl != "" {
		d, err := parseTTL(o.ttl)
		if err != nil {
			return err
		}
		ttl = d
	}
	if value == "-" {
		b, err := io.ReadAll(io.LimitReader(con.stdin, int64(c.Config().MaxValueSize)+1))
		if err != nil {
			return failed("put %q: reading the value from standard input: %v", key, err)
		}
		value = string(b)
	}
	v, err := encodeArg(c.Config(), value)
	if err != nil {
		return err
	}
	if err := c.Put(ctx, key, v, cachette.WithTTL(ttl)); err != nil {
		return failed("put %q: %v", key, err)
	}
	fmt.Fprintf(con.stdout, "stored %q for %v\n", key, ttl)
	return nil
}

// parseTTL reads --ttl: a Go duration ("90s", "1h30m") or whole seconds.
func parseTTL(s string) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		d = time.Duration(n) * time.Second
		if n > int64(time.Duration(1<<63-1)/time.Second) {
			d = -1
		}
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, usageErr(`put: --ttl %q is neither a duration ("90s", "5m") nor whole seconds`, s)
	}
	if d <= 0 {
		return 0, usageErr("put: --ttl must be positive, got %q", s)
	}
	return d, nil
}

func cmdDel(ctx context.Context, c *cachette.Cache, _ *options, args []string, con *console) error {
	key := args[0]
	ok, err := c.Clear(ctx, key)
	if err != nil {
		return failed("del %q: %v", key, err)
	}
	if ok {
		fmt.Fprintf(con.stdout, "deleted %q\n", key)
	} else {
		fmt.Fprintf(con.stdout, "%q was not there; nothing deleted\n", key)
	}
	return nil
}

func cmdTTL(ctx context.Context, c *cachette.Cache, _ *options, args []string, con *console) error {
	info, err := readEntry(ctx, c, "ttl", args[0])
	if err != nil {
		return err
	}
	left := time.Until(info.ExpiresAt).Round(time.Millisecond)
	fmt.Fprintln(con.stdout, left)
	return nil
}

func cmdInspect(ctx context.Context, c *cachette.Cache, _ *options, args []string, con *console) error {
	key := args[0]
	cfg := c.Config()
	raw, _, err := c.Backend().Get(ctx, key)
	if errors.Is(err, backends.ErrNotFound) {
		return notFound("inspect", key)
	}
	if err != nil {
		return failed("inspect %q: %v", key, err)
	}
	info, ierr := cachette.InspectEntry(raw, cfg.MaxValueSize)
	w := con.stdout
	line := func(name, format string, args ...any) {
		fmt.Fprintf(w, "%-12s %s\n", name, fmt.Sprintf(format, args...))
	}
	line("key", "%q", key)
	line("store", "%s, prefix %q", cfg.Backend, cfg.Prefix)
	if info.Version == 0 {
		line("stored", "%d bytes", info.StoredSize)
		return failed("inspect %q: not a cachette entry: %v", key, ierr)
	}
	line("format", "version %d", info.Version)
	switch info.Codec {
	case "":
		line("codec", "unknown (ID %d: no codec linked into this command has it)", info.CodecID)
	case cachette.CodecRaw:
		line("codec", "none: raw bytes (PutBytes, ID 0)")
	default:
		note := ""
		if !strings.EqualFold(info.Codec, canonicalCodec(cfg.Codec)) {
			note = fmt.Sprintf("; the configured codec is %s, which reads it as a miss", canonicalCodec(cfg.Codec))
		}
		line("codec", "%s (ID %d)%s", info.Codec, info.CodecID, note)
	}
	if info.Compressed {
		line("compression", "zstd")
	} else {
		line("compression", "none")
	}
	if !info.ExpiresAt.IsZero() {
		left := time.Until(info.ExpiresAt).Round(time.Millisecond)
		if left > 0 {
			line("expires", "%s (in %v)", info.ExpiresAt.UTC().Format(time.RFC3339Nano), left)
		} else {
			line("expires", "%s (expired %v ago)", info.ExpiresAt.UTC().Format(time.RFC3339Nano), -left)
		}
	}
	if ierr == nil {
		line("size", "%d bytes stored, %d bytes of payload", info.StoredSize, info.PayloadSize)
	} else {
		line("size", "%d bytes stored", info.StoredSize)
	}
	switch cur, terr := c.EntryTagsCurrent(ctx, raw); {
	case len(info.Tags) == 0:
		line("tags", "none")
	case terr != nil:
		line("tags", "%s (their versions are not readable: %v)", quoteTags(info.Tags), terr)
	case cur:
		line("tags", "%s, current", quoteTags(info.Tags))
	default:
		line("tags", "%s, invalidated since it was stored: reads miss it", quoteTags(info.Tags))
	}
	if info.Negative {
		line("negative", "yes: GetOrLoad with WithNegativeTTL recorded that the key does not exist; reads miss it")
	}
	switch verr := c.VerifyEntry(key, raw); {
	case cfg.SigningKey == "" && info.Signed:
		line("signature", "HMAC-SHA-256 tag, not checked (no signing_key)")
	case cfg.SigningKey == "":
		line("signature", "none")
	case verr != nil:
		line("signature", "refused: %v", verr)
	default:
		line("signature", "HMAC-SHA-256 tag, valid for signing_key")
	}
	if ierr != nil {
		return failed("inspect %q: the payload is not readable: %v", key, ierr)
	}
	return nil
}

func cmdStats(ctx context.Context, c *cachette.Cache, o *options, _ []string, con *console) error {
	cfg := c.Config()
	w := con.stdout
	line := func(name, format string, args ...any) {
		fmt.Fprintf(w, "%-10s %s\n", name, fmt.Sprintf(format, args...))
	}
	line("backend", "%s", cfg.Backend)
	line("prefix", "%q", cfg.Prefix)
	line("codec", "%s", canonicalCodec(cfg.Codec))
	if o.namespace != "" {
		line("namespace", "%q", o.namespace)
	}
	r, ok := c.Backend().(backends.UsageReporter)
	if !ok {
		why := "this store does not report its usage"
		if strings.EqualFold(cfg.Backend, "memcached") {
			why = "memcached cannot enumerate its keys"
		}
		line("entries", "not supported: %s", why)
		line("bytes", "not supported")
	} else {
		u, err := r.Usage(ctx, o.namespace)
		if err != nil {
			return failed("stats: %v", err)
		}
		line("entries", "%d", u.Entries)
		line("bytes", "%s", humanBytes(u.Bytes))
	}
	for _, s := range cacheStats(c) {
		line(s[0], "%s", s[1])
	}
	return nil
}

// cacheStats lists the cache's own counters, name and value. Cache.Stats
// (hits, misses, loads, ...) is not in this version of the library; when it
// lands, list c.Stats() here. Its counters count one process's calls, so
// for this command they describe only the command itself.
func cacheStats(*cachette.Cache) [][2]string {
	return [][2]string{{"counters", "not available: hits and misses are counted inside each process using the cache"}}
}

// humanBytes formats n as "1234 bytes", with a binary-unit hint past 1 KiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%d bytes (%.1f %ciB)", n, float64(n)/float64(div), "KMGTPE"[exp])
}
