package cachette

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Tags.
//
// InvalidateTags needs no listing of keys, so it works on every store,
// memcached and DynamoDB included, with Get, Set and Delete alone. Each
// tag has a version entry, under "cachette:tag:<hash of the tag>",
// holding 16 random bytes. An entry stored WithTags records the version
// of each of its tags (creating the versions that are missing), and every
// read of it fetches the current versions (one Get per tag, concurrently):
// a missing or different version makes it a miss. InvalidateTags deletes
// the version entries; the next entry stored with the tag creates a fresh
// version. A version is never written back (it is random, and only ever
// created), so an entry stored before InvalidateTags returned is never
// served after it, on any store.
//
// The races left only cost hits: two writers that create a version at the
// same moment each write their own, and the entry stored with the one that
// lost is a miss the next time. A version entry lives tagVersionLife (at
// least a day); when it expires, or the store evicts it, the entries with
// that tag become misses, as after an invalidation.
//
// httpcache stores its responses with WithTags (namespaced by its
// prefix), and its PurgeTags is an InvalidateTags (httpcache/purge.go).

// WithTags makes the entry that Put, PutBytes or GetOrLoad stores belong
// to tags (empty tags are ignored, duplicates count once; at most 64 per
// entry): InvalidateTags of any of them makes it a miss everywhere. A
// tagged entry costs one more store read per tag on every read (the
// reads of its tags run concurrently); untagged entries cost nothing more.
func WithTags(tags ...string) Option {
	return func(o *callOptions) {
		o.tags = append(o.tags, tags...)
	}
}

// tagKeyPrefix starts the key of every tag's version entry; the local
// tier drops the values of a tag when the store reports a change of its
// version entry (local_tags.go).
const tagKeyPrefix = "cachette:tag:"

// tagVersionKey is the key of the version entry of tag.
func tagVersionKey(tag string) string {
	sum := sha256.Sum256([]byte(tag))
	return tagKeyPrefix + hex.EncodeToString(sum[:16])
}

// canonicalTag is tag as entries record it: a tag longer than maxTagLen
// is recorded, and versioned, by its hash.
func canonicalTag(tag string) string {
	if len(tag) <= maxTagLen {
		return tag
	}
	sum := sha256.Sum256([]byte(tag))
	return "\x00sha256:" + hex.EncodeToString(sum[:])
}

// normalTags returns tags canonical, sorted, without duplicates or empty
// strings.
func normalTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t != "" {
			out = append(out, canonicalTag(t))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// InvalidateTags makes every entry stored with one of tags (WithTags) a
// miss, on every store: after it returns, no Fetch, FetchWithTTL or
// GetOrLoad returns an entry stored with one of them before the call.
// The entries stay in the store, never served, until they expire. Empty
// tags are ignored. An error names the tags it could not invalidate.
// The local tier (Config.LocalEntries) drops the values of these tags
// only, here at once and, on redis and valkey, in other processes too.
func (c *Cache) InvalidateTags(ctx context.Context, tags ...string) error {
	if c.isClosed() {
		return ErrClosed
	}
	var errs []error
	norm := normalTags(tags)
	for _, t := range norm {
		if _, err := c.store.Delete(ctx, tagVersionKey(t)); err != nil {
			errs = append(errs, c.wrap(fmt.Sprintf("invalidate tag %q", t), err))
		}
	}
	// The local tier drops the values of these tags, here at once (other
	// processes do so when the store reports the tag's version changed:
	// local_tags.go).
	c.localInvalidateTags(norm)
	return errors.Join(errs...)
}

// tagVersions reads the current versions of tags, concurrently; "" for a
// tag without one (never created, invalidated, expired, or unreadable).
// Errors are wrapped by Cache.wrap (and so counted).
func (c *Cache) tagVersions(ctx context.Context, tags []string) ([]string, error) {
	versions := make([]string, len(tags))
	errs := make([]error, len(tags))
	read := func(i int) {
		raw, _, err := c.store.Get(ctx, tagVersionKey(tags[i]))
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				errs[i] = c.wrap("read tag version", err)
			}
			return
		}
		if raw, err = c.verifySigned(tagVersionKey(tags[i]), raw); err != nil { // (sign.go)
			// No version: the entries of the tag are misses until a write makes a new one.
			c.log.WarnContext(ctx, "cachette: ignoring a tag version", "backend", c.cfg.Backend, "key", tagVersionKey(tags[i]), "error", err)
			return
		}
		h, v, err := decodeEntry(raw, maxTagVersionLen)
		if err == nil && h.codec == codecRaw && !h.ext && len(v) > 0 {
			versions[i] = string(v)
		}
	}
	if len(tags) == 1 {
		read(0)
	} else {
		var wg sync.WaitGroup
		for i := range tags {
			wg.Go(func() { read(i) })
		}
		wg.Wait()
	}
	return versions, errors.Join(errs...)
}

// tagsCurrent reports whether the tags recorded in the tag block of an
// entry still have the versions it recorded.
func (c *Cache) tagsCurrent(ctx context.Context, block string) (bool, error) {
	recorded := decodeTags(block)
	names := make([]string, len(recorded))
	for i, tv := range recorded {
		names[i] = tv.tag
	}
	now, err := c.tagVersions(ctx, names)
	if err != nil {
		return false, err
	}
	for i, tv := range recorded {
		if now[i] != tv.version {
			return false, nil
		}
	}
	return true, nil
}

// tagVersionLife is how long a version entry created for an entry that
// the store keeps for life lives: long enough that the tagged entries of
// several lifetimes keep it.
func tagVersionLife(life time.Duration) time.Duration {
	return min(max(8*life, 24*time.Hour), 30*24*time.Hour)
}

// tagBlockFor returns the tag block of an entry stored with tags for
// life: the current version of each tag, created where missing.
func (c *Cache) tagBlockFor(ctx context.Context, tags []string, life time.Duration) (string, error) {
	tags = normalTags(tags)
	if len(tags) == 0 {
		return "", nil
	}
	if len(tags) > maxEntryTags {
		return "", fmt.Errorf("cachette: %d tags, more than %d per entry", len(tags), maxEntryTags)
	}
	versions, err := c.tagVersions(ctx, tags)
	if err != nil {
		return "", err
	}
	tvs := make([]taggedVersion, len(tags))
	for i, t := range tags {
		v := versions[i]
		if v == "" {
			var b [16]byte
			_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
			v = string(b[:])
			if err := c.writeTagVersion(ctx, t, v, tagVersionLife(life)); err != nil {
				return "", err
			}
		}
		tvs[i] = taggedVersion{tag: t, version: v}
	}
	return encodeTags(tvs), nil
}

// writeTagVersion stores version as tag's version entry (raw bytes in the
// core entry format, so that tools show it like any entry).
func (c *Cache) writeTagVersion(ctx context.Context, tag, version string, life time.Duration) error {
	expires := time.UnixMilli(time.Now().Add(life).UnixMilli())
	buf := make([]byte, entryHeaderSize, entryHeaderSize+len(version))
	buf = append(buf, version...)
	putHeader(buf, entryHeader{codec: codecRaw, expiresAt: expires})
	if c.signer != nil { // (sign.go)
		buf = c.signer.sign(tagVersionKey(tag), buf)
	}
	if err := c.store.Set(ctx, tagVersionKey(tag), buf, expires); err != nil {
		return c.wrap(fmt.Sprintf("write tag version %q", strings.TrimPrefix(tag, "\x00")), err)
	}
	return nil
}
