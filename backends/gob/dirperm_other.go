//go:build !unix

package gob

import "io/fs"

// unsafeDir checks nothing on this platform, which has no Unix owner and
// permission bits: the directory's access control lists are the user's to
// set.
func unsafeDir(fs.FileInfo) string { return "" }

// unsafeLink checks nothing on this platform.
func unsafeLink(fs.FileInfo) string { return "" }
