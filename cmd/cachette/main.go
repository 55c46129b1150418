package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends"
	_ "github.com/cachette-go/cachette/backends/dynamodb"
	_ "github.com/cachette-go/cachette/backends/memcached"
	_ "github.com/cachette-go/cachette/backends/mongodb"
	_ "github.com/cachette-go/cachette/backends/redis"
	_ "github.com/cachette-go/cachette/backends/valkey"
	"github.com/cachette-go/cachette/codecs"
	_ "github.com/cachette-go/cachette/codecs/arrow"
	_ "github.com/cachette-go/cachette/codecs/msgpack"
	"golang.org/x/term"
)

// Exit statuses.
const (
	exitOK       = 0
	exitNotFound = 1 // get, ttl or inspect of a missing key
	exitUsage    = 2 // bad arguments or configuration, or flush refused without --yes
	exitFailed   = 3 // the store failed, an entry does not decode, an unsupported operation, a declined flush
)

// exitError is an error with the exit status it gives.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &exitError{exitUsage, fmt.Sprintf(format, args...)}
}

func failed(format string, args ...any) error {
	return &exitError{exitFailed, fmt.Sprintf(format, args...)}
}

func notFound(cmd, key string) error {
	return &exitError{exitNotFound, fmt.Sprintf("%s: key %q not found", cmd, key)}
}

// console is the process's standard streams and whether they are terminals.
type console struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stdinTTY       bool // a person may answer a prompt
	stderrTTY      bool // a spinner may be drawn
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &console{
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		stdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		stderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	})
	stop()
	os.Exit(code)
}

// configKeys are the configuration keys that have a flag ("redis_url" is
// --redis-url). ttl has none: put's --ttl is the TTL of that put, and the
// ttl key (CACHETTE_TTL) is its default.
var configKeys = []string{
	"backend", "codec", "prefix",
	"redis_url", "valkey_url", "memcached_host", "mongodb_url",
	"database_name", "table_name", "pickle_path", "dynamodb_url", "region",
	"compression", "compression_min_size", "max_value_size",
}

// options are the parsed flags.
type options struct {
	config    map[string]*string // by key; applied only when the flag was given
	envPrefix string
	timeout   time.Duration

	raw       bool   // get
	ttl       string // put
	namespace string // flush, stats
	yes       bool   // flush
}

type command struct {
	name  string
	args  string // for the usage line
	nargs int
	flags func(*flag.FlagSet, *options)
	run   func(ctx context.Context, c *cachette.Cache, o *options, args []string, con *console) error
}

var commands = []command{
	{"get", "KEY [--raw]", 1, func(fs *flag.FlagSet, o *options) {
		fs.BoolVar(&o.raw, "raw", false, "print the payload bytes as stored (decompressed), without decoding them")
	}, cmdGet},
	{"put", "KEY VALUE [--ttl D]", 2, func(fs *flag.FlagSet, o *options) {
		fs.StringVar(&o.ttl, "ttl", "", `time to live: "90s", "5m" or whole seconds (default: the ttl key)`)
	}, cmdPut},
	{"del", "KEY", 1, nil, cmdDel},
	{"ttl", "KEY", 1, nil, cmdTTL},
	{"inspect", "KEY", 1, nil, cmdInspect},
	{"flush", "[--namespace NS] [--yes]", 0, func(fs *flag.FlagSet, o *options) {
		fs.StringVar(&o.namespace, "namespace", "", `remove only the keys "NS:..." (default: every key of the prefix, locks included)`)
		fs.BoolVar(&o.yes, "yes", false, "do not ask for confirmation")
	}, cmdFlush},
	{"stats", "[--namespace NS]", 0, func(fs *flag.FlagSet, o *options) {
		fs.StringVar(&o.namespace, "namespace", "", `count only the keys "NS:..."`)
	}, cmdStats},
}

// commonFlags adds the configuration flags to fs.
func commonFlags(fs *flag.FlagSet, o *options) {
	for _, k := range configKeys {
		fs.StringVar(o.config[k], strings.ReplaceAll(k, "_", "-"), "", "the "+k+" key (default: $"+"CACHETTE_"+strings.ToUpper(k)+")")
	}
	fs.StringVar(&o.envPrefix, "env-prefix", "CACHETTE_", "prefix of the configuration variables")
	fs.DurationVar(&o.timeout, "timeout", 0, "bound of each store call (default: the store's)")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cachette [flags] COMMAND [flags] ARGS")
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %s %s\n", c.name, c.args)
	}
	fmt.Fprintln(w, "configuration: the CACHETTE_* variables of cachette.ConfigFromEnv, or their flags (which win):")
	fs := flag.NewFlagSet("cachette", flag.ContinueOnError)
	o := newOptions()
	commonFlags(fs, o)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "exit status: 0 ok, 1 not found, 2 usage or configuration error, 3 operation failed")
}

