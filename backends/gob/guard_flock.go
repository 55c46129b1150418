//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package gob

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// fileGuard takes an exclusive flock on dir/.guard. The kernel drops it when
// the process dies, so a crash never leaves the guard held. Waiting polls,
// so that ctx can end the wait; holders keep it for microseconds.
func fileGuard(ctx context.Context, dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, guardName), os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(dir, dirMode); err == nil {
			f, err = os.OpenFile(filepath.Join(dir, guardName), os.O_RDWR|os.O_CREATE, 0o600)
		}
	}
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	wait := 100 * time.Microsecond
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(fd, syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		}
		if wait < 5*time.Millisecond {
			wait *= 2
		}
	}
}
