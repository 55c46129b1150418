package gob

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/internal/storekeys"
)

// Defaults and names.
const (
	// StaleTempAge is how old a temporary file must be before Flush and
	// FlushExpired treat it as left behind by a crashed writer.
	StaleTempAge = time.Hour

	dirMode    = 0o700
	tmpPrefix  = ".tmp-"
	locksDir   = "locks"
	guardName  = ".guard"
	hashedName = 2 * sha256.Size // length of an entry's or lock's file name
)

// testHookTakeover, when set by a test, runs between reading an expired
// lock and replacing it: it widens the window in which racing takeovers
// would collide without the guard.
var testHookTakeover func()

// ErrNoDir is returned when the store is opened without a directory.
var ErrNoDir = errors.New("gob: no directory given (set pickle_path)")

// ErrUnsafeDir is returned by New when the directory (pickle_path), or a
// directory the store keeps in it, is one another user could write into:
// it is writable by its group or by others, or it is owned by a user other
// than the process's effective user (or it is reached through a symbolic
// link another user owns). Anyone who can write there could plant entries
// that the cache would then serve. Directories the store creates itself
// get mode 0700.
var ErrUnsafeDir = errors.New("gob: unsafe directory")

func init() {
	backends.RegisterDriver("gob", storekeys.Gob.Driver(func(ctx context.Context, s backends.Settings) (backends.Backend, error) {
		return Open(ctx, s)
	}))
}

// Options configures a Store.
type Options struct {
	// Prefix is the namespace of every key; each prefix gets its own
	// subdirectory. cachette.New passes Config.Prefix.
	Prefix string
	// Sync fsyncs every written file and its directory before the write
	// returns. Off by default: see the package documentation.
	Sync bool
	// Logger receives reports of malformed files; nil means slog.Default().
	Logger *slog.Logger
}

// Option adjusts a store that Open makes, by editing its Options; it
// overrides what the Settings say.
type Option func(*Options)

// WithSync sets Options.Sync.
func WithSync(sync bool) Option { return func(o *Options) { o.Sync = sync } }

// WithLogger sends the store's reports to l (nil means slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// Open opens the store in the directory of the pickle_path key
// (Settings.Value), under s.Prefix with s.Logger, then opts; see New. It
// is the opener registered as "gob".
func Open(_ context.Context, s backends.Settings, opts ...Option) (*Store, error) {
	o := Options{Prefix: s.Prefix, Logger: s.Logger}
	for _, opt := range opts {
		opt(&o)
	}
	return New(s.Value("pickle_path"), o)
}

// Store is the file store. It satisfies backends.Backend; every method is
// safe for concurrent use, also by several processes on one directory.
type Store struct {
	prefix string
	dir    string // the prefix's directory
	locks  string // its locks directory
	sync   bool
	log    *slog.Logger
}

var _ backends.Backend = (*Store)(nil)

