package gob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cachette-go/cachette/backends"
)

var _ backends.UsageReporter = (*Store)(nil)

// Usage counts the live entries under the prefix (or under namespace+":")
// and the sizes of their files. It reads the header of every file of the
// prefix, like ClearNamespace, and changes nothing: malformed files and
// expired entries are skipped, not removed. Locks are not counted.
func (s *Store) Usage(ctx context.Context, namespace string) (backends.Usage, error) {
	var u backends.Usage
	des, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return u, nil
	}
	if err != nil {
		return u, fmt.Errorf("gob: usage: %w", err)
	}
	p := namespace + ":"
	now := time.Now()
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return u, fmt.Errorf("gob: usage: %w", err)
		}
		if !de.Type().IsRegular() || !isHashedName(de.Name()) {
			continue
		}
		h, fi, err := readHeaderFile(filepath.Join(s.dir, de.Name()))
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, errMalformed):
			continue
		case err != nil:
			return u, fmt.Errorf("gob: usage: %w", err)
		case h.kind != kindEntry || h.prefix != s.prefix || !alive(h.expires, now):
			continue
		case namespace != "" && !strings.HasPrefix(h.key, p):
			continue
		}
		u.Entries++
		u.Bytes += fi.Size()
	}
	return u, nil
}
