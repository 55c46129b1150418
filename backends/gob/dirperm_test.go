//go:build unix

package gob_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachette-go/cachette/backends/gob"
)

// TestUnsafeDirRefused opens stores on real directories that another user
// could write into: New must refuse each with ErrUnsafeDir and an error
// that names the key, the directory and the reason.
func TestUnsafeDirRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o770, 0o707, 0o777 | os.ModeSticky, 0o720, 0o702} {
		dir := filepath.Join(t.TempDir(), "cache")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		_, err := gob.New(dir, gob.Options{Prefix: "p"})
		if !errors.Is(err, gob.ErrUnsafeDir) {
			t.Errorf("New on a directory of mode %v = %v; want ErrUnsafeDir", mode, err)
			continue
		}
		for _, want := range []string{"pickle_path", dir, "writable by its group or by other users"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("mode %v: error %q does not say %q", mode, err, want)
			}
		}
	}
}

// TestUnsafeStoreDirRefused makes the prefix's own directory, inside a
// safe pickle_path, writable by others: New must refuse it too.
func TestUnsafeStoreDirRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := gob.New(dir, gob.Options{Prefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(s.Dir(), "locks"), s.Dir()} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
		if _, err := gob.New(dir, gob.Options{Prefix: "p"}); !errors.Is(err, gob.ErrUnsafeDir) || !strings.Contains(err.Error(), d) {
			t.Errorf("New with %s of mode 0777 = %v; want ErrUnsafeDir naming it", d, err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gob.New(dir, gob.Options{Prefix: "p"}); err != nil {
		t.Fatalf("New after chmod 0700: %v", err)
	}
}

// TestForeignOwnerRefused gives the directory to another user (tests run
// as root; skipped otherwise): New must refuse it, as it must refuse a
// symbolic link another user owns, which that user could repoint.
func TestForeignOwnerRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown a directory to another user")
	}
	const other = 65534 // nobody
	dir := filepath.Join(t.TempDir(), "cache")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, other, other); err != nil {
		t.Fatal(err)
	}
	_, err := gob.New(dir, gob.Options{Prefix: "p"})
	if !errors.Is(err, gob.ErrUnsafeDir) {
		t.Fatalf("New on a directory owned by uid %d = %v; want ErrUnsafeDir", other, err)
	}
	for _, want := range []string{"pickle_path", dir, "owned by uid 65534"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}

	own := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(own, link); err != nil {
		t.Fatal(err)
	}
	if _, err := gob.New(link, gob.Options{Prefix: "p"}); err != nil {
		t.Fatalf("New through this user's own link: %v", err)
	}
	if err := os.Lchown(link, other, other); err != nil {
		t.Fatal(err)
	}
	if _, err := gob.New(link, gob.Options{Prefix: "p"}); !errors.Is(err, gob.ErrUnsafeDir) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("New through a link owned by uid %d = %v; want ErrUnsafeDir", other, err)
	}
}

// TestCreatedDirsArePrivate checks the modes of the directories New makes.
func TestCreatedDirsArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := gob.New(dir, gob.Options{Prefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(dir), dir, s.Dir(), filepath.Join(s.Dir(), "locks")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v; want no group or other permissions", d, perm)
		}
	}
}