// New opens (creating if needed) the store in dir for opts.Prefix.
func New(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, ErrNoDir
	}
	if len(opts.Prefix) > MaxKeyLen {
		return nil, fmt.Errorf("gob: prefix of %d bytes is longer than the %d-byte limit", len(opts.Prefix), MaxKeyLen)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ph := sha256.Sum256([]byte(opts.Prefix))
	s := &Store{
		prefix: opts.Prefix,
		dir:    filepath.Join(dir, hex.EncodeToString(ph[:8])),
		sync:   opts.Sync,
		log:    opts.Logger,
	}
	s.locks = filepath.Join(s.dir, locksDir)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("gob: open: %w", err)
	}
	if err := checkDir("pickle_path directory", dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.locks, dirMode); err != nil {
		return nil, fmt.Errorf("gob: open: %w", err)
	}
	for _, d := range []string{s.dir, s.locks} {
		if err := checkDir("store directory", d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkDir checks that dir is a directory that only this process's user
// can write into (see ErrUnsafeDir); what names it in the error.
func checkDir(what, dir string) error {
	if li, err := os.Lstat(dir); err != nil {
		return fmt.Errorf("gob: open: %w", err)
	} else if li.Mode()&fs.ModeSymlink != 0 {
		if why := unsafeLink(li); why != "" {
			return fmt.Errorf("%w: the %s %q %s", ErrUnsafeDir, what, dir, why)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("gob: open: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("gob: open: the %s %q is not a directory", what, dir)
	}
	if why := unsafeDir(fi); why != "" {
		return fmt.Errorf("%w: the %s %q %s", ErrUnsafeDir, what, dir, why)
	}
	return nil
}

// Dir returns the directory that holds this store's prefix.
func (s *Store) Dir() string { return s.dir }

func hashName(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

func (s *Store) entryPath(key string) string { return filepath.Join(s.dir, hashName(key)) }
func (s *Store) lockPath(key string) string  { return filepath.Join(s.locks, hashName(key)) }

// isHashedName reports whether name is an entry's or a lock's file name.
func isHashedName(name string) bool {
	if len(name) != hashedName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func expiryMillis(t time.Time) int64 { return backends.CeilMilli(t) }

func alive(expires int64, now time.Time) bool { return now.Before(time.UnixMilli(expires)) }

func checkKey(key string) error {
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: key of %d bytes is longer than the %d-byte limit", backends.ErrInvalidKey, len(key), MaxKeyLen)
	}
	return nil
}

// Get returns the value of key, or backends.ErrNotFound when it is absent,
// expired or its file does not decode (such files are removed).
func (s *Store) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("gob: get: %w", err)
	}
	path := s.entryPath(key)
	data, fi, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, time.Time{}, backends.ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("gob: get: %w", err)
	}
	now := time.Now()
	r, err := decodeRecord(data)
	if err == nil && r.kind != kindEntry {
		err = fmt.Errorf("%w: a lock file where an entry belongs", errMalformed)
	}
	if err != nil {
		s.log.Warn("gob: removing a malformed cache file", "path", path, "err", err)
		removeIfSame(path, fi)
		return nil, time.Time{}, backends.ErrNotFound
	}
	if r.prefix != s.prefix || r.key != key {
		return nil, time.Time{}, backends.ErrNotFound // another key with the same hash
	}
	if !alive(r.expires, now) {
		removeIfSame(path, fi)
		return nil, time.Time{}, backends.ErrNotFound
	}
	return r.value, time.UnixMilli(r.expires), nil
}

// readFile reads a whole file and returns it with the file's identity.
func readFile(path string) ([]byte, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return data[:0], fi, nil // shrank under us: not an intact file
		}
		return nil, nil, err
	}
	return data, fi, nil
}

// readHeaderFile reads the header of the file at path and returns it with the
// file's identity. A malformed file gives an error wrapping errMalformed and
// a non-nil FileInfo.
func readHeaderFile(path string) (header, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return header{}, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return header{}, nil, err
	}
	h, err := readHeader(f, fi.Size())
	return h, fi, err
}

// removeIfSame removes path if it is still the file fi describes, so that a
// reader cleaning up an expired or malformed file does not remove a fresh
// one renamed over it meanwhile. (A rename in the instant between the check
// and the removal can still lose that fresh entry: a miss, never a wrong
// value.) It reports whether it removed the file.
func removeIfSame(path string, fi os.FileInfo) bool {
	cur, err := os.Lstat(path)
	if err != nil || !os.SameFile(cur, fi) {
		return false
	}
	return os.Remove(path) == nil
}

// Set stores value under key until expiresAt.
func (s *Store) Set(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gob: set: %w", err)
	}
	if err := checkKey(key); err != nil {
		return fmt.Errorf("gob: set: %w", err)
	}
	data := appendRecord(make([]byte, 0, recordSize(s.prefix, key, value)), kindEntry, expiryMillis(expiresAt), s.prefix, key, value)
	if err := s.writeAtomic(s.dir, hashName(key), data); err != nil {
		return fmt.Errorf("gob: set: %w", err)
	}
	return nil
}

