package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// go-redis writes its own log lines (a pool that cannot dial, a failed
// re-authentication, ...) through one logger for the whole process, by
// default to stderr; it has no logger per client. Open therefore installs,
// once, driverLogger as go-redis's logger; it forwards each line, at level
// Warn, to the logger of the most recently opened store that is still open,
// or to slog.Default() when none is.

// driverLoggers are the loggers of the stores Open made and Close has not
// closed yet, oldest first.
var driverLoggers struct {
	once sync.Once
	mu   sync.Mutex
	open []*driverRef
}

// driverRef is one store's attachment; its address tells it apart from
// another store's that holds the same logger.
type driverRef struct{ log *slog.Logger }

// attachDriverLogger makes l the logger of go-redis's lines until detach is
// called (or a later store attaches its own).
func attachDriverLogger(l *slog.Logger) (detach func()) {
	driverLoggers.once.Do(func() { goredis.SetLogger(driverLogger{}) })
	if l == nil {
		l = slog.Default()
	}
	ref := &driverRef{l}
	driverLoggers.mu.Lock()
	driverLoggers.open = append(driverLoggers.open, ref)
	driverLoggers.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			driverLoggers.mu.Lock()
			defer driverLoggers.mu.Unlock()
			for i, o := range driverLoggers.open {
				if o == ref {
					driverLoggers.open = append(driverLoggers.open[:i], driverLoggers.open[i+1:]...)
					break
				}
			}
		})
	}
}

// currentDriverLogger is the logger go-redis's lines go to.
func currentDriverLogger() *slog.Logger {
	driverLoggers.mu.Lock()
	defer driverLoggers.mu.Unlock()
	if n := len(driverLoggers.open); n > 0 {
		return driverLoggers.open[n-1].log
	}
	return slog.Default()
}

// driverLogger is go-redis's logger while this package is in use.
type driverLogger struct{}

func (driverLogger) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	currentDriverLogger().Log(ctx, slog.LevelWarn, "redis: go-redis: "+msg)
}