func newOptions() *options {
	o := &options{config: make(map[string]*string, len(configKeys))}
	for _, k := range configKeys {
		o.config[k] = new(string)
	}
	return o
}

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, con *console) int {
	var secrets []string
	err := runErr(ctx, args, con, &secrets)
	if err == nil {
		return exitOK
	}
	code := exitFailed
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	msg := backends.Redact(err, secrets).Error()
	if !strings.HasPrefix(msg, "cachette") {
		msg = "cachette: " + msg
	}
	fmt.Fprintln(con.stderr, msg)
	return code
}

func runErr(ctx context.Context, args []string, con *console, secrets *[]string) error {
	o := newOptions()
	global := flag.NewFlagSet("cachette", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	commonFlags(global, o)
	given := map[string]bool{}
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(con.stdout)
			return err
		}
		return usageErr("%v (see cachette -h)", err)
	}
	before := map[string]string{} // the flags given before the command
	global.Visit(func(f *flag.Flag) {
		given[f.Name] = true
		before[f.Name] = f.Value.String()
	})
	rest := global.Args()
	if len(rest) == 0 {
		usage(con.stderr)
		return usageErr("no command given")
	}
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == rest[0] })
	if i < 0 {
		return usageErr("unknown command %q; the commands are get, put, del, ttl, inspect, flush, stats", rest[0])
	}
	cmd := commands[i]
	fs := flag.NewFlagSet("cachette "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	commonFlags(fs, o)
	// Defining the flags again reset their variables: set again those given
	// before the command (flags after it win).
	for name, v := range before {
		_ = fs.Set(name, v)
	}
	if cmd.flags != nil {
		cmd.flags(fs, o)
	}
	pos, err := parseInterspersed(fs, rest[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(con.stdout, "usage: cachette %s %s\n", cmd.name, cmd.args)
			fs.SetOutput(con.stdout)
			fs.PrintDefaults()
			return err
		}
		return usageErr("%s: %v (usage: cachette %s %s)", cmd.name, err, cmd.name, cmd.args)
	}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if len(pos) != cmd.nargs {
		return usageErr("%s takes %d argument(s), got %d (usage: cachette %s %s)", cmd.name, cmd.nargs, len(pos), cmd.name, cmd.args)
	}

	cfg, err := loadConfig(o, given)
	*secrets = urlSecrets(cfg)
	if err != nil {
		return err
	}
	c, err := cachette.New(ctx, cfg)
	if err != nil {
		if errors.Is(err, cachette.ErrInvalidConfig) || errors.Is(err, backends.ErrUnknownBackend) || errors.Is(err, codecs.ErrUnknownCodec) {
			return usageErr("%v", err)
		}
		return failed("opening the %s store: %v", cfg.Backend, err)
	}
	defer c.Close()
	return cmd.run(ctx, c, o, pos, con)
}

// parseInterspersed parses flags anywhere among the positional arguments,
// which it returns; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		if len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// loadConfig reads the configuration the way cachette.ConfigFromEnv does,
// with the flags given standing for their variables, so that the keys,
// checks and messages are the library's own.
func loadConfig(o *options, given map[string]bool) (cachette.Config, error) {
	if o.envPrefix == "" {
		return cachette.Config{}, usageErr("--env-prefix cannot be empty")
	}
	for _, k := range configKeys {
		if given[strings.ReplaceAll(k, "_", "-")] {
			if err := os.Setenv(o.envPrefix+strings.ToUpper(k), *o.config[k]); err != nil {
				return cachette.Config{}, usageErr("--%s: %v", strings.ReplaceAll(k, "_", "-"), err)
			}
		}
	}
	cfg, err := cachette.ConfigFromEnv(o.envPrefix)
	if err != nil {
		return cfg, usageErr("%v (the variables start with %s; each key also has a flag)", err, o.envPrefix)
	}
	if strings.EqualFold(cfg.Backend, "inmemory") {
		return cfg, usageErr("the inmemory backend keeps its entries inside one process, out of this command's reach: configure a shared store with %sBACKEND or --backend (redis, valkey, memcached, mongodb, dynamodb, gob)", o.envPrefix)
	}
	if o.timeout < 0 {
		return cfg, usageErr("--timeout must not be negative")
	}
	cfg.Timeout = o.timeout
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return cfg, nil
}

// urlSecrets lists the user information of the configured URLs, in every
// form an error might quote it, so that run can blank it out of messages.
func urlSecrets(cfg cachette.Config) []string {
	var out []string
	for _, raw := range []string{cfg.RedisURL, cfg.ValkeyURL, cfg.MongoDBURL, cfg.DynamoDBURL} {
		for node := range strings.SplitSeq(raw, ",") {
			_, rest, ok := strings.Cut(node, "://")
			if !ok {
				continue
			}
			if at := strings.LastIndex(rest, "@"); at >= 0 {
				userinfo := rest[:at]
				out = append(out, userinfo)
				if _, pw, ok := strings.Cut(userinfo, ":"); ok && pw != "" {
					out = append(out, pw)
					if dec, err := url.PathUnescape(pw); err == nil {
						out = append(out, dec)
					}
				}
			}
		}
	}
	// Longest first, so that a password inside the user information is
	// not blanked before the whole.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}