// writeAtomic writes data to a temporary file in dir and renames it to name.
func (s *Store) writeAtomic(dir, name string, data []byte) error {
	tmp, err := s.writeTemp(dir, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	if s.sync {
		return syncDir(dir)
	}
	return nil
}

// writeTemp writes data to a new temporary file (mode 0600) in dir,
// recreating dir if it was removed, and returns the file's path.
func (s *Store) writeTemp(dir string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, tmpPrefix)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(dir, dirMode); err == nil {
			f, err = os.CreateTemp(dir, tmpPrefix)
		}
	}
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil && s.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Delete removes key and reports whether a live entry was removed: true
// exactly when Get would have returned it. It reads the whole file to tell.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("gob: delete: %w", err)
	}
	path := s.entryPath(key)
	data, fi, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("gob: delete: %w", err)
	}
	r, err := decodeRecord(data)
	if err == nil && r.kind != kindEntry {
		err = fmt.Errorf("%w: a lock file where an entry belongs", errMalformed)
	}
	if err != nil {
		s.log.Warn("gob: removing a malformed cache file", "path", path, "err", err)
		removeIfSame(path, fi)
		return false, nil
	}
	if r.prefix != s.prefix || r.key != key {
		return false, nil // another key with the same hash: not ours
	}
	live := alive(r.expires, time.Now())
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // someone else removed it first
		}
		return false, fmt.Errorf("gob: delete: %w", err)
	}
	return live, nil
}

// ClearNamespace removes the keys that start with namespace+":" and counts
// the live ones it removed. It reads the header of every file of the prefix
// (not the values): a file whose value was damaged on disk behind an intact
// header is removed and counted like a live entry.
func (s *Store) ClearNamespace(ctx context.Context, namespace string) (int, error) {
	p := namespace + ":"
	n, err := s.sweep(ctx, s.dir, kindEntry, func(h header, _ time.Time) bool {
		return strings.HasPrefix(h.key, p)
	})
	if err != nil {
		return n, fmt.Errorf("gob: clear namespace: %w", err)
	}
	return n, nil
}

// Flush removes every entry and lock of this store's prefix. Other prefixes'
// directories, and temporary files of writes still in flight, are left alone.
func (s *Store) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gob: flush: %w", err)
	}
	if err := removeNames(ctx, s.dir, func(de fs.DirEntry) bool { return isHashedName(de.Name()) }); err != nil {
		return fmt.Errorf("gob: flush: %w", err)
	}
	release, err := guard(ctx, s.locks)
	if err != nil {
		return fmt.Errorf("gob: flush: %w", err)
	}
	defer release()
	if err := removeNames(ctx, s.locks, func(de fs.DirEntry) bool { return isHashedName(de.Name()) }); err != nil {
		return fmt.Errorf("gob: flush: %w", err)
	}
	return s.removeStaleTemps(ctx)
}

// removeNames removes the regular files of dir that match.
func removeNames(ctx context.Context, dir string, match func(fs.DirEntry) bool) error {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !de.Type().IsRegular() || !match(de) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, de.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (s *Store) removeStaleTemps(ctx context.Context) error {
	cutoff := time.Now().Add(-StaleTempAge)
	stale := func(de fs.DirEntry) bool {
		if !strings.HasPrefix(de.Name(), tmpPrefix) {
			return false
		}
		fi, err := de.Info()
		return err == nil && fi.ModTime().Before(cutoff)
	}
	if err := removeNames(ctx, s.dir, stale); err != nil {
		return err
	}
	return removeNames(ctx, s.locks, stale)
}

// FlushExpired removes the files of expired entries and locks, malformed
// files, and temporary files older than StaleTempAge.
func (s *Store) FlushExpired(ctx context.Context) error {
	expired := func(h header, now time.Time) bool { return !alive(h.expires, now) }
	if _, err := s.sweep(ctx, s.dir, kindEntry, expired); err != nil {
		return fmt.Errorf("gob: flush expired: %w", err)
	}
	release, err := guard(ctx, s.locks)
	if err != nil {
		return fmt.Errorf("gob: flush expired: %w", err)
	}
	_, err = s.sweep(ctx, s.locks, kindLock, expired)
	release()
	if err != nil {
		return fmt.Errorf("gob: flush expired: %w", err)
	}
	if err := s.removeStaleTemps(ctx); err != nil {
		return fmt.Errorf("gob: flush expired: %w", err)
	}
	return nil
}

// sweep reads the header of every file of dir, removes the malformed ones
// and those match selects, and counts the removed ones that were alive.
func (s *Store) sweep(ctx context.Context, dir string, kind byte, match func(header, time.Time) bool) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	now := time.Now()
	live := 0
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return live, err
		}
		if !de.Type().IsRegular() || !isHashedName(de.Name()) {
			continue
		}
		path := filepath.Join(dir, de.Name())
		h, fi, err := readHeaderFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case errors.Is(err, errMalformed):
			s.log.Warn("gob: removing a malformed cache file", "path", path, "err", err)
			removeIfSame(path, fi)
			continue
		case err != nil:
			return live, err
		case h.kind != kind || h.prefix != s.prefix:
			// Not ours (a hash collision of prefixes): leave it.
			continue
		}
		if match(h, now) && removeIfSame(path, fi) && alive(h.expires, now) {
			live++
		}
	}
	return live, nil
}

