//go:build unix

package gob

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// unsafeDir says why another user could plant files in the directory that
// fi describes (from os.Stat), or returns "" when only this process's user
// can write there: the directory must belong to the effective user and
// must not be writable by its group or by others.
func unsafeDir(fi fs.FileInfo) string {
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Sprintf("is writable by its group or by other users (mode %v), so they could plant cache entries in it; "+
			"remove those write permissions (chmod go-w) or choose another directory", perm)
	}
	return foreignOwner(fi, "directory")
}

// unsafeLink says why a symbolic link (fi from os.Lstat) must not be
// followed: another user owns it and could point it elsewhere at any time.
func unsafeLink(fi fs.FileInfo) string {
	return foreignOwner(fi, "symbolic link")
}

func foreignOwner(fi fs.FileInfo, what string) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	if euid := os.Geteuid(); int64(st.Uid) != int64(euid) {
		return fmt.Sprintf("is a %s owned by uid %d, not by this process's user (uid %d), so its owner could plant cache entries in it; "+
			"create it as this user with mode 0700 or choose another directory", what, st.Uid, euid)
	}
	return ""
}
