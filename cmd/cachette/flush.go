package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	"github.com/schollz/progressbar/v3"
)

func cmdFlush(ctx context.Context, c *cachette.Cache, o *options, _ []string, con *console) error {
	cfg := c.Config()
	ns := o.namespace
	scope := fmt.Sprintf("every entry and lock of prefix %q on %s", cfg.Prefix, cfg.Backend)
	if ns != "" {
		scope = fmt.Sprintf(`every entry of namespace %q (the keys "%s:...") of prefix %q on %s`, ns, ns, cfg.Prefix, cfg.Backend)
	}

	// Count first where the store can: the question then says how much goes.
	var counted *backends.Usage
	if r, ok := c.Backend().(backends.UsageReporter); ok {
		u, err := r.Usage(ctx, ns)
		if err != nil {
			return failed("flush: counting the entries: %v", err)
		}
		counted = &u
	}
	what := scope + " (this store cannot count them first)"
	if counted != nil {
		what = fmt.Sprintf("%s: %s, %s", scope, entries(counted.Entries), humanBytes(counted.Bytes))
	}

	if !o.yes {
		if !con.stdinTTY {
			return usageErr("flush: refusing to remove %s without --yes: standard input is not a terminal, so nobody can confirm", scope)
		}
		fmt.Fprintf(con.stderr, "Remove %s? [y/N] ", what)
		answer, _ := bufio.NewReader(con.stdin).ReadString('\n')
		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "y", "yes":
		default:
			return failed("flush: cancelled; nothing removed")
		}
	}

	// The store removes everything in one call that reports no progress:
	// show that it is working, and for how long, rather than a made-up bar.
	stopSpinner := func() {}
	if con.stderrTTY {
		desc := "removing"
		if counted != nil {
			desc = "removing " + entries(counted.Entries)
		}
		bar := progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(con.stderr),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionClearOnFinish(),
		)
		stopSpinner = func() { _ = bar.Finish() }
	}
	start := time.Now()
	var removed int
	var err error
	if ns != "" {
		removed, err = c.ClearNamespace(ctx, ns)
	} else {
		err = c.Flush(ctx)
	}
	stopSpinner()
	took := time.Since(start)
	if took >= time.Millisecond {
		took = took.Round(time.Millisecond)
	} else {
		took = took.Round(time.Microsecond)
	}
	if err != nil {
		return failed("flush: %v", err)
	}
	switch {
	case ns != "":
		fmt.Fprintf(con.stdout, "removed %s of namespace %q in %v\n", entries(int64(removed)), ns, took)
	case counted != nil:
		fmt.Fprintf(con.stdout, "flushed prefix %q on %s (%s before the flush) in %v\n", cfg.Prefix, cfg.Backend, entries(counted.Entries), took)
	default:
		fmt.Fprintf(con.stdout, "flushed prefix %q on %s in %v\n", cfg.Prefix, cfg.Backend, took)
	}
	return nil
}

// entries is "1 entry" or "n entries".
func entries(n int64) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}