// Lock takes the lock named key for ttl (kept to the millisecond, rounded
// down) and returns its fresh token, or "" and false when a live holder has
// it. An expired lock is taken over.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (string, bool, error) {
	now := time.Now()
	if err := ctx.Err(); err != nil {
		return "", false, fmt.Errorf("gob: lock: %w", err)
	}
	if ttl <= 0 {
		return "", false, fmt.Errorf("gob: lock: ttl must be positive, got %v", ttl)
	}
	if err := checkKey(key); err != nil {
		return "", false, fmt.Errorf("gob: lock: %w", err)
	}
	token := backends.NewToken()
	data := appendRecord(nil, kindLock, expiryMillis(now.Add(ttl)), s.prefix, key, []byte(token))
	tmp, err := s.writeTemp(s.locks, data)
	if err != nil {
		return "", false, fmt.Errorf("gob: lock: %w", err)
	}
	defer os.Remove(tmp)
	path := s.lockPath(key)

	// Fast path: a link fails if the name exists, so of any number of
	// racing callers exactly one creates the lock, and its content is whole.
	err = os.Link(tmp, path)
	if err == nil {
		return token, true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return "", false, fmt.Errorf("gob: lock: %w", err)
	}

	// The name exists: under the guard, see whether its holder is alive,
	// and if not, replace it. Everything that removes a lock file runs
	// under the guard, so the file read here is still the one removed
	// below; the link can only lose to a fast-path caller, which then
	// holds the lock alone.
	release, err := guard(ctx, s.locks)
	if err != nil {
		return "", false, fmt.Errorf("gob: lock: %w", err)
	}
	defer release()
	data, _, err = readFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", false, fmt.Errorf("gob: lock: %w", err)
	default:
		if r, err := decodeRecord(data); err == nil && r.kind == kindLock && alive(r.expires, time.Now()) {
			return "", false, nil // held (a live lock of a colliding name counts as held too)
		}
		if testHookTakeover != nil {
			testHookTakeover()
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", false, fmt.Errorf("gob: lock: %w", err)
		}
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("gob: lock: %w", err)
	}
	return token, true, nil
}

// Unlock releases the lock named key if token is its live holder's, and
// reports whether it did.
func (s *Store) Unlock(ctx context.Context, key, token string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("gob: unlock: %w", err)
	}
	path := s.lockPath(key)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil // nothing to release; no need for the guard
	}
	release, err := guard(ctx, s.locks)
	if err != nil {
		return false, fmt.Errorf("gob: unlock: %w", err)
	}
	defer release()
	data, _, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("gob: unlock: %w", err)
	}
	r, err := decodeRecord(data)
	if err == nil && (r.kind != kindLock || r.prefix != s.prefix || r.key != key) {
		return false, nil // a colliding name's lock: not ours to touch
	}
	mine := err == nil && subtle.ConstantTimeCompare(r.value, []byte(token)) == 1
	live := err == nil && alive(r.expires, time.Now())
	if mine || err != nil || !live {
		// Ours, or malformed, or expired: remove it.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("gob: unlock: %w", err)
		}
	}
	return mine && live, nil
}

// Close does nothing: the store holds no open files or goroutines between
// calls, and keeps working after Close.
func (s *Store) Close() error { return nil }
