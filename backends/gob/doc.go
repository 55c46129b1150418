// Package gob is cachette's file store: a directory with one file per key,
// safe to share between processes on one machine. It is the Go counterpart
// of the Python Cachette "pickle" backend; values arrive already encoded by
// the cache's codec, so the store itself only keeps bytes.
//
// # Layout
//
//	<dir>/                      PicklePath, created with mode 0700 if missing
//	  <hex sha256(prefix)[:16]>/  one directory per prefix (mode 0700)
//	    <hex sha256(key)>         one file per entry (mode 0600)
//	    locks/                    lock files, same naming, plus a .guard file
//
// Whoever can write into these directories can plant entries that the
// cache serves, so New refuses, with an error wrapping ErrUnsafeDir that
// names the directory and the reason, one that is writable by its group or
// by others or that belongs to another user than the process's effective
// user (on Unix; elsewhere access control lists are the user's to set).
// Directories the store creates get mode 0700.
//
// File names are hashes, so no key can reach outside its directory. Every
// file starts with a small header holding the prefix, the key and the expiry
// in Unix milliseconds, and ends with a CRC-32C checksum: ClearNamespace
// matches on the real key, a hash collision is detected rather than served,
// and a file that does not decode (truncated, zeroed, foreign) is a miss
// and is removed, never a panic.
//
// # Writes and crashes
//
// A write goes to a temporary file in the same directory (".tmp-*"), which is
// then renamed over the entry's name. Rename is atomic, so a reader, in this
// process or another, sees the old file or the new one, never a partial one,
// and a crash leaves no torn entry, only possibly a stray temporary file,
// which FlushExpired removes once it is an hour old.
//
// Files are not fsynced by default: this is a cache, and a file half-written
// by a power loss fails its checksum and reads as a miss. Options.Sync fsyncs
// each file and its directory before the write returns, for callers who want
// entries to survive a power loss.
//
// # Expiry
//
// Expiry is kept to the millisecond (rounded down): an entry is alive while
// now < expiry, and Get never returns an expired entry; it removes the
// file. Files of expired entries that nobody reads stay on disk until
// FlushExpired, which a program using this store should call now and then
// (Cache.FlushExpired).
//
// # Locks
//
// A lock is a file under locks/ holding its token and expiry. It is taken by
// writing a temporary file and hard-linking it to the lock's name, which
// fails if the name exists: exactly one of any number of racing callers,
// in any number of processes, creates it, and the file is whole from the
// first moment it is visible. Taking over an expired lock, and Unlock, run
// under an flock(2) on locks/.guard, so two processes cannot both replace
// one expired lock, nor can a late Unlock remove its successor's lock. On
// platforms without flock (Windows, Solaris, ...) that guard only covers the
// processes' own goroutines; between processes a takeover of one expired
// lock can then, rarely, be won twice. The directory must be on a local
// filesystem that supports hard links (any usual Unix filesystem, NTFS).
//
// # Costs and limits
//
// Get, Set and Delete touch one file. ClearNamespace and FlushExpired read
// the header of every file of the prefix, so their cost grows with the
// number of entries; Flush removes this prefix's directory only, and other
// prefixes in the same directory stay. Keys and the prefix are limited to
// MaxKeyLen (1 MiB): a longer key is refused with an error wrapping
// backends.ErrInvalidKey, a longer prefix by New. Network filesystems are not supported (they do
// not keep the rename and hard-link guarantees above).
//
// # Configuration
//
// Registered as "gob" (cachette.New also accepts "pickle"). It reads these
// settings of cachette.Config:
//
//	pickle_path   PicklePath   the directory (required)
//	prefix        Prefix       the namespace, one subdirectory per prefix
//
// Through the cache:
//
//	c, err := cachette.New(ctx, cachette.Config{Backend: "gob", PicklePath: "/var/cache/myapp"})
//
// Or opened directly, with options the Config has no field for:
//
//	store, err := gob.New("/var/cache/myapp", gob.Options{Prefix: "myapp", Sync: true})
//	c, err := cachette.NewWithBackend(store, cachette.Config{})
//
// Close does nothing (there are no goroutines or open files between calls);
// the store keeps working after it.
package gob
